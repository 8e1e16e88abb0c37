"""Serve the modem on the MicroPython unix port over a TCP stream (tools/sim.py relays to it).

    MICROPYPATH=.frozen:build/unix micropython -X heapsize=96k -m run \\
        --connect 127.0.0.1:PORT [--state DIR] [--defaults JSON] [--cafile PEM] \\
        [--no-network] [--report-mem] [--read-size N] [--quiet] [--web HOST:PORT [--web-setup]]
        [--cellular [--cell-sim READY|SIM PIN|NOT INSERTED] [--cell-reg N] [--cell-apn A,B]]

build/unix/ holds the firmware as .mpy (tools/build_mpy.py), as a board loads it. The stream
is the serial line: its end (the simulator closing it) ends the modem and the process (exit 0).
Logs and --report-mem figures go to stderr, never to the stream. --cellular: the simulated
SIM7080G (boards/host/simcell.py) on the board's module UART, in this process, behind the
firmware's own driver (tools/sim.py --cellular; docs/cellular.md). --report-mem prints
"mem: <step> alloc=N free=N peak=N" at start-up and at each command and SMTP step the core
logs; peak also counts a sample (after gc.collect()) at every serial read and write, so the
data phase's peak is seen, and one every 50 ms.
"""

import gc
import sys

# One serial read of the stream: a slow host's pieces. A board reads what its UART holds, up
# to 2 KB (mpboard.UARTPort): --read-size 2048 reads as one whose host is ahead of it.
_READ_SIZE = 256


def log(msg):
    sys.stderr.write(msg + "\n")


_peak = [0]  # the most heap in use seen by mem_report or the sampler (--report-mem)
_SAMPLE_S = 0.05


def mem_report(what):
    """The heap in use after a collection: what a board would have to hold."""
    gc.collect()
    a = gc.mem_alloc()
    _peak[0] = max(_peak[0], a)
    log("mem: %s alloc=%d free=%d peak=%d" % (what, a, gc.mem_free(), _peak[0]))


def mem_sample():
    gc.collect()
    a = gc.mem_alloc()
    if a > _peak[0]:
        _peak[0] = a


async def mem_sampler():
    """Live heap every 50 ms (after a collection: garbage is not a board's need)."""
    import asyncio

    while True:
        await asyncio.sleep(_SAMPLE_S)
        gc.collect()
        _peak[0] = max(_peak[0], gc.mem_alloc())


class StreamPort:
    """The serial side as a stream: async read() -> at least 1 byte (b"" at the end), write().

    The simulator closing the stream is the end of the line, also in the middle of a write
    (EPIPE, ECONNRESET): the modem then sees b"" at its next read and returns.
    """

    def __init__(self, reader, writer, size, probe=None):
        self.r = reader
        self.w = writer
        self.size = size
        self.gone = False
        self.probe = probe  # called at every read and write (--report-mem)

    def pending(self):
        """Bytes from the simulator already waiting on the socket (poll with no wait)."""
        import select

        p = select.poll()
        p.register(self.r.s, select.POLLIN)
        return bool(p.poll(0))

    async def read(self):
        if self.gone:
            return b""
        if self.probe is not None:
            self.probe()
        try:
            return await self.r.read(self.size)
        except OSError:
            self.gone = True
            return b""

    async def write(self, data):
        if self.gone:
            return
        if self.probe is not None:
            self.probe()
        try:
            self.w.write(data)
            await self.w.drain()
        except OSError:
            self.gone = True


def parse_args(argv):
    o = {
        "connect": None,
        "state": None,
        "defaults": "{}",
        "cafile": None,
        "read-size": "0",
        "web": None,
        "cell-sim": "READY",
        "cell-reg": "1",
        "cell-apn": "",
    }
    flags = set()
    i = 0
    while i < len(argv):
        a = argv[i]
        if a[2:] in o and i + 1 < len(argv):
            o[a[2:]] = argv[i + 1]
            i += 2
        elif a in ("--no-network", "--report-mem", "--quiet", "--web-setup", "--cellular"):
            flags.add(a)
            i += 1
        else:
            raise ValueError("bad option " + a)
    if not o["connect"] or ":" not in o["connect"]:
        raise ValueError("--connect HOST:PORT is required")
    return o, flags


async def serve(o, flags):
    import asyncio
    import json

    from board import UnixBoard, stderr_log
    from modem.modem import Modem

    report = "--report-mem" in flags
    if report:
        mem_report("imported")
    board = UnixBoard(
        state_dir=o["state"],
        defaults=json.loads(o["defaults"]),
        network="--no-network" not in flags,
        log=None if "--quiet" in flags else stderr_log,
    )
    board.ca_path = o["cafile"]
    if "--cellular" in flags:
        cellular(board, o)
    modem = Modem(board)
    await modem.start()
    if "--cellular" in flags:
        board.start(modem.values)
    host, _, port = o["connect"].rpartition(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    if report:
        mem_report("started")
        board.log = _with_mem(board.log)
        asyncio.create_task(mem_sampler())
    if o["web"]:
        asyncio.create_task(web(modem, o["web"], "--web-setup" in flags))
    try:
        size = int(o["read-size"]) or _READ_SIZE
        await modem.run(StreamPort(reader, writer, size, mem_sample if report else None))
    finally:
        writer.close()
    if report:
        mem_report("stopped")


def cellular(board, o):
    """The simulated module and the driver on this board (cellboard.add_cell), with the
    simulator's knobs."""
    from cellboard import add_cell

    add_cell(board)
    m = board.module
    m.sim = o["cell-sim"]
    m.reg_stat = int(o["cell-reg"])
    m.apns = [a for a in o["cell-apn"].split(",") if a] or None


async def web(modem, where, forced):
    """tools/sim.py --web: the setup and status pages (setup mode without a stored WIFISSID,
    as a board opens its access point)."""
    from modem import portal

    host, _, port = where.rpartition(":")
    setup = forced or not modem.values["WIFISSID"]
    await portal.serve(modem, setup, int(port), host, ("sim", host))


def _with_mem(board_log):
    # The heap in use at each command and SMTP step the core logs (the core logs no values).
    def f(msg):
        board_log(msg)
        mem_report(msg)

    return f


def main(argv=None):
    import asyncio

    try:
        o, flags = parse_args(sys.argv[1:] if argv is None else argv)
    except ValueError as e:
        log("run: %s (see boards/unix/run.py)" % e)
        return 2
    try:
        asyncio.run(serve(o, flags))
    except MemoryError:
        import micropython
        import os

        # The heap when it ran out: used, free and the largest free block tell fragmentation
        # from exhaustion; MTGW_MEM_MAP=1 adds the block map. On stdout (the simulator sends
        # that to its stderr), before the traceback.
        if os.getenv("MTGW_MEM_MAP"):
            micropython.mem_info(1)
        else:
            micropython.mem_info()
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
