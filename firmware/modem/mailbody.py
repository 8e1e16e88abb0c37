"""The mail data path: end-marker scanning, header block, quoted-printable body (streaming)."""

import binascii

from .compat import const

_QP_LINE = const(76)  # RFC 2045 6.7 (5): encoded lines at most 76 characters
_FIRST_CAP = const(998)  # how much of the first line decides header vs body
_PENDING_CAP = const(2048)  # a longer line is encoded in soft-broken pieces as it arrives

# Header fields a host may put first (RFC 5322 3.6, RFC 2045, RFC 2183 and common X- fields),
# as one string: a tuple of them took ~800 bytes more (32 bits, .mpy), an object each.
# Only these (and X-*) start a header block, so "Alarm: zone 3" stays body text.
_KNOWN = (
    b" mime-version content-type content-transfer-encoding content-disposition content-id"
    b" content-description content-language subject from to cc bcc reply-to sender date"
    b" message-id in-reply-to references importance priority sensitivity keywords comments"
    b" organization return-receipt-to disposition-notification-to "
)


# Printable ASCII: lines that quoted-printable leaves as they are (here, not in compat: only a
# mail's body needs it, and compat is loaded from start-up on).
if hasattr(b"", "translate"):  # CPython: one C pass without creating int objects
    _TEXT = bytes(range(32, 127)) + b"\n"
    _TEXT_CR = _TEXT + b"\r"

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
        i = buf.find(b"\r\n.\r\n")  # the end of the host's data [READ p23]
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
    return name is not None and (b" " + name + b" " in _KNOWN or name[:2] == b"x-")


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
        if buf[:1] == b"." or b"=" in buf:
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
    (Content-Type, MIME-Version, Subject, X-..., see _KNOWN), the host's lines up to the first
    line that is not a header field are header lines; a blank line there is the separator.
    The host's fields replace ours of the same name. The body then passes unchanged apart from
    CRLF line ends and dot-stuffing (the host chose its MIME structure): smtpdata.DataEncoder,
    whose code loads only for such a body. Otherwise the data is a plain-text body: a blank
    first line is taken as the host's separator and dropped, and the body is sent
    quoted-printable, so long lines, 8-bit bytes and '=' arrive exactly.

    Once the first line decided, feed is the chosen encoder's own (an attribute of the
    instance: each read goes to it without a call more), and our headers are gone.
    """

    def __init__(self, headers):
        self.headers = headers  # [(name, value_bytes)] in order; ours; None once decided
        self.first = b""
        self.enc = None

    def feed(self, data):
        first = self.first + data
        j = _eol(first)
        if (j < 0 and len(first) < _FIRST_CAP) or first[j:] == b"\r":
            self.first = first
            return b""  # no line end yet, or a CR whose LF may come next
        self.first = b""
        if starts_header_block(first if j < 0 else first[:j]):
            return self._host().feed(first)
        out = self._plain()
        if j == 0:  # blank first line: the host's own header/body separator
            first = first[2:] if first[:2] == b"\r\n" else first[1:]
        return out + self.feed(first)

    def _plain(self):
        """Quoted-printable from now on; returns our header block and its blank line."""
        self.enc = QPEncoder()
        self.feed = self.enc.feed
        h = self.headers
        self.headers = None
        return b"".join([name + b": " + value + b"\r\n" for name, value in h]) + b"\r\n"

    def _host(self):
        """The host's header lines (merged with ours), then its body: smtpdata.DataEncoder."""
        from .smtpdata import DataEncoder  # here: a plain-text body never needs its code

        self.enc = DataEncoder(self.headers)
        self.feed = self.enc.feed
        self.headers = None
        return self.enc

    def finish(self):
        """Everything left, then the end of DATA ('.' CRLF after a final CRLF)."""
        out = b""
        if self.enc is None:  # no line end came: the first line decides now
            line = self.first
            self.first = b""
            if line and starts_header_block(line):
                out = self._host().feed(line + b"\r\n")
            else:
                out = self._plain() + self.feed(line)
        if isinstance(self.enc, QPEncoder):
            return out + self.enc.finish() + b".\r\n"
        return out + self.enc.finish()


def _eol(buf, start=0):
    j = buf.find(b"\n", start)
    k = buf.find(b"\r", start)
    if j < 0:
        return k
    if k < 0:
        return j
    return j if j < k else k
