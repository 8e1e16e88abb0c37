"""SMTP client conversation (RFC 5321, STARTTLS RFC 3207, AUTH RFC 4954) over an injected Conn."""

from .compat import asyncio, const, forget, wait_for
from .errors import NetError, SMTPError

_SMTP_NO_ANSWER = const(37964)  # errors.SMTP_NO_ANSWER
_SMTP_GREETING = const(37971)  # errors.SMTP_GREETING
_SMTP_HELO = const(37972)  # errors.SMTP_HELO
_SMTP_TLS = const(37973)  # errors.SMTP_TLS
_SMTP_AUTH = const(37974)  # errors.SMTP_AUTH
_SMTP_SENDER = const(37975)  # errors.SMTP_SENDER
_SMTP_RECIPIENT = const(37976)  # errors.SMTP_RECIPIENT
_SMTP_DATA = const(37977)  # errors.SMTP_DATA
_SMTP_REJECTED = const(37978)  # errors.SMTP_REJECTED
_SMTP_LOST = const(37979)  # errors.SMTP_LOST

# RFC 5321 4.5.3.1.5: a reply line is at most 512 octets; keep twice that, truncate the rest.
MAX_LINE = const(1024)
MAX_LINES = const(32)  # lines kept per reply (an EHLO reply has ~10); further lines dropped
_KEEP = (b"AUTH", b"STAR", b"SIZE")  # EHLO keywords kept beyond MAX_LINES
_READ_SIZE = const(512)
_QUIT_TIMEOUT_S = const(10)  # QUIT and close are courtesy: never wait the full step timeout
_CLOSE_TIMEOUT_S = const(5)

# The #CME code for a server refusal (or a fault) at each step.
_STEP_CODE = {
    "GREETING": _SMTP_GREETING,
    "EHLO": _SMTP_HELO,
    "HELO": _SMTP_HELO,
    "STARTTLS": _SMTP_TLS,
    "AUTH": _SMTP_AUTH,
    "MAIL": _SMTP_SENDER,
    "RCPT": _SMTP_RECIPIENT,
    "DATA": _SMTP_DATA,
    "END": _SMTP_REJECTED,
    "RSET": _SMTP_SENDER,  # RSET only ever prepares the next MAIL FROM
    "QUIT": _SMTP_LOST,
}


def _text(b):
    """Server text to str at the edge; never raises on bytes that are not UTF-8."""
    try:
        return b.decode()
    except UnicodeError:  # MicroPython has no errors="replace"; the line is short (MAX_LINE)
        return "".join([chr(c) if c < 128 else "?" for c in b])


def _join(lines):
    return " ".join([_text(x) for x in lines])


def _first(lines):
    return _text(lines[0]) if lines else ""


def _code3(line):
    """The reply code of a line (RFC 5321 4.2), 0 when the line does not start with 3 digits."""
    if len(line) < 3:
        return 0
    a, b, c = line[0] - 48, line[1] - 48, line[2] - 48
    if 0 <= a <= 9 and 0 <= b <= 9 and 0 <= c <= 9:
        return a * 100 + b * 10 + c
    return 0


class ReplyParser:
    """Assemble SMTP replies from bytes as they arrive (RFC 5321 4.2.1 multi-line replies).

    feed() returns the list of replies completed by the new bytes, each (code, [text lines]);
    the text lines are bytes without the code and separator. Lines longer than MAX_LINE are
    truncated and at most MAX_LINES lines of one reply are kept, so memory is bounded whatever
    the server sends. A line that does not start with three digits ends the reply with code 0.
    """

    def __init__(self):
        self._part = b""  # the line being received (at most MAX_LINE bytes kept)
        self._lines = []  # text of the continuation lines received so far

    def pending(self):
        """True when part of a reply has arrived but not its last line."""
        return bool(self._part or self._lines)

    def reset(self):
        self._part = b""
        self._lines = []

    def feed(self, data):
        out = []
        i = 0
        n = len(data)
        while i < n:
            j = data.find(b"\n", i)
            if j < 0:
                self._add(data[i:])
                break
            self._add(data[i:j])
            line = self._part
            self._part = b""
            reply = self._line(line)
            if reply is not None:
                out.append(reply)
            i = j + 1
        return out

    def _add(self, piece):
        room = MAX_LINE - len(self._part)
        if room > 0:
            self._part += piece[:room]

    def _line(self, line):
        if line[-1:] == b"\r":
            line = line[:-1]
        code = _code3(line)
        n = len(self._lines)
        # Past the cap only the EHLO keywords the client acts on are kept (a few more lines).
        if n < MAX_LINES or (n < MAX_LINES + 8 and line[4:8].upper() in _KEEP):
            self._lines.append(line[4:] if code else line)
        if code and line[3:4] == b"-":
            return None
        lines = self._lines
        self._lines = []
        return (code, lines)


class SMTPClient:
    """One SMTP session over an open Conn (read/write/starttls/close), one step per method.

    Every wait is bounded by timeout_s (no reply in time: SMTP_NO_ANSWER). A refusal raises
    SMTPError with the step's code and the server's reply; EOF or reset raises SMTP_LOST.
    trace, when a list, receives (step, reply_code, first_reply_line, duration_ms) per step;
    clock is an object with ticks_ms() and ticks_diff() (e.g. MicroPython's time), or None.
    """

    def __init__(self, conn, timeout_s=180, trace=None, clock=None):
        self._conn = conn
        self.timeout_s = timeout_s
        self.trace = trace
        self._clock = clock
        self._parser = ReplyParser()
        self._replies = []
        self._broken = False  # the stream is unusable (timeout, EOF, reset, failed handshake)
        self._dog = None  # the task that bounds the body's writes (_watch), once one is sent
        self._since = None  # ticks when the body write in progress began; None: none is
        self._late = False  # _watch cancelled a body write that outlived timeout_s
        self._domain = b""
        self.esmtp = False
        self.ext = {}  # EHLO keyword (upper case) -> parameter string
        self.auth = []  # AUTH mechanisms offered, upper case
        self.refused = []  # (address, code, text) of the last rcpt_all()

    # -- plumbing --

    def _now(self):
        return self._clock.ticks_ms() if self._clock is not None else 0

    def _record(self, step, t0, code, text):
        if self.trace is not None:
            c = self._clock
            ms = c.ticks_diff(c.ticks_ms(), t0) if c is not None else 0
            self.trace.append((step, code, text, ms))

    def _fail(self, step, code, text):
        self._broken = True
        raise SMTPError(code, step, 0, text)

    async def _io(self, step, aw, timeout_s=None):
        try:
            return await wait_for(aw, self.timeout_s if timeout_s is None else timeout_s)
        except BaseException as e:  # _raise lets what is no I/O failure go on
            self._raise(step, e)

    def _raise(self, step, e):
        """Raise the step's SMTPError for what its I/O raised: no answer in time (wait_for, or
        _watch's cancel of a body write), the NetError's code, SMTP_LOST for an OSError.
        Anything else (an SMTPError already, a cancel from elsewhere) is raised as it is."""
        if self._late and isinstance(e, asyncio.CancelledError):
            self._late = False
            # CPython >= 3.11 counts cancel requests (asyncio.timeout reads the count): this
            # one ends here. MicroPython's tasks keep no count.
            u = getattr(asyncio.current_task(), "uncancel", None)
            if u is not None:
                u()
            self._fail(step, _SMTP_NO_ANSWER, "timeout")
        if isinstance(e, asyncio.TimeoutError):  # before OSError: on CPython it is a subclass
            self._fail(step, _SMTP_NO_ANSWER, "timeout")
        if isinstance(e, NetError) and not isinstance(e, SMTPError):
            self._fail(step, e.code, e.text)
        if isinstance(e, OSError):
            self._fail(step, _SMTP_LOST, str(e))
        raise e

    async def _read_reply(self, step):
        while not self._replies:
            data = await self._conn.read(_READ_SIZE)
            if not data:
                self._fail(step, _SMTP_LOST, "connection closed")
            self._replies.extend(self._parser.feed(data))
        return self._replies.pop(0)

    async def _exchange(self, step, line, timeout_s=None):
        """Send line (None: send nothing), return the reply; one deadline for the whole reply."""
        if line is not None:
            await self._io(step, self._conn.write(line + b"\r\n"), timeout_s)
        return await self._io(step, self._read_reply(step), timeout_s)

    async def _command(self, step, line, ok, timeout_s=None):
        """One command and its reply, traced; raise SMTPError unless the code is in ok."""
        t0 = self._now()
        try:
            code, lines = await self._exchange(step, line, timeout_s)
        except SMTPError as e:
            self._record(step, t0, e.reply, e.text)
            raise
        self._record(step, t0, code, _first(lines))
        if ok is not None and code not in ok:
            raise SMTPError(_STEP_CODE[step], step, code, _join(lines))
        return code, lines

    def _no_stray(self, step, code):
        """Reply bytes the client did not ask for (after 354, after the final reply) are a
        protocol error: a stray 250 must never pass for the verdict on the message."""
        if self._replies or self._parser.pending():
            self._record(step, self._now(), 0, "unsolicited reply")
            self._fail(step, code, "unsolicited reply")

    async def send(self, data):
        """Write DATA bytes already encoded (DataEncoder.feed output).

        One task (_watch) bounds all the writes of a body, by a timestamp a write: a wait_for
        would make a task and a timer for every write. The writes come from one task, the one
        that sends first. Without a clock each write has its own wait_for.
        """
        t0 = self._now()
        if self._dog is None and self._clock is not None and self.timeout_s is not None:
            self._dog = asyncio.create_task(self._watch(asyncio.current_task()))
        aw = self._conn.write(data)
        if self._dog is None:
            aw = wait_for(aw, self.timeout_s)
        self._since = t0
        try:
            await aw
        except BaseException as e:  # a cancel too: the watcher goes with the body
            self._since = None
            self._stop()
            try:
                self._raise("BODY", e)
            except SMTPError as x:
                self._record("BODY", t0, 0, x.text)
                raise
        self._since = None

    async def _watch(self, task):
        """Cancel task when a body write has lasted timeout_s (RFC 5321 4.5.3.2.5: a server
        that stops reading). Sleeps to the deadline of the write in progress, else a period."""
        c = self._clock
        limit = int(self.timeout_s * 1000)
        while True:
            left = limit
            t = self._since
            if t is not None:
                left -= c.ticks_diff(c.ticks_ms(), t)
                if left <= 0:
                    self._late = True
                    self._dog = None
                    task.cancel()
                    return
            await asyncio.sleep(left / 1000)

    def _stop(self):
        """The body is written (or given up): its watcher goes."""
        dog = self._dog
        if dog is not None:
            self._dog = None
            dog.cancel()

    async def end_data(self, tail=b".\r\n"):
        """Write tail (DataEncoder.finish() output, which ends with ".CRLF"), expect 250."""
        self._stop()
        t0 = self._now()
        try:
            await self._io("END", self._conn.write(tail))
        except SMTPError as e:
            self._record("END", t0, 0, e.text)
            raise
        r = await self._command("END", None, (250,))
        self._no_stray("END", _SMTP_REJECTED)
        return r

    async def quit(self):
        """QUIT, best effort: never raises, skipped when the stream is already unusable."""
        if self._broken:
            return
        t = self.timeout_s
        t = _QUIT_TIMEOUT_S if t is None or t > _QUIT_TIMEOUT_S else t
        try:
            await self._command("QUIT", b"QUIT", None, t)
        except Exception:  # a courtesy: any failure here changes nothing for the caller
            pass
        self._broken = True

    async def close(self):
        """Close the connection; never raises."""
        self._broken = True
        self._stop()
        try:
            await wait_for(self._conn.close(), _CLOSE_TIMEOUT_S)
        except Exception:  # already closed or reset: nothing left to release
            pass


async def open_session(*args, **kw):
    """Resolve, connect and walk the session up to an accepted DATA: smtpopen.open_session,
    whose code is loaded for this and forgotten again before the caller streams the body.

    Returns (client, refused recipients); the caller streams the content with send() and
    finishes with end_data() and quit(). On any failure the connection is closed and the
    error raised is an SMTPError whose code is the #CME code.
    """
    from . import smtpopen

    try:
        return await smtpopen.open_session(*args, **kw)
    finally:
        forget("smtpopen")
