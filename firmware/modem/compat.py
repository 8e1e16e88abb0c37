"""One place for the few differences between CPython and MicroPython that the core sees."""

import sys

try:
    from micropython import const  # noqa: F401
except ImportError:  # CPython

    def const(x):
        return x


# MicroPython keeps interned names (qstrs) in the GC heap for good: modem._intern places them.
INTERN = sys.implementation.name == "micropython"

try:
    import asyncio
except ImportError:  # very old MicroPython ports
    import uasyncio as asyncio  # noqa: F401


async def wait_for(aw, timeout_s):
    """asyncio.wait_for with seconds; None means no limit."""
    if timeout_s is None:
        return await aw
    return await asyncio.wait_for(aw, timeout_s)


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
