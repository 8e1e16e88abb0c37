"""Simulator: the modem core on a PC behind a pseudo terminal or a TCP port, with an SMTP sink."""

import argparse
import asyncio
import errno
import os
import signal
import socket
import sys
import termios
import threading
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _p in (os.path.join(ROOT, "boards", "host"), os.path.join(ROOT, "firmware")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from board import HostBoard, stderr_log  # noqa: E402
from modem.modem import Modem  # noqa: E402

_CHUNK = 4096
_out_lock = threading.Lock()  # the sink thread prints too


def status(line):
    """One status line on stdout, flushed now: scripts and tests wait for these."""
    with _out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class PtyPort:
    """The serial side as a pseudo terminal: the host opens the slave (/dev/pts/N)."""

    def __init__(self):
        self.master, self.slave = os.openpty()
        # Raw 8N1 without flow control, so bytes pass exactly both ways: no echo, no CR/LF
        # mapping, no signals. Holding our own slave fd open keeps the master from reading EIO
        # when a host closes the port, so the modem survives closing and reopening it.
        attr = termios.tcgetattr(self.slave)
        attr[0] &= ~(termios.BRKINT | termios.ICRNL | termios.INLCR | termios.IGNCR)
        attr[0] &= ~(termios.INPCK | termios.ISTRIP | termios.IXON | termios.IXOFF)
        attr[1] &= ~termios.OPOST
        attr[2] &= ~(termios.CSIZE | termios.PARENB | termios.CSTOPB | termios.CRTSCTS)
        attr[2] |= termios.CS8 | termios.CREAD | termios.CLOCAL
        attr[3] &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.ISIG)
        attr[3] &= ~termios.IEXTEN
        attr[6][termios.VMIN] = 1
        attr[6][termios.VTIME] = 0
        termios.tcsetattr(self.slave, termios.TCSANOW, attr)
        os.set_blocking(self.master, False)
        self.name = os.ttyname(self.slave)
        self.loop = asyncio.get_running_loop()

    async def _ready(self, add, remove):
        fut = self.loop.create_future()
        add(self.master, lambda: fut.done() or fut.set_result(None))
        try:
            await fut
        finally:
            remove(self.master)

    async def read(self):
        while True:
            try:
                data = os.read(self.master, _CHUNK)
            except BlockingIOError:
                data = b""
            if data:
                return data
            await self._ready(self.loop.add_reader, self.loop.remove_reader)

    async def write(self, data):
        # The host may not read (or no host is there): wait for room, never drop, never block.
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self.master, view) :]
            except BlockingIOError:
                await self._ready(self.loop.add_writer, self.loop.remove_writer)

    def close(self):
        for fd in (self.master, self.slave):
            os.close(fd)


class TcpPort:
    """The serial side on TCP, like a cable: one host at a time; unplugged, output is lost."""

    def __init__(self):
        self.buf = bytearray()
        self.data = asyncio.Event()
        self.room = asyncio.Event()
        self.writer = None
        self.server = None

    async def listen(self, host, port):
        self.server = await asyncio.start_server(self._client, host, port)
        return self.server.sockets[0].getsockname()[1]

    async def _client(self, reader, writer):
        if self.writer is not None:  # the cable is already plugged in
            writer.close()
            return
        self.writer = writer
        stderr_log("serial: host connected")
        try:
            # Pump host bytes into our buffer so a disconnect is seen even while the modem is
            # busy; stop reading while the modem has not taken what is there (backpressure).
            while True:
                while len(self.buf) >= _CHUNK:
                    self.room.clear()
                    await self.room.wait()
                data = await reader.read(_CHUNK)
                if not data:
                    break
                self.buf += data
                self.data.set()
        except OSError:
            pass
        finally:
            self.writer = None
            writer.close()
            stderr_log("serial: host disconnected")

    async def read(self):
        while not self.buf:
            self.data.clear()
            await self.data.wait()
        data = bytes(self.buf)
        self.buf.clear()
        self.room.set()
        return data

    async def write(self, data):
        writer = self.writer
        if writer is None:
            return
        try:
            writer.write(data)
            await writer.drain()
        except OSError:
            pass

    def close(self):
        if self.writer is not None:
            self.writer.close()
        if self.server is not None:
            self.server.close()


class SinkHandler:
    """Stores each message as NNNN-<UTC time>.eml: the DATA content exactly as received."""

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        numbers = [int(n[:4]) for n in os.listdir(directory) if n[:4].isdigit()]
        self.count = max(numbers, default=0)

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        path = os.path.join(self.dir, "%04d-%s.eml" % (self.count, stamp))
        with open(path, "xb") as f:  # "x": never overwrite a stored message
            f.write(envelope.original_content)
        status("mail: " + path)
        return "250 OK stored"


def _accept_any(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult

    return AuthResult(success=True)


def start_sink(port, directory):
    """aiosmtpd in its own thread on a socket bound here, so port 0 and the fallback work."""
    from aiosmtpd.controller import Controller

    class BoundController(Controller):
        def _create_server(self):
            return self.loop.create_server(self._factory_invoker, sock=sock)

    sock = socket.socket()
    # Like asyncio's servers: a restart may rebind a port in TIME_WAIT; a listener still blocks.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as e:
        if e.errno != errno.EADDRINUSE:
            raise
        stderr_log("smtp-sink: port %d busy, using a free one" % port)
        sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    port = sock.getsockname()[1]
    sink = BoundController(
        SinkHandler(directory),
        hostname="127.0.0.1",
        port=port,
        server_hostname="sim-sink",  # skips a slow getfqdn()
        enable_SMTPUTF8=True,
        auth_require_tls=False,  # AUTH PLAIN/LOGIN over plain TCP, any credentials
        authenticator=_accept_any,
    )
    sink.start()
    return sink, port


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tcp", metavar="HOST:PORT", help="serve the serial side on TCP")
    ap.add_argument("--link", metavar="PATH", help="symlink PATH to the pseudo terminal")
    ap.add_argument(
        "--state", metavar="DIR", default="state", help="non-volatile storage directory"
    )
    ap.add_argument("--no-smtp-sink", action="store_true", help="no embedded SMTP sink")
    ap.add_argument("--sink-port", metavar="N", type=int, default=2525, help="0: any free port")
    ap.add_argument(
        "--sink-dir", metavar="DIR", help="where the sink stores mail (default STATE/mail)"
    )
    ap.add_argument("--no-network", action="store_true", help="IP sessions fail")
    args = ap.parse_args(argv)
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        if not host or not port.isdigit():
            ap.error("--tcp wants HOST:PORT")
        args.tcp = (host.strip("[]"), int(port))
    return args


async def serve(args):
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    state = os.path.abspath(args.state)
    status("state: " + state)
    defaults = {}
    sink = None
    port = None
    link = None
    try:
        if not args.no_smtp_sink:
            mail_dir = os.path.abspath(args.sink_dir or os.path.join(state, "mail"))
            sink, sink_port = start_sink(args.sink_port, mail_dir)
            # Factory defaults, not stored: a server the host sets explicitly wins.
            defaults = {"SMTPSERV": "127.0.0.1", "SMTPPORT": sink_port}
            status("smtp-sink: 127.0.0.1:%d -> %s" % (sink_port, mail_dir))
        board = HostBoard(
            state_dir=state, defaults=defaults, network=not args.no_network, log=stderr_log
        )
        modem = Modem(board)
        if args.tcp:
            port = TcpPort()
            host, real = args.tcp[0], await port.listen(*args.tcp)
            status("serial: tcp://%s:%d" % (host, real))
            hint = "nc %s %d" % (host, real)
        else:
            port = PtyPort()
            status("serial: " + port.name)
            if args.link:
                link = os.path.abspath(args.link)
                if os.path.islink(link):
                    os.unlink(link)
                os.symlink(port.name, link)
                status("link: %s -> %s" % (link, port.name))
            hint = "picocom -b 115200 --omap crcrlf " + (link or port.name)
        await modem.start()
        task = asyncio.ensure_future(modem.run(port))
        status("connect: " + hint)
        status("ready")
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait([task, stopper], return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()  # the modem crashed: let the traceback out
            return 1
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        return 0
    finally:
        if port is not None:
            port.close()
        if link and os.path.islink(link):
            os.unlink(link)
        if sink is not None:
            sink.stop()


def main(argv=None):
    args = parse_args(argv)
    try:
        return asyncio.run(serve(args))
    except Exception:  # any crash goes to stderr, never to the serial side
        traceback.print_exc()
        return 1


if __name__ == "__main__":
    sys.exit(main())
