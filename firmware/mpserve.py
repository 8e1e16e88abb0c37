"""TCP listeners, UDP and PING over asyncio (socket): mpnet.MPNet loads it on first use."""

import errno
import socket
import time

from modem.compat import asyncio, const
from modem.errors import NetError
from mpsock import MPConn, _address, _errno, _sockaddr, _text

_LISTEN_FAILED = const(38051)
_SOCKET_IO = const(38052)

_POLL_S = 0.02  # readiness by polling, where asyncio's I/O queue is not reachable


def _readable(sock):
    """Wait until sock can be read or accepted, as asyncio's own streams and server do; a
    cancelled wait takes nothing from the socket."""
    q = getattr(getattr(asyncio, "core", None), "_io_queue", None)
    if q is None:  # not MicroPython's asyncio: poll
        return asyncio.sleep(_POLL_S)
    return _queue_read(q, sock)


def _queue_read(q, sock):
    yield q.queue_read(sock)


def _would_block(e):
    return _errno(e) in (errno.EAGAIN, getattr(errno, "EWOULDBLOCK", errno.EAGAIN))


class MPListener:
    """A listening TCP socket: accept() -> (MPConn, peer address)."""

    def __init__(self, sock):
        self._sock = sock

    async def accept(self):
        while True:
            try:
                s, addr = self._sock.accept()
                break
            except OSError as e:
                if not _would_block(e):
                    raise NetError(_LISTEN_FAILED, _text(e)) from None
            await _readable(self._sock)
        s.setblocking(False)
        return MPConn(s, asyncio.StreamReader(s), True), _address(addr)

    def close(self):
        self._sock.close()


class MPDatagram:
    """A UDP socket: recv(n) -> (data, address, port), cut to n bytes; send(data, address,
    port). The network stack's buffer is the only queue."""

    def __init__(self, sock):
        self._sock = sock

    async def recv(self, n):
        while True:
            try:
                data, addr = self._sock.recvfrom(n)
                return data, _address(addr), _port(addr)
            except OSError as e:
                if not _would_block(e):
                    raise NetError(_SOCKET_IO, _text(e)) from None
            await _readable(self._sock)

    async def send(self, data, addr, port):
        try:
            self._sock.sendto(data, _sockaddr(addr, port))
        except OSError as e:  # no route, too long, no buffer
            raise NetError(_SOCKET_IO, _text(e)) from None

    def close(self):
        self._sock.close()


def _bound(net, kind, port, host=None, backlog=1):
    s = socket.socket(socket.AF_INET, kind)
    try:
        if kind == socket.SOCK_STREAM:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(_sockaddr(host or net.bind_host, port))
        if kind == socket.SOCK_STREAM:
            s.listen(backlog)
        s.setblocking(False)
    except OSError as e:  # in use, no permission
        s.close()
        raise NetError(_LISTEN_FAILED, _text(e)) from None
    return s


def listen(net, port, host=None, backlog=1):
    """MPNet.listen: a TCP port listening."""
    return MPListener(_bound(net, socket.SOCK_STREAM, port, host, backlog))


def udp(net, port=0):
    """MPNet.udp: a UDP socket bound to port (0: any)."""
    return MPDatagram(_bound(net, socket.SOCK_DGRAM, port))


async def ping(net, addr, timeout_ms):
    """MPNet.ping: milliseconds until addr answers on TCP port 7 (SYN-ACK or RST), or None.

    MicroPython has no portable ICMP (lwIP ports build without raw sockets), so this is
    the substitute of docs/sockets.md on every MicroPython board.
    """
    net.ping_used = "tcp"
    t0 = time.ticks_ms()
    try:
        r, _ = await asyncio.wait_for(
            asyncio.open_connection(addr, net.ping_port), timeout_ms / 1000
        )
    except asyncio.TimeoutError:
        return None
    except OSError:  # no route: nothing answered
        return None
    ms = time.ticks_diff(time.ticks_ms(), t0)
    try:
        # Connected or not: the outcome of the connect shows at the first read.
        r.s.read(1)
        alive = True
    except OSError as e:
        alive = _errno(e) in (errno.ECONNREFUSED, errno.ECONNRESET)  # a RST answers
    r.s.close()
    return ms if alive else None


def _port(sockaddr):
    if isinstance(sockaddr, tuple):
        return sockaddr[1]
    b = bytes(sockaddr)
    return (b[2] << 8) | b[3]
