"""MicroPython benchmarks (figures, not pass/fail): the firmware as .mpy in the unix port.

Prints: the .mpy sizes (a board's flash), the heap each module takes when imported, the heap in
use after start-up (gc.mem_alloc() as the firmware reports it), the smallest heap with which a
1 MB AT#PUTMAIL still passes (plain SMTP; and a STARTTLS one), the time of that mail, and the
core data path's throughput (EndScanner + BodyComposer on 2 KB reads) as a multiple of a
921,600-baud line. The unix port is 64-bit: pointers and GC blocks are twice a board's size,
so heap figures here overstate a 32-bit board's (see the import table's estimate).
Run: .venv/bin/python tools/bench_mp.py [--quick] [--only heap|cell|speed|frag] (make bench
runs it after tools/bench.py).
"""

import argparse
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = os.path.join(ROOT, "tools")
sys.path[:0] = [TOOLS, os.path.join(ROOT, "host_tests"), os.path.join(ROOT, "firmware")]

from build_mpy import BUILD, build, firmware_sources, unix_build, unix_sources  # noqa: E402

MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
LINE_RATE = 921600 / 10  # bytes per second of a 921,600-baud 8N1 UART
KB = 1024
MB = 1 << 20
CHUNK = 4096  # the host's writes to the simulator
UART_BUF = 2048  # a board's largest serial read (mpboard.UARTPort): the core path's reads
LINE = b"2026-11-28 12:00:00 station 245 tank 3 level 071% pump 2 running ok\r\n"
# A board's free RAM in 32-bit words ("w", micropython -X heapsize): the same number of GC
# cells as on the 32-bit board; and the ESP32's 96 KB as plain bytes of this 64-bit port.
BOARDS = (
    ("ESP32 (no PSRAM), in 32-bit words", "96wk"),
    ("Pico W, in 32-bit words", "160wk"),
    ("ESP32's 96 KB as 64-bit bytes", 96 * KB),
)


def _h(heap):
    return heap if isinstance(heap, str) else "%dk" % (heap // KB)


def make_body(size):
    """Alarm-log text, as tools/bench.py sends it."""
    return (LINE * (size // len(LINE) + 1))[:size]


# ---------------------------------------------------------------- the simulator, MicroPython


class Failed(Exception):
    pass


class MPSim:
    """tools/sim.py --runtime micropython on TCP, without its sink; stderr kept in a file.

    report: --report-mem. Its collections every 50 ms change where objects land in the heap,
    so the smallest-heap searches run without it.
    """

    def __init__(self, heap, *extra, report=False):
        self.state = tempfile.mkdtemp(prefix="bench-mp-")
        self.err = open(os.path.join(self.state, "stderr.txt"), "w+")
        cmd = [sys.executable, os.path.join(TOOLS, "sim.py"), "--runtime", "micropython"]
        cmd += ["--heap", str(heap), "--tcp", "127.0.0.1:0", "--state", self.state]
        cmd += ["--no-smtp-sink", *extra] + (["--report-mem"] if report else [])
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.err, text=True)
        self.addr = None
        self.web_port = None
        for line in self.proc.stdout:
            if line.startswith("web: http://"):  # --web (tools/bench_web.py)
                self.web_port = int(line.split("//")[1].split("/")[0].rsplit(":", 1)[1])
            if line.startswith("serial: tcp://"):
                host, port = line.split("//")[1].strip().rsplit(":", 1)
                self.addr = (host, int(port))
            if line.strip() == "ready":
                return
        self.stop()
        raise Failed("the simulator did not start: " + _last_error(self.stderr()))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()

    def stderr(self):
        self.err.flush()
        self.err.seek(0)
        return self.err.read()

    def mem(self, what, timeout=30):
        """alloc= of the last "mem: <what> alloc=N" line. The simulator says "ready" once the
        MicroPython side connected, which may be before that side wrote the line (a loaded
        machine): wait for it, never take its absence for an answer."""
        deadline = time.monotonic() + timeout
        while True:
            found = re.findall(r"mem: %s alloc=(\d+)" % re.escape(what), self.stderr())
            if found:
                return int(found[-1])
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise Failed("no 'mem: %s' line: %s" % (what, _last_error(self.stderr())))
            time.sleep(0.05)


def expect(sock, want, timeout):
    """Read until `want`; Failed on an error result, a closed line or a timeout."""
    buf = b""
    deadline = time.monotonic() + timeout
    while want not in buf:
        if b"ERROR" in buf:
            raise Failed(buf.decode(errors="replace").strip())
        left = deadline - time.monotonic()
        if left <= 0:
            raise Failed("timeout waiting for %r: %r" % (want, buf[-200:]))
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        except OSError as e:
            raise Failed("serial side: %s" % e) from None
        if not data:
            raise Failed("serial side closed: %r" % buf[-200:])
        buf += data
    return buf


def putmail(sim, smtp_port, body, server="127.0.0.1", sec=0, pem=None, timeout=300):
    """AT#PUTMAIL of body through the simulator; seconds from AT#PUTMAIL to OK."""
    with socket.create_connection(sim.addr, timeout=10) as s:
        s.sendall(b"ATE0\r")
        expect(s, b"OK\r\n", 10)
        if pem:
            s.sendall(b"AT#CACERT\r" + pem + b"\x1a")
            expect(s, b"OK\r\n", 10)
        for c in (
            b'AT#SMTPSERV="%s"' % server.encode(),
            b"AT#SMTPPORT=%d" % smtp_port,
            b'AT#SENDERADDR="bench@example.com"',
            b'AT#REC1="sink@example.com"',
            b'AT#SUBJ1="bench"',
            b"AT#SMTPSEC=%d" % sec,
        ):
            s.sendall(c + b"\r")
            expect(s, b"OK\r\n", 10)
        s.sendall(b"AT#CONNECTIONSTART\r")
        expect(s, b"Ok_Info_GprsActivation\r\n", 10)
        t0 = time.perf_counter()
        s.sendall(b"AT#PUTMAIL\r")
        expect(s, b"Ok_Info_WaitingForData\r\n", 60)
        view = memoryview(body)
        for i in range(0, len(body), CHUNK):
            s.sendall(view[i : i + CHUNK])
        s.sendall(b"\r\n.\r\n")
        expect(s, b"\r\nOK\r\n", timeout)
        return time.perf_counter() - t0


def try_putmail(heap, smtp_port, body, tls=None, report=False):
    """(seconds or None, the simulator's stderr) for one fresh simulator with this heap."""
    try:
        sim = MPSim(heap, report=report)
    except Failed as e:
        return None, str(e)
    try:
        if tls is None:
            secs = putmail(sim, smtp_port, body)
        else:
            pem = open(tls.cafile, "rb").read()
            secs = putmail(sim, smtp_port, body, "localhost", 1, pem)
        # Stopped first: its last "mem: stopped ... peak=" line holds the data phase's peak
        # (no step is logged between the body and the end).
        sim.stop()
        return secs, sim.stderr()
    except Failed:
        return None, sim.stderr()
    finally:
        sim.stop()


def smallest_heap(ok, lo, hi, step=KB):
    """Bisection for the smallest heap (multiple of step) with ok(heap) true; None if hi fails."""
    if not ok(hi):
        return None
    lo, hi = lo // step, hi // step
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid * step):
            hi = mid
        else:
            lo = mid
    return hi * step


# ---------------------------------------------------------------- MicroPython scripts

IMPORTS = """
import gc, sys
total = 0
for name in sys.argv[1:]:
    before = set(sys.modules)  # made before the first reading: not counted
    gc.collect()
    a = gc.mem_alloc()
    __import__(name)
    gc.collect()
    d = gc.mem_alloc() - a
    total += d
    print(name, d, total, " ".join(sorted(set(sys.modules) - before)))
"""

CORE_PATH = """
import gc, sys, time
from modem.mailbody import BodyComposer, EndScanner
size = int(sys.argv[1])
line = %r
buf = line * (%d // len(line) + 2)
scanner = EndScanner()
composer = BodyComposer([(b"Subject", b"bench")])
out = 0
gc.collect()
t0 = time.ticks_us()
for i in range(0, size, %d):
    off = i %% len(line)
    piece, rest = scanner.feed(buf[off : off + min(%d, size - i)])  # a fresh read, as a UART's
    out += len(composer.feed(piece))
piece, rest = scanner.feed(b"\\r\\n.\\r\\n")
out += len(composer.feed(piece)) + len(composer.finish())
print(size, time.ticks_diff(time.ticks_us(), t0), out)
""" % (LINE, UART_BUF, UART_BUF, UART_BUF)


def run_mp(script, args, heap):
    build_dir = unix_build()
    env = dict(os.environ, MICROPYPATH=".frozen:" + build_dir)
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(script)
    try:
        # The script is source (compiled on the heap first); the firmware it imports is .mpy.
        r = subprocess.run(
            [MICROPYTHON, "-X", "heapsize=%s" % _h(heap), f.name, *map(str, args)],
            env=env,
            cwd=build_dir,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        os.remove(f.name)
    if r.returncode:
        raise Failed(r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "failed")
    return r.stdout


# Import order of a modem that starts, then sends a mail (mail pulls mailbody, smtp...; the
# first network call mpsock; a listener, UDP or PING mpserve).
IMPORT_ORDER = (
    "asyncio",
    "ssl",
    "modem.errors",
    "modem.store",
    "mpnet",
    "board",
    "modem.modem",
    "modem.basic",
    "modem.atcmds",
    "modem.session",
    "modem.mail",
    "mpsock",
    "mpserve",
)


def import_table():
    """[(module, heap delta, modules it brought, their .mpy bytes)]."""
    out = run_mp(IMPORTS, IMPORT_ORDER, 4 * MB)
    sizes = {rel[:-4].replace(os.sep, "."): size for rel, size in _unix_sizes()}
    rows = []
    for line in out.splitlines():
        parts = line.split(" ", 3)
        name, delta = parts[0], int(parts[1])
        brought = parts[3].split() if len(parts) > 3 else []
        mpy = sum(sizes.get(m, 0) for m in brought)
        rows.append((name, delta, brought, mpy))
    return rows


def _unix_sizes():
    return build(unix_sources(), os.path.join(BUILD, "unix"))


def core_path(heap, size):
    out = run_mp(CORE_PATH, [size], heap)
    n, us, produced = map(int, out.split())
    return n / (us / 1e6), produced


# ---------------------------------------------------------------- the firmware's own path

CORE = os.path.join(TOOLS, "benchcore.py")
WASM_DIR = os.path.join(TOOLS, "wasm")
WASM_BUILD = os.path.join(BUILD, "wasm")
# Modules a board has in C that this port has as Python code (binascii), or lacks (socket: a
# one-line stand-in; mpsock and mpserve, its only users, never load with in-memory peers):
# imported before the figures are taken.
WASM_PRELOAD = "binascii,socket,time,os,random"


def parse_figures(out):
    """The "key value" lines of tools/benchcore.py as a dict of ints (others kept as text)."""
    got = {}
    tag = None
    for line in out.splitlines():
        if line.startswith("qstr pool:"):  # micropython.qstr_info() after "qstr_at <tag>"
            for kv in line[10:].split(","):
                k, v = kv.strip().split("=")
                got["%s_%s" % (tag, k)] = int(v)
            continue
        parts = line.split(" ", 1)
        if parts[0] == "qstr_at":
            tag = parts[1]
            continue
        if len(parts) == 2:
            got[parts[0]] = int(parts[1]) if parts[1].lstrip("-").isdigit() else parts[1]
    return got


def core_unix(args, heap=1 * MB):
    """tools/benchcore.py in the unix port (64-bit), firmware as .mpy; its figures."""
    build_dir = unix_build()
    env = dict(os.environ, MICROPYPATH=".frozen:" + build_dir)
    r = subprocess.run(
        [MICROPYTHON, "-X", "heapsize=%s" % _h(heap), CORE, *args],
        env=env,
        cwd=build_dir,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if r.returncode:
        raise Failed(_last_error(r.stderr + r.stdout) or r.stderr.strip()[-300:])
    return parse_figures(r.stdout), r.stdout


def wasm_ready():
    """The webassembly port pinned in tools/wasm/package.json (npm ci on first use), or a reason
    why it cannot run."""
    if not shutil.which("node") or not shutil.which("npm"):
        return "node and npm are not installed"
    pkg = os.path.join(
        WASM_DIR, "node_modules", "@micropython", "micropython-webassembly-pyscript"
    )
    if not os.path.isdir(pkg):
        r = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=WASM_DIR,
            capture_output=True,
            text=True,
        )
        if r.returncode:
            return "npm ci in tools/wasm failed: " + r.stderr.strip()[-300:]
    return None


def _wasm_files():
    """build/wasm/stub (socket stand-in) and build/wasm/firmware.romfs (the unix set of .mpy
    files as a ROMFS image: run in place, as frozen bytecode)."""
    build_dir = unix_build()
    stub = os.path.join(WASM_BUILD, "stub")
    os.makedirs(stub, exist_ok=True)
    with open(os.path.join(stub, "socket.py"), "w") as f:
        f.write('"""No sockets in the webassembly port: the peers are in memory."""\n')
    rom = os.path.join(WASM_BUILD, "rom")
    shutil.rmtree(rom, ignore_errors=True)
    shutil.copytree(build_dir, os.path.join(rom, "lib"), ignore=shutil.ignore_patterns("run.mpy"))
    image = os.path.join(WASM_BUILD, "firmware.romfs")
    r = subprocess.run(
        [os.path.join(ROOT, ".venv", "bin", "mpremote"), "romfs", "--no-mpy", "-o", image]
        + ["build", rom],
        capture_output=True,
        text=True,
    )
    if r.returncode:
        raise Failed("mpremote romfs build: " + (r.stderr or r.stdout).strip()[-300:])
    return build_dir, stub, image


def core_wasm(args, romfs=False, deployed=False):
    """tools/benchcore.py in the webassembly port (32-bit); firmware as .mpy files in its /lib,
    or with romfs as a ROMFS image (bytecode in place); deployed: .mpy files compiled with -O3
    as tools/deploy.py makes them (no line numbers)."""
    build_dir, stub, image = _wasm_files()
    if deployed:
        build_dir = os.path.join(WASM_BUILD, "o3")
        build(unix_sources(), build_dir, opt=("-O3",))
    cmd = ["node", os.path.join(WASM_DIR, "run.mjs"), "--preload", WASM_PRELOAD]
    cmd += ["--romfs", image, "--lib", stub] if romfs else ["--lib", build_dir, "--lib", stub]
    r = subprocess.run(cmd + [CORE, *args], capture_output=True, text=True, timeout=900)
    if r.returncode:
        raise Failed((r.stderr + r.stdout).strip()[-300:])
    return parse_figures(r.stdout), r.stdout


def glue_wasm(board="esp32"):
    """tools/benchcore.py glue in the webassembly port: a real board's glue (firmware/mp*.py,
    main.py, boards/<board>/board.py) with the machine/network stand-ins of host_tests/fakes,
    all -O3 as tools/deploy.py builds them; its figures."""
    _, stub, _ = _wasm_files()
    o3 = os.path.join(WASM_BUILD, "o3")
    build(unix_sources(), o3, opt=("-O3",))
    glue = os.path.join(WASM_BUILD, "glue-" + board)
    fakes = os.path.join(ROOT, "host_tests", "fakes")
    sources = [(src, rel) for src, rel in firmware_sources() if os.sep not in rel]
    sources.append((os.path.join(ROOT, "boards", board, "board.py"), "board.mpy"))
    sources += [(os.path.join(fakes, n + ".py"), n + ".mpy") for n in ("machine", "network")]
    build(sources, glue, opt=("-O3",))
    cmd = ["node", os.path.join(WASM_DIR, "run.mjs"), "--preload", WASM_PRELOAD]
    cmd += ["--lib", o3, "--lib", stub, "--lib", glue]  # glue last: its board.mpy wins
    r = subprocess.run(cmd + [CORE, "glue"], capture_output=True, text=True, timeout=900)
    if r.returncode:
        raise Failed((r.stderr + r.stdout).strip()[-300:])
    return parse_figures(r.stdout), r.stdout


def heap_figures():
    """Heap after start-up and peaks of a 1 MB mail: [(label, wasm 32-bit, unix 64-bit)]."""
    why = wasm_ready()
    if why:
        print("  (webassembly port unavailable: %s; 32-bit column empty)" % why)
    rows = []
    for label, romfs in (
        ("firmware as .mpy (loaded into the heap)", False),
        ("bytecode in place (ROMFS image; as frozen)", True),
    ):
        cells = {}
        for sec, name, read in ((0, "plain", 256), (1, "STARTTLS", 256), (0, "2 KB", 2048)):
            args = ["mail", "probe=1", "sec=%d" % sec, "read=%d" % read]
            w = u = None
            if not why:
                w, _ = core_wasm(args, romfs)
            if not romfs:
                u, _ = core_unix(args)
            cells[name] = (w, u)
        rows.append((label, None, None))
        w, u = cells["plain"]
        rows.append(("  after start-up", w and w["started"], u and u["started"]))
        rows.append(("  peak, 1 MB mail, plain SMTP", w and w["peak"], u and u["peak"]))
        w, u = cells["2 KB"]
        rows.append(("  the same, serial reads of 2 KB", w and w["peak"], u and u["peak"]))
        w, u = cells["STARTTLS"]
        rows.append(
            ("  peak, 1 MB mail, STARTTLS + TLS stand-in", w and w["peak"], u and u["peak"])
        )
        rows.append(
            (
                "  after the mail (plain)",
                cells["plain"][0] and cells["plain"][0]["after"],
                cells["plain"][1] and cells["plain"][1]["after"],
            )
        )
        rows += _qstr_rows(*cells["plain"])
    if not why:
        w, _ = core_wasm(["mail", "probe=1", "sec=0", "read=256"], deployed=True)
        rows.append(("firmware as .mpy, -O3 as tools/deploy.py builds it", None, None))
        rows.append(("  after start-up", w["started"], None))
        rows.append(("  peak, 1 MB mail, plain SMTP", w["peak"], None))
        rows.append(("  after the mail (plain)", w["after"], None))
        rows += _qstr_rows(w, None)
        g, _ = glue_wasm("esp32")
        rows.append(
            ("the same on the ESP32's glue instead of the PC's (mpboard, main.py;", None, None)
        )
        rows.append(("machine/network stand-ins, their own heap not counted)", None, None))
        rows.append(("  after start-up", g["started"], None))
        rows += _qstr_rows(g, None, (("started", "after start-up"),))
    return rows


def _qstr_rows(w, u, tags=(("started", "after start-up"), ("after", "after the mail"))):
    """The firmware's interned names (qstrs: never freed) and the bytes of their pool
    (entries grow by doubling, plus the names' text) after start-up and after the mail."""
    rows = []
    for tag, label in tags:
        for key, what in (("n_qstr", "names interned"), ("n_total_bytes", "  their bytes")):
            cells = [
                f["%s_%s" % (tag, key)] - f["base_" + key] if f and "base_" + key in f else None
                for f in (w, u)
            ]
            rows.append(("  %s, %s" % (what, label), *cells))
    return rows


def print_heap_figures():
    print(
        "Heap in use, the firmware's own path (tools/benchcore.py: serial from memory, SMTP peer"
    )
    print(
        "in memory), bytes: gc.mem_alloc() after gc.collect(), sampled at every serial and network"
    )
    print("read and write; asyncio and the benchmark's own objects not counted; serial reads of")
    print("256 bytes unless said (a host at line speed hands the firmware fewer bytes a read)")
    print("%-48s %12s %12s %6s" % ("", "32-bit wasm", "64-bit unix", "ratio"))
    for label, w, u in heap_figures():
        if w is None and u is None:
            print(label)
            continue
        ratio = "%.2f" % (w / u) if w and u else ""
        print("%-48s %12s %12s %6s" % (label, w if w else "-", u if u else "-", ratio))
    print(
        "  (STARTTLS: a %d-byte stand-in for mbedtls's buffers, which a Pico W takes from the"
        " GC heap)" % TLS_STAND_IN
    )
    print()


TLS_STAND_IN = 16896 + 4352 + 6144 + 1024  # benchcore.TLS_STAND_IN


def print_cell_heap():
    """The cellular driver's heap (benchcore.py cell): imported, module registered."""
    why = wasm_ready()
    rows = []
    for label, romfs in ((".mpy", False), ("ROMFS", True)):
        w = None if why else core_wasm(["cell"], romfs)[0]["cell"]
        u = None if romfs else core_unix(["cell"])[0]["cell"]
        rows.append(("cellular driver (%s), module registered" % label, w, u))
    for label, w, u in rows:
        ratio = "%.2f" % (w / u) if w and u else ""
        print("%-48s %12s %12s %6s" % (label, w if w else "-", u if u else "-", ratio))
    print("  (cellat, cellular, cellsms, cellsession, cellmods, cellboard, modem.cell; the PDU")
    print("  codec and the simulated module not counted)")
    print()


# Serial reads as a UART driver hands them: what is waiting, up to the firmware's read buffer
# (mpboard.UARTPort: the UART's 2 KB receive buffer; a host ahead of the firmware fills it),
# and 256-byte pieces for a slow host.
READS = ((2048, "2 KB (the UART's buffer)"), (256, "256 bytes (a slow host)"))


def print_speed():
    from bench_peers import Peers

    print(
        "Speed, the firmware's own path in the unix port: serial bytes from memory, SMTP and TCP"
    )
    print("peers on loopback (tools/bench_peers.py); best of 3, x a 921,600-baud line")
    peers = Peers(MB)
    try:
        for read, label in READS:
            best = min(
                core_unix(["mail", "net=tcp", "smtp=%d" % peers.smtp, "read=%d" % read])[0][
                    "mail_us"
                ]
                for _ in range(3)
            )
            print(
                "  1 MB AT#PUTMAIL, serial reads of %-25s %6.3f s = %5.1fx"
                % (label + ":", best / 1e6, MB / (best / 1e6) / LINE_RATE)
            )
        for read, label in READS:
            args = ["sockets", "net=tcp", "sink=%d" % peers.sink, "source=%d" % peers.source]
            runs = [core_unix(args + ["read=%d" % read])[0] for _ in range(3)]
            up = min(r["up_us"] for r in runs)
            down = min(r["down_us"] for r in runs)
            print(
                "  socket data mode, DLEMODE=1, 1 MB host -> peer, reads of %-25s %6.3f s = %5.1fx"
                % (label + ":", up / 1e6, runs[0]["up_bytes"] / (up / 1e6) / LINE_RATE)
            )
            print(
                "  socket data mode, DLEMODE=1, 1 MB peer -> host, reads of %-25s %6.3f s = %5.1fx"
                % (label + ":", down / 1e6, MB / (down / 1e6) / LINE_RATE)
            )
    finally:
        peers.stop()
    print()


def print_fragmentation(n=1000, heap="96wk"):
    print(
        "Fragmentation: %d rounds of a 16 KB AT#PUTMAIL and a 4 KB socket session, heap %s"
        % (n, heap)
    )
    try:
        _, out = core_unix(["many", "n=%d" % n, "every=%d" % (n // 5)], heap)
    except Failed as e:
        print("  FAILS %s" % e)
        print()
        return
    marks = re.findall(r"mem_info (\w+)\n(?:.*\n)*?.*max free sz: (\d+)", out)
    used = re.findall(r"GC: total: (\d+), used: (\d+)", out)
    for (tag, free), (total, u) in zip(marks, used):
        label = "after start-up" if tag == "start" else "after %4s rounds" % tag
        print(
            "  %-17s used %6s of %s bytes, largest free block %6d bytes"
            % (label, u, total, int(free) * 32)
        )
    rounds = [(tag, int(free) * 32) for tag, free in marks if tag.isdigit()]
    if len(rounds) > 2:
        # Round 1 holds the first mail (its modules load for the first time); a heap that
        # fragments shows as a largest free block that shrinks from there.
        print(
            "  largest free block, start-up -> first mail -> round %s: %d -> %d -> %d bytes"
            " (smallest seen from round 1: %d)"
            % (
                rounds[-1][0],
                int(marks[0][1]) * 32,
                rounds[1][1],
                rounds[-1][1],
                min(f for _, f in rounds[1:]),
            )
        )
    print("  %s" % ("no MemoryError" if "rounds %d" % n in out else "did not finish"))
    # Where objects land shifts with every change of the code: one heap size is a draw. The
    # same at neighbouring sizes shows whether a figure above is luck.
    cells = []
    for h in ("88wk", "92wk", "100wk", "104wk"):
        try:
            _, out = core_unix(["many", "n=200", "every=200"], h)
        except Failed:
            cells.append("%s FAILS" % h)
            continue
        free = [int(f) * 32 for f in re.findall(r"max free sz: (\d+)", out)]
        ok = "" if "rounds 200" in out else " (did not finish)"
        cells.append("%s %d -> %d%s" % (h, free[2], free[-1], ok) if len(free) > 3 else h + " ?")
    print("  other heaps, largest free block after round 1 -> round 200 (bytes):")
    print("    " + "; ".join(cells))
    print()


# ---------------------------------------------------------------- main


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="no heap bisection")
    parts = {
        "heap": print_heap_figures,
        "cell": print_cell_heap,
        "speed": print_speed,
        "frag": print_fragmentation,
    }
    ap.add_argument("--only", choices=sorted(parts), help="print this section alone")
    args = ap.parse_args(argv)
    if args.only:
        parts[args.only]()
        return
    from bench import Server

    print_heap_figures()
    print_cell_heap()
    print_speed()
    print_fragmentation()

    print("MicroPython unix port (64-bit), firmware as .mpy (mpy-cross), GC heap capped")
    print()
    sizes = build(firmware_sources(), os.path.join(BUILD, "mpy"))
    total = sum(s for _, s in sizes)
    print(
        "Firmware .mpy: %d files, %d bytes (%.1f KB) in build/mpy"
        % (len(sizes), total, total / KB)
    )
    print()

    print("Heap taken by each import, in start-up order (after gc.collect(); 64-bit)")
    print("%-14s %8s %8s %8s  %s" % ("import", "heap", ".mpy", "32-bit~", "modules loaded"))
    heap_sum = mpy_sum = 0
    for name, delta, brought, mpy in import_table():
        # A 32-bit estimate: the bytecode and string bytes (~ the .mpy) stay, the rest (words:
        # pointers, object headers, dict slots, 32-byte vs 16-byte GC blocks) halves.
        est = mpy + (delta - mpy) / 2 if mpy and delta > mpy else delta / 2
        heap_sum += delta
        mpy_sum += mpy
        mods = " ".join(m.replace("modem.", "") for m in brought if not m.startswith("asyncio."))
        print("%-14s %8d %8d %8.0f  %s" % (name, delta, mpy, est, mods))
    print("%-14s %8d %8d" % ("total", heap_sum, mpy_sum))
    print()

    ctl = Server()
    try:
        sim = MPSim(1 * MB, report=True)
        try:
            started = sim.mem("started")
            imported = sim.mem("imported")
        finally:
            sim.stop()
        print("Heap in use after start-up (gc.mem_alloc(), --report-mem): %d bytes" % started)
        print("  of which imports before the modem is made: %d bytes" % imported)
        print()

        body = make_body(MB)
        print("1 MB AT#PUTMAIL (plain SMTP) through the simulator, to a local aiosmtpd")
        for name, heap in BOARDS + (("unconstrained", 1 * MB),):
            secs, err = try_putmail(_h(heap), ctl.port, body, report=heap == 1 * MB)
            if secs is None:
                print("  heap %6s (%s): FAILS %s" % (_h(heap), name, _last_error(err)))
            else:
                peak = max(map(int, re.findall(r"peak=(\d+)", err)), default=0)
                print(
                    "  heap %6s (%s): %.2f s = %.1fx a 921,600-baud line%s"
                    % (
                        _h(heap),
                        name,
                        secs,
                        MB / secs / LINE_RATE,
                        "; peak heap in use %d bytes (--report-mem)" % peak if peak else "",
                    )
                )
        if not args.quick:
            plain = lambda h: try_putmail(h, ctl.port, body)[0] is not None
            small = smallest_heap(plain, 32 * KB, 1 * MB)
            print("  smallest heap that passes (bisection, 1 KB steps): %s" % _kb(small))
            print("  above it, in 4 KB steps: %s" % _above(plain, small))
            from smtp_servers import TLSMaterial

            tls = TLSMaterial(pathlib.Path(tempfile.mkdtemp(prefix="bench-tls-")))
            tls_ok = lambda h: _tls_ok(h, tls, make_body(100 * KB))
            small_tls = smallest_heap(tls_ok, 32 * KB, 1 * MB)
            print(
                "  STARTTLS, CA installed with AT#CACERT, 100 KB body: smallest heap %s"
                % _kb(small_tls)
            )
            print("  above it, in 4 KB steps: %s" % _above(tls_ok, small_tls))
            print(
                "  (mbedtls's ~28 KB a connection come from libc here, as from the IDF heap on"
                " an ESP32; a Pico W takes them from the GC heap)"
            )
        print()
    finally:
        ctl.stop()

    print("Core data path alone (EndScanner + BodyComposer, 2 KB reads), MicroPython")
    for name, heap in BOARDS:
        for size in (MB, 10 * MB):
            try:
                rate, _ = core_path(heap, size)
            except Failed as e:
                print("  heap %s (%s) %2d MB: FAILS %s" % (_h(heap), name, size // MB, e))
                continue
            print(
                "  heap %6s (%s) %2d MB: %6.2f MB/s = %5.1fx a 921,600-baud line"
                % (_h(heap), name, size // MB, rate / MB, rate / LINE_RATE)
            )
    return 0


def _last_error(text):
    """The last exception line of a MicroPython traceback (MemoryError: ...), or ""."""
    lines = [x for x in text.splitlines() if "Error:" in x and not x.startswith(" ")]
    return lines[-1] if lines else ""


def _above(ok, start, n=8, step=4 * KB):
    """Pass/fail from start up: fragmentation makes the outcome not monotonic in the heap."""
    if start is None:
        return "-"
    return " ".join(
        "%d%s" % ((start + i * step) // KB, "" if ok(start + i * step) else "(FAILS)")
        for i in range(1, n + 1)
    )


def _kb(n):
    return "none up to 1 MB" if n is None else "%d bytes (%d KB)" % (n, n // KB)


def _tls_ok(heap, tls, body):
    import logging

    from aiosmtpd.controller import Controller
    from smtp_servers import Recorder, free_port

    # Too small a heap fails the handshake: aiosmtpd would log each failure with a traceback.
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    port = free_port()
    ctl = Controller(
        Recorder(),
        hostname="127.0.0.1",
        port=port,
        tls_context=tls.server_context,
        server_hostname="localhost",
    )
    ctl.start()
    try:
        return try_putmail(heap, port, body, tls)[0] is not None
    finally:
        ctl.stop()


if __name__ == "__main__":
    sys.exit(main())
