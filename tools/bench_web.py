"""Heap cost of the web pages (figures, not pass/fail): the firmware as .mpy in the MicroPython
unix port, 96wk heap (an ESP32 without PSRAM), with and without tools/sim.py --web.

Prints the heap in use after start-up without the pages, with the server listening (modem.web
and modem.portal loaded), and the peak while a phone loads the setup page, saves it and loads
the status page; 64-bit figures of the unix port and the 32-bit estimate (x0.64-0.71, measured in
docs/design.md). make bench runs it.
"""

import os
import re
import sys
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "tools"), os.path.join(ROOT, "firmware")]

from bench_mp import MPSim  # noqa: E402

HEAP = "96wk"


def peak(err):
    found = re.findall(r"peak=(\d+)", err)
    return max(int(x) for x in found) if found else 0


def web_figures():
    plain = MPSim(HEAP, report=True)
    try:
        base = plain.mem("started")
    finally:
        plain.stop()
    sim = MPSim(HEAP, "--web", "127.0.0.1:0", report=True)
    try:
        port = sim.web_port
        listening = sim.mem("web: serving on port %d (setup mode)" % port)
        get = "http://127.0.0.1:%d" % port
        t0 = time.monotonic()
        for _ in range(3):
            urllib.request.urlopen(get + "/setup", timeout=20).read()
            data = urllib.parse.urlencode({"SUBJ1": "bench", "SMTPPORT": "99999"}).encode()
            urllib.request.urlopen(get + "/save", data, timeout=20).read()
            urllib.request.urlopen(get + "/status", timeout=20).read()
        ms = (time.monotonic() - t0) * 1000 / 9
        time.sleep(0.2)
        top = peak(sim.stderr())
    finally:
        sim.stop()
    return base, listening, top, ms


def main():
    base, listening, top, ms = web_figures()
    print(
        "web pages, MicroPython unix port, heap %s (64-bit bytes; 32-bit est. x0.64-0.71):" % HEAP
    )
    for what, n in (
        ("after start-up, no pages", base),
        ("server listening (modem.web + modem.portal)", listening),
        ("peak while pages load", top),
    ):
        print("  %-46s %7d   32-bit ~%d-%d" % (what, n, n * 64 // 100, n * 71 // 100))
    print(
        "  %-46s %7d   32-bit ~%d-%d"
        % (
            "cost of the listening server",
            listening - base,
            (listening - base) * 64 // 100,
            (listening - base) * 71 // 100,
        )
    )
    print("  %-46s %7.0f ms" % ("one page (GET/POST), average", ms))
    return 0


if __name__ == "__main__":
    sys.exit(main())
