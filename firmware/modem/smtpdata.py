"""Streaming DATA-phase encoder: CRLF line ends and dot-stuffing, in constant memory; for a
body that starts with the host's own header lines (mailbody.BodyComposer), those lines merged
with ours first. Loaded only for such a body, or by a caller that encodes DATA itself."""

from .compat import const
from .mailbody import _eol, header_name

_HEADER_CAP = const(4096)  # host header block kept to merge it with ours


class DataEncoder:
    """Turn message bytes, fed in chunks of any size, into SMTP DATA bytes.

    feed() returns what is ready to send now; nothing is held back between calls, so memory
    does not grow with the message. Only two facts cross a chunk boundary: whether the next
    byte starts a line, and whether the last byte was a CR (whose CRLF already went out, so a
    following LF must be dropped). Every scan is a C-level replace on the whole chunk.

    headers (BodyComposer): our header fields [(name, value_bytes)]; the host's header lines
    come first then (up to a blank line, a line that is no header field, or _HEADER_CAP
    bytes) and are sent after ours, whose fields of the same names are left out.
    """

    def __init__(self, headers=None):
        self._bol = True  # the next byte starts a line (the first line counts, RFC 5321 4.5.2)
        self._cr = False  # the previous chunk ended with CR, already sent as CRLF
        self._ours = headers  # None once the header block is out (or without one)
        self._hdr = []  # the host's header lines, without line ends
        self._size = 0
        self._partial = b""  # the header line being received

    def feed(self, chunk):
        if self._ours is not None:
            return self._header_lines(chunk)
        if not chunk:
            return b""
        c = bytes(chunk)
        cr = c[-1:] == b"\r"
        if self._cr and c[:1] == b"\n":
            c = c[1:]  # the LF of a CRLF split across chunks: its CRLF is already out
        self._cr = cr
        if not c:
            return b""
        # RFC 5321 2.3.8: lines end in CRLF only; bare CR and bare LF are each one line end.
        c = c.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        # RFC 5321 4.5.2: a line starting with "." gets one more "." (transparency).
        c = c.replace(b"\n.", b"\n..")
        if self._bol and c[:1] == b".":
            c = b"." + c
        self._bol = c[-1:] == b"\n"
        return c.replace(b"\n", b"\r\n")

    def _header_lines(self, data):
        # Collect whole lines while they are header fields or continuations.
        buf = self._partial + data
        self._partial = b""
        start = 0
        while True:
            j = _eol(buf, start)
            if j < 0 or (j == len(buf) - 1 and buf[j:] == b"\r"):
                self._partial = buf[start:]
                if len(self._partial) + self._size > _HEADER_CAP:
                    return self._end_headers(self._partial)
                return b""
            line = buf[start:j]
            nxt = j + (2 if buf[j : j + 2] == b"\r\n" else 1)
            if line == b"":
                return self._end_headers(buf[nxt:])
            if line[:1] in (b" ", b"\t") and self._hdr:
                self._hdr.append(line)
            elif header_name(line) is not None:
                self._hdr.append(line)
            else:  # the body starts without a blank line: we insert it
                return self._end_headers(buf[start:])
            self._size += len(line)
            if self._size > _HEADER_CAP:
                return self._end_headers(buf[nxt:])
            start = nxt

    def _end_headers(self, rest):
        names = []
        for line in self._hdr:
            n = header_name(line)
            if n is not None and line[:1] not in (b" ", b"\t"):
                names.append(n)
        out = [
            name + b": " + value + b"\r\n"
            for name, value in self._ours
            if name.lower() not in names
        ]
        out = b"".join(out) + b"".join(h + b"\r\n" for h in self._hdr) + b"\r\n"
        self._hdr = []
        self._ours = None
        self._partial = b""
        return out + self.feed(rest)

    def finish(self):
        """The end of DATA: CRLF if the last line is open, then ".CRLF" (RFC 5321 4.1.1.4)."""
        out = self._end_headers(self._partial) if self._ours is not None else b""
        out += b".\r\n" if self._bol else b"\r\n.\r\n"
        self._bol = True
        self._cr = False
        return out
