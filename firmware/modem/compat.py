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
if hasattr(b"", "translate"):  # CPython: one C pass without creating int objects

    def text_only(data):
        """True when data holds only printable ASCII and LF."""
        return not data.translate(None, _TEXT)

else:  # MicroPython: min/max iterate bytes in C without allocating

    def text_only(data):
        """True when data holds only printable ASCII and LF."""
        return not data or (max(data) < 127 and min(data.replace(b"\n", b"A")) >= 32)
