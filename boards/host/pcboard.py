"""What both PC boards share, on CPython (boards/host) and on the MicroPython unix port
(boards/unix): the simulated IP session, the CA file of AT#CACERT, and the fixed answers a PC
gives where a board asks its radio. Portable: it runs on both runtimes."""

import binascii
import os
import sys
import time

from modem.compat import const
from modem.errors import NetError
from modem.store import exists, remove_file, write_file

_NOT_ATTACHED = const(35865)


# What a scan finds on a PC: (ssid, rssi dBm, secured). Joining any of them "works".
STAND_IN_NETWORKS = (
    ("mtgw-sim-office", -48, True),
    ("mtgw-sim-workshop", -63, True),
    ("mtgw-sim-guest", -80, False),
)


def stderr_log(msg):
    sys.stderr.write(msg + "\n")


class PCLink:
    """The IP session on a PC: its own network stands in for GPRS. Mixed into the runtime's
    Net (host net.HostNet, mpnet.MPNet), which does DNS, TCP and TLS."""

    async def up(self, values):
        if not self.board.network:
            raise NetError(_NOT_ATTACHED, "no network")
        self.up_now = True
        return (self.board.address(), "0.0.0.0", "0.0.0.0")

    async def down(self):
        self.up_now = False


class PCBoard:
    """Board methods that do not depend on the runtime. A subclass sets store, defaults,
    network, clock, net, state_dir and calls init_pc(log, uid); it defines address()."""

    def init_pc(self, log, uid):
        self._log = log
        self._uid = uid
        self.serial = None
        self.ca_path = None  # a CA file given by the tests or the simulator's --cafile
        self._tmp_ca = None
        self.resets = 0

    def utc(self):
        return tuple(time.gmtime()[:7])  # weekday 0 = Monday on both runtimes

    def _ca_file(self):
        if self.state_dir:
            return self.state_dir + "/ca.pem"
        if self._tmp_ca is None:
            tag = binascii.hexlify(os.urandom(6)).decode()
            self._tmp_ca = "/tmp/mtgw-ca-%s.pem" % tag
        return self._tmp_ca

    def cafile(self):
        """The CA certificate file installed with AT#CACERT, else ca_path, else None."""
        p = self._ca_file()
        return p if exists(p) else self.ca_path

    def save_ca(self, pem):
        """AT#CACERT: store a PEM CA certificate (new file, then rename), or remove it (None)."""
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

    async def scan(self):
        """The web page's network scan: a PC has no radio; these stand in (docs/portal.md)."""
        if not self.network:
            return []
        return list(STAND_IN_NETWORKS)

    def apply_serial(self, rate, ifc):
        self.serial = (rate, tuple(ifc))

    def reset(self):
        """AT+CFUN=1,1 / AT#RESET=0: on a PC the modem object starts again by itself."""
        self.resets += 1
        self.log("reset")
