"""The modem: serial loop, command dispatcher, result framing, settings (S000333D App. B p49)."""

import gc
import sys

from .compat import INTERN, asyncio, const, forget, wait_for
from .errors import ATError
from . import params

_EEPROM_WRITE = const(34824)
_TOO_LONG = const(34881)
_SERIAL_TIMEOUT = const(37980)

_TRANSIENT = (
    "mail",
    "mailopen",
    "mailbody",
    "smtp",
    "smtpopen",
    "smtpdata",
    "getmail",
    "pop3",
    "tlsconf",
    "smsmail",
    "smspdu",
    "smsbox",
    "ftp",
    "outbox",
    "outboxcmd",
    "outsend",
    "paramset",  # the checks of an AT# value write (make bench: the largest free block kept)
)
# Handler modules that take turns in RAM: loading one drops the others, and the modules only
# they import (version, entry), which would stay loaded otherwise. session too: a mail's body
# streams without it; a #VSTATE after another command loads it again.
_TURNS = (
    "basic",
    "atcmds",
    "mail",
    "getmail",
    "sockets",
    "sms",
    "ftpcmds",
    "v250",
    "session",
    "version",
    "entry",
)
# Turn modules a service still uses in command mode (a listener, a socket left with +++):
# they stay loaded until it ends (modem.sockets adds and removes itself).
KEEP = set()


def _command(text, hashcmd):
    """cmdtab.command(): on a board the command table (cmdtab.py) is loaded for it and
    dropped again (resident, it and the parsing cost ~1.6 KB of heap on 32 bits)."""
    __import__("modem.cmdtab")  # no gc.collect() first (_module): ~1.5 KB, garbage at once
    tab = sys.modules["modem.cmdtab"]
    forget("cmdtab")
    return tab.command(text, hashcmd)


if not INTERN:  # CPython: resident, no import for each command
    from .cmdtab import command as _command  # noqa: F811


LINE_CAP = const(512)  # bytes after "AT": a 120-character quoted value fits several times

# Final and intermediate result codes with their ATV0 numbers [READ p42; spelling per spec §3]:
# "|text|number" each (one string: a dict of them cost ~0.2 KB more of a board's heap).
_NUMERIC = (
    "|OK|0|CONNECT|1|RING|2|NO CARRIER|3|ERROR|4|BUSY|7|NO ANSWER|8|Ok_Info_DataBegin|1025"
    "|Ok_Info_WaitingForData|1028|Ok_Info_NoMail|3072|Ok_Info_Mail|3073"
    "|Ok_Info_SocketClosed|3074|Ok_Info_PPP|3077|Ok_Info_GprsActivation|3086|"
)


# ---------------------------------------------------------------- command lines
# Command-line assembly from raw serial bytes (V.250 5.2.1): a state machine over chunks.
_IDLE = const(0)  # waiting for 'A'
_GOT_A = const(1)  # 'A' seen, waiting for 'T'
_LINE = const(2)  # inside "AT...", waiting for CR or LF

_BS = const(8)
_DEL = const(127)
_RUBOUT = b"\x08 \x08"  # erases the character on a terminal


class LineReader:
    """Finds "AT" lines in a byte stream and produces their echo.

    Bytes outside an AT line (stray CR/LF, ETX, "+++", noise) are dropped without echo, so the
    second byte of a CR LF / LF CR pair never starts a second command. A line ends at CR or at
    LF. Backspace (BS or DEL) removes the last character after "AT". A line longer than `cap`
    is consumed to its end and reported as overflowing.
    """

    def __init__(self, cap):
        self.cap = cap
        self.state = _IDLE
        self.buf = bytearray()
        self.a = b"A"
        self.overflow = False

    def between_lines(self):
        """Nothing of a command line has arrived yet."""
        return self.state == _IDLE

    def reset(self):
        self.state = _IDLE
        self.buf = bytearray()
        self.overflow = False

    def feed(self, data, echo):
        """Consume bytes; return (consumed, line) where line is None until a line is complete.

        `echo` is a list that receives the bytes to echo, or None when echo is off. The line is
        the bytes after "AT" without the terminator; `self.overflow` tells whether it was cut.
        """
        i = 0
        n = len(data)
        while i < n:
            if self.state == _IDLE:
                j = _find(data, i, b"A", b"a")
                if j < 0:
                    return n, None
                self.a = data[j : j + 1]
                self.state = _GOT_A
                i = j + 1
            elif self.state == _GOT_A:
                c = data[i]
                if c == 0x54 or c == 0x74:  # T t
                    self.state = _LINE
                    self.buf = bytearray()
                    self.overflow = False
                    if echo is not None:
                        echo.append(self.a + data[i : i + 1])
                    i += 1
                elif c == 0x41 or c == 0x61:  # another A: it may start the line
                    self.a = data[i : i + 1]
                    i += 1
                else:
                    self.state = _IDLE
            else:
                j = _find(data, i, b"\r", b"\n")
                end = n if j < 0 else j
                if end > i:
                    self._add(data[i:end], echo)
                if j < 0:
                    return n, None
                if echo is not None:
                    echo.append(data[j : j + 1])
                self.state = _IDLE
                line = bytes(self.buf)
                self.buf = bytearray()
                return j + 1, line
        return n, None

    def _add(self, seg, echo):
        if _BS in seg or _DEL in seg:
            seg = self._edit(seg, echo)
        elif echo is not None:
            echo.append(seg)
        if self.overflow:
            return
        if len(self.buf) + len(seg) > self.cap:
            self.overflow = True
            # keep the first byte: '#' decides #CME ERROR: 34881 vs ERROR
            self.buf = bytearray((self.buf or seg)[:1])
        else:
            self.buf.extend(seg)

    def _edit(self, seg, echo):
        # Rare path (typing at a terminal): apply backspaces. Other control bytes stay in the
        # line, so that a value holding one is refused rather than silently changed.
        keep = bytearray()
        for c in seg:  # command-line bytes only, never a data path
            if c == _BS or c == _DEL:
                if keep:
                    keep = keep[:-1]
                    if echo is not None:
                        echo.append(_RUBOUT)
                elif self.buf and not self.overflow:
                    self.buf = self.buf[:-1]
                    if echo is not None:
                        echo.append(_RUBOUT)
            else:
                keep.append(c)
                if echo is not None:
                    echo.append(bytes((c,)))
        return bytes(keep)


def _find(data, i, x, y):
    """The first x or y in data from i on, or -1."""
    j = data.find(x, i)
    k = data.find(y, i)
    if j < 0:
        return k
    if k < 0:
        return j
    return j if j < k else k


class Modem:
    """One modem. `board` injects: store, net, clock, identity, log, defaults, serial hooks."""

    def __init__(self, board):
        self.board = board
        self.port = None
        self.out = []
        self.rx = b""
        self.lines = LineReader(LINE_CAP)
        self.values = None  # params.Values once load() ran
        self.gsm = {}
        self.profile = {}
        self.saved = {}
        self.sregs = {}
        self.result = "OK"
        self.busy = set()  # names of services that run in the background (37123)
        self.session = None  # (my_ip, peer_ip, gateway_ip) while the IP session is up
        self.state = "IDLE"
        self.attached = True  # AT+CGATT
        self.radio = True  # False after AT+CPOF / AT+CFUN=0: not registered, no service
        self.reboot = False  # AT+CFUN=1,1 / AT#RESET: restart once the answer is out
        self.sms = None  # the SMS settings (modem.sms), loaded with the first SMS command
        self.ticker = None  # fn(modem) the link watch calls while idle (AT+CCED=1 reports)
        self.last_smtp = []  # trace of the last SMTP exchange (no secrets)
        self.last_ftp = []  # trace of the last FTP exchange (no secrets)
        self.resume = None  # async fn: ATO returns to a data session left with +++
        self.hangup = None  # async fn: ATH and the end of the session close sockets, listeners
        self.watch = None  # a service waiting in command mode (listener): see read_line
        self.pair = None  # the byte that would pair with the last line's terminator
        self.reported = (0, 0)  # the +CREG and +CGREG <stat> last reported
        self.idle = False  # waiting for a command line, nothing half typed: URCs may go out
        self.link_poll_s = 1
        # The outbox (docs/outbox.md): [when to try next (ticks) or None when empty, tries of
        # the oldest mail, its last #CME code, its last SMTP reply]; checked once at start-up.
        self.outq = [None, 0, 0, 0]
        self.sender = None  # the background delivery task while it runs

    # ---------------------------------------------------------------- settings
    def load(self):
        data = self.board.store.load()
        self.saved = data
        # the stored overrides are the "at" section itself: one dict, not a copy to keep equal
        self.values = params.Values(data.setdefault("at", {}), self.board.defaults)
        # GSM-level settings that persist as soon as they are set (Wavecom keeps them in EEPROM)
        self.gsm = {
            "CREG": 0,
            "CGREG": 0,
            "WIND": 0,
            "WOPEN": 1,
            "CGDCONT": {},
            "CLIP": 0,
            "CLIR": 0,
            "CRC": 0,
            "KSLEEP": 2,
            "COPSF": 0,
        }
        self.gsm.update(data.get("gsm", {}))
        self.restore_profile()

    def restore_profile(self, saved=True):
        # GSM-level settings saved by AT&W and restored by ATZ / power-up
        self.profile = {"E": 1, "V": 1, "Q": 0, "CMEE": 0, "IPR": 115200, "IFC": [2, 2]}
        if saved:
            self.profile.update(self.saved.get("profile", {}))
        self.sregs = {0: 0, 3: 13, 4: 10, 5: 8, 6: 2, 7: 50, 8: 2, 10: 14, 12: 50}

    def save(self, section, data):
        self.saved[section] = data
        try:
            self.board.store.save(self.saved)
        except OSError:
            raise ATError(_EEPROM_WRITE) from None

    # ---------------------------------------------------------------- session
    async def session_down(self):
        if self.hangup is not None:
            await self.hangup()  # sockets and listeners end with the session
        if self.session:
            self.state = "DISCONNECTING"
            await self.board.net.down()
        self.session = None
        self.state = "IDLE"

    # ---------------------------------------------------------------- output
    def info(self, lines):
        """Information text: '\\r\\n' + lines + '\\r\\n' (ATV1) or lines each + CRLF (ATV0)."""
        if not lines:
            return
        # str lines are UTF-8; bytes pass as they are (an SMS text in the host's charset)
        body = b"\r\n".join([x if isinstance(x, bytes) else x.encode() for x in lines])
        if self.profile["V"]:
            self.out.append(b"\r\n" + body + b"\r\n")
        else:
            self.out.append(body + b"\r\n")

    def code(self, name, final=True):
        """A result code. ATQ1 suppresses final ones; Ok_Info_* indications always go out."""
        if final and self.profile["Q"]:
            return
        if self.profile["V"]:
            self.out.append(b"\r\n" + name.encode() + b"\r\n")
        else:
            i = _NUMERIC.index("|" + name + "|") + len(name) + 2
            self.out.append(_NUMERIC[i : _NUMERIC.find("|", i)].encode() + b"\r")

    def error(self, e):
        # +CME and +CMS errors only once AT+CMEE enabled them, else ERROR (S000293I p10)
        kind = "+CMS ERROR: " if e.cms else ("+CME ERROR: " if e.plus else "#CME ERROR: ")
        self.board.log("answer: %s%s" % (kind, e.code))  # every failure in the log, as numbered
        if e.code is None or ((e.plus or e.cms) and not self.profile["CMEE"]):
            self.code("ERROR")
            return
        if self.profile["Q"]:
            return
        text = kind + str(e.code)
        # ATV0: extended result codes keep their text and end like numeric ones (CR).
        if self.profile["V"]:
            self.out.append(b"\r\n" + text.encode() + b"\r\n")
        else:
            self.out.append(text.encode() + b"\r")

    async def flush(self):
        if self.out:
            data = b"".join(self.out)
            self.out = []
            await self.port.write(data)

    # ---------------------------------------------------------------- input
    async def read_serial(self, timeout_s=None, watched=False):
        """Next bytes from the host: pushed-back bytes first, then the port. watched: None
        when the service in self.watch wants the line before the host sends anything."""
        self.pair = None
        if self.rx:
            data = self.rx
            self.rx = b""
            return data
        await self.flush()
        if watched and self.watch is not None:
            return await self.watch.read_host()  # None: the watched service became due first
        if timeout_s is not None and _has_bytes(self.port):
            return await self.port.read()  # no wait: no timer (wait_for makes a task a call)
        try:
            return await wait_for(self.port.read(), timeout_s)
        except asyncio.TimeoutError:
            raise ATError(_SERIAL_TIMEOUT) from None

    def unread(self, data):
        if data:
            self.rx = bytes(data) + self.rx

    async def read_line(self):
        while True:
            w = self.watch
            if w is not None and w.due():
                self.lines.reset()
                await w.takeover()  # data mode; it writes its own results
                continue
            self.idle = self.lines.between_lines() and not self.rx
            data = await self.read_serial(watched=True)
            self.idle = False
            if data is None:
                continue
            if not data:
                return None
            if self.watch is not None:
                data = await self.watch.serial(data)
            echo = [] if self.profile["E"] else None
            used, line = self.lines.feed(data, echo)
            if echo:
                self.out.extend(echo)
            self.unread(data[used:])
            if line is not None:
                # CR LF or LF CR: the second byte may follow; data mode must not take it
                self.pair = b"\n" if data[used - 1 : used] == b"\r" else b"\r"
                return line

    async def begin_data(self):
        """Before data or entry mode: drop the second byte of the command's CR LF (or LF CR)
        when the host sent it with the command, so `AT#PUTMAIL<CR><LF>` does not start the
        body with a LF. Only a byte already there counts (port.pending()): one that comes
        later is data."""
        pair = self.pair
        self.pair = None
        if pair is None:
            return
        if not self.rx:
            if not _has_bytes(self.port):
                return
            self.rx = await self.port.read()
        if self.rx[:1] == pair:
            self.rx = self.rx[1:]

    # ---------------------------------------------------------------- main loop
    async def start(self):
        """Power-up: load settings, announce readiness when +WIND asks for it."""
        _intern()
        self.load()
        self.board.apply_serial(self.profile["IPR"], self.profile["IFC"])
        self.wind_ready()
        clock = getattr(self.board, "clock", None)  # a board without one has no outbox either
        if clock is not None and getattr(self.board, "outbox_dir", None):
            self.outq[0] = clock.ticks_ms()  # mails queued before the power cut: go on

    def wind_ready(self):
        mask = self.gsm["WIND"]
        if mask & 4:
            self.info(["+WIND: 3"])
        if mask & 8:
            self.info(["+WIND: 4"])

    async def run(self, port):
        """Serve the host on `port` (async read() -> bytes, async write(bytes)) until EOF."""
        self.port = port
        self.report_registration()
        await self.flush()
        watch = asyncio.create_task(self._watch_link())
        try:
            while True:
                line = await self.read_line()
                if line is None:
                    if self.hangup is not None:
                        await self.hangup()
                    return
                await self.flush()  # the echo goes at once, as a modem's does; then the answer
                await self.execute(line, self.lines.overflow)
                await self.flush()
                if self.reboot:  # AT+CFUN=1,1, AT#RESET
                    await _module("basic").reboot(self)
                self.kick_outbox()
        finally:
            watch.cancel()
            await self.pause_outbox()

    # ---------------------------------------------------------------- registration reports
    def reg_stat(self, kind):
        """27.007 <stat> for CREG (the link: 1 registered, 2 searching) or CGREG (also 0 when
        detached with AT+CGATT=0). Wi-Fi stands in for the GSM network."""
        if not self.radio:
            return 0  # AT+CPOF: not registered, not searching
        cell = getattr(self.board, "cell", None)
        if cell is not None:  # a module: its own <stat> (3 denied, 5 roaming...)
            link = cell.reg if 0 <= cell.reg <= 5 else 4
        else:
            link = 1 if self.board.link_available() else 2
        if kind == "CREG":
            return link
        return link if self.attached else 0

    def report_registration(self):
        """+CREG: <stat> / +CGREG: <stat> when the state changed and the host asked for the
        reports (AT+CREG=1/2, AT+CGREG=1/2, kept across power-off): hosts wait for +CREG: 1
        after power-up."""
        now = (self.reg_stat("CREG"), self.reg_stat("CGREG"))
        old = self.reported
        self.reported = now
        if self.gsm["CREG"] and now[0] != old[0]:
            self.info(["+CREG: %d" % now[0]])
        if self.gsm["CGREG"] and now[1] != old[1]:
            self.info(["+CGREG: %d" % now[1]])

    async def _watch_link(self):
        while True:
            await asyncio.sleep(self.link_poll_s)
            if self.idle and not self.out:
                self.report_registration()
                cell = getattr(self.board, "cell", None)
                if cell is not None and cell.inbox:
                    _module("cell").deliver(self)  # received SMS: +CMTI / +CMT
                if self.ticker is not None:
                    self.ticker(self)
                if self.out:
                    await self.flush()
                self.kick_outbox()

    # ---------------------------------------------------------------- outbox
    def kick_outbox(self):
        """Start the background delivery when a mail is due, the link is there and no host
        service runs (docs/outbox.md)."""
        due = self.outq[0]
        if due is None or self.sender is not None or self.values is None:
            return
        if self.busy or self.watch or self.resume or self.hangup or not self.radio:
            return
        c = self.board.clock
        if c.ticks_diff(c.ticks_ms(), due) < 0 or not self.board.link_available():
            return
        self.sender = asyncio.create_task(self._send_outbox())

    async def _send_outbox(self):
        try:
            await _module("outsend").run(self)
        except Exception as e:  # a fault of ours, or flash trouble: try again in a minute
            self.board.log("outbox: fault %r" % (e,))
            c = self.board.clock
            self.outq[0] = c.ticks_add(c.ticks_ms(), 60000)
        finally:
            self.sender = None
            _unload()

    async def pause_outbox(self):
        """Stop a running delivery (the mail stays queued) and wait until it let go."""
        t = self.sender
        if t is None:
            return
        t.cancel()
        try:
            await t
        except asyncio.CancelledError:
            pass
        self.sender = None
        if self.outq[0] is not None:
            self.outq[0] = self.board.clock.ticks_ms()

    async def execute(self, body, overflow=False):
        self.result = "OK"
        if overflow:
            self.error(ATError(_TOO_LONG if body[:1] == b"#" else None))
            return
        try:
            text = body.decode()
        except UnicodeError:
            self.code("ERROR")
            return
        # Basic commands in a chain (ATZE0V1), then extended ones (+X;+Y or one #X).
        i = 0
        n = len(text)
        info = []
        try:
            while i < n:
                c = text[i].upper()
                if c == " ":
                    i += 1
                    continue
                if c == "#":
                    # An AT# command takes the rest of the line: its value may hold ';' or ','.
                    info.extend(await self.run_one(text[i:], hashcmd=True))
                    break
                if c == "+":
                    for part in params.split_args(text[i:], ";"):
                        part = part.strip()
                        if part:
                            info.extend(await self.run_one(part, hashcmd=False))
                    break
                i, lines = await _module("v250").run_basic(self, text, i)
                info.extend(lines)
            self.info(info)
        except ATError as e:
            self.error(e)
            return
        except Exception as e:  # a fault of ours (MemoryError, a bug): answer, keep serving
            self.board.log("fault: %r" % (e,))
            self.code("ERROR")
            return
        if self.result:
            self.code(self.result, final=self.result in ("OK", "ERROR", "NO CARRIER"))

    async def run_one(self, text, hashcmd):
        name, form, args, entry, p = _command(text, hashcmd)
        if hashcmd and not self.gsm["WOPEN"]:
            raise ATError()  # IP stack not started (AT+WOPEN=0): plain ERROR, as hosts expect
        self.board.log("cmd %s %s" % (name, form))  # never the value: it may be a password
        if self.sender is not None and entry is not None:
            f = entry[1]
            if "p" in f or ("q" in f and not self.values["OUTBOX"]):
                await self.pause_outbox()
        if p is not None:
            return await _module("atcmds").param(self, p, form, args) or []
        try:
            return await _module(entry[0]).HANDLERS[name](self, form, args) or []
        finally:
            if _unload():  # the mail stacks, whichever command used them (AT#PUTMAIL, AT+CMGS)
                # The SMTP trace made again once the mail stack is gone: made while it was
                # loaded, its objects sit above it and would split the free space for good.
                t = self.last_smtp
                self.last_smtp = [(s, n, x.encode().decode(), ms) for s, n, x, ms in t]


# The SMTP client, which every mail loads: its names interned at power-up. make bench: ~1 KB of
# start-up heap on 32 bits; the whole mail stack (session, mail, mailbody, smtpdata, tlsconf
# too) cost ~7 KB and kept no larger a free block (64-bit, heaps of 88-104wk); none at all
# left ~7 KB as the largest free block after 1,000 mails at 96wk.
_INTERNED = ("smtp", "smtpopen")


def _intern():
    """Power-up, before the settings: load each handler module once and drop it again.

    Loading a .mpy interns its names in the qstr pool, which lives in the GC heap and is
    never freed (docs/design.md, What stays after a mail). Interned here, the pool and its
    strings sit low in a heap that is still empty; interned by the first mail, they would
    land among the free space (the mail stack fills the heap's low end then) and cut the
    largest free block, which mbedtls needs for TLS on a Pico W, to a few KB. asyncio's
    lazily loaded parts (wait_for, Event, streams) are loaded here for the same reason.
    """
    if not INTERN:
        return  # CPython: names are not in a heap the modem shares
    for name in ("wait_for", "Event", "StreamReader"):
        try:
            getattr(asyncio, name)
        except (AttributeError, ImportError):  # a port without streams (webassembly)
            pass
    for name in _INTERNED:
        _module(name)
        _unload((name, "mail"))  # "mail": the whole mail stack (_TRANSIENT) goes too


def _has_bytes(port):
    """Bytes from the host are already there (a port without pending(): unknown, False)."""
    pending = getattr(port, "pending", None)
    return pending is not None and pending()


def _module(name):
    full = "modem." + name
    mod = sys.modules.get(full)
    if mod is None:
        if name in _TURNS:
            _unload([n for n in _TURNS if n != name and n not in KEEP])
        gc.collect()  # a loading module wants large blocks: gather the free space first
        __import__(full)
        mod = sys.modules[full]
    return mod


def _unload(names=_TRANSIENT):
    """Forget handler modules; the next use imports them again (heap: docs/design.md).
    True when a module was dropped."""
    if "mail" in names or "getmail" in names:
        names = list(names) + list(_TRANSIENT)
    if "sockets" in names or ("ftpcmds" in names and "sockets" not in KEEP):
        names = list(names) + ["datamode"]
    gone = False
    for name in names:
        if forget(name):
            gone = True
    if gone:
        gc.collect()
    return gone
