"""The mail data path: end-marker scanning, header block, quoted-printable body (streaming)."""

import binascii

from .compat import const

_MARK = b"\r\n.\r\n"  # end of the host's data [READ p23]
_EQ = b"="
_QP_LINE = const(76)  # RFC 2045 6.7 (5): encoded lines at most 76 characters
_HEADER_CAP = const(4096)  # host header block kept to merge it with ours
_FIRST_CAP = const(998)  # how much of the first line decides header vs body
_PENDING_CAP = const(2048)  # a longer line is encoded in soft-broken pieces as it arrives

# Header fields a host may put first (RFC 5322 3.6, RFC 2045, RFC 2183 and common X- fields).
# Only these (and X-*) start a header block, so "Alarm: zone 3" stays body text.
KNOWN = (
    b"mime-version",
    b"content-type",
    b"content-transfer-encoding",
    b"content-disposition",
    b"content-id",
    b"content-description",
    b"content-language",
    b"subject",
    b"from",
    b"to",
    b"cc",
    b"bcc",
    b"reply-to",
    b"sender",
    b"date",
    b"message-id",
    b"in-reply-to",
    b"references",
    b"importance",
    b"priority",
    b"sensitivity",
    b"keywords",
    b"comments",
    b"organization",
    b"return-receipt-to",
    b"disposition-notification-to",
)


# Printable ASCII: lines that quoted-printable leaves as they are (here, not in compat: only a
# mail's body needs it, and compat is loaded from start-up on).
_TEXT = bytes(range(32, 127)) + b"\n"
_TEXT_CR = _TEXT + b"\r"
if hasattr(b"", "translate"):  # CPython: one C pass without creating int objects

    def text_only(data, ends=0):
        """True when data holds only printable ASCII and LF; and CR when the caller counted
        `ends` CR and LF bytes in it (its line ends)."""
        return not data.translate(None, _TEXT_CR if ends else _TEXT)

else:  # MicroPython: no translate; min/max would take a Python object per byte

    def text_only(data, ends=0):
        """True when data holds only printable ASCII and LF; and CR when the caller counted
        `ends` CR and LF bytes in it (its line ends)."""
        if not data:
            return True
        # repr() escapes, in C, each byte outside 32..126 (LF and CR as 2 characters, the
        # others as 4), a backslash and maybe a quote: nothing but the line ends grew it.
        grew = len(repr(data)) - len(data) - 3
        if grew == (ends or data.count(b"\n")):
            return True
        if ends:
            data = data.replace(b"\r", b"\n")
        # backslashes or quotes, or bytes outside the set: look at each byte
        return max(data) < 127 and min(data.replace(b"\n", b"A")) >= 32


class EndScanner:
    """Finds CR LF . CR LF in the serial stream, even split across reads, in constant memory.

    The CR LF before the dot ends the last body line (RFC 5321 4.1.1.4), so it stays in the
    body. A "." CR LF as the very first bytes is an empty body. A read passes on as it is (no
    copy) unless it ends in the start of a marker (CR, CR LF, CR LF ".", CR LF "." CR): those
    few bytes are held back and go in front of the next read.
    """

    def __init__(self):
        self.tail = b"\r\n"  # virtual line end before the first byte
        self.virtual = 2
        self.done = False

    def feed(self, data):
        """Return (body_bytes, rest); rest is None until the marker was seen."""
        v = self.virtual
        buf = self.tail + data if self.tail else data
        i = buf.find(_MARK)
        if i >= 0:
            body = buf[v : i + 2] if i + 2 > v else b""
            self.done = True
            self.tail = b""
            return body, buf[i + 5 :]
        keep = _held(buf)
        cut = len(buf) - keep
        if keep:
            self.tail = buf[cut:]
            if not cut:
                return b"", None
        else:
            self.tail = b""
            if not v:
                return buf, None
        self.virtual = v - cut if cut < v else 0
        return (buf[v:cut] if cut > v else b""), None


def _held(buf):
    """How many of buf's last bytes may begin the end marker (0 to 4)."""
    c = buf[-1:]
    if c == b"\r":
        return 4 if buf[-4:] == b"\r\n.\r" else 1
    if c == b"\n":
        return 2 if buf[-2:] == b"\r\n" else 0
    if c == b".":
        return 3 if buf[-3:] == b"\r\n." else 0
    return 0


def header_name(line):
    """The lower-case field name when `line` looks like 'Name: value', else None."""
    i = line.find(b":")
    if i <= 0 or i > 76:
        return None
    name = line[:i]
    if b" " in name or b"\t" in name:
        return None
    return name.lower()


def starts_header_block(line):
    name = header_name(line)
    return name is not None and (name in KNOWN or name[:2] == b"x-")


class QPEncoder:
    """Quoted-printable (RFC 2045 6.7) for a body of any size, line by line, plus dot-stuffing.

    Input line ends (CRLF, bare LF, bare CR) become hard CRLF breaks. Lines of plain ASCII are
    escaped with bytes.replace; in a line holding control or 8-bit bytes each run of such
    bytes is escaped with one re substitution and binascii.hexlify: no Python loop per byte.
    """

    def __init__(self):
        self.pending = b""
        self.cr = False  # the last chunk ended with CR: a LF first in the next one pairs with it

    def feed(self, data):
        if not data:
            return b""
        if self.cr and data[:1] == b"\n":
            data = data[1:]
        elif data[-1:] != b"\r":
            out = self._as_is(data)
            if out is not None:
                self.cr = False
                return out
        self.cr = data[-1:] == b"\r"
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        j = data.rfind(b"\n")
        if j < 0:
            self.pending += data
            return self._long()
        whole = self.pending + data[:j]
        self.pending = data[j + 1 :]
        lines = whole.split(b"\n")
        if _plain(whole, lines):
            # fast path, the usual alarm or log text: nothing to escape, stuff or split
            return b"\r\n".join(lines) + b"\r\n" + self._long()
        out = [_qp_line(line, True) for line in lines]
        return b"".join(out) + self._long()

    def _as_is(self, data):
        """The usual case, CR LF lines that quoted-printable leaves as they are: the whole lines
        of pending + data, unchanged, or None when some line needs more than that. One pass
        per line end (find) and a few C-level scans of the chunk; no split, no join."""
        buf = self.pending + data if self.pending else data
        if buf[:1] == b"." or _EQ in buf:
            return None
        last = len(buf) - 1
        i = -1  # the line end before the current line
        n = 0  # line ends
        j = buf.find(b"\n")
        while j >= 0:
            # a CR LF; RFC 2045 6.7 (5), (3): at most 76 characters, no space at the end;
            # RFC 5321 4.5.2: no dot first on the next line (it would need a second one)
            if j - i > _QP_LINE + 1 or j < 2 or buf[j - 1] != 13 or buf[j - 2] == 32:
                return None
            if j < last and buf[j + 1] == 46:
                return None
            n += 1
            i = j
            j = buf.find(b"\n", j + 1)
        if not n or buf.count(b"\r") != n or not text_only(buf, 2 * n):
            return None
        if i == last:
            self.pending = b""
            return buf
        self.pending = buf[i + 1 :]
        return buf[: i + 1] + self._long()

    def _long(self):
        if len(self.pending) <= _PENDING_CAP:
            return b""
        # a very long line: send most of it now, as soft-broken pieces
        cut = len(self.pending) - _QP_LINE
        out = _qp_line(self.pending[:cut], False)
        self.pending = self.pending[cut:]
        return out

    def finish(self):
        """Rest of the body, ending with CRLF (no terminator: the caller adds '.CRLF')."""
        if self.pending:
            out = _qp_line(self.pending, True)
            self.pending = b""
            return out
        return b""


def _plain(whole, lines):
    """True when every line is printable ASCII without '=', shorter than 77 characters, with no
    trailing white space and no leading dot: then quoted-printable changes nothing."""
    if not whole:
        return True
    return (
        text_only(whole)
        and b"=" not in whole
        and b" \n" not in whole
        and whole[-1:] != b" "
        and b"\n." not in whole
        and whole[:1] != b"."
        and max(map(len, lines)) < _QP_LINE
    )


_RAW = [None]  # the compiled pattern of the bytes quoted-printable must escape


def _hex(m):
    return b"=" + binascii.hexlify(m.group(0), "=").upper()


def _escape(line):
    if line and (min(line) < 32 or max(line) > 126):
        # Only the bytes that need it (RFC 2045 6.7 rule 2), one C-level pass per run of
        # them: "été" becomes "=C3=A9t=C3=A9", not every byte escaped.
        if _RAW[0] is None:
            import re

            _RAW[0] = re.compile(b"[^\x20-\x3c\x3e-\x7e]+")
        line = _RAW[0].sub(_hex, line)
    else:
        line = line.replace(b"=", b"=3D")
    last = line[-1:]
    if last == b" " or last == b"\t":  # trailing white space must be encoded (rule 3)
        line = line[:-1] + (b"=20" if last == b" " else b"=09")
    return line


def _qp_line(line, hard):
    """Encode one input line (hard: it ends here) into CRLF-terminated, dot-stuffed lines."""
    enc = _escape(line)
    out = []
    while len(enc) > _QP_LINE - 1 or (not hard and enc):
        if not hard and len(enc) <= _QP_LINE - 1:
            piece, enc = enc, b""
        else:
            piece = enc[: _QP_LINE - 1]
            k = piece.find(b"=", _QP_LINE - 3)  # never split an =XX escape
            if k >= 0:
                piece = piece[:k]
            enc = enc[len(piece) :]
        out.append(_stuff(piece) + b"=\r\n")
    if hard:
        out.append(_stuff(enc) + b"\r\n")
    return b"".join(out)


def _stuff(line):
    return b"." + line if line[:1] == b"." else line


class BodyComposer:
    """Turns what the host typed into DATA bytes: our header block, the host's own header
    lines when it starts with some, then the body.

    Rule (docs/mail.md): if the first line of the data is a header field with a known name
    (Content-Type, MIME-Version, Subject, X-..., see KNOWN), the host's lines up to the first
    line that is not a header field are header lines; a blank line there is the separator.
    The host's fields replace ours of the same name. The body then passes unchanged apart from
    CRLF line ends and dot-stuffing (the host chose its MIME structure). Otherwise the data is
    a plain-text body: a blank first line is taken as the host's separator and dropped, and the
    body is sent quoted-printable, so long lines, 8-bit bytes and '=' arrive exactly.
    """

    def __init__(self, headers):
        self.headers = headers  # [(name, value_bytes)] in order; ours
        self.first = b""
        self.mode = 0  # 0 deciding, 1 host headers, 2 host body (raw), 3 plain body (QP)
        self.hdr = []
        self.hdr_size = 0
        self.partial = b""
        self.raw = None  # the host's own body (mode 2): smtpdata.DataEncoder, loaded then
        self.qp = QPEncoder()

    def _ours(self, skip):
        out = []
        for name, value in self.headers:
            if name.lower() not in skip:
                out.append(name + b": " + value + b"\r\n")
        return b"".join(out)

    def feed(self, data):
        if self.mode == 2:
            return self.raw.feed(data)
        if self.mode == 3:
            return self.qp.feed(data)
        if self.mode == 0:
            self.first += data
            j = _eol(self.first)
            if (j < 0 and len(self.first) < _FIRST_CAP) or self.first[j:] == b"\r":
                return b""  # no line end yet, or a CR whose LF may come next
            line = self.first if j < 0 else self.first[:j]
            data, self.first = self.first, b""
            if starts_header_block(line):
                self.mode = 1
            else:
                self.mode = 3
                out = self._ours(()) + b"\r\n"
                if j == 0:  # blank first line: the host's own header/body separator
                    data = data[2:] if data[:2] == b"\r\n" else data[1:]
                return out + self.qp.feed(data)
        return self._header_lines(data)

    def _header_lines(self, data):
        # Collect whole lines while they are header fields or continuations.
        buf = self.partial + data
        self.partial = b""
        start = 0
        while True:
            j = _eol(buf, start)
            if j < 0 or (j == len(buf) - 1 and buf[j:] == b"\r"):
                self.partial = buf[start:]
                if len(self.partial) + self.hdr_size > _HEADER_CAP:
                    return self._end_headers(self.partial)
                return b""
            line = buf[start:j]
            nxt = j + (2 if buf[j : j + 2] == b"\r\n" else 1)
            if line == b"":
                return self._end_headers(buf[nxt:])
            if line[:1] in (b" ", b"\t") and self.hdr:
                self.hdr.append(line)
            elif header_name(line) is not None:
                self.hdr.append(line)
            else:  # the body starts without a blank line: we insert it
                return self._end_headers(buf[start:])
            self.hdr_size += len(line)
            if self.hdr_size > _HEADER_CAP:
                return self._end_headers(buf[nxt:])
            start = nxt

    def _end_headers(self, rest):
        names = []
        for line in self.hdr:
            n = header_name(line)
            if n is not None and line[:1] not in (b" ", b"\t"):
                names.append(n)
        out = self._ours(names) + b"".join(h + b"\r\n" for h in self.hdr) + b"\r\n"
        self.hdr = []
        self.mode = 2
        from .smtpdata import DataEncoder  # here: a plain-text body never needs its code

        self.raw = DataEncoder()
        return out + self.raw.feed(rest)

    def finish(self):
        """Everything left, then the end of DATA ('.' CRLF after a final CRLF)."""
        out = b""
        if self.mode == 0:
            line = self.first
            self.first = b""
            if line and starts_header_block(line):
                self.mode = 1
                out = self._header_lines(line + b"\r\n")
            else:
                self.mode = 3
                out = self._ours(()) + b"\r\n" + self.qp.feed(line)
        if self.mode == 1:
            out += self._end_headers(self.partial)
            self.partial = b""
        if self.mode == 2:
            return out + self.raw.finish()
        return out + self.qp.finish() + b".\r\n"


def _eol(buf, start=0):
    j = buf.find(b"\n", start)
    k = buf.find(b"\r", start)
    if j < 0:
        return k
    if k < 0:
        return j
    return j if j < k else k
