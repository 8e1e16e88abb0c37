"""The host board: the firmware core on CPython, with the PC's network and a settings file."""

import os
import socket
import time

from modem.store import FileStore, MemoryStore
from net import HostNet
from pcboard import PCBoard, PCLink, stderr_log  # noqa: F401  (stderr_log: tools/sim.py)


class HostClock:
    """ticks_ms semantics on CPython (wrapping at 2**30 like MicroPython's small-int ticks)."""

    PERIOD = 1 << 30

    def ticks_ms(self):
        return int(time.monotonic() * 1000) & (self.PERIOD - 1)

    def ticks_diff(self, a, b):
        d = (a - b) & (self.PERIOD - 1)
        return d - self.PERIOD if d >= self.PERIOD // 2 else d

    def ticks_add(self, a, delta):
        return (a + delta) & (self.PERIOD - 1)


class HostLink(PCLink, HostNet):
    """The IP session in the simulator, over CPython's network."""

    def __init__(self, board):
        HostNet.__init__(self)
        self.board = board
        self.up_now = False


def local_address():
    try:
        addr = socket.gethostbyname(socket.gethostname())
    except OSError:
        addr = "127.0.0.1"
    return addr


class HostBoard(PCBoard):
    """Everything the core needs on a PC. state_dir None keeps settings in memory only."""

    def __init__(self, state_dir=None, defaults=None, network=True, log=None, uid=b"host"):
        if state_dir:
            os.makedirs(state_dir, exist_ok=True)
            self.store = FileStore(os.path.join(state_dir, "settings.json"))
        else:
            self.store = MemoryStore()
        self.defaults = dict(defaults or {})
        self.network = network
        self.clock = HostClock()
        self.link = HostLink(self)
        self.net = self.link
        self.state_dir = state_dir
        self.outbox_dir = os.path.join(state_dir, "outbox") if state_dir else None
        self.init_pc(log, uid)

    def address(self):
        return local_address()
