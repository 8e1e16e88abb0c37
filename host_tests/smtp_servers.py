"""Loopback SMTP servers for the SMTP client tests: aiosmtpd, plus fakes for faults only."""

import asyncio
import contextlib
import socket
import ssl

import trustme
from aiosmtpd.smtp import SMTP, AuthResult

HOST = "127.0.0.1"
USER = "modem@example.test"
PASSWORD = "s3cret-Pa55"


class Recorder:
    """aiosmtpd handler: records each accepted message; refusals and delays on request.

    refuse maps a recipient address to the reply RCPT gets; mail_reply, when set, refuses
    MAIL FROM; data_reply is the reply to the final dot; data_delay_s delays that reply.
    """

    def __init__(
        self, refuse=None, mail_reply=None, data_reply="250 2.0.0 queued as 1234", data_delay_s=0
    ):
        self.refuse = refuse or {}
        self.mail_reply = mail_reply
        self.data_reply = data_reply
        self.data_delay_s = data_delay_s
        self.messages = []  # (mail_from, mail_options, rcpt_tos, content, tls, authenticated)
        self.rcpt_seen = []

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpt_seen.append(address)
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_delay_s:
            await asyncio.sleep(self.data_delay_s)
        self.messages.append(
            (
                envelope.mail_from,
                list(envelope.mail_options),
                list(envelope.rcpt_tos),
                envelope.original_content,
                server.transport.get_extra_info("ssl_object") is not None,  # TLS, either kind
                bool(session.authenticated),
            )
        )
        return self.data_reply


class Authenticator:
    """aiosmtpd authenticator: USER/PASSWORD only (aiosmtpd answers 535 otherwise)."""

    def __init__(self):
        self.seen = []  # (mechanism, login, password) as the server decoded them

    def __call__(self, server, session, envelope, mechanism, auth_data):
        self.seen.append((mechanism, auth_data.login, auth_data.password))
        ok = auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd sends the 535


class NoEHLO(SMTP):
    """A real aiosmtpd that predates ESMTP: EHLO is 502, HELO works (RFC 5321 4.1.4)."""

    async def smtp_EHLO(self, hostname):
        await self.push("502 5.5.2 Command not implemented")


@contextlib.asynccontextmanager
async def smtp_server(handler, ssl_context=None, factory=SMTP, **kwargs):
    """A real aiosmtpd server on 127.0.0.1 (free port) in the running loop; yields the port."""
    kwargs.setdefault("hostname", "mx.test")
    kwargs.setdefault("auth_require_tls", False)
    server = await asyncio.get_running_loop().create_server(
        lambda: factory(handler, **kwargs), HOST, 0, ssl=ssl_context
    )
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


@contextlib.asynccontextmanager
async def fake_server(serve):
    """A raw TCP server running serve(reader, writer) per connection; yields the port."""
    writers = []

    async def on_client(reader, writer):
        writers.append(writer)
        try:
            await serve(reader, writer)
        except (OSError, asyncio.IncompleteReadError):
            pass

    server = await asyncio.start_server(on_client, HOST, 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for w in writers:
            w.transport.abort()


def free_port():
    """A port nobody listens on (bound, then released): connecting to it is refused."""
    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


# -- fault scripts for fake_server (faults a real server cannot be made to produce) --


async def greet_421(reader, writer):
    """RFC 5321 3.1: a server may refuse service in its greeting."""
    writer.write(b"421 4.3.2 mx.test too busy, try later\r\n")
    await writer.drain()
    writer.close()


async def silent(reader, writer):
    """Accepts the connection, never says a word."""
    await reader.read()


async def greet_then_close(reader, writer):
    writer.write(b"220 mx.test ESMTP\r\n")
    await writer.drain()
    await reader.readline()
    writer.close()


async def starttls_inject(reader, writer):
    """Plain text after the 220 to STARTTLS: the CVE-2011-0411 pattern."""
    writer.write(b"220 mx.test ESMTP\r\n")
    await reader.readline()
    writer.write(b"250-mx.test\r\n250 STARTTLS\r\n")
    await reader.readline()
    writer.write(b"220 2.0.0 go ahead\r\n250 injected\r\n")
    await writer.drain()
    await reader.read()


class _UpToData:
    """A scripted server: the envelope as any server answers it, then in_body(reader, writer)
    after 354."""

    async def __call__(self, reader, writer):
        writer.write(b"220 mx.test ESMTP\r\n")
        while True:
            line = await reader.readline()
            verb = line[:4].upper()
            if verb == b"EHLO":
                writer.write(b"250-mx.test\r\n250 8BITMIME\r\n")
            elif verb in (b"MAIL", b"RCPT"):
                writer.write(b"250 OK\r\n")
            elif verb == b"DATA":
                writer.write(b"354 go ahead\r\n")
                await writer.drain()
                await self.in_body(reader, writer)
                return
            else:
                writer.write(b"500 what\r\n")
            await writer.drain()


class DropInBody(_UpToData):
    """Speaks SMTP up to DATA, then closes the connection after body_bytes of content."""

    def __init__(self, body_bytes):
        self.body_bytes = body_bytes
        self.closed = asyncio.Event()
        self.received = b""

    async def in_body(self, reader, writer):
        self.received = await reader.readexactly(self.body_bytes)
        writer.close()
        self.closed.set()


class StopsReading(_UpToData):
    """Speaks SMTP up to DATA, reads body_bytes of content, then reads nothing more and keeps
    the connection open: the client's writes stall once the socket buffers are full."""

    def __init__(self, body_bytes):
        self.body_bytes = body_bytes
        self.stalled = asyncio.Event()

    async def in_body(self, reader, writer):
        await reader.readexactly(self.body_bytes)
        self.stalled.set()
        await asyncio.Event().wait()  # until the test ends


class TLSMaterial:
    """A throw-away CA (PEM file for the client) and a server certificate for localhost."""

    def __init__(self, directory):
        ca = trustme.CA()
        cert = ca.issue_cert("localhost", "127.0.0.1")
        self.cafile = str(directory / "ca.pem")
        ca.cert_pem.write_to_path(self.cafile)
        self.server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(self.server_context)


class Tap:
    """What passed through a recording_proxy: bytes client->server (up) and back (down)."""

    def __init__(self):
        self.up = bytearray()
        self.down = bytearray()


@contextlib.asynccontextmanager
async def recording_proxy(port):
    """A TCP relay to 127.0.0.1:port that records the exact bytes in both directions."""
    tap = Tap()

    async def pipe(reader, writer, buf):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                buf += data
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    async def on_client(creader, cwriter):
        sreader, swriter = await asyncio.open_connection(HOST, port)
        await asyncio.gather(pipe(creader, swriter, tap.up), pipe(sreader, cwriter, tap.down))

    server = await asyncio.start_server(on_client, HOST, 0)
    try:
        yield server.sockets[0].getsockname()[1], tap
    finally:
        server.close()
