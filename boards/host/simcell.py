"""A simulated SIMCom SIM7080G for the PC: the board's module UART as an in-process stream.

It speaks the module's dialect (power-on URCs, echo until ATE0, +CME/+CMS ERRORs, +CEREG
reports, the SMS prompt, PPP data mode entered with ATD*99***1# and left with +++), with
knobs for the failures a mast sees: no SIM, SIM PIN, no coverage, registration denied, APN
rejected, a link that drops, a module that hangs. SMS it sends land as files in
<state>/sms-out/; a file put into <state>/sms-in/ reaches it as a received SMS (formats:
README.md, docs/cellular.md). Portable: it runs on CPython and on the MicroPython unix port.
"""

import os

from modem.smspdu import encode_deliver
from simcmds import SimCommands, asyncio, ticks_diff, ticks_ms

_SMS_MAX = 10  # the SIM's message store (SM)
_INBOX_POLL_MS = 200


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _mkdir(path):
    if path and not _exists(path):
        parent = path.rstrip("/").rpartition("/")[0]
        if parent:
            _mkdir(parent)
        os.mkdir(path)


class ModulePort:
    """The driver's side of the module UART: async read() (>= 1 byte) and async write()."""

    def __init__(self, module):
        self.m = module

    async def read(self):
        m = self.m
        while not m.outbuf:
            m.out_ev.clear()
            await m.out_ev.wait()
        data = bytes(m.outbuf)
        m.outbuf = bytearray()
        return data

    async def write(self, data):
        self.m.receive(bytes(data))


class SimModule(SimCommands):
    """The module. Knobs (set them before or while the driver runs):

    sim: "READY", "SIM PIN" (pin opens it) or "NOT INSERTED"; reg_stat: what registration
    reaches reg_ms after power-on (1 home, 5 roaming, 3 denied, 0 no coverage); csq; apns:
    None (any APN works) or the APNs the network accepts; hang: the module stops answering
    until it is power-cycled; sms_error: a +CMS ERROR code for every AT+CMGS.
    """

    def __init__(self, state_dir=None, scale=1.0, powered=False, log=None):
        self.dir = state_dir
        self.scale = scale
        self.log = log or (lambda msg: None)
        self.sim = "READY"
        self.pin = "1234"
        self.reg_stat = 1
        self.reg_ms = 1500
        self.csq = 20
        self.apns = None
        self.hang = False
        self.sms_error = None
        self.operator = ("Sim Mobile", "SimMob", "00101")
        self.iccid = "89882390000012345674"
        self.imsi = "001010123456789"
        self.outbuf = bytearray()
        self.out_ev = asyncio.Event()
        self.inbuf = b""
        self.in_ev = asyncio.Event()
        self.last_rx = ticks_ms()
        self.powered = False
        self.pressed_at = None
        self.presses = []  # (held ms, what it did) for tests
        self.sent = []  # (number, text) of every SMS sent
        self.store = {}  # index -> [stat, hex pdu]
        self.apn = ""
        self.mode = "cmd"  # "data" after CONNECT, "suspended" after +++
        self.dials = 0
        self.held = []  # URCs waiting for command mode
        self._partial = {}  # (number, ref) -> {seq: text} of concatenated parts
        self._out_seq = 0
        self.on_out = None  # fn(path) after an SMS was written to sms-out (tools/sim.py)
        self.ri = None  # fn(): the RI line falls (AT+CFGRI=1: on every URC, held ones too)
        self._tasks = []
        self._reset_settings()
        if powered:
            self._boot(announce=False)

    def _ms(self, ms):
        return ms * self.scale / 1000

    def _reset_settings(self):
        self.echo = True
        self.cmee = 0
        self.creg_n = {"+CEREG": 0, "+CREG": 0, "+CGREG": 0}
        self.cfun = 1
        self.cnmi = [0, 0]
        self.cops_format = 0
        self.cfgri = 0
        self.attached = False
        self.on_at = ticks_ms()
        self.forced = None  # a stat set by set_reg()
        self.reported = 0

    # ------------------------------------------------------------ tasks
    def start(self):
        """The module's own tasks (command worker, registration and sms-in watch)."""
        self._tasks = [
            asyncio.create_task(self._worker()),
            asyncio.create_task(self._ticker()),
        ]
        return self._tasks

    def stop(self):
        for t in self._tasks:
            t.cancel()
        self._tasks = []

    def port(self):
        return ModulePort(self)

    # ------------------------------------------------------------ power
    def pwrkey(self, pressed):
        """The PWRKEY line (True: pressed, i.e. held low at the module)."""
        now = ticks_ms()
        if pressed:
            self.pressed_at = now
            return
        if self.pressed_at is None:
            return
        held = ticks_diff(now, self.pressed_at) / self.scale
        self.pressed_at = None
        # SIM7080 Hardware Design: >= 1 s switches on, >= 1.2 s off. Simplified to "a press of
        # 0.9 s or more toggles" so that scaled test times (1/100) cannot fall between the two.
        if held < 900:
            self.presses.append((held, "ignored"))
        elif not self.powered:
            self.presses.append((held, "on"))
            asyncio.create_task(self._power_on())
        else:
            self.presses.append((held, "off"))
            self._emit(b"\r\nNORMAL POWER DOWN\r\n")
            self.powered = False
            self.hang = False  # a power cycle cures a hung module
            self.mode = "cmd"

    async def _power_on(self):
        await asyncio.sleep(self._ms(1800))  # SIM7080 Hardware Design: UART ready ~1.8 s
        self._boot()

    def _boot(self, announce=True):
        self._reset_settings()
        self.powered = True
        self.mode = "cmd"
        self.inbuf = b""
        if announce:
            cpin = "NOT INSERTED" if self.sim == "NOT INSERTED" else self.sim
            self._emit(b"\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: %s\r\n" % cpin.encode())
            if self.sim == "READY":
                self._emit(b"\r\nSMS Ready\r\n")

    # ------------------------------------------------------------ network
    def stat(self):
        if not self.powered or not self.cfun or self.sim != "READY":
            return 0
        if self.forced is not None:
            return self.forced
        if ticks_diff(ticks_ms(), self.on_at) < self.reg_ms * self.scale:
            return 2
        return self.reg_stat

    def set_reg(self, stat):
        """The network changes: a new <stat> (None: back to reg_stat). Leaving the network
        in data mode drops the call (NO CARRIER)."""
        self.forced = stat
        if stat not in (1, 5) and self.mode == "data":
            self.mode = "cmd"
            self.attached = False
            self._emit(b"\r\nNO CARRIER\r\n")
            self._release()

    def drop(self):
        """The data call ends by the network's doing (PDP deactivated)."""
        if self.mode in ("data", "suspended"):
            self.mode = "cmd"
            self._emit(b"\r\nNO CARRIER\r\n")
            self._release()

    def deliver(self, sender, text):
        """An SMS arrives from the network: stored, announced with +CMTI (AT+CNMI=2,1)."""
        from cellsms import split_sms

        scts = (26, 1, 1, 12, 0, 0, 0)
        try:
            t = __import__("time").gmtime()
            scts = (t[0] % 100, t[1], t[2], t[3], t[4], t[5], 0)
        except (AttributeError, OverflowError):
            pass
        for chunk, concat in split_sms(text):
            udh = None
            if concat is not None:
                udh = bytes((5, 0, 3, 7, concat[1], concat[2]))
            i = 1
            while i in self.store:
                i += 1
            if i > _SMS_MAX:
                self.log("simcell: SIM store full, SMS dropped")
                return
            self.store[i] = [0, encode_deliver(sender, chunk, scts, udh=udh)]
            if self.powered and self.cnmi[1] == 1:
                self._urc(b'\r\n+CMTI: "SM",%d\r\n' % i)

    async def _ticker(self):
        while True:
            await asyncio.sleep(_INBOX_POLL_MS / 1000)
            if not self.powered or self.hang:
                continue
            s = self.stat()
            if s != self.reported:
                self.reported = s
                for name, n in self.creg_n.items():
                    if n and self.mode != "data":
                        self._emit(b"\r\n%s: %d\r\n" % (name.encode(), s))
            self._scan_inbox()

    def _scan_inbox(self):
        if not self.dir or self.sim != "READY":
            return
        folder = self.dir + "/sms-in"
        if not _exists(folder):
            return
        for name in sorted(os.listdir(folder)):
            if name[:1] == "." or name[-4:] == ".tmp":
                continue  # being written: a writer renames it into place when done
            path = folder + "/" + name
            try:
                with open(path, "rb") as f:
                    raw = f.read()
                os.remove(path)
            except OSError:
                continue
            text = raw.decode().replace("\r\n", "\n")
            sender, _, body = text.partition("\n")
            while body[-1:] == "\n":
                body = body[:-1]
            self.log("simcell: SMS from %s" % sender.strip())
            self.deliver(sender.strip(), body)

    def _write_out(self, number, text):
        self.sent.append((number, text))
        if not self.dir:
            return
        folder = self.dir + "/sms-out"
        _mkdir(folder)
        while True:
            self._out_seq += 1
            path = "%s/%04d.txt" % (folder, self._out_seq)
            if not _exists(path):
                break
        with open(path + ".tmp", "wb") as f:
            f.write((number + "\n" + text).encode())
        os.rename(path + ".tmp", path)
        self.log("simcell: SMS to %s -> %s" % (number, path))
        if self.on_out is not None:
            self.on_out(path)

    # ------------------------------------------------------------ the UART
    def _urc(self, data):
        """An unsolicited code; in PPP data mode it waits for command mode while the RI line
        pulses (AT+CFGRI=1)."""
        if self.cfgri and self.ri is not None:
            self.ri()
        if self.mode == "data":
            self.held.append(data)
        else:
            self._emit(data)

    def _release(self):
        held, self.held = self.held, []
        for data in held:
            self._emit(data)

    def _emit(self, data):
        if self.powered:
            self.outbuf += data
            self.out_ev.set()

    def receive(self, data):
        self.last_rx = ticks_ms()
        if not self.powered:
            return
        self.inbuf += data
        self.in_ev.set()

    async def _next(self):
        while not self.inbuf:
            self.in_ev.clear()
            await self.in_ev.wait()
        data = self.inbuf
        self.inbuf = b""
        return data

    async def _worker(self):
        buf = b""
        while True:
            buf += await self._next()
            if self.hang:
                buf = b""
                continue
            if self.mode == "data":
                buf = await self._data(buf)
                continue
            while b"\r" in buf and self.mode != "data":
                i = buf.find(b"\r")
                line, buf = buf[:i], buf[i + 1 :]
                line = line.strip(b"\n ")
                if self.echo:
                    self._emit(line + b"\r")
                if not line:
                    continue
                try:
                    await self._line(line.decode())
                except UnicodeError:
                    self._emit(b"\r\nERROR\r\n")
            if self.mode == "data":
                buf = b""

    async def _data(self, buf):
        """PPP data mode: bytes go to the network (nowhere here); +++ between two guard times
        (1 s, V.250 S12) returns to command mode."""
        if buf != b"+++":
            return b""
        await asyncio.sleep(self._ms(1000))
        if self.inbuf or ticks_diff(ticks_ms(), self.last_rx) < self.scale * 900:
            return b""
        self.mode = "suspended"
        self._emit(b"\r\nOK\r\n")
        self._release()
        return b""
