"""Command-line assembly from raw serial bytes (V.250 5.2.1): a state machine over chunks."""

from .compat import const

_IDLE = const(0)  # waiting for 'A'
_GOT_A = const(1)  # 'A' seen, waiting for 'T'
_LINE = const(2)  # inside "AT...", waiting for CR or LF

_BS = const(8)
_DEL = const(127)
_RUBOUT = b"\x08 \x08"  # erases the character on a terminal


class LineReader:
    """Finds "AT" lines in a byte stream and produces their echo.

    Bytes outside an AT line (stray CR/LF, ETX, "+++", noise) are dropped without echo, so the
    second byte of a CR LF / LF CR pair never starts a second command. A line ends at CR or at
    LF. Backspace (BS or DEL) removes the last character after "AT". A line longer than `cap`
    is consumed to its end and reported as overflowing.
    """

    def __init__(self, cap):
        self.cap = cap
        self.state = _IDLE
        self.buf = bytearray()
        self.a = b"A"
        self.overflow = False

    def between_lines(self):
        """Nothing of a command line has arrived yet."""
        return self.state == _IDLE

    def reset(self):
        self.state = _IDLE
        self.buf = bytearray()
        self.overflow = False

    def feed(self, data, echo):
        """Consume bytes; return (consumed, line) where line is None until a line is complete.

        `echo` is a list that receives the bytes to echo, or None when echo is off. The line is
        the bytes after "AT" without the terminator; `self.overflow` tells whether it was cut.
        """
        i = 0
        n = len(data)
        while i < n:
            if self.state == _IDLE:
                j = _find_a(data, i)
                if j < 0:
                    return n, None
                self.a = data[j : j + 1]
                self.state = _GOT_A
                i = j + 1
            elif self.state == _GOT_A:
                c = data[i]
                if c == 0x54 or c == 0x74:  # T t
                    self.state = _LINE
                    self.buf = bytearray()
                    self.overflow = False
                    if echo is not None:
                        echo.append(self.a + data[i : i + 1])
                    i += 1
                elif c == 0x41 or c == 0x61:  # another A: it may start the line
                    self.a = data[i : i + 1]
                    i += 1
                else:
                    self.state = _IDLE
            else:
                j = _find_end(data, i)
                end = n if j < 0 else j
                if end > i:
                    self._add(data[i:end], echo)
                if j < 0:
                    return n, None
                if echo is not None:
                    echo.append(data[j : j + 1])
                self.state = _IDLE
                line = bytes(self.buf)
                self.buf = bytearray()
                return j + 1, line
        return n, None

    def _add(self, seg, echo):
        if _BS in seg or _DEL in seg:
            seg = self._edit(seg, echo)
        elif echo is not None:
            echo.append(seg)
        if self.overflow:
            return
        if len(self.buf) + len(seg) > self.cap:
            self.overflow = True
            # keep the first byte: '#' decides #CME ERROR: 34881 vs ERROR
            self.buf = bytearray((self.buf or seg)[:1])
        else:
            self.buf.extend(seg)

    def _edit(self, seg, echo):
        # Rare path (typing at a terminal): apply backspaces. Other control bytes stay in the
        # line, so that a value holding one is refused rather than silently changed.
        keep = bytearray()
        for c in seg:  # command-line bytes only, never a data path
            if c == _BS or c == _DEL:
                if keep:
                    keep = keep[:-1]
                    if echo is not None:
                        echo.append(_RUBOUT)
                elif self.buf and not self.overflow:
                    self.buf = self.buf[:-1]
                    if echo is not None:
                        echo.append(_RUBOUT)
            else:
                keep.append(c)
                if echo is not None:
                    echo.append(bytes((c,)))
        return bytes(keep)


def _find_a(data, i):
    j = data.find(b"A", i)
    k = data.find(b"a", i)
    if j < 0:
        return k
    if k < 0:
        return j
    return j if j < k else k


def _find_end(data, i):
    j = data.find(b"\r", i)
    k = data.find(b"\n", i)
    if j < 0:
        return k
    if k < 0:
        return j
    return j if j < k else k
