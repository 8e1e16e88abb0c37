"""The firmware's own path under MicroPython, without the simulator (tools/bench_mp.py runs it).

Serial bytes come from memory in the pieces a UART driver hands them: what is waiting, up to
the firmware's read buffer (read=, 2048 as mpboard.UARTPort; 256 stands for a slow host), a
fresh bytes object per read, one event-loop turn per read, as asyncio's stream does. SMTP goes
to an in-memory peer ("mem", also for the 32-bit webassembly VM of tools/wasm/run.mjs) or over
loopback TCP to the peers tools/bench_mp.py starts ("tcp", MicroPython unix port, through
mpnet). Prints one "key value" line per figure. Heap figures are gc.mem_alloc() after
gc.collect(): the live heap, sampled at every serial read and write and every write to the
network while --probe is given (so the peak of the data phase is seen), never in a timed run.

    micropython benchcore.py mail|sockets|many|cell [key=value ...]
"""

import gc
import sys
import time

import asyncio

_WASM = sys.platform == "webassembly"


_turns = [0]  # calls of the webassembly port's asyncio loop from JavaScript


def _count_turns():
    """Count the webassembly port's loop calls: its asyncio.core runs tasks in _run_iter(),
    which JavaScript's setTimeout calls (looked up by name at each call)."""
    core = sys.modules["asyncio.core"]
    run = core._run_iter

    def counted():
        _turns[0] += 1
        return run()

    core._run_iter = counted


async def js_turn():
    """On the webassembly port, return to JavaScript's event loop before a collection.

    Its GC scans the VM's C stack conservatively: words there left by deeper calls that have
    returned (the imports of the modem's start-up, a mail's modules) still count as
    references, and one of them can keep the whole mail stack (~48 KB) alive. A turn of the
    JavaScript loop unwinds that stack. One asyncio.sleep_ms(1) is not always a turn: when the
    millisecond has passed by the time the port's loop looks (a loaded machine, a cold JIT),
    it resumes the task within the same call (after start-up 43.7 KB -> 91.8 KB then). So
    sleep until the loop has been called again from JavaScript. (Awaiting a JavaScript promise
    would be a turn too, but each one leaves proxies on the heap until JavaScript's GC runs.)
    """
    if _WASM:
        if not _turns[0]:
            _count_turns()
        n = _turns[0]
        while _turns[0] == n:
            await asyncio.sleep_ms(1)


def qstrs(tag):
    """The qstr pool (interned names, in the GC heap for good) as "qstr_at <tag>" and the
    port's "qstr pool: n_pool=.., n_qstr=.., n_str_data_bytes=.., n_total_bytes=.." line."""
    import micropython

    if hasattr(micropython, "qstr_info"):
        print("qstr_at", tag)
        micropython.qstr_info()


async def live():
    """The live heap: gc.mem_alloc() after a collection."""
    await js_turn()
    gc.collect()
    return gc.mem_alloc()


LINE = b"2026-11-28 12:00:00 station 245 tank 3 level 071% pump 2 running ok\r\n"
_BLOCK = 4096


class Probe:
    """The live heap (after a collection) at chosen points; off unless enabled."""

    def __init__(self, on):
        self.on = on
        self.peak = 0
        self.samples = 0

    async def __call__(self):
        if self.on:
            await js_turn()
            gc.collect()
            a = gc.mem_alloc()
            self.samples += 1
            if a > self.peak:
                self.peak = a

    def mem_info(self, tag):
        """micropython.mem_info() on stdout after a "mem_info <tag>" line: its "max free sz"
        is the largest free block, in GC blocks (16 bytes on 32 bits, 32 on 64)."""
        import micropython

        print("mem_info", tag)
        micropython.mem_info(1 if opt(sys.argv, "map", 0) else None)


class Stream:
    """size bytes cut from a repeating block: each read a fresh object, as a driver's."""

    def __init__(self, block, size):
        self.block = block
        self.buf = block + block
        self.size = size


class Until:
    """Hold serial reads until the modem wrote `what` (a host waiting for a result)."""

    def __init__(self, what):
        self.what = what


class MemPort:
    """The serial port of docs/design.md fed from a list of items: bytes (one read each),
    Stream (read in pieces of `size`), Until. After the last item read() returns b""."""

    def __init__(self, items, size, probe, turn=True):
        self.items = items
        self.turn = turn  # one event-loop turn per read
        self.i = 0
        self.size = size
        self.probe = probe
        self.off = 0
        self.left = -1  # bytes left of the Stream being read; -1: none
        self.out = 0
        self.tail = b""
        self.ev = asyncio.Event()
        self.t_stream = None  # ticks when the first Stream began
        self.t_ok = None  # ticks of the first final OK written after a Stream ended
        self.streamed = False

    def pending(self):
        return self.left > 0 or (
            self.i < len(self.items) and not isinstance(self.items[self.i], Until)
        )

    async def read(self):
        if self.turn:
            await asyncio.sleep(0)  # a stream yields to the loop before each read
        await self.probe()
        while True:
            if self.left > 0:
                s = self.items[self.i - 1]
                n = self.size if self.size < self.left else self.left
                k = len(s.block)
                data = s.buf[self.off : self.off + n] if n <= k else (s.buf * 2)[:n]
                self.off = (self.off + n) % k
                self.left -= n
                if not self.left:
                    self.streamed = True
                return data
            if self.i >= len(self.items):
                return b""
            item = self.items[self.i]
            self.i += 1
            if isinstance(item, Stream):
                self.off = 0
                self.left = item.size
                if self.t_stream is None:
                    self.t_stream = time.ticks_us()
                continue
            if isinstance(item, Until):
                while item.what not in self.tail:
                    if b"ERROR" in self.tail:
                        raise RuntimeError("the modem answered %r" % self.tail)
                    self.ev.clear()
                    await self.ev.wait()
                self.tail = b""
                continue
            return item

    async def write(self, data):
        await self.probe()
        self.out += len(data)
        self.tail = (self.tail + data)[-80:]
        if self.streamed and self.t_ok is None and b"OK\r\n" in data:
            self.t_ok = time.ticks_us()
        self.ev.set()


# ---------------------------------------------------------------- in-memory peers


class MemConn:
    """Base of the in-memory Conns: replies queued by write(), read() waits for them."""

    def __init__(self, probe):
        self.probe = probe
        self.q = []
        self.ev = asyncio.Event()
        self.closed = False

    def put(self, data):
        self.q.append(data)
        self.ev.set()

    async def read(self, n):
        while not self.q:
            if self.closed:
                return b""
            self.ev.clear()
            await self.ev.wait()
        data = self.q[0]
        if len(data) > n:
            self.q[0] = data[n:]
            return data[:n]
        self.q.pop(0)
        return data

    async def close(self):
        self.closed = True
        self.ev.set()


# mbedtls on a Pico W takes ~28 KB a connection from the GC heap (record buffers, handshake
# state): a stand-in holds that much while the session is encrypted.
TLS_STAND_IN = (16896, 4352, 6144, 1024)


class MemSMTP(MemConn):
    """An SMTP server in memory (RFC 5321 replies, DATA counted, not kept)."""

    def __init__(self, probe, tls=False):
        MemConn.__init__(self, probe)
        self.line = b""
        self.data = False
        self.tail = b""
        self.got = 0
        self.mails = 0
        self.tls = [bytearray(n) for n in TLS_STAND_IN] if tls else None
        self.put(b"220 mem ESMTP\r\n")

    async def write(self, data):
        await self.probe()
        if self.data:
            self._data(data)
            return
        self.line += data
        while b"\n" in self.line:
            cmd, _, self.line = self.line.partition(b"\n")
            self._command(cmd.strip().upper())

    def _command(self, cmd):
        if cmd[:4] in (b"EHLO", b"HELO"):
            self.put(b"250-mem\r\n250-8BITMIME\r\n250-STARTTLS\r\n250 SIZE 10485760\r\n")
        elif cmd == b"STARTTLS":
            self.put(b"220 go ahead\r\n")
        elif cmd == b"DATA":
            self.data = True
            self.tail = b"\r\n"
            self.put(b"354 go ahead\r\n")
        elif cmd == b"QUIT":
            self.put(b"221 bye\r\n")
        else:
            self.put(b"250 ok\r\n")

    def _data(self, data):
        self.got += len(data)
        buf = self.tail + data[-5:] if len(data) >= 5 else self.tail + data
        if buf.find(b"\r\n.\r\n") >= 0:
            self.data = False
            self.mails += 1
            self.put(b"250 queued\r\n")
        self.tail = buf[-4:]

    async def starttls(self, tls):
        self.tls = [bytearray(n) for n in TLS_STAND_IN]

    async def close(self):
        self.tls = None
        await MemConn.close(self)


class MemSink(MemConn):
    """A TCP peer that takes whatever comes (host -> peer)."""

    def __init__(self, probe):
        MemConn.__init__(self, probe)
        self.got = 0

    async def write(self, data):
        await self.probe()
        self.got += len(data)
        await asyncio.sleep(0)  # a socket write yields to the loop too


class MemSource(MemConn):
    """A TCP peer that sends `size` bytes, then closes (peer -> host)."""

    def __init__(self, probe, block, size):
        MemConn.__init__(self, probe)
        self.block = block + block
        self.k = len(block)
        self.left = size
        self.off = 0

    async def read(self, n):
        await asyncio.sleep(0)
        if self.left <= 0:
            return b""
        n = min(n, self.left, self.k)
        data = self.block[self.off : self.off + n]
        self.off = (self.off + n) % self.k
        self.left -= n
        return data

    async def write(self, data):
        pass


class MemNet:
    """The core's Net with in-memory peers: port 25 (any SMTP port) an SMTP server, TCP port
    1 a sink, TCP port 2 a source of `source` bytes."""

    def __init__(self, probe, source=0, block=b"x"):
        self.probe = probe
        self.source = source
        self.block = block
        self.last = None

    async def up(self, values):
        return ("10.0.0.2", "0.0.0.0", "0.0.0.0")

    async def down(self):
        pass

    async def resolve(self, host):
        return "10.0.0.1"

    async def connect(self, addr, port, tls=None, lport=0):
        if port == 1:
            self.last = MemSink(self.probe)
        elif port == 2:
            self.last = MemSource(self.probe, self.block, self.source)
        else:
            self.last = MemSMTP(self.probe, tls is not None)
        return self.last


# ---------------------------------------------------------------- scenarios


def random_block(n):
    """n pseudo-random bytes (every value, DLE and ETX included); small ints only, so no
    long-integer garbage on a 32-bit VM."""
    out = bytearray(n)
    x = 1
    for i in range(n):  # once, before any figure is taken
        x = (x * 181 + 359) & 0xFFFF
        out[i] = x >> 8
    return bytes(out)


def mail_setup(server, port, sec=0):
    return [
        b"ATE0\r",
        b'AT#SMTPSERV="' + server.encode() + b'"\r',
        b"AT#SMTPPORT=%d\r" % port,
        b"AT#SMTPSEC=%d\r" % sec,
        b"AT#SMTPVERIFY=0\r",
        b'AT#SENDERADDR="bench@example.com"\r',
        b'AT#REC1="sink@example.com"\r',
        b'AT#SUBJ1="bench"\r',
        b"AT#CONNECTIONSTART\r",
        Until(b"Ok_Info_GprsActivation"),
    ]


def mail_items(size):
    return [b"AT#PUTMAIL\r", Until(b"WaitingForData"), Stream(LINE * 57, size), b"\r\n.\r\n"]


def opt(args, key, default):
    for a in args:
        if a.startswith(key + "="):
            v = a[len(key) + 1 :]
            return int(v) if v.isdigit() else v
    return default


async def start(args, probe, block=None):
    """The unix board (pcboard, mpnet) and the modem, as boards/unix/run.py makes them.
    block: the in-memory source's bytes, made by the caller before its base reading."""
    from board import UnixBoard
    from modem.modem import Modem

    board = UnixBoard(state_dir=None, network=True, log=print if opt(args, "log", 0) else None)
    m = Modem(board)
    await m.start()
    if opt(args, "net", "mem") == "mem":
        if block is None:
            block = random_block(_BLOCK)
        board.net = MemNet(probe, opt(args, "size", 1 << 20), block)
    return m


async def mail(args):
    probe = Probe(opt(args, "probe", 0))
    size = opt(args, "size", 1 << 20)
    tcp = opt(args, "net", "mem") == "tcp"
    # The benchmark's own objects (the host's 8 KB of serial text, the peer's block) are made
    # before the base reading: the figures count the firmware's heap only.
    items = mail_setup("127.0.0.1", opt(args, "smtp", 25), opt(args, "sec", 0))
    items += mail_items(size) + [b"AT\r"]
    block = b"x"
    base = await live()  # this script and asyncio (frozen on boards), no firmware module
    qstrs("base")
    m = await start(args, probe, block)
    started = await live()
    print("base", base)
    print("started", started - base)
    qstrs("started")
    port = MemPort(items, opt(args, "read", 256), probe, opt(args, "turn", 1))
    probe.peak = started
    await m.run(port)
    if probe.on:
        print("peak", probe.peak - base)
        print("samples", probe.samples)
    if not tcp:
        smtp = m.board.net.last
        assert smtp.mails == 1 and smtp.got > size, (smtp.mails, smtp.got)
        smtp = m.board.net.last = None
    assert port.tail.endswith(b"\r\nOK\r\n"), port.tail
    us = time.ticks_diff(port.t_ok, port.t_stream)
    print("mail_us", us)
    # The port and the peer are the benchmark's, not the modem's; the items (in base) stay.
    port = m.port = None
    print("after", await live() - base)
    qstrs("after")


async def sockets(args):
    """AT#OTCP data mode both ways: host -> peer (port 1), peer -> host (port 2)."""
    from modem.datamode import encode

    probe = Probe(opt(args, "probe", 0))
    m = await start(args, probe)
    size = opt(args, "size", 1 << 20)
    gc.collect()
    print("started", gc.mem_alloc())
    block = random_block(_BLOCK)
    wire = encode(block)
    n = size // _BLOCK
    up_port = opt(args, "sink", 1)
    down_port = opt(args, "source", 2)
    items = [
        b"ATE0\r",
        b'AT#TCPSERV=1,"127.0.0.1"\r',
        b"AT#TCPPORT=1,%d\r" % up_port,
        b'AT#TCPSERV=2,"127.0.0.1"\r',
        b"AT#TCPPORT=2,%d\r" % down_port,
        b"AT#DLEMODE=1,1\r",
        b"AT#DLEMODE=2,1\r",
        b"AT#TCPTXDELAY=1,0\r",
        b"AT#TCPTXDELAY=2,0\r",
        b"AT#CONNECTIONSTART\r",
        Until(b"Ok_Info_GprsActivation"),
        b"AT#OTCP=1\r",
        Until(b"WaitingForData"),
        Stream(wire, len(wire) * n),
        b"\x03",
        Until(b"OK\r\n"),
    ]
    port = MemPort(items, opt(args, "read", 256), probe)
    probe.peak = 0
    await m.run(port)
    up_us = time.ticks_diff(port.t_ok, port.t_stream)
    peak_up = probe.peak
    # peer -> host: AT#OTCP=2, the peer sends, closes; Ok_Info_SocketClosed ends it
    items = [b"AT#OTCP=2\r", Until(b"WaitingForData"), Until(b"SocketClosed"), b"AT\r"]
    port = MemPort(items, opt(args, "read", 256), probe)
    probe.peak = 0
    t0 = time.ticks_us()
    await m.run(port)
    down_us = time.ticks_diff(time.ticks_us(), t0)
    print("up_bytes", len(block) * n)
    print("up_us", up_us)
    print("down_wire", port.out)
    print("down_us", down_us)
    if probe.on:
        print("peak_up", peak_up)
        print("peak_down", probe.peak)


async def many(args):
    """n mails and n socket sessions in a row (in-memory peers): the heap must not fragment.
    Prints micropython.mem_info() after start-up ("start"), after the settings (round 0),
    after round 1 (the first mail) and every `every` rounds."""
    probe = Probe(False)
    m = await start(args, probe)
    gc.collect()
    probe.mem_info("start")
    n = opt(args, "n", 1000)
    every = opt(args, "every", 100)
    size = opt(args, "size", 16384)
    from modem.datamode import encode

    wire = encode(random_block(1024))
    # Made once: the items are read-only (MemPort keeps the read state), so the rounds
    # allocate only what the firmware allocates, plus one small MemPort.
    items = mail_items(size) + [
        b'AT#TCPSERV=1,"10.0.0.1"\r',
        b"AT#TCPPORT=1,1\r",
        b"AT#OTCP=1\r",
        Until(b"WaitingForData"),
        Stream(wire, len(wire) * 4),
        b"\x03",
        Until(b"OK\r\n"),
    ]
    port = MemPort(mail_setup("mem", 25), 256, probe)
    await m.run(port)
    m.port = port = None
    gc.collect()
    probe.mem_info(0)
    for i in range(1, n + 1):
        port = MemPort(items, 256, probe)
        await m.run(port)
        if b"ERROR" in port.tail:
            print("error", i, port.tail)
            return
        m.port = port = None
        m.board.net.last = None  # the benchmark's peer
        if i % every == 0 or i == 1:
            gc.collect()
            probe.mem_info(i)
    print("rounds", n)


async def settled():
    """The least of a few readings: the webassembly port's collector, conservative, misses
    garbage now and then while tasks sleep (its figures varied by 20 KB from run to run)."""
    a = await live()
    for _ in range(4):
        a = min(a, await live())
    return a


async def cell(args):
    """The cellular driver's heap: the modem started, the simulated SIM7080G (boards/host,
    counted apart: a board has the real one), then the driver imported, the module powered,
    registered and polled, its core side (modem.cell) loaded; figures after collections."""
    base = await settled()
    m = await start(args, Probe(0))
    started = await settled()
    from simcell import SimModule

    sim = SimModule(None, 0.01)
    sim.start()
    with_sim = await settled()
    from cellboard import add_cell  # the PC's glue (a board's is mpcell): cellular, cellmods

    add_cell(m.board, sim, 0.01)
    c = m.board.cell
    await c.start()
    for _ in range(300):
        await asyncio.sleep(0.01)
        await c.refresh()
        if c.reg == 1 and c.oper:
            break
    assert c.reg == 1 and c.oper, (c.reg, c.oper)
    from modem import cell as core_side  # noqa: F401  (loaded at the first +CPIN?, SMS)

    registered = await settled()
    print("base", base)
    print("started", started - base)
    qstrs("started")
    print("simulated_module", with_sim - started)
    print("cell", registered - with_sim)
    c._stop_reader()
    sim.stop()


async def glue(args):
    """A real board's glue after start-up: main.py's set-up (board.py's make(): mpboard, with
    the machine/network stand-ins of host_tests/fakes, imported before the base reading) and
    the Modem started on it, its background tasks running (watchdog, LED, Wi-Fi keeper). No
    WIFISSID: the web pages' watcher would open setup mode, so it is not started."""
    import machine  # noqa: F401  (stand-ins: their modules are not counted)
    import network  # noqa: F401

    if not hasattr(asyncio, "StreamReader"):  # the webassembly port has no streams

        class StreamReader:
            def __init__(self, uart):
                self.uart = uart

        asyncio.StreamReader = StreamReader
    base = await settled()
    qstrs("base")
    import main

    board, m = main.setup()
    await m.start()
    board.start(m.values)
    started = await settled()
    print("base", base)
    print("started", started - base)
    print("modules", " ".join(sorted(n for n in sys.modules if n.startswith(("mp", "main")))))
    qstrs("started")
    board.stop()


async def main(argv):
    what = argv[0] if argv else "mail"
    modes = {"mail": mail, "sockets": sockets, "many": many, "cell": cell, "glue": glue}
    await modes[what](argv[1:])


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
