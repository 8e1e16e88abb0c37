"""Fake of MicroPython's network module (WLAN station) for host tests, scripted by the test."""

STA_IF = 0
AP_IF = 1
STAT_IDLE = 0
STAT_CONNECTING = 1
STAT_WRONG_PASSWORD = -3
STAT_NO_AP_FOUND = -2
STAT_CONNECT_FAIL = -1
STAT_GOT_IP = 3
AUTH_OPEN = 0
AUTH_WPA2_PSK = 3  # as the ESP32 port names it


class World:
    """The radio environment: access points in range, their passwords, the signal level."""

    def __init__(self):
        self.aps = {}  # ssid -> password
        self.rssi = -67
        self.join_polls = 2  # isconnected() calls before a join completes
        self.address = ("192.168.4.23", "255.255.255.0", "192.168.4.1", "192.168.4.1")
        self.ap_address = ("192.168.4.1", "255.255.255.0", "192.168.4.1", "192.168.4.1")
        self.open_aps = set()  # ssids in range without a password
        self.scans = 0


world = World()
_interfaces = {}


def reset_all():
    global world
    world = World()
    _interfaces.clear()
    PPP.made.clear()


class WLAN:
    def __new__(cls, interface=STA_IF):
        # One object per interface, as on the boards.
        if interface not in _interfaces:
            obj = super().__new__(cls)
            obj._setup(interface)
            _interfaces[interface] = obj
        return _interfaces[interface]

    def _setup(self, interface):
        self.interface = interface
        self._active = False
        self._status = STAT_IDLE
        self._connected = False
        self._polls = 0
        self.ssid = None
        self.connects = []  # ssid of every connect() call (passwords are not kept)
        self.disconnects = 0
        self.cfg = {}  # what config(...) set (the access point's name, key, security)

    def active(self, on=None):
        if on is None:
            return self._active
        self._active = bool(on)

    def connect(self, ssid, key=None):
        if not self._active:
            raise OSError("Wifi Not Started")
        self.connects.append(ssid)
        self.ssid = ssid
        self._connected = False
        self._polls = 0
        if ssid not in world.aps:
            self._status = STAT_NO_AP_FOUND
        elif world.aps[ssid] != key:
            self._status = STAT_WRONG_PASSWORD
        else:
            self._status = STAT_CONNECTING

    def disconnect(self):
        self.disconnects += 1
        self._connected = False
        self._status = STAT_IDLE

    def isconnected(self):
        if self._status == STAT_CONNECTING:
            self._polls += 1
            if self._polls >= world.join_polls:
                self._status = STAT_GOT_IP
                self._connected = True
        return self._connected

    def status(self, param=None):
        if param is None:
            return self._status
        if param == "rssi":
            if not self._connected:
                raise OSError("not connected")
            return world.rssi
        raise ValueError("unknown status param")

    def scan(self):
        if not self._active:
            raise OSError("Wifi Not Started")
        world.scans += 1
        out = []
        for i, ssid in enumerate(sorted(world.aps)):
            sec = AUTH_OPEN if ssid in world.open_aps else AUTH_WPA2_PSK
            out.append((ssid.encode(), b"\x02\x00\x00\x00\x00%c" % i, 6, world.rssi - i, sec, 0))
        return out

    def ifconfig(self):
        if self.interface == AP_IF:
            return world.ap_address if self._active else ("0.0.0.0",) * 4
        if not self._connected:
            return ("0.0.0.0", "0.0.0.0", "0.0.0.0", "0.0.0.0")
        return world.address

    def config(self, *args, **kw):
        if kw:
            self.cfg.update(kw)
            return None
        if args == ("ssid",):
            return self.cfg.get("ssid", self.ssid or "")
        return None

    # test side
    def drop(self):
        """The access point went away (or kicked us): the link is down until a new join."""
        self._connected = False
        self._status = STAT_IDLE


class PPP:
    """network.PPP(stream) of the esp32 port (MicroPython 1.24+): connect() hooks the
    stream's RXIDLE interrupt; the link comes up after world.ppp_polls isconnected() calls."""

    SEC_NONE = 0
    SEC_PAP = 1
    SEC_CHAP = 2
    made = []

    def __init__(self, stream):
        self.stream = stream
        self.connects = []  # (security, user, key is set)
        self.disconnects = 0
        self._up = False
        self._polls = 0
        PPP.made.append(self)

    def poll(self, *args):
        pass

    def connect(self, security=0, user=None, key=None):
        self.connects.append((security, user, key is not None))
        self._polls = 0
        self._connecting = True
        self.stream.irq(self.poll, self.stream.IRQ_RXIDLE)

    def isconnected(self):
        if getattr(self, "_connecting", False):
            self._polls += 1
            if self._polls >= 2:
                self._up = True
                self._connecting = False
        return self._up

    def ipconfig(self, key):
        return {"addr4": ("10.64.1.2", "255.255.255.255"), "gw4": "10.64.0.1"}[key]

    def disconnect(self):
        self.disconnects += 1
        self._up = False
        self._connecting = False
