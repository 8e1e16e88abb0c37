"""Shared MicroPython board pieces: UART port, watchdog, Wi-Fi link, LED and the board object.

What runs all the time is here; what runs once at boot is in mpboot, the rare work in
mpchores, the web pages' switching in mpsetup: imported for their call and forgotten again
(docs/design.md, Memory).
"""

import os
import sys
import time

import machine

from modem.compat import asyncio, const
from modem.errors import NetError
from modem.store import exists
from mpnet import MPNet

_NOT_ATTACHED = const(35865)

_READ_SIZE = const(2048)  # one UART read at most: the UART's receive buffer (rxbuf below)
_FIRST_READ = const(256)  # a read that waits for the first byte: a command line's worth
_FEED_MS = const(1000)  # watchdog feeding period
_LED_MS = const(50)  # LED update period; one activity flash lasts two periods
_HEARTBEAT = const(40)  # Wi-Fi up, no session: one flash every 40 LED periods (2 s)
_BACKOFF_MAX_MS = const(60000)  # longest pause between two re-join attempts
_LOG_CAP = const(16384)  # a log file is moved to <name>.1 when it grows past this


def _aside(name):
    """A module of rarely run code (mpboot, mpchores, mpsetup), imported for one call: it is
    forgotten at once, and goes from the heap when the call is over."""
    mod = __import__(name)
    sys.modules.pop(name, None)
    return mod


class UARTPort:
    """The host's serial line as the core's port: async read() (>= 1 byte), async write().

    asyncio.StreamReader(uart) polls the UART (MicroPython streams); stream, when given, is a
    factory for a stand-in (tests on CPython). One task reads, one writes (the modem).
    """

    def __init__(self, uart, stream=None, activity=None):
        self.uart = uart
        self._s = (stream or asyncio.StreamReader)(uart)
        self.activity = activity
        self._any = getattr(uart, "any", None)  # a UART has it; another stream may not

    def pending(self):
        """Bytes from the host already in the UART (the modem's begin_data peeks)."""
        return bool(self.uart.any())

    async def read(self):
        """What the UART holds, as a driver hands it: the bytes already there, up to its
        receive buffer (no larger object made for them), or the first ones to come."""
        while True:
            n = self._any() if self._any else _READ_SIZE
            # stream.read(n) makes an n-byte object before it reads: never 2 KB for a few bytes
            data = await self._s.read(_FIRST_READ if not n else min(n, _READ_SIZE))
            if data:
                if self.activity:
                    self.activity()
                return data
            await asyncio.sleep(0.01)  # a UART has no end of file: never spin on b""

    async def write(self, data):
        self._s.write(data)
        await self._s.drain()
        if self.activity:
            self.activity()


class Watchdog:
    """machine.WDT fed from its own task: a blocked event loop resets the board.

    Once started, the WDT cannot be stopped (ESP32, RP2040). release() hands the feeding to a
    machine.Timer so that the REPL stays usable after Ctrl-C.
    """

    def __init__(self, timeout_ms, period_ms=_FEED_MS, timer_id=-1):
        self.timeout_ms = timeout_ms
        self.period_ms = period_ms
        self.timer_id = timer_id
        self.wdt = None
        self.timer = None
        self.feeds = 0

    def feed(self):
        if self.wdt is not None:
            self.wdt.feed()
            self.feeds += 1

    async def run(self):
        while True:
            self.feed()
            await asyncio.sleep(self.period_ms / 1000)

    def release(self):
        """Feed from a timer from now on (the event loop is gone: Ctrl-C, REPL)."""
        if self.wdt is not None and self.timer is None:
            self.timer = machine.Timer(
                self.timer_id,
                mode=machine.Timer.PERIODIC,
                period=self.period_ms,
                callback=self._tick,
            )

    def _tick(self, _timer):
        self.feed()


class LED:
    """Status LED: on while the IP session is up, a short flash every 2 s while only Wi-Fi is
    up, off without Wi-Fi; serial activity inverts it for 100 ms."""

    def __init__(self, pin=None, active_low=False):
        self.pin = machine.Pin(pin, machine.Pin.OUT) if pin is not None else None
        self.active_low = active_low
        self.flash = 0
        self.lit = False

    def set(self, on):
        self.lit = bool(on)
        if self.pin is not None:
            self.pin.value(1 if self.lit != self.active_low else 0)

    def activity(self):
        self.flash = 2

    def show(self, state, n):
        """One LED period: state 0 no link, 1 link, 2 session up; n counts periods."""
        on = state == 2 or (state == 1 and n % _HEARTBEAT == 0)
        if self.flash:
            self.flash -= 1
            on = not on
        self.set(on)

    async def run(self, state):
        n = 0
        while True:
            self.show(state(), n)
            n += 1
            await asyncio.sleep(_LED_MS / 1000)


class WiFiLink(MPNet):
    """The IP session over Wi-Fi (network.WLAN, station): the core's net (up/down + MPNet).

    Wi-Fi plays the part of GSM registration: once credentials are known (stored WIFISSID at
    boot, or AT#CONNECTIONSTART) keep() stays joined and re-joins after a drop, so AT+CREG?
    reports the link. up() joins (or checks the join) and marks the session up; down() only
    marks it down, as a GPRS modem stays registered after its PDP context is gone.
    """

    def __init__(
        self,
        join_timeout_ms=15000,
        keep_ms=2000,
        ntp=None,
        clock=time,
        log=None,
        before_block=None,
        poll_ms=100,
    ):
        super().__init__(before_block)
        self.join_timeout_ms = join_timeout_ms
        self.keep_ms = keep_ms
        self.poll_ms = poll_ms
        self.clock = clock
        self.log = log or _no_log
        self.wlan = None  # created on first use: nothing touches the radio at construction
        self.creds = None  # (ssid, password) to stay joined to; never logged
        self.session = False
        self.joined = False  # a join succeeded and no drop was noticed since
        self.joins = 0  # join attempts, drops seen, for diagnostics and tests
        self.drops = 0
        self.time_ok = False
        self._ntp = ntp
        self._ntp_at = None  # ticks of the last NTP attempt
        self._ntp_wait = 0  # from that attempt to the next one
        self._lock = asyncio.Lock()

    def iface(self):
        if self.wlan is None:
            import network

            self.wlan = network.WLAN(network.STA_IF)
        return self.wlan

    def connected(self):
        return self.wlan is not None and bool(self.wlan.isconnected())

    async def join(self, ssid, password):
        """Join ssid; True when connected within join_timeout_ms (15 s)."""
        async with self._lock:
            w = self.iface()
            if self.creds == (ssid, password) and w.isconnected():
                return True
            self.creds = (ssid, password)
            w.active(True)
            if w.isconnected():
                w.disconnect()  # joined to another network
            self.joined = False
            self.joins += 1
            self.log("wifi: joining %s" % ssid)
            w.connect(ssid, password)
            c = self.clock
            t0 = c.ticks_ms()
            while not w.isconnected():
                if c.ticks_diff(c.ticks_ms(), t0) >= self.join_timeout_ms:
                    self.log("wifi: no connection (status %s)" % (w.status(),))
                    w.disconnect()  # stop the driver's own retries; keep() tries again later
                    return False
                await asyncio.sleep(self.poll_ms / 1000)
            self.joined = True
            self.log("wifi: joined, address %s" % w.ifconfig()[0])
            return True

    async def up(self, values):
        """AT#CONNECTIONSTART: join with WIFISSID/WIFIPW, NetError(35865) when that fails."""
        ssid = values.get("WIFISSID") or ""
        if not ssid:
            raise NetError(_NOT_ATTACHED, "WIFISSID not set")
        if not await self.join(ssid, values.get("WIFIPW") or ""):
            raise NetError(_NOT_ATTACHED, "no Wi-Fi connection to " + ssid)
        self.session = True
        if not self.time_ok and self.ntp_due():
            self.sync_time()
        cfg = self.wlan.ifconfig()  # (address, netmask, gateway, dns)
        return (cfg[0], "0.0.0.0", cfg[2])

    async def down(self):
        self.session = False

    def rssi(self):
        if not self.connected():
            return None
        try:
            return self.wlan.status("rssi")
        except (OSError, ValueError):  # not every driver reports it at every moment
            return None

    def sync_time(self):
        """Set the RTC from NTP; True when set (mpchores.sync_time)."""
        return _aside("mpchores").sync_time(self)

    def ntp_due(self):
        if self._ntp_at is None:
            return True
        return self.clock.ticks_diff(self.clock.ticks_ms(), self._ntp_at) >= self._ntp_wait

    async def keep(self):
        """Background task: stay joined while credentials are known; NTP now and then."""
        backoff = 0
        while True:
            await asyncio.sleep((self.keep_ms + backoff) / 1000)
            if self.creds is None or self._lock.locked():
                continue
            w = self.iface()
            if w.isconnected():
                backoff = 0
                if self.ntp_due():
                    self.sync_time()
                continue
            if self.joined:
                self.joined = False
                self.drops += 1
                self.log("wifi: link lost, re-joining")
            if await self.join(self.creds[0], self.creds[1]):
                backoff = 0
            else:
                backoff = min(backoff * 2 or self.keep_ms, _BACKOFF_MAX_MS)


def _no_log(msg):
    pass


class MPBoard:
    """Everything the core needs on a MicroPython board with Wi-Fi (docs/design.md).

    The board files (boards/*/board.py) pass pins and numbers (mpboot.make; the constructor's
    arguments are mpboot.init's). clock, stream and ntp replace time, asyncio.StreamReader and
    ntptime.settime (tests on CPython with fake machine and network modules).
    """

    def __init__(self, uart_id, tx, rx, **kw):
        import mpboot

        mpboot.init(self, uart_id, tx, rx, **kw)

    # ------------------------------------------------------------ serial
    def apply_serial(self, rate, ifc):
        """AT+IPR / AT+IFC (mpchores.apply_serial)."""
        _aside("mpchores").apply_serial(self, rate, ifc)

    # ------------------------------------------------------------ what the core asks
    def log(self, msg):
        dest = self.log_to
        if not dest:
            return
        if dest == "console":
            print(msg)
            return
        try:
            try:
                if os.stat(dest)[6] > _LOG_CAP:
                    os.rename(dest, dest + ".1")
            except OSError:
                pass  # no log file yet
            with open(dest, "a") as f:
                f.write("%d %s\n" % (self.clock.ticks_ms(), msg))
        except OSError:
            pass  # a full or read-only flash must not stop the modem

    def uid(self):
        return machine.unique_id()

    def rssi(self):
        return self.link.rssi()

    def link_available(self):
        return self.link.connected()

    def utc(self):
        """(y, mon, d, h, min, s, weekday) once NTP set the clock, else None (no Date:)."""
        if not self.link.time_ok:
            return None
        return tuple(time.gmtime()[:7])

    def cafile(self):
        return self.ca_path if exists(self.ca_path) else None

    def save_ca(self, pem):
        """AT#CACERT: store a PEM CA certificate, or remove it (mpchores.save_ca)."""
        _aside("mpchores").save_ca(self, pem)

    def reset(self):
        """AT+CFUN=1,1 / AT#RESET=0: the board restarts (mpchores.reset)."""
        _aside("mpchores").reset(self)

    # ------------------------------------------------------------ life cycle
    def led_state(self):
        if not self.link.connected():
            return 0
        return 2 if self.link.session else 1

    def start(self, values=None):
        """Start the background tasks in the running loop: watchdog, LED, Wi-Fi keeper
        (mpboot.start); a stored WIFISSID in values joins Wi-Fi right away. The task list."""
        return _aside("mpboot").start(self, values)

    def start_web(self, modem):
        """After start(): the web pages' watcher (docs/portal.md); reads the setup button."""
        _aside("mpboot").start_web(self, modem)

    # ------------------------------------------------------------ web pages
    async def scan(self):
        """[(ssid, rssi, secured)] of the networks in range (mpsetup.scan)."""
        return await _aside("mpsetup").scan(self.link)

    def wifi_changed(self, values):
        """The page stored new Wi-Fi settings: join them (keep() retries)."""
        self.link.creds = (values["WIFISSID"], values["WIFIPW"]) if values["WIFISSID"] else None
        self._down_since = None
        self._up_since = None

    def web_wanted(self, v):
        """The mode the pages should be in now: "setup", "status" or None (docs/portal.md)."""
        c = self.clock
        now = c.ticks_ms()
        if self.link.connected():
            self._down_since = None
            if self._up_since is None:
                self._up_since = now
        else:
            self._up_since = None
            if self._down_since is None:
                self._down_since = now
        if self.web_mode == "setup":
            # stays open until the network has been joined for a while (the phone sees it)
            if self._up_since is None or c.ticks_diff(now, self._up_since) < self.ap_linger_ms:
                return "setup"
            self._forced = False
        elif self._forced or not v["WIFISSID"]:
            return "setup"
        elif v["SETUPWAIT"] and c.ticks_diff(now, self._down_since or now) >= (
            v["SETUPWAIT"] * 1000
        ):
            return "setup"
        if v["WEBSTATUS"] and v["WEBPW"]:
            return "status"
        return None

    async def web(self, modem):
        """Background task: open or close the setup access point and the pages as
        web_wanted() says; the server's modules are in RAM only while it runs."""
        while True:
            want = self.web_wanted(modem.values)
            if want != self.web_mode:
                await _aside("mpsetup").switch(self, modem, want)
            await asyncio.sleep(self.web_poll_ms / 1000)

    def stop(self):
        """Leaving the event loop (Ctrl-C, error): the REPL must stay usable."""
        self.watchdog.release()
        for t in self.tasks:
            t.cancel()
        self.tasks = []
        self.led.set(False)
