"""Open the board's REPL without stopping the modem (mpremote connect PORT resume repl).

    python tools/repl.py --port /dev/ttyUSB0

The modem keeps running: with LOG = "console" in board.py its log scrolls by. Ctrl-C stops the
modem (main.py hands the watchdog to a timer, so the REPL stays usable); Ctrl-D soft-resets and
main.py starts the modem again; Ctrl-] leaves mpremote.
"""

import argparse
import os
import shlex
import shutil
import subprocess
import sys


def mpremote_cmd(name="mpremote"):
    if name == "mpremote" and not shutil.which(name):
        return os.path.join(os.path.dirname(sys.executable), "mpremote")
    return name


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", required=True, help="serial device of the board's REPL")
    ap.add_argument("--dry-run", action="store_true", help="print the mpremote command only")
    ap.add_argument("--mpremote", default="mpremote")
    args = ap.parse_args(argv)
    argv = [args.mpremote, "connect", args.port, "resume", "repl"]
    if args.dry_run:
        print(shlex.join(argv))
        return 0
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from boardport import present

    present(args.port)  # the modem keeps running: no probe that would interrupt it
    argv[0] = mpremote_cmd(argv[0])
    return subprocess.call(argv)


if __name__ == "__main__":
    sys.exit(main())
