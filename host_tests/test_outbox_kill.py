"""The outbox through tools/sim.py: power cuts (SIGKILL) while writing and delivering, on both
runtimes; an outage and recovery and a 1 MB mail under MicroPython with a board's heap."""

import contextlib
import os
import sys
import time

import pytest
from aiosmtpd.controller import Controller

from smtp_servers import Recorder, free_port
from test_micropython import (  # noqa: F401  (mp_sim: a fixture)
    BOARD_HEAPS,
    LINE,
    MICROPYTHON,
    OK,
    ask,
    mp_sim as mp_sim,
    parse,
)
from test_sim import ROOT, recv_exact, recv_until

sys.path.insert(0, os.path.join(ROOT, "tools"))
import outbox_kill  # noqa: E402

WAIT = b"\r\nOk_Info_WaitingForData\r\n"
END = b"\r\n.\r\n"


@pytest.mark.parametrize("runtime,rounds", [("cpython", 150), ("micropython", 25)])
def test_power_cuts_lose_nothing_and_damage_nothing(tmp_path, runtime, rounds):
    if runtime == "micropython":
        assert os.path.exists(MICROPYTHON), "requirements.txt installs the MicroPython unix port"
    cuts, typed, acked, arrived, dups = outbox_kill.run(rounds, 1234, runtime, str(tmp_path))
    assert cuts == rounds and acked > rounds // 2 and arrived >= acked


@contextlib.contextmanager
def smtp_server(rec, port):
    ctl = Controller(rec, hostname="127.0.0.1", port=port, server_hostname="mx.test")
    ctl.start()
    try:
        yield rec
    finally:
        ctl.stop()


def configure(c, port):
    ask(c, b"ATE0\r", b"ATE0\r" + OK)
    for line in (
        b'AT#SMTPSERV="127.0.0.1"',
        b"AT#SMTPPORT=%d" % port,
        b'AT#SENDERADDR="panel@example.com"',
        b'AT#REC1="ops@example.com"',
        b'AT#SUBJ1="Alarm"',
        b"AT#OUTBOXMAX=4096",
        b"AT#OUTBOX=1",
    ):
        ask(c, line + b"\r", OK)


def wait_empty(c, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        c.sendall(b"AT#VOUTBOX\r")
        out = recv_until(c, OK, 10)
        if b"#VOUTBOX: 0,0," in out:
            return
        assert time.monotonic() < deadline, out
        time.sleep(0.2)


def test_micropython_outage_and_recovery(mp_sim):
    """The server down while 100 mails are taken, then up: all arrive, in order, once."""
    port = free_port()
    s = mp_sim("--tcp", "127.0.0.1:0", "--no-smtp-sink")
    with s.connect() as c:
        configure(c, port)
        bodies = [b"mail %03d " % i + b"x" * (i * 13) for i in range(100)]
        for b in bodies:
            c.sendall(b"AT#PUTMAIL\r")
            assert recv_exact(c, WAIT, 10) == WAIT
            c.sendall(b + END)
            assert recv_exact(c, OK, 10) == OK
        with smtp_server(Recorder(), port) as rec:
            ask(c, b"AT#OUTBOXFLUSH\r", OK)
            wait_empty(c)
    got = [parse(m[3]).get_payload(decode=True) for m in rec.messages]
    assert got == [b + b"\r\n" for b in bodies]


# The board heaps; the 128 KB-of-bytes growth guard of test_micropython is for the direct path.
@pytest.mark.parametrize("heap", BOARD_HEAPS[:2])
def test_one_megabyte_through_the_outbox_within_board_heap(mp_sim, heap):
    body = LINE * (1024 * 1024 // len(LINE) + 1)
    s = mp_sim("--tcp", "127.0.0.1:0", "--no-network", heap=heap)
    port = free_port()
    with s.connect() as c:
        configure(c, port)
        c.sendall(b"AT#PUTMAIL\r")
        assert recv_exact(c, WAIT, 10) == WAIT, s.stderr()[-1500:]
        c.sendall(body[:-2] + END)
        assert recv_exact(c, OK, 120) == OK
        ask(c, b"AT\r", OK)
    s.stop()
    with smtp_server(Recorder(), port) as rec:
        s2 = mp_sim("--tcp", "127.0.0.1:0", heap=heap, state=s.state)
        with s2.connect() as c:
            wait_empty(c)
    head, _, got = rec.messages[0][3].partition(b"\r\n\r\n")
    assert b"\r\nSubject: Alarm\r\n" in head and got == body
