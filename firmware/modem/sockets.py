"""Socket services: AT#OTCP, #LTCPSTART/#LTCPSTOP, #OUDP, #LUDPSTART/#LUDPSTOP and #PING.

S000333D ch.5 p30-32 (TCP, profiles 1 and 2), ch.6 p34-36 (UDP), ch.7 p37-38 (PING), App. A
p48, App. B p51, p77-78. docs/sockets.md states every byte of data mode and each decision.
"""

from .compat import asyncio, const, wait_for
from .datamode import ETX, Decoder, EscapeDetector, encode
from .errors import ATError, NetError
from .modem import KEEP
from . import params

_BAD_VALUE = const(34882)
_NO_LINK = const(35867)
_SERVICE_RUNNING = const(37123)
_TCP_OPEN_FAILED = const(38016)
_DNS_FAILED = const(38027)
_NOT_CONFIGURED = const(38050)
_LISTEN_FAILED = const(38051)
_SOCKET_IO = const(38052)

_SEGMENT = const(1460)  # a TXDELAY batch this big leaves at once; UDP datagrams at most this
_RX = const(1024)  # bytes taken from a TCP socket at a time (at most twice that once escaped)
_DGRAM = const(1500)  # longest datagram passed to the host; a longer one is cut to this
_STALL_S = const(5)  # a peer that took nothing for this long: look for the host's ETX
_POLL_S = const(1)
_HELD = const(4096)  # host bytes read and held back meanwhile
_ANY = "255.255.255.255"  # a TCPSERV/UDPSERV filter that lets any peer in [READ p30, p34]

# How a data session ended.
_HOST_CLOSE = const(1)  # bare ETX from the host
_ESCAPE = const(2)  # +++ : the socket stays open, ATO resumes
_PEER_CLOSE = const(3)  # the peer closed or reset the connection
_SERIAL_END = const(4)  # the serial port reached its end (simulator, tests)


def _hold(m, svc):
    """svc (a suspended Link or a waiting Listener) keeps this module in RAM until it closes;
    ATH and the end of the IP session close it through m.hangup."""
    if svc is None:
        m.hangup = None
        KEEP.discard("sockets")
    else:
        m.hangup = svc.close
        KEEP.add("sockets")


async def _run_side(fn, up, why, end, done):
    try:
        why.append((up, await fn()))
    except Exception as e:  # handed to serve(), which closes the socket and re-raises
        why.append((up, e))
    finally:
        end.set()
        done.set()


class Link:
    """One socket in data mode, or suspended by +++ until ATO. kind: "tcp" or "udp"."""

    def __init__(self, m, kind, conn, dle, delay, peer=None, first=None):
        self.m = m
        self.kind = kind
        self.conn = conn  # the net's Conn (TCP) or Datagram (UDP)
        self.dle = dle  # ETX/DLE escaping: DLEMODE=1 (TCP) [READ p30], UDPDLEMODE=1 (UDP)
        self.dec = Decoder() if dle else None
        self.delay = delay  # TCPTXDELAY / UDPTXDELAY, ms [READ p31, p34]
        self.peer = peer  # UDP: (address, port) datagrams go to and are accepted from
        self.first = first  # UDP listener: the datagram that opened the session
        self.esc = None
        self.stop = False
        self.reading = False  # the downlink waits in a socket read (safe to cancel there)

    async def resume(self, ato=False):
        """Enter data mode (AT#OTCP, AT#OUDP, ATO); sets the final result. ATO answers OK:
        repeater hosts resend ATO until a line starts with "OK" (docs/sockets.md)."""
        await self.m.begin_data()
        self.m.code("OK" if ato else "Ok_Info_WaitingForData", final=False)
        self.m.result = await self.serve()
        return []

    async def serve(self):
        """Data mode, both directions at once, until the host closes (ETX) or escapes (+++),
        the peer closes, or the serial port ends. Returns the final result code or None."""
        m = self.m
        m.busy.add(self.kind)
        m.resume = None
        _hold(m, None)
        await m.flush()
        clock = m.board.clock
        guard = m.sregs.get(12, 50) * 20  # S12 in 1/50 s; 0 turns +++ off
        self.esc = EscapeDetector(guard, clock, clock.ticks_ms())
        self.stop = False
        why = []
        done = asyncio.Event()
        up_end = asyncio.Event()
        down_end = asyncio.Event()
        up = asyncio.create_task(_run_side(self._up, True, why, up_end, done))
        down = asyncio.create_task(_run_side(self._down, False, why, down_end, done))
        await done.wait()
        first_up, r = why[0]
        if first_up:
            # The downlink finishes the write it is in (no byte to the host is cut), and is
            # cancelled only while it waits for the socket, where nothing is lost.
            self.stop = True
            if self.reading:
                down.cancel()
            await down_end.wait()
        else:
            up.cancel()  # its bytes would go to a closed socket
            await up_end.wait()
        if r == _ESCAPE:
            m.resume = self.resume
            _hold(m, self)
            return "OK"
        await self._close()
        if isinstance(r, BaseException):
            if isinstance(r, ATError) and self.dle:
                m.out.append(ETX)  # [READ p36]: on an error the modem sends ETX, then the error
            raise r
        if r == _HOST_CLOSE:
            if self.kind == "udp":  # [READ p36]: Ok_Info_SocketClosed, OK
                m.code("Ok_Info_SocketClosed", final=False)
            return "OK"  # TCP [READ p48]: OK
        if r == _PEER_CLOSE:
            if self.dle:
                m.out.append(ETX)
            m.code("Ok_Info_SocketClosed", final=False)
            return "OK"
        return None

    async def close(self):
        """ATH or the end of the IP session while suspended."""
        self.m.resume = None
        _hold(self.m, None)
        await self._close()

    async def _close(self):
        self.m.busy.discard(self.kind)
        if self.kind == "tcp":
            await self.conn.close()
        else:
            self.conn.close()

    # ------------------------------------------------------------ host -> network
    async def _up(self):
        m = self.m
        clock = m.board.clock
        esc = self.esc
        batch = []
        size = 0
        since = 0  # tick of the first byte of the batch
        while True:
            now = clock.ticks_ms()
            wait = esc.wait_ms(now)
            if size:
                left = self.delay - clock.ticks_diff(now, since)
                if left <= 0:
                    why = await self._send(batch)
                    if why:
                        return why
                    batch = []
                    size = 0
                    continue
                if wait is None or left < wait:
                    wait = left
            try:
                data = await m.read_serial(None if wait is None else (wait + 1) / 1000)
            except ATError:  # no byte within `wait`: a timer is due
                data = None
            now = clock.ticks_ms()
            if data is None:
                data, escaped = esc.expire(now)
                if escaped:
                    why = await self._send(batch) if size else None
                    return why or _ESCAPE
            elif not data:
                return _SERIAL_END
            else:
                data = esc.feed(data, now)
            if not data:
                continue
            rest = None
            if self.dec is not None:
                data, rest = self.dec.feed(data)
                if rest is not None:
                    m.unread(rest)  # after the closing ETX: command mode's bytes
            if data:
                if not size:
                    since = now
                batch.append(data)
                size += len(data)
            if size and (rest is not None or size >= _SEGMENT or not self.delay):
                why = await self._send(batch)
                if why:
                    return why
                batch = []
                size = 0
            if rest is not None:
                return _HOST_CLOSE

    async def _send(self, batch):
        """One batch to the network; None, or how the session ended while it waited
        (_PEER_CLOSE, _HOST_CLOSE, _SERIAL_END). Returns only once the socket took it: until
        then no serial byte is read (the host is held off), except a bounded look for the
        host's closing ETX once the peer has read nothing for _STALL_S."""
        data = batch[0] if len(batch) == 1 else b"".join(batch)
        if self.kind == "tcp":
            try:
                await wait_for(self.conn.write(data), _STALL_S)
            except asyncio.TimeoutError:  # the bytes stay queued in the connection
                return await self._stalled()
            except NetError:
                return _PEER_CLOSE
            return None
        for i in range(0, len(data), _SEGMENT):  # one datagram per batch, at most _SEGMENT
            try:
                await self.conn.send(data[i : i + _SEGMENT], self.peer[0], self.peer[1])
            except NetError:
                raise ATError(_SOCKET_IO) from None
        return None

    async def _stalled(self):
        """The peer reads nothing. A host can always close (docs/sockets.md): serial bytes are
        read on, up to _HELD of them held back for the peer; a bare ETX then aborts the
        socket. Should the host send more than that, the peer is given up (the socket
        aborted) and the host's bytes are read and dropped until its ETX, so none of them
        is taken for a command. Otherwise the write goes on once the peer reads."""
        m = self.m
        held = []
        size = 0
        dropping = False
        while True:
            if self.dec is not None and (dropping or size < _HELD):
                try:
                    data = await m.read_serial(_POLL_S)
                except ATError:  # nothing from the host meanwhile
                    data = None
                if data == b"":
                    return _SERIAL_END
                if data:
                    data, rest = self.dec.feed(data)
                    if rest is not None:
                        m.unread(rest)
                        m.board.log("tcp: closed by the host while the peer read nothing")
                        if not dropping:
                            self.conn.abort()  # a close would wait for the peer to read
                        return _HOST_CLOSE
                    if not dropping:
                        held.append(data)
                        size += len(data)
                        if size >= _HELD:
                            dropping = True
                            m.board.log("tcp: the peer reads nothing; socket aborted")
                            self.conn.abort()
                if dropping:
                    continue
            try:
                await wait_for(self.conn.write(b""), _POLL_S)  # the queued bytes left?
            except asyncio.TimeoutError:
                continue
            except NetError:
                return _PEER_CLOSE
            return await self._send(held) if held else None

    # ------------------------------------------------------------ network -> host
    async def _down(self):
        port = self.m.port
        if self.first is not None:
            data = self.first
            self.first = None
            if data:
                await port.write(encode(data) if self.dle else data)
        while not self.stop:
            self.reading = True
            try:
                data = await self._recv()
            finally:
                self.reading = False
            if data is None:
                return _PEER_CLOSE
            if data:
                # Awaited before the next read: a host that does not read holds the socket.
                await port.write(encode(data) if self.dle else data)
        return None

    async def _recv(self):
        """The next bytes from the peer; None once it closed (a reset counts as a close)."""
        if self.kind == "tcp":
            try:
                data = await self.conn.read(_RX)
            except NetError:
                return None
            return data or None
        while True:
            try:
                data, addr, port = await self.conn.recv(_DGRAM)
            except NetError:
                raise ATError(_SOCKET_IO) from None
            if addr == self.peer[0] and port == self.peer[1]:
                return data


async def _pump(m, box, ev):
    try:
        box[0] = await m.port.read()
    except Exception as e:  # re-raised by Listener.read_host
        box[1] = e
    finally:
        ev.set()


class Listener:
    """A TCP port waiting for a peer, or a UDP port waiting for a first datagram, while the
    modem stays in command mode (it is m.watch). One data session per start."""

    def __init__(self, m, kind, pid, sock, allow, dle, delay):
        self.m = m
        self.kind = kind
        self.pid = pid
        self.sock = sock  # the net's Listener (TCP) or Datagram (UDP)
        self.allow = allow  # the only peer address let in, or None for any
        self.dle = dle
        self.delay = delay
        self.got = None  # (conn, peer, first datagram) once a peer arrived; False on error
        self.task = None
        self.ev = None  # the Event read_host waits on

    def start(self):
        m = self.m
        m.busy.add(self.kind + " listen")
        m.watch = self
        _hold(m, self)
        self.task = asyncio.create_task(self._wait())

    async def _wait(self):
        try:
            while True:
                if self.kind == "tcp":
                    conn, addr = await self.sock.accept()
                    if self.allow is None or addr == self.allow:
                        self.got = (conn, None, None)
                        break
                    await conn.close()  # not the peer TCPSERV names: closed at once
                else:
                    data, addr, port = await self.sock.recv(_DGRAM)
                    if self.allow is None or addr == self.allow:
                        self.got = (self.sock, (addr, port), data)
                        break
        except NetError:
            self.got = False
        if self.ev is not None:
            self.ev.set()  # due: stop waiting for the host

    def due(self):
        return self.got is not None

    async def read_host(self):
        """The host's next bytes (Modem.read_serial), or None when a peer arrives first."""
        box = [None, None]  # the bytes read, or the exception the read raised
        ev = asyncio.Event()
        task = asyncio.create_task(_pump(self.m, box, ev))
        self.ev = ev
        try:
            while box[0] is None and box[1] is None and not self.due():
                ev.clear()
                await ev.wait()
        finally:
            self.ev = None
        if box[0] is not None:
            return box[0]
        if box[1] is not None:
            raise box[1]
        task.cancel()  # it waits in port.read(): no byte has been taken
        return None

    async def serial(self, data):
        """Command-mode bytes while waiting: an ETX stops listening [READ p31] (answer OK)."""
        i = data.find(ETX)
        if i < 0:
            return data
        await self.close()
        self.m.code("OK")
        return data[:i] + data[i + 1 :]

    async def close(self):
        m = self.m
        if m.watch is self:
            m.watch = None
        m.busy.discard(self.kind + " listen")
        _hold(m, None)
        if self.task is not None:
            self.task.cancel()
            self.task = None
        got = self.got
        self.got = None
        if got and self.kind == "tcp":
            await got[0].close()
        self.sock.close()

    async def takeover(self):
        """A peer arrived: data mode on the serial line, then back to command mode."""
        m = self.m
        m.watch = None
        m.busy.discard(self.kind + " listen")
        _hold(m, None)
        self.task = None
        got = self.got
        self.got = None
        if self.kind == "tcp" or not got:
            self.sock.close()  # later peers are refused: one session at a time [READ p77]
        if not got:
            m.error(ATError(_LISTEN_FAILED))
            await m.flush()
            return
        conn, peer, first = got
        link = Link(m, self.kind, conn, self.dle, self.delay, peer, first)
        m.code("Ok_Info_WaitingForData", final=False)
        try:
            result = await link.serve()
        except ATError as e:
            m.error(e)
            result = None
        if result:
            m.code(result)
        await m.flush()


# ---------------------------------------------------------------- helpers
def _pid(form, args):
    """The TCP profile id: AT#OTCP=<id>; a missing id means 1 (rev B syntax, hosts)."""
    if form != "set":
        return 1
    pid = params.parse_int(params.unquote(args))
    if pid not in params.PROFILES:
        raise ATError(_BAD_VALUE)
    return pid


def _ready(m):
    if not m.session:
        raise ATError(_NO_LINK)
    if m.busy:
        raise ATError(_SERVICE_RUNNING)


async def _resolve(m, host):
    if not host:
        raise ATError(_NOT_CONFIGURED)
    try:
        return await m.board.net.resolve(host)
    except NetError:
        raise ATError(_DNS_FAILED) from None


def _filter(text):
    """A TCPSERV/UDPSERV value as a listener's filter: a dotted address [READ p77], or None
    (255.255.255.255) for any peer."""
    if text == _ANY:
        return None
    try:
        return params.parse_ip(text)
    except ATError:
        raise ATError(_NOT_CONFIGURED) from None


def _profile(m, pid):
    v = m.values
    k = ":%d" % pid
    return v["TCPPORT" + k], v["TCPSERV" + k], v["DLEMODE" + k] == 1, v["TCPTXDELAY" + k]


# ---------------------------------------------------------------- handlers
async def _otcp(m, form, args):
    pid = _pid(form, args)
    _ready(m)
    port, host, dle, delay = _profile(m, pid)
    if not port:
        raise ATError(_NOT_CONFIGURED)
    addr = await _resolve(m, host)
    limit = m.sregs.get(7, 50)  # V.250 S7: seconds to wait for the connection
    net = m.board.net
    lport = m.values["OUTPORT"]  # Multi-Tech: the local port of the next socket, 0 = any
    try:
        conn = await wait_for(net.connect(addr, port, None, lport), limit if limit > 0 else 1)
    except asyncio.TimeoutError:
        raise ATError(_TCP_OPEN_FAILED) from None
    except NetError as e:
        m.board.log("otcp: %s" % e.text)
        raise ATError(_TCP_OPEN_FAILED) from None
    return await Link(m, "tcp", conn, dle, delay).resume()


async def _ltcpstart(m, form, args):
    pid = _pid(form, args)
    _ready(m)
    port, host, dle, delay = _profile(m, pid)
    if not port:
        raise ATError(_NOT_CONFIGURED)
    allow = _filter(host)
    try:
        sock = await m.board.net.listen(port)
    except NetError:
        raise ATError(_LISTEN_FAILED) from None
    Listener(m, "tcp", pid, sock, allow, dle, delay).start()
    return []


async def _stop(m, kind, pid):
    w = m.watch
    if w is not None and w.kind == kind and w.pid == pid:
        await w.close()
    return []


async def _ltcpstop(m, form, args):
    return await _stop(m, "tcp", _pid(form, args))


async def _oudp(m, form, args):
    _ready(m)
    v = m.values
    if not v["UDPPORT"]:
        raise ATError(_NOT_CONFIGURED)
    addr = await _resolve(m, v["UDPSERV"])
    try:
        dg = await m.board.net.udp(v["OUTPORT"])
    except NetError:
        raise ATError(_SOCKET_IO) from None
    dle = v["UDPDLEMODE"] == 1
    return await Link(m, "udp", dg, dle, v["UDPTXDELAY"], (addr, v["UDPPORT"])).resume()


async def _ludpstart(m, form, args):
    _ready(m)
    v = m.values
    if not v["UDPPORT"]:
        raise ATError(_NOT_CONFIGURED)
    allow = _filter(v["UDPSERV"])
    try:
        dg = await m.board.net.udp(v["UDPPORT"])
    except NetError:
        raise ATError(_LISTEN_FAILED) from None
    Listener(m, "udp", 1, dg, allow, v["UDPDLEMODE"] == 1, v["UDPTXDELAY"]).start()
    return []


async def _ludpstop(m, form, args):
    return await _stop(m, "udp", 1)


async def _ping(m, form, args):
    _ready(m)
    v = m.values
    host = v["PINGREMOTE"]
    addr = await _resolve(m, host)
    clock = m.board.clock
    wait = v["PINGDELAY"] * 1000  # the wait for each reply and the gap between requests
    n = v["PINGNUM"]
    m.busy.add("ping")
    try:
        for i in range(n):
            t0 = clock.ticks_ms()
            try:
                ms = await m.board.net.ping(addr, wait)
            except NetError as e:  # nothing could be sent: no answer either
                m.board.log("ping: %s" % e.text)
                ms = None
            if ms is None:
                m.info(['NO answer from "%s"' % host])
            else:
                m.info(['"%s" is alive : time = %d ms' % (host, ms)])
            await m.flush()  # each line as it happens [READ p38]
            left = wait - clock.ticks_diff(clock.ticks_ms(), t0)
            if i + 1 < n and left > 0:
                await asyncio.sleep(left / 1000)
    finally:
        m.busy.discard("ping")
    return []


HANDLERS = {
    "#OTCP": _otcp,
    "#LTCPSTART": _ltcpstart,
    "#LTCPSTOP": _ltcpstop,
    "#OUDP": _oudp,
    "#LUDPSTART": _ludpstart,
    "#LUDPSTOP": _ludpstop,
    "#PING": _ping,
}
