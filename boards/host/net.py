"""Net/Conn for CPython: DNS, TCP and TLS through asyncio streams and ssl (host board)."""

import asyncio
import socket
import ssl

from modem.errors import DNS_FAILED, SMTP_CONNECT, SMTP_LOST, SMTP_TLS, NetError

_CLOSE_WAIT_S = 5


def make_context(tls):
    """An SSLContext for a TLSConfig: CERT_REQUIRED and hostname check unless verify is False."""
    try:
        # No cafile: the system's default CAs (create_default_context loads them).
        ctx = ssl.create_default_context(cafile=tls.cafile or None)
    except (OSError, ValueError) as e:  # missing or unreadable cafile, not PEM
        raise NetError(SMTP_TLS, "cafile: %s" % e) from e
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
            raise NetError(SMTP_LOST, str(e) or e.__class__.__name__) from e

    async def write(self, data):
        try:
            self._w.write(data)
            await self._w.drain()
        except OSError as e:
            raise NetError(SMTP_LOST, str(e) or e.__class__.__name__) from e

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
            raise NetError(SMTP_TLS, str(e) or e.__class__.__name__) from e
        except BaseException:  # cancelled by the caller's timeout: do not leak the socket
            self._w.transport.abort()
            raise

    async def close(self):
        self._w.close()
        try:
            await asyncio.wait_for(self._w.wait_closed(), _CLOSE_WAIT_S)
        except (OSError, asyncio.TimeoutError):
            self._w.transport.abort()


class HostNet:
    """The core's Net on a PC: getaddrinfo through the loop, asyncio.open_connection."""

    async def resolve(self, host):
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError, ValueError) as e:  # gaierror is an OSError
            raise NetError(DNS_FAILED, str(e)) from e
        if not infos:
            raise NetError(DNS_FAILED, "no address")
        # IPv4 first: the boards this stands in for only speak IPv4.
        for family, _, _, _, sockaddr in infos:
            if family == socket.AF_INET:
                return sockaddr[0]
        return infos[0][4][0]

    async def connect(self, addr, port, tls=None):
        """TCP connect, then (tls not None) the implicit-TLS handshake on the same stream."""
        if tls is not None:
            make_context(tls)  # a bad cafile fails before any packet is sent
        try:
            reader, writer = await asyncio.open_connection(addr, port)
        except OSError as e:  # refused, unreachable, no route
            raise NetError(SMTP_CONNECT, str(e) or e.__class__.__name__) from e
        conn = HostConn(reader, writer)
        if tls is not None:
            await conn.starttls(tls)
        return conn
