"""deploy, config and repl without a board, or with a port that is no MicroPython REPL: a clear
message within seconds, before any password is asked (real pseudo terminals stand in)."""

import os
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = os.path.join(ROOT, "tools")


def tool(name, *args, stdin=None):
    t0 = time.monotonic()
    r = subprocess.run(
        [sys.executable, os.path.join(TOOLS, name), *args],
        capture_output=True,
        timeout=30,
        stdin=stdin if stdin is not None else subprocess.DEVNULL,
    )
    return r, time.monotonic() - t0


def test_no_board_at_the_port(tmp_path):
    missing = str(tmp_path / "ttyUSB9")
    for name, args in (
        ("deploy.py", ("--board", "esp32", "--port", missing)),
        ("config.py", ("--port", missing, "--wifi-ssid", "Net")),
        ("repl.py", ("--port", missing)),
    ):
        r, dt = tool(name, *args)
        assert r.returncode == 1, (name, r)
        assert b"no board at %s: nothing is connected there" % missing.encode() in r.stderr
        assert b"password" not in r.stdout + r.stderr
        assert dt < 10


def _responder(master, answer, stop):
    """The far side of a pseudo terminal: whatever comes in, `answer` goes out (or nothing)."""
    while not stop.is_set():
        try:
            data = os.read(master, 1024)
        except OSError:
            return
        if data and answer:
            os.write(master, answer)


def _pty(answer):
    import tty

    master, slave = os.openpty()
    tty.setraw(slave)
    stop = threading.Event()
    threading.Thread(target=_responder, args=(master, answer, stop), daemon=True).start()
    return master, slave, os.ttyname(slave), stop


def test_a_port_that_is_not_a_repl_fails_in_seconds():
    master, slave, path, stop = _pty(b"\r\nOK\r\n")  # a modem, not MicroPython
    try:
        r, dt = tool("config.py", "--port", path, "--wifi-ssid", "Net")
        assert r.returncode == 1
        assert b"answered no MicroPython prompt" in r.stderr
        assert b"password" not in r.stdout + r.stderr
        assert dt < 10
    finally:
        stop.set()
        os.close(slave)
        os.close(master)


def test_a_repl_passes_the_probe():
    sys.path.insert(0, TOOLS)
    from boardport import probe

    master, slave, path, stop = _pty(b"\r\nMicroPython v1.28.0\r\n>>> ")
    try:
        probe(path)  # no SystemExit
    finally:
        stop.set()
        os.close(slave)
        os.close(master)
