"""Streaming DATA-phase encoder: CRLF line ends and dot-stuffing, in constant memory."""


class DataEncoder:
    """Turn message bytes, fed in chunks of any size, into SMTP DATA bytes.

    feed() returns what is ready to send now; nothing is held back between calls, so memory
    does not grow with the message. Only two facts cross a chunk boundary: whether the next
    byte starts a line, and whether the last byte was a CR (whose CRLF already went out, so a
    following LF must be dropped). Every scan is a C-level replace on the whole chunk.
    """

    def __init__(self):
        self._bol = True  # the next byte starts a line (the first line counts, RFC 5321 4.5.2)
        self._cr = False  # the previous chunk ended with CR, already sent as CRLF

    def feed(self, chunk):
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

    def finish(self):
        """The end of DATA: CRLF if the last line is open, then ".CRLF" (RFC 5321 4.1.1.4)."""
        out = b".\r\n" if self._bol else b"\r\n.\r\n"
        self._bol = True
        self._cr = False
        return out
