"""POP3 client conversation (RFC 1939, STLS RFC 2595) over an injected Conn, streaming RETR."""

from .compat import asyncio, const, wait_for
from .errors import NetError

_SMTP_CONNECT = const(37970)
_SMTP_TLS = const(37973)
_SMTP_LOST = const(37979)
_POP3_CONNECT = const(37990)
_POP3_GREETING = const(37991)
_POP3_TLS = const(37992)
_POP3_AUTH = const(37993)
_POP3_COMMAND = const(37994)
_POP3_LOST = const(37995)
_POP3_NO_ANSWER = const(37996)
_DNS_FAILED = const(38027)

# RFC 2449 4: a response line is at most 512 octets; keep twice that, drop the rest of it.
MAX_LINE = const(1024)
_READ_SIZE = const(512)
_QUIT_TIMEOUT_S = const(10)  # a courtesy QUIT never waits the full step timeout
_CLOSE_TIMEOUT_S = const(5)
_END = b"\r\n.\r\n"  # RFC 1939 3: the line "." ends a multi-line response

# The Conn reports faults with the codes of the network layer (named after SMTP, the first
# service); the same fault during a POP3 session has the POP3 code.
_NET = {_SMTP_CONNECT: _POP3_CONNECT, _SMTP_TLS: _POP3_TLS, _SMTP_LOST: _POP3_LOST}

SECURITY_MODES = ("NONE", "STLS", "TLS")


class POP3Error(NetError):
    """A POP3 step failed: code is the #CME code, step the command, text the server's."""

    def __init__(self, code, step, text=""):
        super().__init__(code, text)
        self.step = step


def _arg(x, code, step):
    """A command argument as bytes; CR or LF would end the command early (command injection)."""
    if isinstance(x, str):
        x = x.encode()
    if b"\r" in x or b"\n" in x:
        raise POP3Error(code, step, "CR/LF in argument")
    return x


class DotDecoder:
    """The body of a multi-line response (RFC 1939 3), from bytes in chunks of any size.

    feed() returns (content, rest): content is the message bytes completed so far with the
    byte-stuffing undone (a line starting with "." loses that first "."), rest is None until
    the terminating line "." was seen, then the bytes after it. At most 4 bytes (a possible
    start of CR LF . CR LF) are held back between calls: memory does not grow with the
    message, and every scan is a C-level find or replace. The CR LF before the final "." ends
    the last line and belongs to the content.
    """

    def __init__(self):
        self._tail = b"\r\n"  # the line end before the first line (not content)
        self._virtual = 2
        self.done = False

    def feed(self, data):
        buf = self._tail + data
        i = buf.find(_END)
        if i >= 0:
            self.done = True
            self._tail = b""
            return self._out(buf[: i + 2], i + 2), buf[i + 5 :]
        # Hold back the longest end of buf that could begin CR LF . CR LF. It always starts
        # with CR, so no CR LF "." sequence is ever split between what goes and what stays.
        k = 4
        while k and not buf.endswith(_END[:k]):
            k -= 1
        cut = len(buf) - k
        self._tail = buf[cut:]
        return self._out(buf[:cut], cut), None

    def _out(self, part, cut):
        v = self._virtual
        self._virtual = v - cut if cut < v else 0
        if cut <= v:
            return b""
        # The virtual CR LF stays first in part, so the replace sees the first line's dot too.
        return part.replace(b"\r\n.", b"\r\n")[v:]


class POP3Client:
    """One POP3 session over an open Conn (read/write/starttls/close), one step per method.

    Every wait for a response line is bounded by timeout_s, as is every read while a message
    streams (no byte for timeout_s: POP3_NO_ANSWER), so a slow serial line never counts
    against the server. A -ERR raises POP3Error with the step's code; EOF or a reset raises
    POP3_LOST. After a failure the session is unusable: close() it.
    """

    def __init__(self, conn, timeout_s=180):
        self._conn = conn
        self.timeout_s = timeout_s
        self._buf = b""  # bytes received after the last line used (at most one read)
        self._broken = False

    # -- plumbing --

    def _fail(self, code, step, text):
        self._broken = True
        raise POP3Error(code, step, text)

    async def _io(self, step, aw, timeout_s=None):
        try:
            return await wait_for(aw, self.timeout_s if timeout_s is None else timeout_s)
        except asyncio.TimeoutError:  # before OSError: on CPython it is a subclass
            self._fail(_POP3_NO_ANSWER, step, "timeout")
        except POP3Error:
            self._broken = True
            raise
        except NetError as e:
            self._fail(_NET.get(e.code, e.code), step, e.text)
        except OSError as e:
            self._fail(_POP3_LOST, step, str(e))

    async def _read(self, step):
        data = await self._conn.read(_READ_SIZE)
        if not data:
            self._fail(_POP3_LOST, step, "connection closed")
        return data

    async def _line(self, step):
        """The next response line without its line end; at most MAX_LINE bytes are kept."""
        part = b""
        while True:
            j = self._buf.find(b"\n")
            if j >= 0:
                if len(part) < MAX_LINE:
                    part += self._buf[: min(j, MAX_LINE - len(part))]
                self._buf = self._buf[j + 1 :]
                return part[:-1] if part[-1:] == b"\r" else part
            if len(part) < MAX_LINE:
                part += self._buf[: MAX_LINE - len(part)]
            self._buf = await self._read(step)

    async def _command(self, step, line, code, timeout_s=None):
        """Send line (None: send nothing), return the text after +OK; -ERR raises code."""
        if self._broken:
            # After a timeout or a cut the stream is out of step: a command now could be
            # taken by the server later, out of context (a DELE after a partial RETR).
            raise POP3Error(_POP3_LOST, step, "session unusable")
        if line is not None:
            await self._io(step, self._conn.write(line + b"\r\n"), timeout_s)
        reply = await self._io(step, self._line(step), timeout_s)
        if reply[:3] != b"+OK":
            text = _text(reply)
            if reply[:4] != b"-ERR":
                self._broken = True  # not POP3: nothing further can be trusted
            raise POP3Error(code, step, text)
        return reply[4:]

    # -- the steps --

    async def greet(self):
        """The server's +OK greeting (RFC 1939 4)."""
        return await self._command("GREETING", None, _POP3_GREETING)

    async def stls(self, tls):
        """STLS and the TLS handshake (RFC 2595 4); the session stays in AUTHORIZATION."""
        await self._command("STLS", b"STLS", _POP3_TLS)
        if self._buf:
            # Bytes after the +OK arrived in plain text: injected before the handshake
            # (the STARTTLS injection of CVE-2011-0411); they must not be trusted.
            self._fail(_POP3_TLS, "STLS", "data after STLS reply")
        try:
            await self._io("STLS", self._conn.starttls(tls))
        except POP3Error as e:
            if e.code == _POP3_LOST:
                e.code = _POP3_TLS
            raise

    async def login(self, user, password):
        """USER and PASS (RFC 1939 7); either refused raises POP3_AUTH. Never traced."""
        u = _arg(user, _POP3_AUTH, "USER")
        p = _arg(password, _POP3_AUTH, "PASS")
        await self._command("USER", b"USER " + u, _POP3_AUTH)
        await self._command("PASS", b"PASS " + p, _POP3_AUTH)

    async def stat(self):
        """(message count, size in octets) of the maildrop (RFC 1939 5 STAT)."""
        text = await self._command("STAT", b"STAT", _POP3_COMMAND)
        words = _text(text).split()
        try:
            count, size = int(words[0]), int(words[1])
        except (IndexError, ValueError):
            count = size = -1
        if count < 0 or size < 0:
            self._fail(_POP3_COMMAND, "STAT", "malformed: " + _text(text))
        return count, size

    async def retr(self, n):
        """RETR n up to its +OK; then read_message() streams the message."""
        return await self._command("RETR", b"RETR " + _num(n), _POP3_COMMAND)

    async def read_message(self, sink):
        """Stream the multi-line body after a +OK: await sink(bytes) per unstuffed piece.

        Each read waits at most timeout_s; the sink (the serial side) is awaited outside
        that limit. Memory stays constant whatever the size of the message.
        """
        dec = DotDecoder()
        data = self._buf
        self._buf = b""
        while True:
            if data:
                content, rest = dec.feed(data)
                if content:
                    await sink(content)
                if rest is not None:
                    self._buf = rest
                    return
            data = await self._io("RETR", self._read("RETR"))

    async def dele(self, n):
        """Mark message n deleted; the deletion takes effect only at QUIT (RFC 1939 6)."""
        return await self._command("DELE", b"DELE " + _num(n), _POP3_COMMAND)

    async def quit(self):
        """QUIT: +OK means the UPDATE state removed what DELE marked (RFC 1939 6)."""
        await self._command("QUIT", b"QUIT", _POP3_COMMAND)
        self._broken = True

    async def bye(self):
        """QUIT as a courtesy: never raises, skipped when the stream is unusable."""
        if self._broken:
            return
        t = self.timeout_s
        t = _QUIT_TIMEOUT_S if t is None or t > _QUIT_TIMEOUT_S else t
        try:
            await self._command("QUIT", b"QUIT", _POP3_COMMAND, t)
        except Exception:  # a courtesy: any failure here changes nothing for the caller
            pass
        self._broken = True

    async def close(self):
        """Close the connection without QUIT (nothing marked is deleted); never raises."""
        self._broken = True
        try:
            await wait_for(self._conn.close(), _CLOSE_TIMEOUT_S)
        except Exception:  # already closed or reset: nothing left to release
            pass


def _num(n):
    return str(int(n)).encode()


def _text(b):
    """Server text to str at the edge; never raises on bytes that are not UTF-8."""
    try:
        return b.decode()
    except UnicodeError:  # MicroPython has no errors="replace"; the line is short (MAX_LINE)
        return "".join([chr(c) if c < 128 else "?" for c in b])


async def open_session(net, host, port, security, tls, user, password, timeout_s):
    """Resolve, connect, greet, STLS (security "STLS") and log in.

    security is "NONE" (plain, never upgraded even when STLS is offered), "STLS" (required)
    or "TLS" (implicit TLS, port 995). Returns the client in the TRANSACTION state. On any
    failure the connection is closed and a NetError (POP3Error) with the #CME code is raised.
    """
    if security not in SECURITY_MODES:
        raise ValueError("security")
    try:
        addr = await wait_for(net.resolve(host), timeout_s)
    except asyncio.TimeoutError:
        raise POP3Error(_DNS_FAILED, "DNS", "timeout") from None
    except NetError as e:
        raise POP3Error(e.code, "DNS", e.text) from None
    except (OSError, ValueError) as e:
        raise POP3Error(_DNS_FAILED, "DNS", str(e)) from None
    try:
        conn = await wait_for(
            net.connect(addr, port, tls if security == "TLS" else None), timeout_s
        )
    except asyncio.TimeoutError:
        raise POP3Error(_POP3_NO_ANSWER, "CONNECT", "timeout") from None
    except NetError as e:
        raise POP3Error(_NET.get(e.code, e.code), "CONNECT", e.text) from None
    except OSError as e:
        raise POP3Error(_POP3_CONNECT, "CONNECT", str(e)) from None
    client = POP3Client(conn, timeout_s)
    try:
        await client.greet()
        if security == "STLS":
            await client.stls(tls)
        await client.login(user, password)
    except Exception:
        await client.bye()
        await client.close()
        raise
    except BaseException:  # cancelled: release the socket without another round trip
        await client.close()
        raise
    return client
