"""The host board: the firmware core on CPython, with the PC's network and a settings file."""

import os
import socket
import sys
import tempfile
import time

from modem.errors import NetError, NOT_ATTACHED
from modem.store import FileStore, MemoryStore, exists, remove_file, write_file
from net import HostNet


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


class HostLink(HostNet):
    """The IP session in the simulator: the PC's own network stands in for GPRS."""

    def __init__(self, board):
        super().__init__()
        self.board = board
        self.up_now = False

    async def up(self, values):
        if not self.board.network:
            raise NetError(NOT_ATTACHED, "no network")
        self.up_now = True
        return (local_address(), "0.0.0.0", "0.0.0.0")

    async def down(self):
        self.up_now = False


def local_address():
    try:
        addr = socket.gethostbyname(socket.gethostname())
    except OSError:
        addr = "127.0.0.1"
    return addr


class HostBoard:
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
        self._log = log
        self._uid = uid
        self.serial = None
        self.state_dir = state_dir
        self.ca_path = None  # a CA file given by the tests or the simulator's --cafile
        self._tmp_ca = None

    def utc(self):
        t = time.gmtime()
        return (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, t.tm_wday)

    def _ca_file(self):
        if self.state_dir:
            return os.path.join(self.state_dir, "ca.pem")
        if self._tmp_ca is None:
            fd, self._tmp_ca = tempfile.mkstemp(suffix=".pem")
            os.close(fd)
            os.remove(self._tmp_ca)
        return self._tmp_ca

    def cafile(self):
        """The CA certificate file installed with AT#CACERT, else ca_path, else None."""
        p = self._ca_file()
        return p if exists(p) else self.ca_path

    def save_ca(self, pem):
        """AT#CACERT: store a PEM CA certificate (atomically), or remove it (None)."""
        if pem is None:
            remove_file(self._ca_file())
        else:
            write_file(self._ca_file(), pem)

    def log(self, msg):
        if self._log:
            self._log(msg)

    def uid(self):
        return self._uid

    def rssi(self):
        return -67 if self.network else None  # a fixed, plausible Wi-Fi level

    def link_available(self):
        return self.network

    def apply_serial(self, rate, ifc):
        self.serial = (rate, tuple(ifc))


def stderr_log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()
