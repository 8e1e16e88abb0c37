"""The AT link to a cellular module (docs/cellular.md): response lines assembled from the
module's bytes, one command at a time with its own time limit, unsolicited codes told apart
from answers. No hardware here: the stream is injected (async read() -> bytes, write(bytes))."""

from modem.compat import asyncio, const, wait_for
from modem.errors import NetError

NO_ANSWER = const(-1)  # NetError code: the module did not answer within the step's time
_LINE_CAP = const(600)  # a +CMGR PDU line is at most 2 * 176 hex digits
_FLOOR_MS = const(200)  # no answer time below this, whatever the scale (tests)
_FINAL = (b"OK", b"ERROR", b"NO CARRIER", b"NO DIALTONE", b"BUSY", b"NO ANSWER")


class Lines:
    """AT response line assembly (27.007 4.1): bytes in, whole lines out without CR LF; the
    SMS prompt "> " (27.005 3.5.1) is a line b">" of its own. A line past the cap is cut."""

    def __init__(self, cap=_LINE_CAP):
        self.buf = b""
        self.cap = cap

    def feed(self, data):
        buf = self.buf + data
        out = []
        while True:
            i = buf.find(b"\n")
            if i < 0:
                break
            line = buf[:i].strip()
            buf = buf[i + 1 :]
            if line:
                out.append(line[: self.cap])
        if buf.strip() == b">":
            out.append(b">")
            buf = b""
        elif len(buf) > self.cap:
            out.append(buf[: self.cap].strip())
            buf = b""
        self.buf = buf
        return out


def _fields(line):
    """b'+CEREG: 1,5' -> ['1', '5'] (quotes removed)."""
    i = line.find(b":")
    return [f.strip().strip(b'"').decode() for f in line[i + 1 :].split(b",")]


def _int(text, default=0):
    try:
        return int(text)
    except ValueError:
        return default


class ATLink:
    """Commands to a module on one stream; a subclass gives _urc(line) -> True for the
    unsolicited codes it takes. While data (PPP) runs and the call is not suspended the line
    belongs to PPP: commands fail at once."""

    def __init__(self, stream, log=None, scale=1.0):
        self.stream = stream
        self.log = log or _no_log
        self.scale = scale
        self.data = False  # PPP data mode (CONNECT seen)
        self.suspended = False  # data mode left with +++; ATO returns
        self.misses = 0
        self._lines = Lines()
        self._cmd = None  # the command waiting for its answer
        self._resp = None
        self._final = None
        self._ev = asyncio.Event()
        self._lock = asyncio.Lock()
        self._reader = None

    def _start_reader(self):
        if self._reader is None:
            self._reader = asyncio.create_task(self._pump())

    def _stop_reader(self):
        if self._reader is not None:
            self._reader.cancel()
            self._reader = None

    async def _pump(self):
        while True:
            data = await self.stream.read()
            if not data:
                return
            for line in self._lines.feed(data):
                self._on_line(line)

    def _on_line(self, line):
        if self._urc(line):
            return
        if self._resp is None:
            self.log("module: unexpected %r" % (line,))
            return
        if (
            line in _FINAL
            or line == b">"
            or line[:11] in (b"+CME ERROR:", b"+CMS ERROR:")
            or line[:7] == b"CONNECT"
        ):
            self._final = line
            self._ev.set()
        elif line != self._cmd:  # an echo before ATE0 took effect
            self._resp.append(line)

    async def command(self, cmd, timeout_ms=5000, data=None):
        """One AT command -> its information lines. NetError(code): +CME/+CMS ERROR <code>,
        0 for ERROR and the other final results, NO_ANSWER when nothing came in time."""
        async with self._lock:
            return await self._command(cmd, timeout_ms, data)

    async def _command(self, cmd, timeout_ms, data=None, raw=False):
        if self.data and not self.suspended and not raw:
            raise NetError(0, cmd + ": in data mode")  # PPP owns the line (docs/cellular.md)
        self._start_reader()
        self._cmd = cmd.encode()
        self._resp = []
        self._final = None
        self._ev.clear()
        try:
            await self.stream.write(self._cmd if raw else self._cmd + b"\r")
            await self._wait(cmd, timeout_ms)
            if data is not None and self._final == b">":
                self._final = None
                self._ev.clear()
                await self.stream.write(data.encode() + b"\x1a")
                await self._wait(cmd, timeout_ms)
            final = self._final
            lines = self._resp
        finally:
            self._cmd = None
            self._resp = None
        if final == b"OK" or final[:7] == b"CONNECT":
            if final[:7] == b"CONNECT":
                lines.append(final)
            return lines
        code = 0
        if final[:1] == b"+":
            code = _int(_fields(final)[0])
        raise NetError(code, "%s: %s" % (cmd, final.decode()))

    async def _wait(self, cmd, timeout_ms):
        timeout_ms = max(_FLOOR_MS, int(timeout_ms * self.scale))
        try:
            await wait_for(self._ev.wait(), timeout_ms / 1000)
        except asyncio.TimeoutError:
            self.misses += 1
            raise NetError(NO_ANSWER, cmd + ": no answer") from None
        self.misses = 0

    def _urc(self, line):
        return False


def _no_log(msg):
    pass
