"""DNS, TCP and TLS over asyncio streams (socket, ssl): mpnet.MPNet loads it on first use."""

import binascii
import errno
import socket

from modem.compat import asyncio, const
from modem.errors import NetError

_SMTP_CONNECT = const(37970)
_SMTP_TLS = const(37973)
_SMTP_LOST = const(37979)
_DNS_FAILED = const(38027)

_TEXT_MAX = const(100)  # characters of an error text kept
_READ_LIMIT = const(512)  # largest single read (mbedtls decrypts in place: no bigger buffer)
_IPPROTO_TCP = const(6)  # Linux and lwIP number both alike; MicroPython names neither
_TCP_NODELAY = const(1)

# Before the first byte from the server these errno codes mean "could not connect": a
# non-blocking connect reports a refusal only at the first I/O, and lwIP ports report a refused
# connection as ECONNRESET (its ERR_RST), so a reset before the greeting counts as well.
_CONNECT_ERRNOS = tuple(
    getattr(errno, n)
    for n in (
        "ECONNREFUSED",
        "ECONNRESET",
        "ECONNABORTED",
        "EHOSTUNREACH",
        "ENETUNREACH",
        "ETIMEDOUT",
        "ENOTCONN",
    )
    if hasattr(errno, n)
)


def _text(e):
    """An exception as one short line for traces and #SMTPLOG (mbedtls texts hold newlines)."""
    a = e.args
    if not a:
        return e.__class__.__name__
    if isinstance(a[0], int) and a[0] > 0 and len(a) == 1:
        return errno.errorcode.get(a[0], str(a[0]))
    t = " ".join([str(x) for x in a])
    return " ".join(t.split())[:_TEXT_MAX]


def _is_ip(host):
    parts = host.split(".")
    if len(parts) != 4:
        return False
    for p in parts:
        if not p.isdigit() or len(p) > 3 or int(p) > 255:
            return False
    return True


def load_cafile(ctx, path):
    """Trust every PEM certificate in path, one at a time (constant memory, any bundle size).

    Each certificate goes to mbedtls as DER: some MicroPython builds lack PEM parsing
    (MBEDTLS_PEM_PARSE_C), and a whole bundle in one string would need its size in RAM twice.
    """
    n = 0
    body = None
    with open(path, "rb") as f:
        for line in f:
            line = line.strip()
            if line.startswith(b"-----BEGIN CERTIFICATE"):
                body = []
            elif line.startswith(b"-----END CERTIFICATE"):
                if body:
                    ctx.load_verify_locations(cadata=binascii.a2b_base64(b"".join(body)))
                    n += 1
                body = None
            elif body is not None:
                body.append(line)
    if not n:
        raise ValueError("no PEM certificate")
    return n


def make_context(tls):
    """An ssl.SSLContext for a smtp.TLSConfig; raises NetError(SMTP_TLS) on a bad cafile.

    MicroPython's ssl has no system CA store: with verify on, the server's chain must end in a
    CA from tls.cafile, else the handshake fails. A client context defaults to CERT_NONE on
    MicroPython (unlike CPython), so verification is switched on explicitly.
    """
    try:
        import ssl  # only TLS sessions need it: ~1 KB of heap spared for plain SMTP

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if tls.verify:
            ctx.verify_mode = ssl.CERT_REQUIRED
            if tls.cafile:
                load_cafile(ctx, tls.cafile)
        else:
            ctx.verify_mode = ssl.CERT_NONE
    except (OSError, ValueError, ImportError) as e:  # no cafile, not PEM, no ssl module
        raise NetError(_SMTP_TLS, "cafile: " + _text(e)) from None
    return ctx


class MPConn:
    """One TCP connection (TLS after starttls or for implicit TLS): the core's Conn.

    The TLS handshake is non-blocking and lazy (wrap_socket with do_handshake_on_connect=False,
    MicroPython >= 1.22): mbedtls runs it inside the next read or write, so the event loop (and
    the watchdog task) keeps running. A failed handshake therefore surfaces at the next read or
    write, as NetError(SMTP_TLS). Errors before the first byte from the server are connect
    failures (SMTP_CONNECT): a non-blocking connect reports a refusal only at the first I/O.
    """

    def __init__(self, sock, stream, accepted=False):
        _no_delay(sock)
        self._sock = sock  # the raw socket, kept for starttls
        self._s = stream
        self._got = accepted  # any byte received yet (an accepted peer is connected)
        self._tls = False  # wrapped, handshake not yet proven by a successful I/O
        self._pending = None  # bytes read while kicking off the handshake

    def _error(self, e):
        code = _errno(e)
        if not self._got and code in _CONNECT_ERRNOS:
            return NetError(_SMTP_CONNECT, _text(e))
        if self._tls or isinstance(e, ValueError):
            # ValueError: certificate verification; other errors while the handshake runs are
            # mbedtls codes (negative errno) or the peer giving up on the handshake.
            return NetError(_SMTP_TLS, _text(e))
        return NetError(_SMTP_LOST, _text(e))

    async def read(self, n):
        if self._pending is not None:
            data = self._pending
            self._pending = None
            return data
        try:
            data = await self._s.read(n if n < _READ_LIMIT else _READ_LIMIT)
        except (OSError, ValueError) as e:
            raise self._error(e) from None
        if data:
            self._got = True
            self._tls = False
        return data

    async def write(self, data):
        try:
            self._s.write(data)
            await self._s.drain()
        except (OSError, ValueError) as e:
            raise self._error(e) from None
        self._tls = False  # mbedtls_ssl_write returns only after the handshake completed

    def _wrap(self, tls, ctx=None):
        if ctx is None:
            ctx = make_context(tls)
        try:
            # SNI and the certificate's host name check both use server_hostname (mbedtls).
            s = ctx.wrap_socket(
                self._sock, server_hostname=tls.server_hostname, do_handshake_on_connect=False
            )
            s.setblocking(False)
        except (OSError, ValueError) as e:
            raise NetError(_SMTP_TLS, _text(e)) from None
        self._sock = s
        self._s = asyncio.StreamReader(s)  # one Stream object reads and writes on MicroPython
        self._tls = True
        # Kick the handshake off: a read sends the ClientHello, then wants the server's reply
        # (EAGAIN, None here). Without it the first awaited read would poll a socket on which
        # nothing arrives, since the server waits for the ClientHello (implicit TLS).
        try:
            data = s.read(_READ_LIMIT)
        except (OSError, ValueError) as e:
            raise self._error(e) from None
        if data is not None:  # cannot happen before the server's Finished; kept, not lost
            self._pending = data

    async def starttls(self, tls):
        """Upgrade in place (RFC 3207): the handshake runs within the next read or write."""
        try:
            self._wrap(tls)
        except NetError:
            self._drop()
            raise

    def _drop(self):
        try:
            self._sock.close()
        except OSError:
            pass

    def abort(self):
        """Drop the connection at once, unsent bytes and all (a peer that reads nothing)."""
        self._drop()

    async def close(self):
        try:
            await self._s.wait_closed()  # closes the socket (and frees the TLS state)
        except OSError:
            pass


def _no_delay(sock):
    """Segments leave as they are written, as CPython's asyncio sets it: the core writes whole
    chunks (a mail's body in reads of up to 2 KB, a TCPTXDELAY batch). With Nagle's rule
    (RFC 896) the last short segment of a mail would wait for the server's delayed ACK
    (RFC 1122 4.2.3.2: up to 500 ms; 40 ms on Linux) before the server can answer."""
    try:
        sock.setsockopt(_IPPROTO_TCP, _TCP_NODELAY, 1)
    except (OSError, AttributeError):  # a port or socket without the option: Nagle stays
        pass


def _errno(e):
    return e.args[0] if isinstance(e, OSError) and e.args else None


def _sockaddr(addr, port):
    # A dotted address resolves without DNS; the result suits sendto and bind on every port.
    return socket.getaddrinfo(addr, port, 0, socket.SOCK_DGRAM)[0][-1]


async def resolve(net, host):
    """MPNet.resolve: the IPv4 address of host (an address is returned as it is, without DNS).

    Blocking: MicroPython's getaddrinfo has no asynchronous form, so the event loop stalls
    for the DNS round trip, and for lwIP's retries (several seconds) when no DNS server
    answers. net.before_block() runs first, so the watchdog starts that wait freshly fed.
    """
    if _is_ip(host):
        return host
    if net.before_block:
        net.before_block()
    try:
        infos = socket.getaddrinfo(host, 0, 0, socket.SOCK_STREAM)
    except (OSError, ValueError, UnicodeError) as e:  # lwIP raises OSError(-2) and the like
        raise NetError(_DNS_FAILED, _text(e)) from None
    for info in infos:
        if info[0] == socket.AF_INET:
            return _address(info[-1])
    if infos:
        return _address(infos[0][-1])
    raise NetError(_DNS_FAILED, "no address")


async def connect(net, addr, port, tls=None, lport=0):
    """MPNet.connect: TCP connect (from local port lport, 0 = any); with tls (a TLSConfig)
    the implicit-TLS session on the same socket."""
    ctx = make_context(tls) if tls is not None else None  # a bad cafile: no packet sent
    try:
        if lport:
            reader = await _connect_from(net, lport, addr, port)
        else:
            reader, _ = await asyncio.open_connection(addr, port)
    except OSError as e:  # no route, or refused at once; lport in use
        raise NetError(_SMTP_CONNECT, _text(e)) from None
    conn = MPConn(reader.s, reader)
    if tls is not None:
        try:
            conn._wrap(tls, ctx)
        except NetError:
            conn._drop()
            raise
    return conn


def _connect_from(net, lport, addr, port):
    """asyncio.open_connection from a fixed local port (AT#OUTPORT): bind, then the same
    non-blocking connect and wait for writability that MicroPython's own one does."""
    from asyncio import core

    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(_sockaddr(net.bind_host, lport))
        s.setblocking(False)
        try:
            s.connect(_sockaddr(addr, port))
        except OSError as e:
            if _errno(e) != errno.EINPROGRESS:
                raise
        yield core._io_queue.queue_write(s)
    except BaseException:
        s.close()
        raise
    return asyncio.StreamReader(s)


def _address(sockaddr):
    """The dotted address of a sockaddr (a tuple on lwIP ports, packed bytes on unix)."""
    if isinstance(sockaddr, tuple):
        return sockaddr[0]
    # The unix port returns a packed sockaddr_in: family(2) port(2) address(4).
    b = bytes(sockaddr)
    return "%d.%d.%d.%d" % (b[4], b[5], b[6], b[7])
