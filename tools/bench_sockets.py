"""Socket data-mode throughput (figures, not pass/fail): the firmware core in-process (the test
harness's in-memory serial port) against a TCP peer on 127.0.0.1, both directions, as a multiple
of a 921,600-baud line. Run: .venv/bin/python tools/bench_sockets.py [megabytes]"""

import asyncio
import hashlib
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [
    os.path.join(ROOT, "firmware"),
    os.path.join(ROOT, "boards", "host"),
    os.path.join(ROOT, "host_tests"),
]

from harness import LoopPort, Session  # noqa: E402
from modem.datamode import Decoder, encode  # noqa: E402

LINE_RATE = 921600 / 10  # bytes per second of a 921,600-baud 8N1 UART
MB = 1 << 20
SERIAL_CHUNK = 4096  # bytes per serial read handed to the core


class CountingPort(LoopPort):
    """Counts what the modem writes instead of keeping it (peer -> host)."""

    def __init__(self):
        super().__init__()
        self.count = 0
        self.tail = b""

    async def write(self, data):
        self.count += len(data)
        self.tail = (self.tail + data)[-64:]


async def _open(s, port, dle):
    for c in (
        b"ATE0",
        b'AT#TCPSERV=1,"127.0.0.1"',
        b"AT#TCPPORT=1,%d" % port,
        b"AT#DLEMODE=1,%d" % dle,
        b"AT#TCPTXDELAY=1,0",
        b"AT#CONNECTIONSTART",
    ):
        await s.cmd(c + b"\r")
    s.port.take()
    s.port.send(b"AT#OTCP=1\r")


async def host_to_peer(data, dle=1):
    """Seconds for `data` from the serial side to arrive at the peer."""
    done = asyncio.get_running_loop().create_future()
    h = hashlib.sha256()
    need = len(data)

    async def sink(r, w):
        n = 0
        while n < need:
            chunk = await r.read(1 << 20)
            if not chunk:
                break
            h.update(chunk)
            n += len(chunk)
        done.set_result(n)

    srv = await asyncio.start_server(sink, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    async with Session() as s:
        await _open(s, port, dle)
        await s.idle()
        wire = encode(data) if dle else data
        t0 = time.perf_counter()
        for i in range(0, len(wire), SERIAL_CHUNK):
            s.port.send(wire[i : i + SERIAL_CHUNK])
            if len(s.port.inq) > 256:  # like a UART FIFO: do not queue everything at once
                while len(s.port.inq) > 16:
                    await asyncio.sleep(0)
        n = await asyncio.wait_for(done, 300)
        took = time.perf_counter() - t0
        assert n == need and h.digest() == hashlib.sha256(data).digest()
        s.port.send(b"\x03")
        await s.idle()
    srv.close()
    return took


async def peer_to_host(data, dle=1):
    """Seconds for `data` from the peer to leave the serial side (escaped)."""
    want = len(encode(data)) if dle else len(data)

    async def source(r, w):
        w.write(data)
        await w.drain()

    srv = await asyncio.start_server(source, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    s = Session()
    s.port = CountingPort()
    async with s:
        await _open(s, port, dle)
        while s.port.count < len(b"\r\nOk_Info_WaitingForData\r\n"):
            await asyncio.sleep(0)
        base = s.port.count
        t0 = time.perf_counter()
        while s.port.count - base < want:
            await asyncio.sleep(0.001)
        took = time.perf_counter() - t0
        s.port.send(b"\x03")
        await s.idle()
    srv.close()
    return took


def codec(data, chunk=1024):
    """The codec alone: MB/s for encode and for decode over chunks."""
    t0 = time.perf_counter()
    wire = b"".join(encode(data[i : i + chunk]) for i in range(0, len(data), chunk))
    t1 = time.perf_counter()
    d = Decoder()
    out = [d.feed(wire[i : i + chunk])[0] for i in range(0, len(wire), chunk)]
    t2 = time.perf_counter()
    assert b"".join(out) == data
    return len(data) / MB / (t1 - t0), len(data) / MB / (t2 - t1)


MP_CODEC = """
import sys, time
sys.path.insert(0, FIRMWARE)
from modem.datamode import Decoder, encode
for name, data in (("random", bytes((i * 7919 + (i >> 8) * 31) & 255 for i in range(1 << 20))),
                   ("every byte ETX", b"\\x03" * (1 << 19))):
    t0 = time.ticks_us()
    wire = b"".join([encode(data[i : i + 1024]) for i in range(0, len(data), 1024)])
    t1 = time.ticks_us()
    d = Decoder()
    out = b"".join([d.feed(wire[i : i + 1024])[0] for i in range(0, len(wire), 1024)])
    t2 = time.ticks_us()
    assert out == data
    mb = len(data) / 1048576
    print("  MicroPython unix, codec, %s: encode %.0f MB/s, decode %.0f MB/s"
          % (name, mb / (time.ticks_diff(t1, t0) / 1e6), mb / (time.ticks_diff(t2, t1) / 1e6)))
"""


def micropython_codec():
    exe = os.path.join(ROOT, ".venv", "bin", "micropython")
    if not os.path.exists(exe):
        print("  (no MicroPython unix port in .venv: codec figures skipped)")
        return
    script = "FIRMWARE = %r\n" % os.path.join(ROOT, "firmware") + MP_CODEC
    r = subprocess.run([exe, "-X", "heapsize=64M", "-c", script], capture_output=True, text=True)
    sys.stdout.write(r.stdout or r.stderr)


def line(label, size, seconds):
    rate = size / seconds
    print("  %-44s %7.2f MB/s  = %6.1f x 921,600 baud" % (label, rate / MB, rate / LINE_RATE))


def main():
    mb = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    data = os.urandom(mb * MB)
    etx = b"\x03" * (mb * MB // 4)
    print(
        "socket data mode, %d MB random payload, core in-process on CPython %s"
        % (mb, sys.version.split()[0])
    )
    line("host -> peer, DLEMODE=1", len(data), asyncio.run(host_to_peer(data)))
    line("host -> peer, DLEMODE=0", len(data), asyncio.run(host_to_peer(data, dle=0)))
    line("peer -> host, DLEMODE=1", len(data), asyncio.run(peer_to_host(data)))
    line("peer -> host, DLEMODE=0", len(data), asyncio.run(peer_to_host(data, dle=0)))
    line("host -> peer, worst case (every byte ETX)", len(etx), asyncio.run(host_to_peer(etx)))
    enc, dec = codec(data)
    print("  codec alone (1 KB chunks): encode %.0f MB/s, decode %.0f MB/s" % (enc, dec))
    enc, dec = codec(etx)
    print("  codec, every byte ETX:      encode %.0f MB/s, decode %.0f MB/s" % (enc, dec))
    micropython_codec()


if __name__ == "__main__":
    main()
