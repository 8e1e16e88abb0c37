"""Net/Conn for CPython: DNS, TCP and TLS through asyncio streams and ssl (host board)."""

import asyncio
import os
import socket
import ssl
import struct
import time

from modem.compat import const
from modem.errors import NetError

_SMTP_CONNECT = const(37970)
_SMTP_TLS = const(37973)
_SMTP_LOST = const(37979)
_DNS_FAILED = const(38027)
_LISTEN_FAILED = const(38051)
_SOCKET_IO = const(38052)

_CLOSE_WAIT_S = 5


def make_context(tls):
    """An SSLContext for a TLSConfig: CERT_REQUIRED and hostname check unless verify is False."""
    try:
        # No cafile: the system's default CAs (create_default_context loads them).
        ctx = ssl.create_default_context(cafile=tls.cafile or None)
    except (OSError, ValueError) as e:  # missing or unreadable cafile, not PEM
        raise NetError(_SMTP_TLS, "cafile: %s" % e) from e
    if not tls.verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class HostConn:
    """One TCP (or TLS) connection as the core's Conn: read, write, starttls, close."""

    def __init__(self, reader, writer):
        self._r = reader
        self._w = writer

    async def read(self, n):
        try:
            return await self._r.read(n)
        except OSError as e:  # reset, or a TLS record error: the session is gone
            raise NetError(_SMTP_LOST, str(e) or e.__class__.__name__) from e

    async def write(self, data):
        try:
            self._w.write(data)
            await self._w.drain()
        except OSError as e:
            raise NetError(_SMTP_LOST, str(e) or e.__class__.__name__) from e

    async def starttls(self, tls):
        """Upgrade in place; on any failure the connection is dropped (its state is unknown)."""
        try:
            ctx = make_context(tls)
            # SNI and the hostname check both use server_hostname (RFC 6125 via ssl).
            await self._w.start_tls(ctx, server_hostname=tls.server_hostname or None)
        except NetError:
            self._w.transport.abort()
            raise
        except (OSError, ValueError) as e:  # SSLError and certificate errors are OSError
            self._w.transport.abort()
            raise NetError(_SMTP_TLS, str(e) or e.__class__.__name__) from e
        except BaseException:  # cancelled by the caller's timeout: do not leak the socket
            self._w.transport.abort()
            raise

    def abort(self):
        """Drop the connection at once, unsent bytes and all (a peer that reads nothing)."""
        self._w.transport.abort()

    async def close(self):
        if self._w.transport.is_closing() and self._w.transport.get_write_buffer_size() == 0:
            return  # aborted, or closed already
        self._w.close()
        try:
            await asyncio.wait_for(self._w.wait_closed(), _CLOSE_WAIT_S)
        except (OSError, asyncio.TimeoutError):
            self._w.transport.abort()


# ---------------------------------------------------------------- socket services
# TCP listener, UDP and PING for AT#LTCPSTART, AT#OUDP/#LUDPSTART and AT#PING (docs/design.md).


async def _readable(sock):
    """Wait until sock has something to read. Cancelling the wait takes nothing from it."""
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    fd = sock.fileno()
    loop.add_reader(fd, lambda: fut.done() or fut.set_result(None))
    try:
        await fut
    finally:
        loop.remove_reader(fd)


class HostListener:
    """A listening TCP socket: accept() -> (HostConn, peer address)."""

    def __init__(self, sock):
        self._sock = sock

    async def accept(self):
        while True:
            try:
                s, addr = self._sock.accept()
                break
            except (BlockingIOError, InterruptedError):
                await _readable(self._sock)
            except OSError as e:
                raise NetError(_LISTEN_FAILED, str(e)) from e
        s.setblocking(False)
        reader, writer = await asyncio.open_connection(sock=s)
        return HostConn(reader, writer), addr[0]

    def close(self):
        self._sock.close()


class HostDatagram:
    """A UDP socket: recv(n) -> (data, address, port) of the next datagram, cut to n bytes;
    send(data, address, port). The kernel's buffer is the only queue."""

    def __init__(self, sock):
        self._sock = sock

    async def recv(self, n):
        while True:
            try:
                data, addr = self._sock.recvfrom(n)
                return data, addr[0], addr[1]
            except (BlockingIOError, InterruptedError):
                await _readable(self._sock)
            except OSError as e:
                raise NetError(_SOCKET_IO, str(e)) from e

    async def send(self, data, addr, port):
        loop = asyncio.get_running_loop()
        try:
            await loop.sock_sendto(self._sock, data, (addr, port))
        except OSError as e:  # EACCES (broadcast), EMSGSIZE, no route
            raise NetError(_SOCKET_IO, str(e)) from e

    def close(self):
        self._sock.close()


def _checksum(data):
    """RFC 1071 Internet checksum."""
    if len(data) & 1:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


_ping_seq = [0]


def _echo_request(ident, seq):
    payload = b"multitech-modem-ping" + bytes(36)  # 56 bytes, as ping(8) sends
    head = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    return struct.pack("!BBHHH", 8, 0, _checksum(head + payload), ident, seq) + payload


class HostSocketNet:
    """Listener, UDP and PING on a PC; a mixin for HostNet.

    bind_host: the address listeners and UDP sockets bind to ("0.0.0.0"; the tests use
    127.0.0.1 so nothing is reachable from outside). ping_method: "auto" (ICMP echo on a raw
    socket when root, else an unprivileged ICMP datagram socket, else TCP), "icmp" or "tcp".
    After each ping, ping_used tells which one measured the time.
    """

    bind_host = "0.0.0.0"
    ping_method = "auto"
    ping_used = None

    async def listen(self, port, host=None, backlog=1):
        """host: None binds bind_host (the web pages of the simulator give their own)."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host or self.bind_host, port))
            s.listen(backlog)
            s.setblocking(False)
        except OSError as e:  # in use, no permission
            s.close()
            raise NetError(_LISTEN_FAILED, str(e)) from e
        return HostListener(s)

    async def udp(self, port=0):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind((self.bind_host, port))
            s.setblocking(False)
        except OSError as e:
            s.close()
            raise NetError(_LISTEN_FAILED, str(e)) from e
        return HostDatagram(s)

    async def ping(self, addr, timeout_ms):
        """Milliseconds until the echo reply from addr, or None within timeout_ms."""
        if self.ping_method != "tcp":
            for kind in (socket.SOCK_RAW, socket.SOCK_DGRAM):
                try:
                    s = socket.socket(socket.AF_INET, kind, socket.IPPROTO_ICMP)
                except OSError:  # not root / not in net.ipv4.ping_group_range
                    continue
                self.ping_used = "icmp"
                try:
                    return await self._icmp(s, kind == socket.SOCK_RAW, addr, timeout_ms)
                finally:
                    s.close()
            if self.ping_method == "icmp":
                raise NetError(_SOCKET_IO, "no ICMP socket")
        self.ping_used = "tcp"
        return await self._tcp_ping(addr, timeout_ms)

    async def _icmp(self, s, raw, addr, timeout_ms):
        s.setblocking(False)
        _ping_seq[0] = (_ping_seq[0] + 1) & 0xFFFF
        seq = _ping_seq[0]
        ident = (os.getpid() ^ id(s)) & 0xFFFF
        t0 = time.monotonic()
        end = t0 + timeout_ms / 1000
        try:
            s.sendto(_echo_request(ident, seq), (addr, 0))
        except OSError as e:
            raise NetError(_SOCKET_IO, str(e)) from e
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            try:
                await asyncio.wait_for(_readable(s), left)
            except asyncio.TimeoutError:
                return None
            try:
                data, src = s.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                continue  # an ICMP error for an earlier packet
            if raw:
                data = data[(data[0] & 15) * 4 :]  # skip the IP header
            if len(data) < 8 or src[0] != addr:
                continue
            typ, _, _, rid, rseq = struct.unpack("!BBHHH", data[:8])
            # An unprivileged datagram socket gets its identifier from the kernel.
            if typ == 0 and rseq == seq and (rid == ident or not raw):
                return int((time.monotonic() - t0) * 1000)

    async def _tcp_ping(self, addr, timeout_ms):
        """Substitute for ICMP: the time until port 7 answers at all (SYN-ACK or RST)."""
        t0 = time.monotonic()
        try:
            _, w = await asyncio.wait_for(asyncio.open_connection(addr, 7), timeout_ms / 1000)
            w.close()
        except ConnectionRefusedError:
            pass  # a RST is an answer: the host is there
        except (OSError, asyncio.TimeoutError):
            return None
        return int((time.monotonic() - t0) * 1000)


class HostNet(HostSocketNet):
    """The core's Net on a PC: getaddrinfo through the loop, asyncio.open_connection."""

    async def resolve(self, host):
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError, ValueError) as e:  # gaierror is an OSError
            raise NetError(_DNS_FAILED, str(e)) from e
        if not infos:
            raise NetError(_DNS_FAILED, "no address")
        # IPv4 first: the boards this stands in for only speak IPv4.
        for family, _, _, _, sockaddr in infos:
            if family == socket.AF_INET:
                return sockaddr[0]
        return infos[0][4][0]

    async def connect(self, addr, port, tls=None, lport=0):
        """TCP connect (from local port lport, 0 = any), then (tls not None) the implicit-TLS
        handshake on the same stream."""
        if tls is not None:
            make_context(tls)  # a bad cafile fails before any packet is sent
        try:
            if lport:
                reader, writer = await asyncio.open_connection(
                    sock=await _from(self.bind_host, lport, addr, port)
                )
            else:
                reader, writer = await asyncio.open_connection(addr, port)
        except OSError as e:  # refused, unreachable, no route; lport in use
            raise NetError(_SMTP_CONNECT, str(e) or e.__class__.__name__) from e
        conn = HostConn(reader, writer)
        if tls is not None:
            await conn.starttls(tls)
        return conn


async def _from(host, lport, addr, port):
    """A TCP socket bound to host:lport (AT#OUTPORT), connected to addr:port."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the port may be in TIME_WAIT
        s.bind((host, lport))
        s.setblocking(False)
        await asyncio.get_running_loop().sock_connect(s, (addr, port))
    except BaseException:
        s.close()
        raise
    return s
