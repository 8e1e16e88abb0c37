"""AT#FTPGET / AT#FTPPUT throughput (figures, not pass/fail): the firmware core in-process (the
test harness's in-memory serial port) against pyftpdlib on 127.0.0.1, passive, TYPE I, as a
multiple of a 921,600-baud line. Run: .venv/bin/python tools/bench_ftp.py [megabytes]"""

import asyncio
import hashlib
import logging
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [
    os.path.join(ROOT, "firmware"),
    os.path.join(ROOT, "boards", "host"),
    os.path.join(ROOT, "host_tests"),
]

from ftp_servers import pyftpd  # noqa: E402
from harness import LoopPort, Session  # noqa: E402
from modem.datamode import encode  # noqa: E402
from test_ftp import setup  # noqa: E402

LINE_RATE = 921600 / 10  # bytes per second of a 921,600-baud 8N1 UART
MB = 1 << 20
SERIAL_CHUNK = 4096  # bytes per serial write of the host


class CountingPort(LoopPort):
    """Hashes what the modem writes instead of keeping it (server -> host)."""

    def __init__(self):
        super().__init__()
        self.count = 0
        self.tail = b""

    async def write(self, data):
        self.count += len(data)
        self.tail = (self.tail + data)[-64:]


async def _wait(s, port, suffix):
    while not (port.tail.endswith(suffix) and port.waiting and not port.inq):
        await asyncio.sleep(0.002)


async def bench(size):
    blob = os.urandom(size)
    d = tempfile.mkdtemp(prefix="bench-ftp-")
    with open(os.path.join(d, "data.bin"), "wb") as f:
        f.write(blob)
    with pyftpd(d) as ftp_port:
        s = Session()
        async with s:
            await setup(s, ftp_port)
            port = s.port
            port.__class__ = CountingPort  # the modem waits on this port: count from now on
            port.count, port.tail = 0, b""
            t0 = time.monotonic()
            port.send(b"AT#FTPGET\r")
            await _wait(s, port, b"\x03\r\nOK\r\n")
            get_s = time.monotonic() - t0
            esc = encode(blob)
            t0 = time.monotonic()
            port.send(b"AT#FTPPUT\r")
            for i in range(0, len(esc), SERIAL_CHUNK):
                port.send(esc[i : i + SERIAL_CHUNK])
            port.send(b"\x03")
            await _wait(s, port, b"\x03\r\nOK\r\n")
            put_s = time.monotonic() - t0
    with open(os.path.join(d, "up.bin"), "rb") as f:
        assert hashlib.sha256(f.read()).digest() == hashlib.sha256(blob).digest()
    return get_s, put_s


def main():
    mb = float(sys.argv[1]) if len(sys.argv) > 1 else 10
    logging.basicConfig(level=logging.WARNING)  # pyftpdlib's per-session lines off
    size = int(mb * MB)
    get_s, put_s = asyncio.run(bench(size))
    print("FTP data mode, core on CPython, pyftpdlib on loopback, %g MB, passive, TYPE I:" % mb)
    for name, sec in (("FTPGET", get_s), ("FTPPUT", put_s)):
        rate = size / sec
        print(
            "  AT#%s  %.2f s  %.1f MB/s  %.0fx a 921,600-baud line"
            % (name, sec, rate / MB, rate / LINE_RATE)
        )


if __name__ == "__main__":
    main()
