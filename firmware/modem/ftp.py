"""FTP client conversation (RFC 959, FTPS RFC 4217) over injected Conns; a sans-I/O reply parser.

docs/ftp.md states each step, its #CME code and the decisions taken where S000333D is silent.
"""

from .compat import asyncio, const, wait_for
from .errors import NetError

_SMTP_CONNECT = const(37970)
_SMTP_TLS = const(37973)
_SMTP_LOST = const(37979)
_DNS_FAILED = const(38027)
_FTP_CONNECT = const(38060)
_FTP_GREETING = const(38061)
_FTP_TLS = const(38062)
_FTP_LOGIN = const(38063)
_FTP_NO_FILE = const(38064)
_FTP_DENIED = const(38065)
_FTP_FULL = const(38066)
_FTP_LOST = const(38067)
_FTP_NO_ANSWER = const(38068)
_FTP_COMMAND = const(38069)

MAX_LINE = const(512)  # bytes kept of a reply's first line; longer lines are cut
_READ_SIZE = const(512)  # control connection reads
DATA_CHUNK = const(1024)  # data connection reads (at most twice that once DLE-escaped)
_SHORT_S = const(10)  # QUIT, ABOR, DELE and close are courtesy: never the full step timeout
_PORT_BASE = const(40000)  # active mode: our data ports are taken from 40000-49999
_PORT_SPAN = const(10000)
_PORT_TRIES = const(8)

# The network layer reports connect, TLS and reset failures with the SMTP codes it shares
# with the mail services; FTP names the same failures with its own block.
_NET_CODE = {_SMTP_CONNECT: _FTP_CONNECT, _SMTP_TLS: _FTP_TLS, _SMTP_LOST: _FTP_LOST}


def _code3(line):
    """The reply code of a line (RFC 959 4.2), 0 when it does not start with three digits."""
    if len(line) < 3:
        return 0
    a, b, c = line[0] - 48, line[1] - 48, line[2] - 48
    if 0 <= a <= 9 and 0 <= b <= 9 and 0 <= c <= 9:
        return a * 100 + b * 10 + c
    return 0


def _text(b):
    try:
        return b.decode()
    except UnicodeError:  # MicroPython has no errors="replace"; at most MAX_LINE bytes
        return "".join([chr(c) if c < 128 else "?" for c in b])


class ReplyParser:
    """Assemble FTP replies from bytes as they arrive; feed() returns the replies completed,
    each (code, first line text as bytes).

    RFC 959 4.2: a reply is "ddd text", or "ddd-text" followed by any lines up to one that
    starts with the same "ddd " (lines in between may start with anything, even digits).
    Only the first line's text is kept, cut to MAX_LINE bytes: memory is bounded whatever the
    server sends. A single line that does not start with three digits is a reply with code 0.
    """

    def __init__(self):
        self._part = b""  # the line being received (at most MAX_LINE bytes kept)
        self._open = b""  # "ddd " that ends the multi-line reply in progress, else b""
        self._first = b""

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
            if line[-1:] == b"\r":
                line = line[:-1]
            reply = self._line(line)
            if reply is not None:
                out.append(reply)
            i = j + 1
        return out

    def pending(self):
        return bool(self._part or self._open)

    def _add(self, piece):
        room = MAX_LINE - len(self._part)
        if room > 0:
            self._part += piece[:room]

    def _line(self, line):
        if self._open:
            if line[:4] != self._open:
                return None
            self._open = b""
            return (_code3(line), self._first)
        code = _code3(line)
        if code and line[3:4] == b"-":
            self._open = line[:3] + b" "
            self._first = line[4:]
            return None
        return (code, line[4:] if code else line)


def pasv_port(text):
    """The port of a 227 reply's h1,h2,h3,h4,p1,p2 (RFC 959 4.1.2), or None."""
    for tok in text.replace(b"(", b" ").replace(b")", b" ").split():
        parts = tok.rstrip(b".").split(b",")
        if len(parts) == 6:
            try:
                nums = [int(p) for p in parts]
            except ValueError:
                return None
            if max(nums) > 255 or min(nums) < 0:
                return None
            return nums[4] * 256 + nums[5]
    return None


_HI = bytes(range(128)) * 2  # byte -> byte with its MSB cleared
_HAS_TRANSLATE = hasattr(b"", "translate")


def seven_bit(data):
    """TYPE A as the original does it (S000333D p75): every byte's MSB cleared."""
    if not data or max(data) < 128:
        return data
    if _HAS_TRANSLATE:
        return data.translate(_HI)
    # MicroPython has no bytes.translate: the chunk as one big integer, its MSBs masked off
    # (loops in C, ~8x a per-byte comprehension; a chunk's size three times, briefly)
    n = len(data)
    return (int.from_bytes(data, "big") & int.from_bytes(b"\x7f" * n, "big")).to_bytes(n, "big")


class NVT:
    """Host text -> NVT-ASCII (RFC 959 3.1.1.1): 7-bit, and a LF without its CR gets one.
    A CR at the end of a chunk is remembered, so a CR LF split across reads stays one."""

    def __init__(self):
        self.cr = False

    def feed(self, data):
        data = seven_bit(data)
        if not data:
            return data
        head = b""
        if self.cr and data[:1] == b"\n":
            head = b"\n"
            data = data[1:]
        self.cr = data[-1:] == b"\r" if data else self.cr
        if b"\n" in data:
            data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        return head + data


class FTPClient:
    """One FTP session: control connection, and one data connection at a time.

    Every wait is bounded by timeout_s (FTP_NO_ANSWER). A failure raises NetError with the
    #CME code of the failing step. trace, a list, gets (step, reply code, first reply line,
    ms) per step; the password never reaches it (PASS is traced with its reply only).
    """

    def __init__(self, net, timeout_s, trace, clock):
        self.net = net
        self.timeout_s = timeout_s
        self.trace = trace
        self.clock = clock
        self.ctl = None
        self.data = None
        self.addr = None  # the server's address: data connections go there only
        self.tls = None  # TLSConfig for the data connections (PROT P), else None
        self._parser = ReplyParser()
        self._replies = []

    # -- plumbing --

    def _record(self, step, t0, code, text):
        c = self.clock
        if isinstance(text, bytes):
            text = _text(text)
        self.trace.append((step, code, text, c.ticks_diff(c.ticks_ms(), t0)))

    async def _io(self, step, aw, timeout_s=None):
        try:
            return await wait_for(aw, self.timeout_s if timeout_s is None else timeout_s)
        except asyncio.TimeoutError:  # before OSError: on CPython it is a subclass
            raise NetError(_FTP_NO_ANSWER, step + ": timeout") from None
        except NetError as e:
            raise NetError(_NET_CODE.get(e.code, e.code), e.text) from None
        except OSError as e:
            raise NetError(_FTP_LOST, str(e)) from None

    async def _read_reply(self):
        while not self._replies:
            data = await self.ctl.read(_READ_SIZE)
            if not data:
                raise NetError(_FTP_LOST, "connection closed")
            self._replies.extend(self._parser.feed(data))
        return self._replies.pop(0)

    async def command(self, step, line, fail, ok=None, timeout_s=None):
        """Send line (None: only wait), return (code, text). A code outside ok (default: 1yz,
        2yz, 3yz; () any) raises NetError(fail(code)); fail is a #CME code or a function of
        the reply code."""
        t0 = self.clock.ticks_ms()
        try:
            if line is not None:
                await self._io(step, self.ctl.write(line + b"\r\n"), timeout_s)
            code, text = await self._io(step, self._read_reply(), timeout_s)
        except NetError as e:
            self._record(step, t0, 0, e.text)
            raise
        self._record(step, t0, code, text)
        good = (not ok or code in ok) if ok is not None else 100 <= code < 400
        if not good:
            raise NetError(fail(code) if callable(fail) else fail, _text(text))
        return code, text

    # -- the steps --

    async def login(self, host, port, sec, tls, user, password):
        """DNS, connect, greeting, AUTH TLS (sec 1) or implicit TLS (sec 2), USER/PASS and,
        with TLS, PBSZ 0 / PROT P (RFC 4217 9): the data connections are protected too."""
        c = self.clock
        t0 = c.ticks_ms()
        try:
            self.addr = await self._io("DNS", self.net.resolve(host))
        except NetError as e:
            self._record("DNS", t0, 0, e.text)
            raise NetError(_DNS_FAILED if e.code == _FTP_NO_ANSWER else e.code, e.text) from None
        self._record("DNS", t0, 0, self.addr)
        t0 = c.ticks_ms()
        try:
            self.ctl = await self._io(
                "CONNECT", self.net.connect(self.addr, port, tls if sec == 2 else None)
            )
        except NetError as e:
            self._record("CONNECT", t0, 0, e.text)
            raise
        self._record("CONNECT", t0, 0, "")
        await self.command("GREETING", None, _FTP_GREETING, (220,))
        if sec == 1:
            await self.command("AUTH", b"AUTH TLS", _FTP_TLS, (234,))
            if self._replies or self._parser.pending():
                # Plain-text bytes after the 234 could have been injected before the
                # handshake (as with STARTTLS, CVE-2011-0411): refuse them.
                self._record("AUTH", c.ticks_ms(), 0, "data after AUTH reply")
                raise NetError(_FTP_TLS, "data after AUTH reply")
            t0 = c.ticks_ms()
            try:
                await self._io("AUTH", self.ctl.starttls(tls))
            except NetError as e:
                self._record("TLS", t0, 0, e.text)
                raise NetError(_FTP_TLS, e.text) from None
        code, _ = await self.command("USER", b"USER " + _arg(user or "anonymous"), _FTP_LOGIN)
        if code == 331:
            code, _ = await self.command("PASS", b"PASS " + _arg(password), _FTP_LOGIN)
        if code not in (230, 202):  # 332: an account is wanted, which no parameter holds
            raise NetError(_FTP_LOGIN, "login not completed")
        if sec:
            await self.command("PBSZ", b"PBSZ 0", _FTP_TLS, (200,))
            await self.command("PROT", b"PROT P", _FTP_TLS, (200,))
            self.tls = tls

    async def prepare(self, kind, path, missing):
        """TYPE A or I, then CWD path when one is set (missing: the code when it fails)."""
        await self.command("TYPE", b"TYPE " + _arg(kind), _FTP_COMMAND, (200,))
        if path:
            await self.command("CWD", b"CWD " + _arg(path), missing, (250, 200))

    async def open_data(self, step, line, passive, my_ip, fail):
        """PASV or PORT, then the transfer command (RETR/STOR): the data connection is open
        once the server answered 125/150. With PROT P the TLS handshake follows that reply
        (the server starts TLS on the data connection when the transfer starts)."""
        if passive:
            _, text = await self.command("PASV", b"PASV", _FTP_COMMAND, (227,))
            port = pasv_port(text)
            if port is None:
                raise NetError(_FTP_COMMAND, "bad PASV reply")
            # The address of the 227 reply is ignored: data goes to the server we know (a
            # server behind NAT announces a private address; no FTP bounce).
            t0 = self.clock.ticks_ms()
            try:
                self.data = await self._io("DATA", self.net.connect(self.addr, port))
            except NetError as e:
                self._record("DATA", t0, 0, e.text)
                raise
            self._record("DATA", t0, 0, "%d" % port)
            await self.command(step, line, fail, (125, 150))
        else:
            listener = await self._listen(my_ip)
            try:
                await self.command(step, line, fail, (125, 150))
                t0 = self.clock.ticks_ms()
                try:
                    self.data = await self._io("DATA", self._accept(listener))
                except NetError as e:
                    self._record("DATA", t0, 0, e.text)
                    raise
                self._record("DATA", t0, 0, "accepted")
            finally:
                listener.close()
        if self.tls is not None:
            t0 = self.clock.ticks_ms()
            try:
                await self._io("DATA", self.data.starttls(self.tls))
            except NetError as e:
                self._record("DATA TLS", t0, 0, e.text)
                raise NetError(_FTP_TLS, e.text) from None

    async def _listen(self, my_ip):
        """Active mode (FTPMODE=0): a listening port and PORT h1,h2,h3,h4,p1,p2 for it."""
        c = self.clock
        base = c.ticks_ms() % _PORT_SPAN
        err = None
        for i in range(_PORT_TRIES):
            port = _PORT_BASE + (base + i * 7) % _PORT_SPAN
            try:
                listener = await self.net.listen(port)
            except NetError as e:  # in use: the next one
                err = e
                continue
            arg = "%s,%d,%d" % (my_ip.replace(".", ","), port >> 8, port & 255)
            try:
                await self.command("PORT", b"PORT " + arg.encode(), _FTP_COMMAND, (200,))
            except BaseException:
                listener.close()
                raise
            return listener
        raise NetError(_FTP_CONNECT, err.text if err else "no port")

    async def _accept(self, listener):
        while True:
            conn, peer = await listener.accept()
            if peer == self.addr:
                return conn
            await conn.close()  # only the server may connect (no FTP bounce, RFC 2577)

    async def read(self):
        """The next bytes of the data connection; b"" at its end."""
        return await self._io("RETR", self.data.read(DATA_CHUNK))

    async def write(self, data):
        """Returns once the data connection took the bytes (the host waits meanwhile)."""
        await self._io("STOR", self.data.write(data))

    async def finish(self, put):
        """End of the transfer: close the data connection (an upload's end of file) and wait
        for the server's verdict (226/250)."""
        await self._close_data()
        await self.command("END", None, _end_code, (226, 250))

    async def _close_data(self):
        d = self.data
        self.data = None
        if d is not None:
            try:
                await wait_for(d.close(), _SHORT_S)
            except Exception:  # already reset or closed: nothing to release
                pass

    async def abort(self, name):
        """A failed upload: ABOR before the data connection closes (a plain close would be a
        complete file), then DELE of what the server kept. Best effort, short waits."""
        try:
            if self.data is not None and self.ctl is not None:
                await self._io("ABOR", self.ctl.write(b"ABOR\r\n"), _SHORT_S)
                await self._close_data()
                for _ in range(2):  # 426 for the transfer, then 226 for the ABOR
                    code, _ = await self.command("ABOR", None, 0, (), _SHORT_S)
                    if code in (225, 226):
                        break
            if name and self.ctl is not None:
                await self.command("DELE", b"DELE " + _arg(name), 0, (), _SHORT_S)
        except Exception:  # a courtesy: the error already reported stays the answer
            pass

    async def quit(self):
        try:
            await self.command("QUIT", b"QUIT", 0, (), _SHORT_S)
        except Exception:  # a courtesy: the transfer's outcome is already known
            pass

    async def close(self):
        await self._close_data()
        ctl = self.ctl
        self.ctl = None
        if ctl is not None:
            try:
                await wait_for(ctl.close(), _SHORT_S)
            except Exception:  # already reset or closed
                pass


def _end_code(code):
    if code in (452, 552):
        return _FTP_FULL
    if code in (550, 553, 532):
        return _FTP_DENIED
    return _FTP_LOST  # 426, 451, 421: the transfer broke off


def retr_code(code):
    """RETR refused: 550/450 no such file; 530/532/553 permission; 421 lost."""
    if code in (550, 450, 551):
        return _FTP_NO_FILE
    if code in (530, 532, 553):
        return _FTP_DENIED
    return _FTP_LOST if code == 421 else _FTP_COMMAND


def stor_code(code):
    """STOR refused: 452/552 full; 550/553/450/530/532 permission; 421 lost."""
    if code in (452, 552):
        return _FTP_FULL
    if code in (550, 553, 450, 530, 532):
        return _FTP_DENIED
    return _FTP_LOST if code == 421 else _FTP_COMMAND


def _arg(x):
    """A command argument; CR or LF would end the command early (command injection)."""
    if isinstance(x, str):
        x = x.encode()
    if b"\r" in x or b"\n" in x:
        raise NetError(_FTP_COMMAND, "CR/LF in an argument")
    return x
