"""tools/sim.py --cellular as a user runs it: a subprocess, its TCP serial side, the simulated
SIM7080G behind the real driver, SMS files in STATE/sms-out and STATE/sms-in; the core on
CPython and in the MicroPython unix port (the simulated module runs beside it there)."""

import os
import time

import pytest

from test_sim import recv_until, sim  # noqa: F401  (sim: the fixture)

OK = b"\r\nOK\r\n"


def cmd(sock, line, timeout=10):
    sock.sendall(line + b"\r")
    return recv_until(sock, OK, timeout)


def registered(sock, timeout=20):
    """The module powers on (PWRKEY, boot) and registers: +CREG: 0,1 within timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cmd(sock, b"AT+CREG?") == b"\r\n+CREG: 0,1\r\n" + OK:
            return
        time.sleep(0.5)
    raise AssertionError("not registered")


@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
def test_cellular_sim_answers_from_the_module_and_sms_both_ways(sim, tmp_path, runtime):  # noqa: F811
    s = sim(
        "--tcp",
        "127.0.0.1:0",
        "--runtime",
        runtime,
        "--cellular",
        "--cell-sim",
        "pin",
        "--cell-apn",
        "m2m",
    )
    state = s.state
    assert s.info["cellular"] == "simulated SIM7080G (SIM pin, network home)"
    assert s.info["sms-in"] == os.path.join(state, "sms-in")
    with s.connect() as c:
        assert cmd(c, b"ATE0") == b"ATE0\r" + OK
        assert cmd(c, b"AT+CMEE=1") == OK
        deadline = time.monotonic() + 20
        while cmd(c, b"AT+CPIN?") != b"\r\n+CPIN: SIM PIN\r\n" + OK:
            assert time.monotonic() < deadline, "module did not start"
            time.sleep(0.5)
        assert cmd(c, b'AT+CPIN="1234"') == OK
        registered(c)
        assert cmd(c, b"AT+CIMI") == b"\r\n001010123456789\r\n" + OK
        c.sendall(b"AT#CONNECTIONSTART\r")
        assert recv_until(c, b"\r\n", 30) == b"\r\n#CME ERROR: 49155\r\n"
        assert cmd(c, b'AT#APNSERV="m2m"') == OK
        c.sendall(b"AT#CONNECTIONSTART\r")
        got = recv_until(c, b"Ok_Info_GprsActivation\r\n", 30)
        assert got.endswith(b"\r\n\r\nOk_Info_GprsActivation\r\n"), got
        assert cmd(c, b"AT+CMGF=1") == OK
        assert cmd(c, b"AT+CNMI=2,1,0,0,0") == OK
        c.sendall(b'AT+CMGS="+4917012345"\r')
        assert recv_until(c, b"> ") == b"\r\n> "
        c.sendall("Füllstand 12 %\x1a".encode("cp437"))
        assert recv_until(c, OK, 30) == b"\r\n+CMGS: 0\r\n" + OK
        path = os.path.join(state, "sms-out", "0001.txt")
        with open(path, "rb") as f:
            assert f.read().decode() == "+4917012345\nFüllstand 12 %"
        assert s.readline(5) == "sms: " + path
        assert cmd(c, b"AT#CONNECTIONSTOP") == OK
        with open(os.path.join(state, "sms-in", "in.tmp"), "wb") as f:
            f.write("+4930111\nStatus?\n".encode())
        os.rename(os.path.join(state, "sms-in", "in.tmp"), os.path.join(state, "sms-in", "1"))
        assert recv_until(c, b"\r\n", 10) == b'\r\n+CMTI: "SM",1\r\n'
        got = cmd(c, b"AT+CMGR=1")
        assert got.startswith(b'\r\n+CMGR: "REC UNREAD","+4930111","') and got.endswith(
            b"\r\nStatus?\r\n" + OK
        ), got
    # the received SMS is on flash (the state folder) and survives a restart
    assert s.stop() == 0
    s = sim("--tcp", "127.0.0.1:0", "--runtime", runtime, "--cellular", state=state)
    with s.connect() as c:
        assert cmd(c, b"ATE0") == b"ATE0\r" + OK
        assert cmd(c, b"AT+CMGF=1") == OK
        got = cmd(c, b'AT+CMGL="ALL"')
        assert got == b'\r\n+CMGL: 1,"REC READ","+4930111",\r\nStatus?\r\n' + OK, got
