"""Cellular module driver: power, sync, SIM, registration, PDP, PPP dial and the keeper over
one AT link (cellat.py), SMS (cellsms.py); docs/cellular.md. No hardware here: the stream,
the PWRKEY line and the data path are injected; the module's quirks are data (cellmods.py)."""

from modem.compat import asyncio, const
from modem.errors import NetError
from cellat import NO_ANSWER, ATLink, _fields, _int
from cellmods import MODULES
from cellsms import CellSMS

_NOT_ATTACHED = const(35865)
_ACTIVATION_FAILED = const(49155)

_TRY_MS = const(500)  # one "AT" of the sync loop waits this long for its OK
_POLL_MS = const(5000)  # registration and signal poll while idle
_REG_POLL_MS = const(1000)  # AT#CONNECTIONSTART waiting for registration
_MISSES = const(2)  # commands in a row without an answer: the module is power-cycled
_RING_MS = const(250)  # the keeper looks at the RI flag this often between its polls
_SMS_POLL_MS = const(60000)  # data mode without an RI line: held SMS fetched this often
_BOOT = (b"RDY", b"SMS Ready", b"Call Ready", b"+CFUN:")
REGISTERED = (1, 5)  # 27.007 10.1.22 <stat>: home network, roaming


class Cellular(CellSMS, ATLink):
    """One module on one stream (async read() -> bytes, async write(bytes)).

    power(pressed) drives PWRKEY (None: the module is always on). scale multiplies every
    time of the module table (tests). State for the core: alive, sim, reg, csq, oper,
    oper_name, iccid, imsi, data; received SMS collect in inbox as [oa, text, scts, concat,
    index in the module, None] (concat: (ref, total, seq) of a part of a long message, else
    None; the last field is the core's); done(index) once the core has one.
    """

    def __init__(
        self, stream, power=None, model="SIM7080G", log=None, scale=1.0, ri=False, sms_poll_ms=None
    ):
        ATLink.__init__(self, stream, log, scale)
        self.power = power
        self.q = MODULES[model]
        self.model = model
        self.alive = False
        self.sim = ""  # READY, SIM PIN, SIM PUK, NOT INSERTED; "" not known yet
        self.reg = 0
        self.csq = 99
        self.oper = ""  # MCC MNC
        self.oper_name = ""
        self.iccid = ""
        self.imsi = ""
        self.inbox = []
        self.power_cycles = 0
        self.losses = 0  # data-mode losses (NO CARRIER, PDP deactivated)
        self.radio = True  # wanted: the host's AT+CFUN / AT+CPOF (27.007 8.2), kept over cycles
        self._cfun = None  # what the module was last told (None: not since it started)
        self.data_hook = None  # fn(on): the board's data path takes (True) or gives back the UART
        # Data mode: the module holds its +CMTI. With an RI line (ri: the board calls ring() on
        # its falling edge) they are fetched at once; without one every sms_poll_ms (0: never).
        self.ri = ri
        self.sms_poll_ms = (
            (_SMS_POLL_MS * 10 if ri else _SMS_POLL_MS) if sms_poll_ms is None else sms_poll_ms
        )
        self.rings = 0
        self._ring = False
        self._in_call_ms = 0  # data-mode time counted by the keeper since the last fetch
        self._sms = []  # +CMTI indexes not read yet
        self._held = []  # indexes read into inbox, still in the module
        self._done = []  # of those, the ones the core has: deleted at the next round
        self._booted = False

    def ms(self, key):
        return int(self.q[key] * self.scale)

    async def _sleep(self, ms):
        await asyncio.sleep(ms / 1000)

    # ------------------------------------------------------------ unsolicited codes
    def _urc(self, line):
        """Unsolicited result codes; True when line was one."""
        cmd = self._cmd or b""
        if line[:6] == b"+CMTI:":
            self._sms.append(_int(_fields(line)[-1], -1))
            self._ring = True  # the keeper reads it within _RING_MS, not at its next poll
        elif line in _BOOT or line[:6] == b"+CFUN:":
            self._booted = True
        elif line == b"NORMAL POWER DOWN":
            self.alive = False
            self._leave_data()
        elif line[:6] == b"+CPIN:" and cmd[:7] != b"AT+CPIN":
            self.sim = _fields(line)[0]
        elif line[:1] == b"+" and line[1:5] in (b"CERE", b"CGRE", b"CREG") and b"," not in line:
            self.reg = _int(_fields(line)[0])  # +CEREG: <stat> (the reports of +CEREG=1)
        elif line[:9] == b"+APP PDP:" or (line == b"NO CARRIER" and self.data and not cmd):
            if self.data:
                self.losses += 1
                self.log("module: data link lost (%s)" % line.decode())
            self._leave_data()
        else:
            return False
        return True

    def _leave_data(self):
        was = self.data and not self.suspended
        self.data = False
        self.suspended = False
        if was and self.data_hook is not None:
            self.data_hook(False)
            self._start_reader()

    # ------------------------------------------------------------ power
    async def _press(self, ms):
        if self.power is None:
            return False
        self.power(True)
        await self._sleep(ms)
        self.power(False)
        return True

    async def sync(self, ms):
        """'AT' until OK, at most ms (27.007 4: a module may need several to sync its baud)."""
        for _ in range(max(1, ms // _TRY_MS)):
            try:
                await self.command("AT", _TRY_MS)
                return True
            except NetError as e:
                if e.code != NO_ANSWER:
                    await self._sleep(_TRY_MS * self.scale)
        return False

    async def start(self):
        """Power on (PWRKEY when it does not answer), sync, echo off, SIM, identity, SMS.
        A module that stays silent is power-cycled once; NetError(NO_ANSWER) after that."""
        self._start_reader()
        self.alive = False
        if not await self.sync(_TRY_MS * 2):
            await self._power_on()
            if not await self.sync(self.ms("sync_ms")):
                await self.power_cycle(start=False)
                if not await self.sync(self.ms("sync_ms")):
                    raise NetError(NO_ANSWER, "module does not answer")
        self.data = self.suspended = False
        self._cfun = None
        for c in self.q["init"]:
            await self.command(c)
        for c in self.q["ri_init"] if self.ri else ():
            try:
                await self.command(c)
            except NetError as e:  # a firmware without it: the poll still fetches SMS
                self.log("module: %s" % e.text)
        async with self._lock:
            await self._apply_radio()  # a module left at AT+CFUN=0 before an ESP32 reset
        self.alive = True
        self.log("module: %s answers" % self.model)
        await self.read_sim()

    async def _power_on(self):
        self._booted = False
        if await self._press(self.ms("on_ms")):
            await self._sleep(self.ms("boot_ms"))

    async def power_cycle(self, start=True):
        """Off (PWRKEY held for off_ms), wait, on: for a module that stopped answering."""
        self.power_cycles += 1
        self.log("module: power cycle %d" % self.power_cycles)
        self.alive = False
        self._leave_data()
        self.reg = 0
        self.csq = 99
        # PWRKEY toggles: a module that was off (not hung) is on after this first press.
        if await self._press(self.ms("off_ms")):
            await self._sleep(self.ms("off_wait_ms") + self.ms("boot_ms"))
            if not await self.sync(_TRY_MS * 2):
                await self._power_on()
        if start:
            await self.start()

    async def set_radio(self, on):
        """The host's AT+CFUN=0/1, AT+CPOF: the module's radio off or on (27.007 8.2). The
        data call ends first (the caller's net.down()). Kept: a module started again after a
        power cycle gets the same; the keeper retries a module that did not answer."""
        self.radio = on
        if not on:
            self.reg = 0
        if self.alive:
            async with self._lock:
                await self._apply_radio()

    async def _apply_radio(self):
        await self._command("AT+CFUN=%d" % (1 if self.radio else 0), 10000)
        self._cfun = self.radio
        if not self.radio:
            self.reg = 0
            self.csq = 99
            self.oper = self.oper_name = ""

    # ------------------------------------------------------------ SIM and identity
    async def read_sim(self):
        try:
            lines = await self.command("AT+CPIN?")
            self.sim = _fields(lines[0])[0] if lines else ""
        except NetError as e:
            self.sim = "NOT INSERTED" if e.code == 10 else ""
        if self.sim != "READY":
            return
        q = self.q
        cmd, head = q["ccid"]
        self.iccid = _answer(await self.command(cmd), head)
        self.imsi = _answer(await self.command("AT+CIMI"), "")
        for c in q["sms_init"]:
            await self.command(c)
        await self._list_sms()

    async def enter_pin(self, pin):
        """AT+CPIN=<pin> from the host, to the module; NetError(16) for a wrong one."""
        await self.command('AT+CPIN="%s"' % pin, 10000)
        for _ in range(10):  # the SIM needs a moment after its PIN (+CPIN: READY follows)
            await self.read_sim()
            if self.sim == "READY":
                return
            await self._sleep(_TRY_MS * self.scale)

    # ------------------------------------------------------------ registration, signal
    async def refresh(self):
        """Registration, signal and operator, from the module (not while in data mode)."""
        if self.data and not self.suspended:
            return
        best = None
        for r in self.q["reg"]:
            stat = _int(_fields((await self.command("AT%s?" % r))[0])[-1])
            if best is None or stat in REGISTERED:
                best = stat
            if stat in REGISTERED:
                break
        was = self.reg
        self.reg = best or 0
        self.csq = _int(_fields((await self.command("AT+CSQ"))[0])[0], 99)
        if self.reg in REGISTERED and (was not in REGISTERED or not self.oper):
            await self.command("AT+COPS=3,0")
            self.oper_name = _cops(await self.command("AT+COPS?"))
            await self.command("AT+COPS=3,2")
            self.oper = _cops(await self.command("AT+COPS?"))
        elif self.reg not in REGISTERED:
            self.oper = self.oper_name = ""

    def rssi_dbm(self):
        """27.007 8.5: <rssi> 0..31 is -113 dBm + 2 per step; 99 unknown."""
        return None if self.csq > 31 else -113 + 2 * self.csq

    # ------------------------------------------------------------ the data path
    async def attach(self, apn, reg_ms=60000):
        """Registered within reg_ms, PDP context, attach, dial: the module is in PPP data mode
        afterwards. NetError(35865) without service, (49155) when the network refuses."""
        if not self.alive:
            raise NetError(_NOT_ATTACHED, "module not answering")
        if self.sim != "READY":
            raise NetError(_NOT_ATTACHED, "SIM " + (self.sim or "not known"))
        for _ in range(max(1, reg_ms // _REG_POLL_MS)):
            await self.refresh()
            if self.reg in REGISTERED or self.reg == 3:
                break
            await self._sleep(_REG_POLL_MS * self.scale)
        if self.reg not in REGISTERED:
            raise NetError(
                _NOT_ATTACHED, "registration %s" % ("denied" if self.reg == 3 else "none")
            )
        try:
            await self.command(self.q["pdp"].replace("{apn}", apn))
            await self.command("AT+CGATT=1", self.q["attach_ms"])
            await self.command(self.q["dial"], self.q["attach_ms"])
        except NetError as e:
            if e.code == NO_ANSWER:
                raise
            raise NetError(_ACTIVATION_FAILED, e.text) from None
        self.data = True
        self.suspended = False
        self._in_call_ms = 0
        if self.data_hook is not None:
            self._stop_reader()
            self.data_hook(True)

    async def _escape(self):
        """Data mode -> command mode: guard time, +++, guard time (V.250 S12), OK."""
        if self.data_hook is not None:
            self.data_hook(False)
        self._start_reader()
        g = self.ms("guard_ms")
        await self._sleep(g)
        try:
            await self._command("+++", self.q["guard_ms"] + 2000, raw=True)
        except NetError:
            if self.data and self.data_hook is not None:  # still in the call: PPP goes on
                self._stop_reader()
                self.data_hook(True)
            raise
        self.suspended = True

    async def _resume(self):
        await self._command("ATO", 5000)
        self.suspended = False
        if self.data_hook is not None:
            self._stop_reader()
            self.data_hook(True)

    async def hangup(self):
        """End the data call; the module stays registered."""
        async with self._lock:
            if not self.data:
                return
            try:
                if not self.suspended:
                    await self._escape()
                await self._command("ATH", 5000)
            finally:
                self.data = self.suspended = False

    # ------------------------------------------------------------ the keeper
    async def step(self, poll_ms=_POLL_MS):
        """One round of the keeper (poll_ms after the last): (re)start a dead module, poll,
        read new SMS (in a data call after a ring or sms_poll_ms); a module that missed
        _MISSES answers in a row is power-cycled."""
        try:
            if not self.alive:
                await self.start()
            if self.data and not self.suspended:
                self._in_call_ms += poll_ms
                if self._ring or (self.sms_poll_ms and self._in_call_ms >= self.sms_poll_ms):
                    self._ring = False
                    await self.sms_in_call()
                return
            self._ring = False  # command mode: the +CMTI came with it
            if self._cfun != self.radio:
                async with self._lock:
                    await self._apply_radio()
            await self.refresh()
            if self._done:
                async with self._lock:
                    await self._purge()
            if self._sms:
                await self.fetch_sms()
        except NetError as e:
            self.log("module: %s" % e.text)
            if self.misses >= _MISSES and not (self.data and not self.suspended):
                self.misses = 0
                try:
                    await self.power_cycle()
                except NetError as e2:
                    self.log("module: %s" % e2.text)

    async def keep(self, poll_ms=_POLL_MS):
        waited = 0
        while True:
            await self.step(waited)
            waited = 0
            for _ in range((poll_ms if self.alive else poll_ms * 6) // _RING_MS):
                await self._sleep(_RING_MS * self.scale)
                waited += _RING_MS
                if self._ring:
                    break  # a ring is answered before the next poll


def _answer(lines, head):
    """The first line that is not empty, head removed (+CCID: / bare digits)."""
    for line in lines:
        t = line.decode().strip()
        if t[: len(head)] == head:
            return t[len(head) :].strip().strip('"')
    return ""


def _cops(lines):
    """+COPS: <mode>[,<format>,<oper>[,<AcT>]] -> oper or ''."""
    for line in lines:
        f = _fields(line)
        if len(f) >= 3:
            return f[2]
    return ""
