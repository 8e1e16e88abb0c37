"""The MicroPython unix-port board: the firmware core under MicroPython on a PC (sim, CI).

Same interface as boards/host/board.py (docs/design.md); the network is mpnet.MPNet, as on
the Wi-Fi boards. boards/unix/run.py serves it on a TCP stream (tools/sim.py --runtime
micropython relays that stream to its pty or TCP serial side).
"""

import os
import time

from modem.store import FileStore, MemoryStore, exists, write_file
from mpnet import MPNet
from pcboard import PCBoard, PCLink, stderr_log  # noqa: F401  (stderr_log: run.py)

_UID_BYTES = 8


def _makedirs(path):
    parent = path.rstrip("/").rpartition("/")[0]
    if parent and not exists(parent):
        _makedirs(parent)
    if not exists(path):
        os.mkdir(path)


def _hex(data):
    return "".join(["%02x" % b for b in data])


def local_address():
    """The PC's address as CPython's gethostbyname(gethostname()) finds it, else 127.0.0.1."""
    import socket

    try:
        with open("/proc/sys/kernel/hostname") as f:
            name = f.read().strip()
        for info in socket.getaddrinfo(name, 0, 0, socket.SOCK_STREAM):
            if info[0] == socket.AF_INET:
                a = info[-1]
                if isinstance(a, tuple):
                    return a[0]
                a = bytes(a)  # unix port: a packed sockaddr_in
                return "%d.%d.%d.%d" % (a[4], a[5], a[6], a[7])
    except (OSError, ValueError, UnicodeError):
        pass
    return "127.0.0.1"


class UnixLink(PCLink, MPNet):
    """The IP session: the PC's own network stands in for GPRS; DNS/TCP/TLS through mpnet."""

    def __init__(self, board):
        MPNet.__init__(self)
        self.board = board
        self.up_now = False


class UnixBoard(PCBoard):
    """Everything the core needs under MicroPython on a PC. state_dir None: settings in memory.

    uid None: a random id stored once in the state directory, or b"unix" without one.
    """

    def __init__(self, state_dir=None, defaults=None, network=True, log=None, uid=None):
        self.state_dir = state_dir.rstrip("/") if state_dir else None
        if self.state_dir:
            _makedirs(self.state_dir)
            self.store = FileStore(self.state_dir + "/settings.json")
        else:
            self.store = MemoryStore()
        self.defaults = dict(defaults or {})
        self.outbox_dir = self.state_dir + "/outbox" if self.state_dir else None
        self.network = network
        self.clock = time  # ticks_ms / ticks_diff / ticks_add: MicroPython's own
        self.link = UnixLink(self)
        self.net = self.link
        self.init_pc(log, uid if uid is not None else self._stored_uid())

    def address(self):
        return local_address()

    def _stored_uid(self):
        if not self.state_dir:
            return b"unix"
        path = self.state_dir + "/uid"
        try:
            with open(path) as f:
                text = f.read().strip()
            if text:
                return text.encode()
        except OSError:
            pass
        text = _hex(os.urandom(_UID_BYTES))
        write_file(path, text + "\n")
        return text.encode()


HostBoard = UnixBoard  # the name the portable test modules use
