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


def forget(name):
    """Drop modem.<name> from sys.modules and from the package's attributes (which would keep
    it alive too): the next use imports it again (docs/design.md, Memory). True when it was
    loaded."""
    gone = sys.modules.pop("modem." + name, None) is not None
    pkg = sys.modules.get("modem")
    if pkg is not None and hasattr(pkg, name):
        delattr(pkg, name)
    return gone


async def wait_for(aw, timeout_s):
    """asyncio.wait_for with seconds; None means no limit."""
    if timeout_s is None:
        return await aw
    return await asyncio.wait_for(aw, timeout_s)
