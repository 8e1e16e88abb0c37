"""Fuzz the core in process: random and mutated command lines, data-mode streams, SMTP and POP3
replies; no simulator, no socket. After every input `AT` must answer OK, no fault may reach the
modem's last-resort handler, and every stored value must still pass its own rules.

    .venv/bin/python tools/fuzz.py --n 1000000 --seed 1 [--jobs 2]     (make fuzz)

A finding is written to build/fuzz/<seed>-<n>.bin (the input) and makes the exit status 1;
turn it into a test. host_tests/test_fuzz.py runs a fixed-seed slice in CI.
"""

import argparse
import asyncio
import multiprocessing
import os
import random
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "firmware"), os.path.join(ROOT, "boards", "host")]

from modem import params, paramset  # noqa: E402
from modem.errors import LISTEN_FAILED, NetError  # noqa: E402
from modem import modem as core  # noqa: E402
from modem.modem import Modem  # noqa: E402


class Fast:
    """On a board handler modules take turns in RAM (import, drop, gc.collect); here that would
    be most of the time spent (CPython compiles and collects for every swap), so while the
    fuzzer runs they all stay. Restored afterwards (the tests import this module)."""

    def __enter__(self):
        self.saved = core._unload, core.gc
        core._unload = lambda names=None: None
        core.gc = type("NoGC", (), {"collect": staticmethod(lambda: None)})

    def __exit__(self, *exc):
        core._unload, core.gc = self.saved


from modem.store import MemoryStore  # noqa: E402

# Valid lines to start from: every kind of command, data and entry modes included.
SEEDS = [
    b"AT",
    b"ATE0V1Q0",
    b"ATZ",
    b"AT&F",
    b"AT&W",
    b"AT&V",
    b"ATI3",
    b"ATS7=5",
    b"ATS12?",
    b"ATD123",
    b"ATO",
    b"ATH",
    b"AT+CMEE=1",
    b"AT+CSQ",
    b"AT+CREG=2;+CGREG=1",
    b"AT+CREG?",
    b"AT+CGATT=1",
    b'AT+CGDCONT=1,"IP","apn"',
    b"AT+CFUN=1",
    b"AT+CFUN=1,1",
    b"AT+CPOF",
    b"AT+COPS=3,2;+COPS?",
    b"AT+CCED=0,15",
    b"AT+CIMI",
    b"AT+CCID",
    b"AT+KSLEEP=2",
    b"AT+CLIP=1;+CLIR=0;+CRC=1",
    b"AT+IPR=115200",
    b"AT+IFC=2,2",
    b"AT+WIND=8",
    b"AT+WOPEN=1",
    b"AT#RESET=0",
    b'AT#SMTPSERV="smtp.example.com"',
    b"AT#SMTPPORT=25",
    b'AT#SENDERADDR="a@b.c"',
    b'AT#REC1="x@y.z,w@v.u"',
    b'AT#SUBJ1="Alarm"',
    b"AT#SMTPAUTH=1",
    b'AT#SMTPUN="u";',
    b"AT#SMTPSEC=0",
    b"AT#TCPPORT=1,23",
    b'AT#TCPSERV=1,"h"',
    b"AT#DLEMODE=1,0",
    b"AT#TCPTXDELAY=1,0",
    b"AT#UDPPORT=5000",
    b'AT#SMSMAIL="{number}@sms.example.net"',
    b"AT#OUTPORT=0",
    b"AT#VALL",
    b"AT#VSMTP",
    b"AT#VTCP=2",
    b"AT#VSTATE",
    b"AT#DISPLAYIP",
    b"AT#SMTPLOG",
    b"AT#CONNECTIONSTART",
    b"AT#CONNECTIONSTOP",
    b"AT#PUTMAIL",
    b"AT#SENDMAIL1",
    b"AT#GETMAIL",
    b"AT#OTCP=1",
    b"AT#BODY1",
    b"AT#REC1ADD",
    b"AT#CACERT",
    b"AT+CMGF=1",
    b"AT+CMGF=0",
    b'AT+CMGS="+4917012345"',
    b"AT+CMGS=23",
    b'AT+CSCS="GSM"',
    b'AT+CPMS="SM","ME"',
    b"AT+CMGL=4",
    b'AT+CMGL="ALL"',
    b"AT+CMGR=1",
    b"AT+CMGD=1,4",
    b"AT+CSAS",
    b"AT+CRES",
]
BODIES = [
    b"Tank 3 level low\r\n.\r\n",
    b"Content-Type: text/plain\r\n\r\nx\r\n.\r\n",
    b"0011000B916407281553F80000AA0AE8329BFD4697D9EC37\x1a",
    b"hello\x1a",
    b"a@b.c\r\nd@e.f\x1a",
    b"data\x10\x03\x03",
    b"+++",
    b"\x1b",
]
SPECIAL = b'\r\n\x03\x10\x1a\x1b\x00\x08\x7f",;=?#+\xff\xc3\xa9'
SMTP_GOOD = [b"220 x\r\n", b"250-x\r\n250 AUTH PLAIN\r\n", b"250 ok\r\n", b"250 ok\r\n"]
SMTP_GOOD += [b"354 go\r\n", b"250 queued\r\n", b"221 bye\r\n"]
POP3_GOOD = [b"+OK hi\r\n", b"+OK\r\n", b"+OK\r\n", b"+OK 1 10\r\n", b"+OK\r\nab\r\n.\r\n"]
POP3_GOOD += [b"+OK\r\n", b"+OK\r\n"]


def mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        i = rng.randrange(len(data) + 1)
        if op == 0 and data:
            data[min(i, len(data) - 1)] = rng.randrange(256)
        elif op == 1:
            data[i:i] = bytes((rng.choice(SPECIAL),))
        elif op == 2 and data:
            del data[i : i + rng.randint(1, 8)]
        elif op == 3:
            data[i:i] = rng.choice(SEEDS)
        elif op == 4:
            data[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        else:
            data[i:i] = data[i : i + rng.randint(1, 40)] * rng.randint(2, 20)
    return bytes(data)


def make_input(rng):
    """(serial chunks, SMTP/POP3 reply chunks) for one run."""
    lines = []
    for _ in range(rng.randint(1, 4)):
        line = rng.choice(SEEDS)
        if rng.random() < 0.6:
            line = mutate(rng, line)
        lines.append(line + rng.choice((b"\r", b"\n", b"\r\n", b"\n\r", b"")))
        if rng.random() < 0.3:
            body = rng.choice(BODIES)
            lines.append(mutate(rng, body) if rng.random() < 0.5 else body)
    data = b"".join(lines)
    cuts = sorted(rng.randrange(len(data) + 1) for _ in range(rng.randint(0, 3)))
    chunks = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)]) if b > a]
    replies = list(rng.choice((SMTP_GOOD, POP3_GOOD)))
    if rng.random() < 0.7:
        k = rng.randrange(len(replies))
        replies[k] = mutate(rng, replies[k])
    if rng.random() < 0.2:
        del replies[rng.randrange(len(replies)) :]
    return chunks, replies


class Conn:
    """A peer that answers from a script, then closes: never waits."""

    def __init__(self, replies):
        self.replies = replies

    async def read(self, n):
        return self.replies.pop(0)[:n] if self.replies else b""

    async def write(self, data):
        pass

    async def starttls(self, tls):
        raise NetError(37973, "no TLS here")

    async def close(self):
        pass

    def abort(self):
        pass


class Net:
    def __init__(self):
        self.replies = []

    async def up(self, values):
        return ("192.0.2.1", "0.0.0.0", "0.0.0.0")  # TEST-NET-1: never used for traffic

    async def down(self):
        pass

    async def resolve(self, host):
        if not host or "bad" in host:
            raise NetError(38027, "no such name")
        return "192.0.2.2"

    async def connect(self, addr, port, tls=None, lport=0):
        if tls is not None:
            raise NetError(37973, "no TLS here")
        return Conn(list(self.replies))

    async def listen(self, port):
        raise NetError(LISTEN_FAILED, "no listening here")

    async def udp(self, port=0):
        raise NetError(LISTEN_FAILED, "no UDP here")

    async def ping(self, addr, timeout_ms):
        return 1


class Clock:
    def __init__(self):
        self.t = 0

    def ticks_ms(self):
        self.t += 7  # time moves a little at every look, so no timer waits for ever
        return self.t

    def ticks_diff(self, a, b):
        return a - b

    def ticks_add(self, a, d):
        return a + d


class Board:
    def __init__(self):
        self.store = MemoryStore()
        self.defaults = {}
        self.net = Net()
        self.clock = Clock()
        self.faults = []
        self.serial = None

    def log(self, msg):
        if msg.startswith("fault"):
            self.faults.append(msg)

    def uid(self):
        return b"fuzz"

    def rssi(self):
        return -70

    def link_available(self):
        return True

    def apply_serial(self, rate, ifc):
        self.serial = (rate, ifc)

    def utc(self):
        return (2026, 11, 30, 12, 0, 0, 0)

    def cafile(self):
        return None

    def save_ca(self, pem):
        pass

    def reset(self):
        pass


class Port:
    def __init__(self, chunks):
        self.chunks = list(chunks)
        self.out = bytearray()

    async def read(self):
        return self.chunks.pop(0) if self.chunks else b""

    async def write(self, data):
        self.out += data

    def pending(self):
        return bool(self.chunks)


def check_values(m):
    """Every stored AT# value still passes its own rules."""
    for key, value in m.values.stored.items():
        p = params.get(key.split(":")[0])
        if p is None:
            return "unknown key %r" % key
        if key[:4] == "BODY" and len(value) <= p[2]:  # a typed body keeps its CR LF breaks
            value = value.replace("\r\n", " ")
        try:
            again = paramset.validate(p, str(value))
        except Exception as e:  # a rule the stored value breaks
            return "%s=%r breaks its rules (%r)" % (key, value, e)
        if again != value and not (p[1] == params.STR and "," in str(value)):
            return "%s=%r validates to %r" % (key, value, again)
    return None


async def one(m, board, chunks, replies):
    board.net.replies = replies
    await asyncio.wait_for(m.run(Port(chunks)), 10)
    # A line the input left unfinished ends first (it may enter data mode: the end of the
    # port ends that too); then a known profile, then the check.
    await asyncio.wait_for(m.run(Port([b"\r"])), 10)
    port = Port([b"ATE0V1Q0\r", b"AT\r"])
    await asyncio.wait_for(m.run(port), 10)
    if not bytes(port.out).endswith(b"\r\nOK\r\n"):
        return "AT did not answer OK afterwards: %r" % bytes(port.out[-80:])
    if board.faults:
        return board.faults.pop()
    return check_values(m)


async def batch(seed, start, count, keep):
    rng = random.Random("%d-%d" % (seed, start))
    board = Board()
    m = Modem(board)
    m.link_poll_s = 3600
    await m.start()
    found = []
    for i in range(start, start + count):
        chunks, replies = make_input(rng)
        try:
            why = await one(m, board, chunks, replies)
        except Exception as e:  # escaped the modem: a crash
            why = "crash: %r" % (e,)
        if why:
            found.append((i, why, chunks, replies))
            board = Board()  # a fresh modem after a finding
            m = Modem(board)
            m.link_poll_s = 3600
            await m.start()
            if len(found) >= keep:
                break
    return found


def work(args):
    seed, start, count = args
    with Fast():
        return asyncio.run(batch(seed, start, count, 5))


def run(n, seed, jobs=1, out_dir=None, quiet=False):
    """Run n inputs; returns the findings [(index, why, chunks, replies)]."""
    step = 2000
    plan = [(seed, s, min(step, n - s)) for s in range(0, n, step)]
    t0 = time.monotonic()
    found = []
    if jobs > 1:
        with multiprocessing.Pool(jobs) as pool:
            for res in pool.imap_unordered(work, plan):
                found.extend(res)
    else:
        for p in plan:
            found.extend(work(p))
    dt = time.monotonic() - t0
    if not quiet:
        print("fuzz: %d inputs, seed %d, %.1f s (%.0f inputs/s), %d findings"
              % (n, seed, dt, n / dt if dt else 0, len(found)))  # fmt: skip
    for i, why, chunks, replies in found:
        print("  input %d: %s" % (i, why))
        if out_dir:
            os.makedirs(out_dir, exist_ok=True)
            path = os.path.join(out_dir, "%d-%d.bin" % (seed, i))
            with open(path, "w") as f:
                f.write(repr((chunks, replies)) + "\n")
            print("    saved", os.path.relpath(path, ROOT))
    return found


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args(argv)
    found = run(args.n, args.seed, args.jobs, os.path.join(ROOT, "build", "fuzz"))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
