"""The core's Net on MicroPython boards; its sockets and TLS (mpsock, mpserve) load on use."""

_PING_PORT = 7  # echo: the TCP substitute for ICMP times any answer, SYN-ACK or RST


class MPNet:
    """The core's Net on MicroPython: getaddrinfo, asyncio.open_connection, ssl, and the
    socket services (TCP listener, UDP, PING) of docs/sockets.md.

    The work is mpsock's (DNS, TCP and TLS connections), imported by the first call that needs
    the network, not at power-up, and mpserve's (listeners, UDP, PING), imported only for
    those: a modem that waits for commands keeps their ~10 KB free, a mail the listeners' too.
    before_block, when given, is called before a call that blocks the event loop
    (getaddrinfo): a board feeds its watchdog there so a slow DNS server cannot reset it.
    bind_host is the address listeners and UDP sockets bind to (tests: 127.0.0.1).
    """

    bind_host = "0.0.0.0"
    ping_port = _PING_PORT
    ping_used = None

    def __init__(self, before_block=None):
        self.before_block = before_block

    async def resolve(self, host):
        """The IPv4 address of host (an address is returned as it is, without DNS); blocks
        the event loop during the DNS round trip (mpsock.resolve)."""
        return await _sock().resolve(self, host)

    async def connect(self, addr, port, tls=None, lport=0):
        """TCP connect (from local port lport, 0 = any); with tls (a TLSConfig) the
        implicit-TLS session on the same socket."""
        return await _sock().connect(self, addr, port, tls, lport)

    async def listen(self, port, host=None, backlog=1):
        """AT#LTCPSTART: a TCP port listening (backlog 1); the web pages give a host and a
        longer backlog (a browser opens a few connections at once)."""
        return _serve().listen(self, port, host, backlog)

    async def udp(self, port=0):
        """AT#OUDP (port 0: any), AT#LUDPSTART."""
        return _serve().udp(self, port)

    async def ping(self, addr, timeout_ms):
        """AT#PING: milliseconds until addr answers on TCP port 7, or None."""
        return await _serve().ping(self, addr, timeout_ms)


def _sock():
    import mpsock

    return mpsock


def _serve():
    import mpserve

    return mpserve
