"""Drive a Modem through an in-memory serial port: bytes in, exact bytes out.

Portable: under MicroPython (tools/mp_tests.py) `board` is boards/unix/board.py, whose
HostBoard is the unix-port board; its uid is pinned to the host board's so both runtimes
answer AT+CGSN alike.
"""

import asyncio
import sys

from modem.modem import Modem
from board import HostBoard

MICROPYTHON = sys.implementation.name == "micropython"


class LoopPort:
    """A serial port in memory. `waiting` is True while the modem waits for host bytes."""

    def __init__(self):
        self.inq = []
        self.ev = asyncio.Event()
        self.out = bytearray()
        self.waiting = False
        self.closed = False

    async def read(self):
        while not self.inq:
            if self.closed:
                return b""
            self.waiting = True
            self.ev.clear()
            await self.ev.wait()
        self.waiting = False
        return self.inq.pop(0)

    async def write(self, data):
        self.out += data

    def pending(self):
        return bool(self.inq)

    def send(self, data):
        self.inq.append(data)
        self.waiting = False
        self.ev.set()

    def take(self):
        data = bytes(self.out)
        self.out = bytearray()
        return data


class Session:
    def __init__(self, board=None, **kw):
        if board is None:
            if MICROPYTHON:
                kw.setdefault("uid", b"host")
            board = HostBoard(**kw)
        self.board = board
        self.modem = Modem(self.board)
        self.port = LoopPort()
        self.task = None

    async def __aenter__(self):
        await self.modem.start()
        self.task = asyncio.create_task(self.modem.run(self.port))
        await self.idle()
        return self

    async def __aexit__(self, *exc):
        self.port.closed = True
        self.port.ev.set()
        await asyncio.wait_for(self.task, 5)

    async def idle(self, timeout=10):
        for _ in range(int(timeout * 1000)):
            await asyncio.sleep(0)
            if self.port.waiting and not self.port.inq and not self.modem.rx:
                return
            if self.task.done():
                await self.task  # the modem's exception, if any (Task.result(): CPython only)
                return
            await asyncio.sleep(0.001)
        raise asyncio.TimeoutError("modem did not return to waiting for input")

    async def cmd(self, data):
        """Send bytes, wait until the modem waits for input again, return what it wrote."""
        if isinstance(data, str):
            data = data.encode()
        self.port.send(data)
        await self.idle()
        return self.port.take()


def run(coro):
    return asyncio.run(coro)
