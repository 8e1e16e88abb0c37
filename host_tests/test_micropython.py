"""The firmware under MicroPython: tools/sim.py --runtime micropython, as a user runs it.

The core runs in the MicroPython unix port as .mpy files (build/unix, mpy-cross) with its GC
heap capped (--heap); the simulator relays its pty or TCP serial side to it. Exact transcripts,
the same bytes as the CPython runtime, AT#PUTMAIL to a real aiosmtpd (plain, AUTH, STARTTLS,
TLS), and a 1 MB mail within a board's free RAM.

Heaps: HEAP (160 KB, a Pico W's free RAM) for the functional tests; TLS_HEAP for TLS (see
there). On the unix port mbedtls takes its record buffers and handshake state (~28 KB a
connection) from libc, as an ESP32's takes them from the IDF heap; a Pico W's takes them from
the GC heap. BOARD_HEAPS for the caps. The unix port is 64-bit: its objects are up to twice a
32-bit board's (tools/bench_mp.py estimates a board's figure).
"""

import contextlib
import email
import email.policy
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
import serial  # pyserial (requirements.txt)
from aiosmtpd.controller import Controller

from modem.errors import NOT_ATTACHED, SMTP_AUTH, SMTP_TLS, TOO_LONG, UNKNOWN_COMMAND
from smtp_servers import PASSWORD, USER, Authenticator, Recorder, TLSMaterial, free_port
from test_sim import ROOT, SIM, Sim, chat, quiet, recv_exact, recv_until

MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
KB = 1024
# Heaps in 32-bit words ("w", as micropython -X heapsize takes it): 96wk gives this 64-bit port
# the same number of pointer-sized GC cells as a 32-bit board's 96 KB. Bytecode and string
# bytes do not double on 64-bit, so tools/bench_mp.py also reports the smallest heap in bytes.
HEAP = "160wk"
TLS_HEAP = "96wk"  # mbedtls allocates from libc on this port, as an ESP32's from the IDF heap
BOARD_HEAPS = [
    pytest.param("96wk", id="esp32-96k"),
    pytest.param("160wk", id="picow-160k"),
    # a guard against growth: 128 KB of bytes on 64-bit (the smallest that passes: ~122 KB,
    # make bench)
    pytest.param("128k", id="bytes-128k"),
]
OK = b"\r\nOK\r\n"
WAIT = b"\r\nOk_Info_WaitingForData\r\n"
LINE = b"2026-11-28 12:00:00 station 245 tank 3 level 071% pump 2 running ok\r\n"


def cme(n):
    return b"\r\n#CME ERROR: %d\r\n" % n


@pytest.fixture
def mp_sim(tmp_path):
    """Start simulators with the MicroPython runtime; each must stop cleanly (exit 0)."""
    assert os.path.exists(MICROPYTHON), "requirements.txt installs the MicroPython unix port"
    started = []

    def start(*args, heap=HEAP, runtime="micropython", state=None):
        s = Sim(tmp_path, "--runtime", runtime, "--heap", heap, *args, state=state)
        started.append(s)
        return s

    yield start
    codes = [s.stop() for s in started if s.proc.returncode is None]
    errors = [s.stderr().decode(errors="replace")[-2000:] for s in started]
    assert codes == [0] * len(codes), errors


@contextlib.contextmanager
def smtp_server(handler=None, **kw):
    """A real aiosmtpd in its own thread on 127.0.0.1; yields (port, handler)."""
    handler = handler or Recorder()
    port = free_port()
    kw.setdefault("auth_require_tls", False)
    ctl = Controller(handler, hostname="127.0.0.1", port=port, server_hostname="mx.test", **kw)
    ctl.start()
    try:
        yield port, handler
    finally:
        ctl.stop()


def local_address():
    """What AT#CONNECTIONSTART reports: the PC's address as boards/*/board.py find it."""
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def ask(c, data, want, timeout=5):
    """Echo off: send, then exactly `want` comes back."""
    c.sendall(data)
    got = recv_exact(c, want, timeout)
    assert got == want, (data, got)


def setup_mail(c, port, server="127.0.0.1", extra=()):
    """Echo off, a mail profile, the IP session up."""
    c.sendall(b"ATE0\r")
    assert recv_until(c, OK).endswith(b"ATE0\r" + OK) or quiet(c) == b""
    for line in [
        b'AT#SMTPSERV="%s"' % server.encode(),
        b"AT#SMTPPORT=%d" % port,
        b'AT#SENDERADDR="panel@example.com"',
        b'AT#REC1="ops@example.com"',
        b'AT#SUBJ1="Alarm"',
        *extra,
    ]:
        c.sendall(line + b"\r")
        assert recv_exact(c, OK) == OK, line
    c.sendall(b"AT#CONNECTIONSTART\r")
    tail = b"\r\n\r\nOk_Info_GprsActivation\r\n"
    assert recv_until(c, tail, 10).endswith(tail)


def putmail(c, body, want=OK, timeout=60):
    """AT#PUTMAIL, body, CR LF . CR LF: that CR LF ends the body's last line (RFC 5321)."""
    c.sendall(b"AT#PUTMAIL\r")
    assert recv_exact(c, WAIT, 20) == WAIT
    c.sendall(body + b"\r\n.\r\n")
    got = recv_exact(c, want, timeout)
    assert got == want, got
    assert quiet(c) == b""


def parse(content):
    return email.message_from_bytes(content, policy=email.policy.default)


# ------------------------------------------------------------------ the simulator


def test_status_lines_and_mpy_build(mp_sim):
    s = mp_sim("--tcp", "127.0.0.1:0")
    keys = [line.partition(": ")[0] for line in s.lines]
    assert keys == ["state", "runtime", "smtp-sink", "serial", "connect", "ready"]
    assert s.info["runtime"] == "micropython (heap %s)" % HEAP
    # The firmware is loaded as .mpy, as on a board (source would put the compiler's memory
    # into every heap figure): build/unix, the runner's only firmware path, holds no .py.
    build = os.path.join(ROOT, "build", "unix")
    found = [f for _, _, files in os.walk(build) for f in files]
    assert "modem.mpy" in found and "run.mpy" in found and "board.mpy" in found
    assert all(f.endswith(".mpy") for f in found), found


TRANSCRIPT = [
    (b"AT\r", b"AT\r" + OK),
    (b"ATE0\r", b"ATE0\r" + OK),
    (b"AT#SMTPPORT=587\r", OK),
    (b"AT#SMTPP", b""),  # a command split across reads
    (b"ORT?\r", b"\r\n#SMTPPORT: 587\r\n" + OK),
    (
        b"AT#VSMTP\r",
        b'\r\n#DATATIMEOUT: 50\r\n#DOMAIN: ""\r\n'
        b"#OUTBOX: 0\r\n#OUTBOXAGE: 168\r\n#OUTBOXMAX: 256\r\n"
        b'#SENDERADDR: ""\r\n#SENDERNAME: ""\r\n'
        b'#SMSMAIL: ""\r\n#SMTPAUTH: 1\r\n#SMTPPORT: 587\r\n#SMTPPW: ""\r\n#SMTPSEC: 0\r\n'
        b'#SMTPSERV: ""\r\n'
        b'#SMTPTIMEOUT: 180\r\n#SMTPUN: ""\r\n#SMTPVERIFY: 1\r\n' + OK,
    ),
    (b'AT#SMTPPW="hunter2"\r', OK),
    (b"AT#SMTPPW?\r", b'\r\n#SMTPPW: "********"\r\n' + OK),
    (b"AT#NOSUCH\r", cme(UNKNOWN_COMMAND)),
    (b'AT#SUBJ1="' + b"x" * 600 + b'"\r', cme(TOO_LONG)),
    (b"AT+CMEE?;+CREG?\r", b"\r\n+CMEE: 0\r\n+CREG: 0,1\r\n" + OK),
    (b"ATV0\r", b"0\r"),
    (b"AT+CSQ\r", b"+CSQ: 23,99\r\n0\r"),
    (b"AT#FOO\r", b"#CME ERROR: %d\r" % UNKNOWN_COMMAND),
    (b"ATV1\r", OK),
    (b"ATI3\r", b"\r\nmtgw-V01.00 Nov 28 2026 12:00:00\r\n" + OK),
    (b"AT#VSTATE\r", b'\r\n#STATE: "IDLE"\r\n' + OK),
]


def test_transcript_exact_bytes(mp_sim):
    s = mp_sim("--tcp", "127.0.0.1:0", "--no-smtp-sink")
    with s.connect() as c:
        for i, (data, want) in enumerate(TRANSCRIPT):
            c.sendall(data)
            got = recv_exact(c, want) if want else quiet(c, 0.3)
            assert got == want, (i, data, got)
        ip = local_address().encode()
        c.sendall(b"AT#CONNECTIONSTART\r")
        want = b"\r\n" + ip + b"\r\n\r\nOk_Info_GprsActivation\r\n"
        assert recv_exact(c, want) == want
        c.sendall(b"AT#VSTATE\r")
        assert (
            recv_exact(c, b'\r\n#STATE: "CONNECTED"\r\n' + OK)
            == b'\r\n#STATE: "CONNECTED"\r\n' + OK
        )
        c.sendall(b"AT#CONNECTIONSTOP\r")
        assert recv_exact(c, OK) == OK
        assert quiet(c) == b""
    assert b"hunter2" not in s.stderr()


SESSION = (
    b"AT\rATI0\rAT+CGMI\rAT+CGMM\rAT&V\rAT#VALL\rAT+IPR?\rAT+IFC=0,0\rAT+IFC?\r"
    b"AT#REC1ADD\ra@b.c\r\nd@e.f\x1aAT#REC1?\rAT#BODY1\rTank 3\r\nlow\x1aAT#BODY1?\r"
    b"AT#VMAIL1\rAT#TCPPORT=2,23\rAT#VTCP=2\rAT+WIND=12\rAT+CFUN=1\rAT#DISPLAYIP\r"
    b"AT#CACERT?\rATS0=2\rATS0?\rAT&W\rATZ\rATD123\rATE0\rAT\r"
)


def drain(sock, idle):
    """Everything that arrives until nothing has for `idle` seconds."""
    out = b""
    while True:
        data = quiet(sock, idle)
        if not data:
            return out
        out += data


def converse(sim):
    """SESSION sent line by line; every byte the modem answered."""
    out = b""
    with sim.connect() as c:
        for line in SESSION.split(b"\r")[:-1]:
            c.sendall(line + b"\r")
            out += drain(c, 0.1)
        out += drain(c, 1.0)
    return out


def test_same_bytes_as_cpython(mp_sim, tmp_path):
    """One conversation, both runtimes (each with fresh settings): the same bytes."""
    args = ("--tcp", "127.0.0.1:0", "--no-smtp-sink")
    mp = converse(mp_sim(*args, state=tmp_path / "mp"))
    cp = converse(mp_sim(*args, runtime="cpython", state=tmp_path / "cp"))
    assert b"\r\n#CACERT: 0\r\n" in mp and mp.endswith(b"\r\nNO CARRIER\r\nATE0\r" + OK + OK)
    assert mp == cp


def test_settings_and_identity_survive_power_cycle(mp_sim, tmp_path):
    first = mp_sim("--tcp", "127.0.0.1:0")
    with first.connect() as c:
        chat(c, b'AT#SMTPSERV="mail.example.com"\r', OK)
        c.sendall(b"AT+CGSN\r")
        imei = recv_until(c, OK)
    assert first.stop() == 0
    assert len(imei) == len(b"AT+CGSN\r\r\n" + b"1" * 15 + b"\r\n" + OK), imei
    second = mp_sim("--tcp", "127.0.0.1:0", state=first.state)
    with second.connect() as c:
        chat(c, b"AT#SMTPSERV?\r", b'\r\n#SMTPSERV: "mail.example.com"\r\n' + OK)
        chat(c, b"AT+CGSN\r", imei[len(b"AT+CGSN\r") :])
    assert os.path.exists(os.path.join(first.state, "settings.json"))


def test_no_network(mp_sim):
    s = mp_sim("--tcp", "127.0.0.1:0", "--no-network")
    with s.connect() as c:
        chat(c, b"AT#CONNECTIONSTART\r", cme(NOT_ATTACHED))


def test_pty_backpressure_never_drops(mp_sim):
    """The host stops reading: the relay and the modem wait for room, nothing is dropped."""
    s = mp_sim()
    n = 6000  # 54 kB of echo and OK; a Linux pty buffers about 20 kB each way
    with serial.Serial(s.info["serial"], 115200, timeout=20) as p:
        writer = threading.Thread(target=p.write, args=(b"AT\r" * n,))
        writer.start()
        time.sleep(0.5)  # let the modem fill the buffers and wait
        got = p.read(9 * n)
        writer.join(5)
    assert got == (b"AT\r" + OK) * n


def test_start_failure_is_reported(tmp_path):
    """Too small a heap to start: exit 1, MicroPython's traceback and one line on stderr."""
    r = subprocess.run(
        [sys.executable, SIM, "--runtime", "micropython", "--heap", "24k", "--tcp", "127.0.0.1:0"]
        + ["--state", str(tmp_path / "state"), "--sink-port", "0"],
        capture_output=True,
        timeout=60,
    )
    assert r.returncode == 1
    assert b"ready" not in r.stdout.splitlines()
    assert b"MemoryError" in r.stderr
    assert r.stderr.rstrip().endswith(b"sim: MicroPython did not start (exit code 1)")


# ------------------------------------------------------------------ AT#PUTMAIL, real servers


def test_putmail_plain(mp_sim):
    s = mp_sim("--tcp", "127.0.0.1:0")
    with smtp_server() as (port, rec), s.connect() as c:
        setup_mail(c, port)
        putmail(c, b"Tank 3 level low\r\n.dot line\r\ncaf\xc3\xa9 = 1")
        ask(c, b"AT\r", OK)
    (mail_from, _, rcpts, content, tls, auth) = rec.messages[0]
    assert (mail_from, rcpts, tls, auth) == (
        "panel@example.com",
        ["ops@example.com"],
        False,
        False,
    )
    msg = parse(content)
    assert msg["Subject"] == "Alarm" and msg["To"] == "ops@example.com"
    assert msg.get_payload(decode=True) == b"Tank 3 level low\r\n.dot line\r\ncaf\xc3\xa9 = 1\r\n"


def test_sms_as_mail_in_text_and_pdu_mode_then_a_restart(mp_sim):
    """An SMS-only host: no AT#CONNECTIONSTART; text (8859-1) and PDU SMS arrive as mail."""
    s = mp_sim("--tcp", "127.0.0.1:0")
    with smtp_server() as (port, rec), s.connect() as c:
        c.sendall(b"ATE0\r")
        assert recv_until(c, OK).endswith(b"ATE0\r" + OK)
        for line in [
            b'AT#SMTPSERV="127.0.0.1"',
            b"AT#SMTPPORT=%d" % port,
            b'AT#SENDERADDR="panel@example.com"',
            b'AT#SMSMAIL="{number}@sms.example.net"',
            b"AT+CMEE=1",
            b"AT+CMGF=1",
            b'AT+CSCS="8859-1"',
        ]:
            ask(c, line + b"\r", OK)
        ask(c, b'AT+CMGS="+4917012345"\r', b"\r\n> ")
        ask(c, b"T\xfcr offen\x1a", b"\r\n+CMGS: 0\r\n" + OK, timeout=30)
        ask(c, b"AT+CMGF=0\r", OK)
        ask(c, b"AT+CMGS=23\r", b"\r\n> ")
        hello = b"0011000B916407281553F80000AA0AE8329BFD4697D9EC37"
        ask(c, hello + b"\x1a", b"\r\n+CMGS: 1\r\n" + OK, timeout=30)
        ask(c, b"AT#VSTATE\r", b'\r\n#STATE: "IDLE"\r\n' + OK)
        ask(c, b"AT+CFUN=1,1\r", OK)  # a restart of the modem: echo on again (not &W-saved)
        want = b'AT#SMSMAIL?\r\r\n#SMSMAIL: "{number}@sms.example.net"\r\n' + OK
        ask(c, b"AT#SMSMAIL?\r", want)  # the stored settings kept
    first, second = [parse(m[3]) for m in rec.messages]
    assert [m[2] for m in rec.messages] == [
        ["4917012345@sms.example.net"],
        ["46708251358@sms.example.net"],
    ]
    assert first["Subject"] == "SMS to +4917012345"
    assert first.get_payload(decode=True) == "Tür offen\r\n".encode()
    assert second.get_payload(decode=True) == b"hellohello\r\n"


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_putmail_auth(mp_sim, mech):
    other = {"PLAIN": "LOGIN", "LOGIN": "PLAIN"}[mech]
    auth = Authenticator()
    s = mp_sim("--tcp", "127.0.0.1:0")
    with (
        smtp_server(authenticator=auth, auth_exclude_mechanism=[other]) as (port, rec),
        s.connect() as c,
    ):
        setup_mail(
            c,
            port,
            extra=[b'AT#SMTPUN="%s"' % USER.encode(), b'AT#SMTPPW="%s"' % PASSWORD.encode()],
        )
        putmail(c, b"authenticated")
        ask(c, b'AT#SMTPPW="wrong"\r', OK)
        c.sendall(b"AT#PUTMAIL\r")
        assert recv_exact(c, cme(SMTP_AUTH), 20) == cme(SMTP_AUTH)
    assert auth.seen == [
        (mech, USER.encode(), PASSWORD.encode()),
        (mech, USER.encode(), b"wrong"),
    ]
    assert len(rec.messages) == 1 and rec.messages[0][5] is True
    assert PASSWORD.encode() not in s.stderr()


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return TLSMaterial(tmp_path_factory.mktemp("tls"))


def test_putmail_starttls_with_cacert_command(mp_sim, tls):
    s = mp_sim("--tcp", "127.0.0.1:0", heap=TLS_HEAP)
    pem = open(tls.cafile, "rb").read()
    with smtp_server(tls_context=tls.server_context) as (port, rec), s.connect() as c:
        chat(c, b"ATE0\r", OK)
        c.sendall(b"AT#CACERT\r" + pem + b"\x1a")
        assert recv_exact(c, OK) == OK
        ask(c, b"AT#CACERT?\r", b"\r\n#CACERT: 1\r\n" + OK)
        setup_mail(c, port, "localhost", [b"AT#SMTPSEC=1"])
        putmail(c, b"over STARTTLS")
    assert rec.messages[0][4] is True  # the message came over TLS
    assert parse(rec.messages[0][3]).get_payload(decode=True) == b"over STARTTLS\r\n"


def test_putmail_starttls_with_cafile_option(mp_sim, tls):
    s = mp_sim("--tcp", "127.0.0.1:0", "--cafile", tls.cafile, heap=TLS_HEAP)
    with smtp_server(tls_context=tls.server_context) as (port, rec), s.connect() as c:
        setup_mail(c, port, "localhost", [b"AT#SMTPSEC=1"])
        putmail(c, b"CA from --cafile")
    assert rec.messages[0][4] is True


def test_putmail_implicit_tls(mp_sim, tls):
    s = mp_sim("--tcp", "127.0.0.1:0", "--cafile", tls.cafile, heap=TLS_HEAP)
    with smtp_server(ssl_context=tls.server_context) as (port, rec), s.connect() as c:
        setup_mail(c, port, "localhost", [b"AT#SMTPSEC=2"])
        putmail(c, b"implicit TLS")
    assert rec.messages[0][4] is True


def test_starttls_unknown_ca_is_refused(mp_sim, tls):
    """Verification is on: without the CA the handshake fails and nothing is sent."""
    s = mp_sim("--tcp", "127.0.0.1:0", heap=TLS_HEAP)
    with smtp_server(tls_context=tls.server_context) as (port, rec), s.connect() as c:
        setup_mail(c, port, "localhost", [b"AT#SMTPSEC=1"])
        c.sendall(b"AT#PUTMAIL\r")
        assert recv_exact(c, cme(SMTP_TLS), 20) == cme(SMTP_TLS)
        ask(c, b"AT\r", OK)
    assert rec.messages == []


# ------------------------------------------------------------------ a board's free RAM


@pytest.mark.parametrize("heap", BOARD_HEAPS)
def test_one_megabyte_putmail_within_board_heap(mp_sim, heap):
    """Plain SMTP, 1 MB of alarm-log lines, the GC heap capped at the board's free RAM."""
    body = LINE * (1024 * 1024 // len(LINE) + 1)
    s = mp_sim("--tcp", "127.0.0.1:0", heap=heap)
    with smtp_server() as (port, rec), s.connect() as c:
        setup_mail(c, port)
        putmail(c, body[:-2], timeout=120)
        ask(c, b"AT\r", OK)
    content = rec.messages[0][3]
    head, _, got = content.partition(b"\r\n\r\n")
    assert b"\r\nSubject: Alarm\r\n" in head
    assert got == body  # lines shorter than 76, nothing to escape: quoted-printable is identity
