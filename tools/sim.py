"""Simulator: the modem core on a PC behind a pseudo terminal or a TCP port, with an SMTP sink.

--runtime cpython (the default) runs the core in this process (boards/host). --runtime
micropython runs it in the MicroPython unix port (boards/unix/run.py) with its GC heap capped
by --heap, loaded as .mpy files compiled by mpy-cross into build/unix/ (as a board loads them:
heap figures of .py source would include the compiler's). This process keeps the serial side
and the sink and relays the serial bytes to and from the MicroPython process over a loopback
TCP connection, with backpressure both ways.
"""

import argparse
import asyncio
import errno
import json
import os
import signal
import socket
import subprocess
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
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
# 96 KB: the free heap of an ESP32 without PSRAM, the smallest board (docs/design.md), counted
# in 32-bit words ("w"): the unix port is 64-bit, and micropython -X heapsize=96wk gives its GC
# the same number of pointer-sized cells as a board's 96 KB (192 KB of bytes). Its mbedtls
# allocates from libc, as an ESP32's does from the IDF heap (a Pico W's takes ~28 KB a TLS
# connection from the GC heap).
DEFAULT_HEAP = "96wk"
# --cellular: the simulated module and its PDU codec live in the same heap (about 28 KB of this
# 64-bit port, 14 KB in a board's terms, measured), which a board does not hold; with 16wk
# more the cellular test passes, with 8wk it runs out: 32wk more, for a margin.
CELL_HEAP = "128wk"
_MP_START_S = 30  # the MicroPython process connects within this time, or the start failed
_MP_STOP_S = 5
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
        self.early = b""  # read by pending(), handed out by the next read()

    async def _ready(self, add, remove):
        fut = self.loop.create_future()
        add(self.master, lambda: fut.done() or fut.set_result(None))
        try:
            await fut
        finally:
            remove(self.master)

    async def read(self):
        while True:
            data = self.early or self._read_now()
            self.early = b""
            if data:
                return data
            await self._ready(self.loop.add_reader, self.loop.remove_reader)

    def _read_now(self):
        try:
            return os.read(self.master, _CHUNK)
        except BlockingIOError:
            return b""

    def pending(self):
        """Bytes from the host already there (read() returns them at once)."""
        if not self.early:
            self.early = self._read_now()
        return bool(self.early)

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
        except asyncio.CancelledError:
            pass  # shutdown with a host connected: end quietly (3.11 logs a cancelled handler)
        finally:
            self.writer = None
            writer.close()
            stderr_log("serial: host disconnected")

    def pending(self):
        return bool(self.buf)

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


class SimError(Exception):
    """A failure already explained on stderr (MicroPython's own traceback): one line more."""


class CPythonRuntime:
    """The core in this process (boards/host/board.py)."""

    def __init__(self, args, state, defaults):
        self.args = args
        self.board = HostBoard(
            state_dir=state, defaults=defaults, network=not args.no_network, log=stderr_log
        )
        self.board.ca_path = os.path.abspath(args.cafile) if args.cafile else None
        if args.cellular:
            cellular_board(self.board, args)
        self.modem = Modem(self.board)

    async def start(self):
        await self.modem.start()
        if getattr(self.board, "cell", None) is not None:
            self.board.start(self.modem.values)
        if self.args.web:
            from modem import portal

            host, port = self.args.web
            setup = self.args.web_setup or not self.modem.values["WIFISSID"]
            self.web = portal.Portal(self.modem, setup, ("sim", host))
            from modem.web import Server

            server = Server(self.board.net, self.web.handle, port, host, self.board.log)
            await server.open()
            self.web_port = server.listener._sock.getsockname()[1]
            self.web_task = asyncio.ensure_future(server.serve())
            self.web_mode = "setup" if setup else "status"

    async def run(self, port):
        await self.modem.run(port)

    async def stop(self):
        return 0


_REG = {"home": 1, "roaming": 5, "denied": 3, "none": 0}
_SIM = {"ready": "READY", "pin": "SIM PIN", "none": "NOT INSERTED"}


def cellular_board(board, args):
    """--cellular: a simulated SIM7080G on the board's module UART (boards/host/simcell.py),
    driven by the firmware's own driver; SMS files in STATE/sms-out and STATE/sms-in."""
    from cellboard import add_cell

    add_cell(board)
    m = board.module
    m.sim = _SIM[args.cell_sim]
    m.reg_stat = _REG[args.cell_reg]
    m.apns = args.cell_apn or None


def cellular_folders(args, state):
    """The SMS folders and their status lines (both runtimes)."""
    os.makedirs(os.path.join(state, "sms-in"), exist_ok=True)
    os.makedirs(os.path.join(state, "sms-out"), exist_ok=True)
    status("cellular: simulated SIM7080G (SIM %s, network %s)" % (args.cell_sim, args.cell_reg))
    status("sms-in: " + os.path.join(state, "sms-in"))
    status("sms-out: " + os.path.join(state, "sms-out"))


async def watch_sms_out(folder, poll_s=0.1):
    """A status line "sms: <path>" for each SMS the simulated module writes (the module runs
    in either runtime; it renames each file into place when it is whole)."""
    seen = set(os.listdir(folder))
    while True:
        await asyncio.sleep(poll_s)
        for name in sorted(os.listdir(folder)):
            if name not in seen and not name.endswith(".tmp"):
                seen.add(name)
                status("sms: " + os.path.join(folder, name))


class MicroPythonRuntime:
    """The core in the MicroPython unix port, its serial line relayed over loopback TCP."""

    def __init__(self, args, state, defaults):
        self.args = args
        self.state = state
        self.defaults = defaults
        self.proc = None
        self.server = None
        self.reader = None
        self.writer = None

    def pick_web(self):
        """The web port (a free one for port 0: the MicroPython side binds it next) and the
        mode its settings give, as boards/unix/run.py decides it."""
        from modem.store import FileStore

        host, port = self.args.web
        if not port:
            with socket.socket() as s:
                s.bind((host, 0))
                port = s.getsockname()[1]
        at = FileStore(os.path.join(self.state, "settings.json")).load().get("at", {})
        setup = self.args.web_setup or not at.get("WIFISSID")
        return port, "setup" if setup else "status"

    def command(self, relay_port):
        a = self.args
        cmd = [
            a.micropython,
            "-X",
            "heapsize=%s" % a.heap,
            "-m",
            "run",
            "--connect",
            "127.0.0.1:%d" % relay_port,
            "--state",
            self.state,
            "--defaults",
            json.dumps(self.defaults),
        ]
        if a.cafile:
            cmd += ["--cafile", os.path.abspath(a.cafile)]
        if a.no_network:
            cmd.append("--no-network")
        if a.report_mem:
            cmd.append("--report-mem")
        if a.web:
            cmd += ["--web", "%s:%d" % (a.web[0], self.web_port)]
            if a.web_setup:
                cmd.append("--web-setup")
        if a.cellular:
            cmd += ["--cellular", "--cell-sim", _SIM[a.cell_sim], "--cell-reg"]
            cmd += [str(_REG[a.cell_reg]), "--cell-apn", ",".join(a.cell_apn or ())]
        return cmd

    async def start(self):
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from build_mpy import BuildError, unix_build

        try:
            build_dir = unix_build()  # compiles what is stale
        except BuildError as e:
            raise SimError("mpy-cross: %s" % e) from None
        got = asyncio.get_running_loop().create_future()

        def on_client(reader, writer):
            if got.done():  # only the process we started, once
                writer.close()
            else:
                got.set_result((reader, writer))

        self.server = await asyncio.start_server(on_client, "127.0.0.1", 0)
        relay_port = self.server.sockets[0].getsockname()[1]
        if self.args.web:
            self.web_port, self.web_mode = self.pick_web()
        env = dict(os.environ, MICROPYPATH=".frozen:" + build_dir)
        # Its own session: a Ctrl-C in the terminal reaches this process only, which then
        # ends the stream, so MicroPython exits cleanly. Its stdout would mix with the status
        # lines: it goes to stderr, with its logs.
        self.proc = await asyncio.create_subprocess_exec(
            *self.command(relay_port),
            cwd=build_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sys.stderr.fileno(),
            start_new_session=True,
        )
        exited = asyncio.ensure_future(self.proc.wait())
        done, _ = await asyncio.wait(
            [got, exited], timeout=_MP_START_S, return_when=asyncio.FIRST_COMPLETED
        )
        self.server.close()
        if got not in done:
            exited.cancel()
            got.cancel()
            raise SimError("MicroPython did not start (exit code %s)" % self.proc.returncode)
        exited.cancel()
        self.reader, self.writer = got.result()

    async def run(self, port):
        """Relay until the MicroPython side ends: that is a crash (its traceback is on stderr)."""

        async def up():
            while True:
                data = await port.read()
                self.writer.write(data)
                await self.writer.drain()  # the modem has not taken it yet: read no more

        pump = asyncio.ensure_future(up())
        try:
            while True:
                data = await self.reader.read(_CHUNK)
                if not data:
                    break
                await port.write(data)
        finally:
            pump.cancel()
        rc = await self.proc.wait()
        raise SimError("MicroPython exited with code %d" % rc)

    async def stop(self):
        """End the stream (the modem's end of input): the process exits; 0 when it did so."""
        if self.writer is not None:
            self.writer.close()
        if self.proc is None:
            return 0
        try:
            return await asyncio.wait_for(self.proc.wait(), _MP_STOP_S)
        except asyncio.TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            return 1


def heap_size(text):
    """--heap as micropython -X heapsize takes it: bytes, with an optional k or m, and an
    optional w before it for 32-bit words (96wk: a 32-bit board's 96 KB on this 64-bit port)."""
    t = text.strip().lower()
    digits = t.rstrip("km").rstrip("w")
    if not digits.isdigit() or t[len(digits) :] not in ("", "k", "m", "w", "wk", "wm"):
        raise argparse.ArgumentTypeError("a size such as 98304, 96k, 1m or 96wk")
    return t


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
    ap.add_argument("--cafile", metavar="PEM", help="extra CA certificates for TLS servers")
    ap.add_argument(
        "--runtime",
        choices=("cpython", "micropython"),
        default="cpython",
        help="run the core in this process or in the MicroPython unix port",
    )
    ap.add_argument(
        "--heap",
        metavar="N",
        type=heap_size,
        default=None,
        help="MicroPython GC heap (default 96wk: an ESP32 without PSRAM, in 32-bit words; "
        "128wk with --cellular: the simulated module's share)",
    )
    ap.add_argument(
        "--report-mem", action="store_true", help="MicroPython: heap in use, to stderr"
    )
    ap.add_argument(
        "--cellular",
        action="store_true",
        help="a simulated SIM7080G module on the board's module UART (docs/cellular.md)",
    )
    ap.add_argument(
        "--cell-sim",
        choices=sorted(_SIM),
        default="ready",
        help="the SIM: ready, pin (AT+CPIN=1234 opens it), none",
    )
    ap.add_argument(
        "--cell-reg", choices=sorted(_REG), default="home", help="what registration reaches"
    )
    ap.add_argument(
        "--cell-apn",
        metavar="APN",
        action="append",
        help="the network accepts only this APN (repeatable; default: any)",
    )
    ap.add_argument(
        "--web",
        metavar="HOST:PORT",
        help="serve the setup and status pages (docs/portal.md); port 0: any free port",
    )
    ap.add_argument(
        "--web-setup",
        action="store_true",
        help="setup mode even with a stored WIFISSID (as the board's setup button)",
    )
    ap.add_argument("--micropython", default=MICROPYTHON, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.heap is None:
        args.heap = CELL_HEAP if args.cellular else DEFAULT_HEAP
    if args.web:
        host, _, port = args.web.rpartition(":")
        if not host or not port.isdigit():
            ap.error("--web wants HOST:PORT")
        args.web = (host.strip("[]"), int(port))
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        if not host or not port.isdigit():
            ap.error("--tcp wants HOST:PORT")
        args.tcp = (host.strip("[]"), int(port))
    return args


def _term_hint(host, port):
    """How to reach the TCP side with tools/term.py: paths relative to the working directory
    when it is the project's (as after `make run`), else absolute."""
    py, term = sys.executable, os.path.join(ROOT, "tools", "term.py")
    if os.path.abspath(os.getcwd()) == ROOT:
        py, term = os.path.relpath(py), os.path.relpath(term)
    return "%s %s %s:%d" % (py, term, host, port)


def lock_state(state):
    """The state folder for this simulator alone, readable by its owner only (settings hold
    passwords): 0700, files 0600 (umask 077, inherited by the MicroPython runtime). A second
    simulator on the same folder would overwrite the first one's settings: refused."""
    import fcntl

    os.umask(0o077)
    os.makedirs(state, exist_ok=True)
    os.chmod(state, 0o700)
    for name in ("settings.json", "settings.json.new", "ca.pem"):
        path = os.path.join(state, name)
        if os.path.exists(path):
            os.chmod(path, 0o600)
    fd = os.open(os.path.join(state, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        other = os.read(fd, 32).decode(errors="replace").strip()
        os.close(fd)
        raise SimError(
            "state folder %s is in use by another simulator (pid %s); stop it or give "
            "--state another folder" % (state, other or "?")
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, b"%d\n" % os.getpid())
    return fd


async def serve(args):
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    state = os.path.abspath(args.state)
    lock = lock_state(state)  # noqa: F841  (held until the process ends)
    status("state: " + state)
    if args.runtime == "micropython":
        status("runtime: micropython (heap %s)" % args.heap)
    defaults = {}
    sink = None
    port = None
    link = None
    runtime = None
    watcher = None
    try:
        if args.cellular:
            cellular_folders(args, state)
            watcher = asyncio.ensure_future(watch_sms_out(os.path.join(state, "sms-out")))
        if not args.no_smtp_sink:
            mail_dir = os.path.abspath(args.sink_dir or os.path.join(state, "mail"))
            sink, sink_port = start_sink(args.sink_port, mail_dir)
            # Factory defaults, not stored: a server the host sets explicitly wins.
            defaults = {"SMTPSERV": "127.0.0.1", "SMTPPORT": sink_port}
            status("smtp-sink: 127.0.0.1:%d -> %s" % (sink_port, mail_dir))
        make = MicroPythonRuntime if args.runtime == "micropython" else CPythonRuntime
        runtime = make(args, state, defaults)
        await runtime.start()
        if args.tcp:
            port = TcpPort()
            host, real = args.tcp[0], await port.listen(*args.tcp)
            status("serial: tcp://%s:%d" % (host, real))
            hint = _term_hint(host, real)
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
        task = asyncio.ensure_future(runtime.run(port))
        web = getattr(runtime, "web_port", None)
        if web is not None:
            status("web: http://%s:%d/ (%s mode)" % (args.web[0], web, runtime.web_mode))
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
        rc, runtime = await runtime.stop(), None
        return 1 if rc else 0
    finally:
        if watcher is not None:
            watcher.cancel()
        if runtime is not None:
            await runtime.stop()
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
    except SimError as e:
        stderr_log("sim: %s" % e)
        return 1
    except Exception:  # any crash goes to stderr, never to the serial side
        traceback.print_exc()
        return 1


if __name__ == "__main__":
    sys.exit(main())
