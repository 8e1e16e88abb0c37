"""Cellular latencies (figures, not pass/fail): the firmware core in-process with the simulated
SIM7080G at its real timing (scale 1: guard times 1 s, network answers as simcell.py models
them), the host's line in memory. How long a received SMS takes to reach the host as +CMTI
outside and during a data call, and how long the call stalls meanwhile (docs/cellular.md).
Run: .venv/bin/python tools/bench_cell.py"""

import asyncio
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [
    os.path.join(ROOT, "firmware"),
    os.path.join(ROOT, "boards", "host"),
    os.path.join(ROOT, "host_tests"),
]

from board import HostBoard  # noqa: E402
from cellboard import add_cell  # noqa: E402
from harness import Session  # noqa: E402


async def _until(s, want, limit_s=90):
    got = b""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s:
        got += s.port.take()
        if want in got:
            return time.monotonic()
        await asyncio.sleep(0.005)
    raise RuntimeError("%r never came" % want)


async def _stall(module, began, limit_s=90):
    """Seconds from the driver leaving data mode (PPP lets go of the UART, guard time, +++)
    until the module is back in it (ATO answered CONNECT)."""
    t0 = time.monotonic()
    left = False
    while time.monotonic() - t0 < limit_s:
        left = left or module.mode != "data"
        if began and left and module.mode == "data":
            return time.monotonic() - began[0]
        await asyncio.sleep(0.002)
    return None


def _record_escape(cell, began):
    escape = cell._escape

    async def timed():
        began.append(time.monotonic())
        await escape()

    cell._escape = timed


async def measure(ri, poll_ms=None):
    board = add_cell(HostBoard(uid=b"bench"), scale=1.0)
    m = board.module
    if not ri:
        m.ri = None
    if poll_ms is not None:
        board.cell.sms_poll_ms = poll_ms
    out = {}
    async with Session(board) as s:
        s.modem.link_poll_s = 0.02  # the host idle, its link watch at once (not the figure)
        board.start(s.modem.values)
        try:
            for _ in range(1500):
                await asyncio.sleep(0.01)
                if board.cell.reg == 1 and board.cell.oper:
                    break
            await s.cmd(b"AT+CNMI=2,1,0,0,0\r")
            t0 = time.monotonic()
            m.deliver("+4930111", "idle")
            out["idle"] = await _until(s, b'+CMTI: "SM",1') - t0
            got = await s.cmd(b"AT#CONNECTIONSTART\r")
            assert got.endswith(b"Ok_Info_GprsActivation\r\n"), got
            await asyncio.sleep(1)
            began = []
            _record_escape(board.cell, began)
            t0 = time.monotonic()
            stall = asyncio.create_task(_stall(m, began))
            m.deliver("+4930111", "in call")
            out["call"] = await _until(s, b'+CMTI: "SM",2') - t0
            out["stall"] = await stall
        finally:
            board.stop()
            board.cell._stop_reader()
    return out


def main():
    print("cellular, simulated SIM7080G at real timing, CPython %s" % sys.version.split()[0])
    a = asyncio.run(measure(ri=True))
    print("  SMS in, outside a call: +CMTI at the host after       %5.2f s" % a["idle"])
    print("  SMS in during a call, RI wired: +CMTI after           %5.2f s" % a["call"])
    print("  ... the call held meanwhile (guard, +++, guard .. ATO) %5.2f s" % a["stall"])
    b = asyncio.run(measure(ri=False, poll_ms=5000))
    print("  SMS in during a call, no RI, poll every 5 s: after    %5.2f s" % b["call"])
    print("    (at most the poll interval plus the stall; 60 s by default without RI)")


if __name__ == "__main__":
    main()
