"""MicroPython benchmarks (figures, not pass/fail): the firmware as .mpy in the unix port.

Prints: the .mpy sizes (a board's flash), the heap each module takes when imported, the heap in
use after start-up (gc.mem_alloc() as the firmware reports it), the smallest heap with which a
1 MB AT#PUTMAIL still passes (plain SMTP; and a STARTTLS one), the time of that mail, and the
core data path's throughput (EndScanner + BodyComposer on 4 KB chunks) as a multiple of a
921,600-baud line. The unix port is 64-bit: pointers and GC blocks are twice a board's size,
so heap figures here overstate a 32-bit board's (see the import table's estimate).
Run: .venv/bin/python tools/bench_mp.py [--quick] (make bench runs it after tools/bench.py).
"""

import argparse
import os
import pathlib
import re
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
CHUNK = 4096
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
        for line in self.proc.stdout:
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

    def mem(self, what):
        """alloc= of the last "mem: <what> alloc=N" line, or None."""
        found = re.findall(r"mem: %s alloc=(\d+)" % re.escape(what), self.stderr())
        return int(found[-1]) if found else None


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
            return putmail(sim, smtp_port, body), sim.stderr()
        pem = open(tls.cafile, "rb").read()
        return putmail(sim, smtp_port, body, "localhost", 1, pem), sim.stderr()
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
""" % (LINE, CHUNK, CHUNK, CHUNK)


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


# Import order of a modem that starts, then sends a mail (mail pulls mailbody, smtp...).
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


# ---------------------------------------------------------------- main


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="no heap bisection")
    args = ap.parse_args(argv)
    from bench import Server

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

    print("Core data path alone (EndScanner + BodyComposer, 4 KB reads), MicroPython")
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
