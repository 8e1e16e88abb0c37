"""Socket data mode: the DLE/ETX codec and the +++ escape detector, as state machines over chunks.

S000333D p30 (#DLEMODE), p36 (UDP), p51 (App. B, TCP data mode): in the payload ETX (0x03)
travels as DLE ETX and DLE (0x10) as DLE DLE, both ways; a bare ETX from the host ends the
session. Nothing here loops over single bytes: chunks are scanned with find/replace/count.
"""

from .compat import const

ETX = b"\x03"
DLE = b"\x10"
_DLE2 = b"\x10\x10"
_DLE_ETX = b"\x10\x03"
_DLE_BYTE = const(0x10)
_ETX_BYTE = const(0x03)
# Escapes are looked at one by one while there are few: more than _SAMPLE_MAX DLEs in the
# _SAMPLE bytes from the first one, or more than one in 2**_SPARSE bytes of the chunk, and the
# chunk (or its rest) is decoded with a few replace() passes over all of it instead.
_SAMPLE = const(128)
_SAMPLE_MAX = const(4)
_SPARSE = const(5)
_PLUSES = b"+++"


def encode(data):
    """Payload -> escaped bytes. DLE first, so the DLE added before an ETX is not doubled."""
    if DLE in data:
        data = data.replace(DLE, _DLE2)
    if ETX in data:
        data = data.replace(ETX, _DLE_ETX)
    return data


# Tokens of the decoder's working copy: every NUL of the input becomes NUL 01, so a NUL there
# always starts a two-byte token and the escapes can take the other NUL tokens without any
# ambiguity. All steps are bytes.replace/find/count: C loops on both runtimes.
_NUL = b"\x00"
_T_NUL = b"\x00\x01"  # a NUL of the input
_T_DLE = b"\x00\x02"  # DLE DLE
_T_ETX = b"\x00\x04"  # DLE ETX


class Decoder:
    """Escaped bytes from the host -> payload, chunk by chunk.

    feed(chunk) returns (payload, rest). rest is None while the data goes on; at a bare ETX
    (one that no DLE escapes) it is the bytes after that ETX, which belong to command mode.
    DLE DLE gives DLE and DLE ETX gives ETX. A DLE at the end of a chunk waits for the next
    chunk's first byte (it is never a close). A DLE before any other byte is not an escape
    the original defines: it is kept as data with that byte (nothing the host sent is lost).
    """

    def __init__(self):
        self.dle = False  # the previous chunk ended with an unpaired DLE

    def feed(self, data):
        if self.dle:
            data = DLE + data
            self.dle = False
        d = data.find(DLE)
        if d < 0:  # nothing escaped: the first ETX is the close
            e = data.find(ETX)
            if e < 0:
                return data, None
            return data[:e], data[e + 1 :]
        if data.count(DLE, d, d + _SAMPLE) > _SAMPLE_MAX:
            return self._dense(data)
        # Few escapes (random binary: about one byte in 85): hop from DLE to DLE with find and
        # keep the runs between them as they are; one join at the end. More hops than
        # n >> _SPARSE: the rest goes through _dense, so no chunk costs a hop per byte.
        n = len(data)
        hops = n >> _SPARSE
        out = []
        i = 0  # the first byte not yet passed on
        e = data.find(ETX)
        while d >= 0 and not 0 <= e < d:  # stop at a bare ETX (one before the next DLE)
            hops -= 1
            if hops < 0:
                out.append(data[i:d])  # data up to this DLE, which starts a fresh escape
                payload, rest = self._dense(data[d:])
                out.append(payload)
                return b"".join(out), rest
            if d + 1 == n:  # a DLE at the end pairs with the next chunk's first byte
                self.dle = True
                out.append(data[i:d])
                return b"".join(out), None
            c = data[d + 1]
            if c == _DLE_BYTE or c == _ETX_BYTE:
                out.append(data[i:d])
                i = d + 1  # the escaped byte is data: it starts the next run
                if e == i:
                    e = data.find(ETX, d + 2)
                d = data.find(DLE, d + 2)
            else:  # a DLE before any other byte stays data
                d = data.find(DLE, d + 1)
        end = n if e < 0 else e
        out.append(data if i == 0 and end == n else data[i:end])
        return b"".join(out), (None if e < 0 else data[e + 1 :])

    def _dense(self, data):
        # Many escapes: a few C-level passes over the whole chunk instead of a hop per DLE.
        u = data.replace(_NUL, _T_NUL) if _NUL in data else data
        # replace() pairs left to right, as the escaping does: DLE DLE DLE ETX is DLE, ETX.
        u = u.replace(_DLE2, _T_DLE).replace(_DLE_ETX, _T_ETX)
        e = u.find(ETX)  # every ETX left is bare
        rest = None
        if e >= 0:
            u = u[:e]
            # Tokens are as long as what they stand for, except NUL 01 (one byte more).
            rest = data[e - u.count(_T_NUL) + 1 :]
        elif u[-1] == _DLE_BYTE:  # a DLE left at the end pairs with the next chunk
            self.dle = True
            u = u[:-1]
        u = u.replace(_T_ETX, ETX).replace(_T_DLE, DLE)
        return (u.replace(_T_NUL, _NUL) if _NUL in u else u), rest


class EscapeDetector:
    """The Hayes '+++' escape with guard times (register S12, in 1/50 s, sets guard_ms).

    Three '+' leave data mode when no other byte came for `guard_ms` before the first and after
    the last, and the gaps between them are shorter than the guard. The '+' bytes are held
    back meanwhile, so an escape never reaches the peer; held bytes that turn out to be data
    are handed back in order. guard_ms 0 turns detection off. Times are clock ticks
    (`clock.ticks_ms` semantics, wrap-safe through ticks_diff).
    """

    def __init__(self, guard_ms, clock, now):
        self.guard = guard_ms
        self.clock = clock
        self.last = now  # tick of the last host byte (data mode entry counts as one)
        self.held = 0  # '+' bytes held back, 0..3

    def feed(self, data, now):
        """Bytes from the host at tick `now` -> the bytes to pass on as data (maybe b"")."""
        if not data:
            return data
        if not self.guard:
            self.last = now
            return data
        gap = self.clock.ticks_diff(now, self.last)
        n = len(data)
        out = b""
        if self.held:
            if gap < self.guard and self.held + n <= 3 and data == _PLUSES[:n]:
                self.held += n
                self.last = now
                return b""
            out = _PLUSES[: self.held]  # not an escape after all: data, in order
            self.held = 0
        self.last = now
        if gap >= self.guard and n <= 3 and data == _PLUSES[:n]:
            self.held = n  # silence before: this may be an escape
            return out
        return out + data if out else data

    def wait_ms(self, now):
        """Milliseconds until expire() has something to decide, or None."""
        if not self.held:
            return None
        left = self.guard - self.clock.ticks_diff(now, self.last)
        return left if left > 0 else 0

    def expire(self, now):
        """(data, escaped) after a silence: held pluses become data, or three of them escape."""
        if not self.held or self.clock.ticks_diff(now, self.last) < self.guard:
            return b"", False
        n = self.held
        self.held = 0
        if n == 3:
            return b"", True
        return _PLUSES[:n], False
