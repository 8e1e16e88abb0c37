"""Benchmarks (figures, not pass/fail): AT#PUTMAIL end to end against smtplib, core memory,
and the core data path alone. Run: make bench (or .venv/bin/python tools/bench.py)."""

import asyncio
import os
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "firmware"), os.path.join(ROOT, "boards", "host")]
sys.path.append(os.path.join(ROOT, "host_tests"))

from modem.mailbody import BodyComposer, EndScanner  # noqa: E402

LINE_RATE = 921600 / 10  # bytes per second of a 921,600-baud 8N1 UART
MB = 1 << 20
CHUNK = 4096


def make_body(size):
    """Alarm-log text: 72-character lines, as a telemetry host would send."""
    line = b"2026-11-28 12:00:00 station 245 tank 3 level 071% pump 2 running ok\r\n"
    n = size // len(line) + 1
    return (line * n)[:size]


class Server:
    """aiosmtpd in its own process (its memory and CPU are not the firmware's)."""

    def __init__(self):
        from smtp_servers import free_port

        self.port = free_port()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                "127.0.0.1:%d" % self.port,
                "-c",
                "aiosmtpd.handlers.Sink",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("aiosmtpd did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def start_sim(state):
    p = subprocess.Popen(
        [
            sys.executable,
            os.path.join(ROOT, "tools", "sim.py"),
            "--tcp",
            "127.0.0.1:0",
            "--state",
            state,
            "--no-smtp-sink",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    addr = None
    for line in p.stdout:
        if line.startswith("serial: tcp://"):
            host, port = line.split("//")[1].strip().rsplit(":", 1)
            addr = (host, int(port))
        if line.strip() == "ready":
            break
    return p, addr


def at(sock, cmd, want, timeout=30):
    sock.sendall(cmd)
    buf = b""
    sock.settimeout(timeout)
    while want not in buf:
        data = sock.recv(65536)
        if not data:
            raise RuntimeError("simulator closed the connection: %r" % buf)
        buf += data
    return buf


def firmware_send(addr, port, body):
    s = socket.create_connection(addr)
    try:
        at(s, b"ATE0\r", b"OK\r\n")
        for c in (
            b'AT#SMTPSERV="127.0.0.1"',
            b"AT#SMTPPORT=%d" % port,
            b'AT#SENDERADDR="bench@example.com"',
            b'AT#REC1="sink@example.com"',
            b'AT#SUBJ1="bench"',
        ):
            at(s, c + b"\r", b"OK\r\n")
        at(s, b"AT#CONNECTIONSTOP\r", b"OK\r\n")
        at(s, b"AT#CONNECTIONSTART\r", b"Ok_Info_GprsActivation\r\n")
        t0 = time.perf_counter()
        at(s, b"AT#PUTMAIL\r", b"Ok_Info_WaitingForData\r\n")
        view = memoryview(body)
        for i in range(0, len(body), CHUNK):
            s.sendall(view[i : i + CHUNK])
        at(s, b"\r\n.\r\n", b"\r\nOK\r\n", timeout=600)
        return time.perf_counter() - t0
    finally:
        s.close()


def smtplib_send(port, body):
    msg = b"From: bench@example.com\r\nTo: sink@example.com\r\nSubject: bench\r\n\r\n" + body
    t0 = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as c:
        c.sendmail("bench@example.com", ["sink@example.com"], msg)
    return time.perf_counter() - t0


def core_path(body):
    """UART bytes in -> DATA bytes out, no network: (seconds, output bytes)."""
    scanner = EndScanner()
    composer = BodyComposer([(b"Subject", b"bench")])
    data = body + b"\r\n.\r\n"
    view = memoryview(data)
    out = 0
    t0 = time.perf_counter()
    for i in range(0, len(data), CHUNK):
        piece, rest = scanner.feed(bytes(view[i : i + CHUNK]))
        out += len(composer.feed(piece))
        if rest is not None:
            out += len(composer.finish())
    return time.perf_counter() - t0, out


def core_peak(body, port):
    """Peak Python memory of an in-process modem sending the body (tracemalloc)."""
    from harness import Session

    async def go():
        async with Session() as s:
            for c in (
                b"ATE0",
                b'AT#SMTPSERV="127.0.0.1"',
                b"AT#SMTPPORT=%d" % port,
                b'AT#SENDERADDR="bench@example.com"',
                b'AT#REC1="sink@example.com"',
                b"AT#CONNECTIONSTART",
            ):
                await s.cmd(c + b"\r")
            await s.cmd(b"AT#PUTMAIL\r")
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            view = memoryview(body)
            for i in range(0, len(body), CHUNK):
                s.port.send(bytes(view[i : i + CHUNK]))
                await s.idle()
                s.port.take()
            out = await s.cmd(b"\r\n.\r\n")
            for _ in range(500):
                if b"OK" in out:
                    break
                await asyncio.sleep(0.01)
                out += s.port.take()
            assert out == b"\r\nOK\r\n", out
            return tracemalloc.get_traced_memory()[1] - base

    tracemalloc.start()
    try:
        return asyncio.run(go())
    finally:
        tracemalloc.stop()


def main():
    sizes = [1 * MB, 10 * MB]
    ctl = Server()
    state = tempfile.mkdtemp()
    sim, addr = start_sim(state)
    print("AT#PUTMAIL through the simulator vs smtplib, to a local aiosmtpd (best of 3)")
    print("%8s %12s %12s %8s" % ("body", "firmware s", "smtplib s", "ratio"))
    try:
        for size in sizes:
            body = make_body(size)
            fw = min(firmware_send(addr, ctl.port, body) for _ in range(3))
            sl = min(smtplib_send(ctl.port, body) for _ in range(3))
            print("%6d MB %12.3f %12.3f %7.2fx" % (size // MB, fw, sl, fw / sl))
        print()
        print("Core data path alone (serial bytes in, SMTP DATA bytes out), CPython")
        for size in sizes:
            body = make_body(size)
            t, _ = min(core_path(body) for _ in range(3))
            rate = size / t
            print(
                "%6d MB %8.1f MB/s = %6.0fx a 921,600-baud line"
                % (size // MB, rate / MB, rate / LINE_RATE)
            )
        print()
        print("Peak core memory during AT#PUTMAIL (tracemalloc, in-process modem)")
        for size in sizes:
            peak = core_peak(make_body(size), ctl.port)
            print("%6d MB body: %8.1f KB" % (size // MB, peak / 1024))
    finally:
        sim.send_signal(signal.SIGTERM)
        sim.wait(10)
        ctl.stop()


if __name__ == "__main__":
    main()
