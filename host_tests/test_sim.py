"""The simulator as a user runs it: a real subprocess behind a real pty or TCP port."""

import os
import select
import signal
import smtplib
import socket
import stat
import subprocess
import sys
import termios
import threading
import time

import pytest
import serial  # pyserial (requirements.txt)

from modem.errors import NOT_ATTACHED, UNKNOWN_COMMAND

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIM = os.path.join(ROOT, "tools", "sim.py")
OK = b"\r\nOK\r\n"


class Sim:
    """A running tools/sim.py: its status lines, its serial side, its captured stderr."""

    def __init__(self, tmp_path, *args, state=None):
        self.state = str(state or tmp_path / "state")
        self.err_path = tmp_path / ("stderr-%d.txt" % time.monotonic_ns())
        self.err = open(self.err_path, "wb")
        cmd = [sys.executable, SIM, "--state", self.state, "--sink-port", "0", *args]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=self.err, cwd=str(tmp_path)
        )
        self.pending = b""  # stdout read but not yet split into lines
        self.lines = []
        self.info = {}
        try:
            while True:
                line = self.readline(10)
                key, _, value = line.partition(": ")
                self.info.setdefault(key, value)
                if line == "ready":
                    break
        except BaseException:
            self.proc.kill()
            self.stop()
            raise

    def readline(self, timeout=5):
        """One stdout line, waiting at most `timeout` seconds."""
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self.pending:
            left = deadline - time.monotonic()
            assert left > 0, "no status line within %ss: %r" % (timeout, self.lines)
            if select.select([fd], [], [], left)[0]:
                data = os.read(fd, 4096)
                assert data, "simulator exited: %r" % self.stderr()
                self.pending += data
        line, _, self.pending = self.pending.partition(b"\n")
        self.lines.append(line.decode())
        return self.lines[-1]

    def tcp_address(self):
        host, port = self.info["serial"][len("tcp://") :].rsplit(":", 1)
        return host, int(port)

    def connect(self):
        return socket.create_connection(self.tcp_address(), timeout=5)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(10)
        rest = self.pending + self.proc.stdout.read()
        self.lines.extend(rest.decode().splitlines())
        self.proc.stdout.close()
        self.err.close()
        return rc

    def stderr(self):
        return self.err_path.read_bytes()


@pytest.fixture
def sim(tmp_path):
    started = []

    def start(*args, **kw):
        s = Sim(tmp_path, *args, **kw)
        started.append(s)
        return s

    yield start
    codes = [s.stop() for s in started if s.proc.returncode is None]
    assert codes == [0] * len(codes)


@pytest.fixture
def tcp_sim(sim):
    return sim("--tcp", "127.0.0.1:0")


def recv_exact(sock, expected, timeout=5):
    """Read until `expected` arrived (or time is up); return exactly what was read."""
    got = b""
    deadline = time.monotonic() + timeout
    while len(got) < len(expected) and time.monotonic() < deadline:
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            data = sock.recv(4096)
        except socket.timeout:
            break
        if not data:
            break
        got += data
    return got


def quiet(sock, wait=0.2):
    """Nothing more arrives within `wait` seconds."""
    sock.settimeout(wait)
    try:
        return sock.recv(4096)
    except socket.timeout:
        return b""


def recv_until(sock, suffix, timeout=5):
    """Read until the data ends with `suffix` (or time is up); return all that was read."""
    got = b""
    deadline = time.monotonic() + timeout
    while not got.endswith(suffix) and time.monotonic() < deadline:
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            data = sock.recv(4096)
        except socket.timeout:
            break
        if not data:
            break
        got += data
    return got


def chat(sock, cmd, reply):
    sock.sendall(cmd)
    assert recv_exact(sock, cmd + reply) == cmd + reply


# ------------------------------------------------------------------ TCP


def test_status_lines(tcp_sim, tmp_path):
    s = tcp_sim
    keys = [line.partition(": ")[0] for line in s.lines]
    assert keys == ["state", "smtp-sink", "serial", "connect", "ready"]
    assert s.info["state"] == str(tmp_path / "state")
    host, port = s.tcp_address()
    assert host == "127.0.0.1" and port > 0
    term = os.path.join(ROOT, "tools", "term.py")
    assert s.info["connect"] == "%s %s 127.0.0.1:%d" % (sys.executable, term, port)
    sink_addr, arrow, sink_dir = s.info["smtp-sink"].partition(" -> ")
    assert arrow and sink_addr.startswith("127.0.0.1:")
    assert sink_dir == str(tmp_path / "state" / "mail")


def test_tcp_at(tcp_sim):
    with tcp_sim.connect() as c:
        chat(c, b"AT\r", OK)
        assert quiet(c) == b""


def test_tcp_second_connection_closed_without_output(tcp_sim):
    with tcp_sim.connect() as first:
        chat(first, b"AT\r", OK)
        with tcp_sim.connect() as second:
            second.settimeout(3)
            assert second.recv(100) == b""  # closed at once, not a byte sent
        chat(first, b"AT\r", OK)  # the first host is unaffected


def test_tcp_reconnect_same_modem(tcp_sim):
    with tcp_sim.connect() as c:
        c.sendall(b"AT#CONNECTIONSTART\r")
        head = b"AT#CONNECTIONSTART\r\r\n"
        tail = b"\r\n\r\nOk_Info_GprsActivation\r\n"
        got = recv_until(c, tail)
        assert got.startswith(head) and got.endswith(tail), got
        ip = got[len(head) : -len(tail)]
        assert len(ip.split(b".")) == 4, got
    # Unplugged and plugged in again: the modem (and its IP session) kept running.
    deadline = time.monotonic() + 5
    while True:
        with tcp_sim.connect() as c:
            c.sendall(b"AT#VSTATE\r")
            got = recv_exact(c, b'AT#VSTATE\r\r\n#STATE: "CONNECTED"\r\n' + OK)
        if got or time.monotonic() > deadline:
            break
        time.sleep(0.05)  # the old connection's close may not have been seen yet
    assert got == b'AT#VSTATE\r\r\n#STATE: "CONNECTED"\r\n' + OK


def test_fresh_state_points_at_sink(tcp_sim):
    sink_port = int(tcp_sim.info["smtp-sink"].split(" ")[0].rsplit(":", 1)[1])
    with tcp_sim.connect() as c:
        chat(c, b"AT#SMTPSERV?\r", b'\r\n#SMTPSERV: "127.0.0.1"\r\n' + OK)
        chat(c, b"AT#SMTPPORT?\r", b"\r\n#SMTPPORT: %d\r\n" % sink_port + OK)


def test_only_protocol_on_serial_side(tcp_sim):
    with tcp_sim.connect() as c:
        chat(c, b"AT#NOSUCH\r", b"\r\n#CME ERROR: %d\r\n" % UNKNOWN_COMMAND)
        assert quiet(c) == b""
        chat(c, b"AT\r", OK)
    assert b"NOSUCH" not in b"\n".join(line.encode() for line in tcp_sim.lines)


def test_power_cycle_keeps_settings_and_secrets(sim, tmp_path):
    first = sim("--tcp", "127.0.0.1:0")
    with first.connect() as c:
        chat(c, b'AT#SMTPSERV="mail.example.com"\r', OK)
        chat(c, b'AT#SENDERNAME="Machine 245"\r', OK)
        chat(c, b'AT#SMTPPW="secret"\r', OK)
    assert first.stop() == 0
    second = sim("--tcp", "127.0.0.1:0", state=first.state)
    with second.connect() as c:
        chat(c, b"AT#SMTPSERV?\r", b'\r\n#SMTPSERV: "mail.example.com"\r\n' + OK)
        c.sendall(b"AT#VSMTP\r")
        got = recv_until(c, OK)
        assert quiet(c) == b""
        assert got.startswith(b"AT#VSMTP\r\r\n") and got.endswith(b"\r\n" + OK)
        assert b'\r\n#SENDERNAME: "Machine 245"\r\n' in got
        assert b'\r\n#SMTPSERV: "mail.example.com"\r\n' in got
        assert b'\r\n#SMTPPW: "********"\r\n' in got
        assert b"secret" not in got
    assert second.stop() == 0
    for s in (first, second):
        assert b"serial: host connected" in s.stderr()  # logs go to stderr
        assert b"secret" not in s.stderr()
        assert "secret" not in "\n".join(s.lines)


# ------------------------------------------------------------------ pty


def test_pty(sim):
    s = sim()
    path = s.info["serial"]
    assert path.startswith("/dev/pts/")
    assert s.info["connect"] == "picocom -b 115200 --omap crcrlf " + path
    with serial.Serial(path, 115200, timeout=3) as p:
        p.write(b"AT\r")
        assert p.read(9) == b"AT\r" + OK
        p.write(b"ATE0\r")
        assert p.read(11) == b"ATE0\r" + OK
        p.write(b"AT\r")
        assert p.read(6) == OK
    # Closed and reopened: the same modem, echo still off.
    with serial.Serial(path, 115200, timeout=3) as p:
        p.write(b"AT#SMT")
        time.sleep(0.05)
        p.write(b"PPORT?\r")
        sink_port = s.info["smtp-sink"].split(" ")[0].rsplit(":", 1)[1].encode()
        want = b"\r\n#SMTPPORT: " + sink_port + b"\r\n" + OK
        assert p.read(len(want)) == want
        p.write(b"AT#NOSUCH\r")
        want = b"\r\n#CME ERROR: %d\r\n" % UNKNOWN_COMMAND
        assert p.read(len(want)) == want
        p.timeout = 0.2
        assert p.read(100) == b""


def test_pty_backpressure_never_drops(sim):
    """The host stops reading: the modem waits for room in the pty instead of dropping."""
    s = sim()
    n = 12000  # 108 kB of echo and OK; a Linux pty buffers about 20 kB each way
    with serial.Serial(s.info["serial"], 115200, timeout=5) as p:
        writer = threading.Thread(target=p.write, args=(b"AT\r" * n,))
        writer.start()
        time.sleep(0.3)  # let the modem fill the buffer and wait
        got = p.read(9 * n)
        writer.join(5)
    assert got == (b"AT\r" + OK) * n


def test_pty_link(sim, tmp_path):
    link = tmp_path / "ttyMODEM"
    s = sim("--link", str(link))
    assert os.readlink(link) == s.info["serial"]
    assert s.info["connect"] == "picocom -b 115200 --omap crcrlf " + str(link)
    fd = os.open(str(link), os.O_RDWR | os.O_NOCTTY)
    try:
        # A host that does not configure the port still gets a raw 8N1 line: no echo, no
        # CR/LF mapping, no output processing, no signals, no software flow control.
        iflag, oflag, cflag, lflag = termios.tcgetattr(fd)[:4]
        assert not iflag & (termios.ICRNL | termios.INLCR | termios.IGNCR | termios.IXON)
        assert not oflag & termios.OPOST
        assert cflag & termios.CSIZE == termios.CS8
        assert not cflag & (termios.PARENB | termios.CSTOPB)
        assert not lflag & (termios.ECHO | termios.ICANON | termios.ISIG)
        os.write(fd, b"AT\r")
        got = b""
        deadline = time.monotonic() + 5
        while len(got) < 9 and time.monotonic() < deadline:
            if select.select([fd], [], [], 0.1)[0]:
                got += os.read(fd, 100)
        assert got == b"AT\r" + OK
    finally:
        os.close(fd)
    assert s.stop() == 0
    assert not os.path.lexists(link)


# ------------------------------------------------------------------ SMTP sink


def test_sink_stores_exact_message(tcp_sim):
    addr, _, directory = tcp_sim.info["smtp-sink"].partition(" -> ")
    port = int(addr.rsplit(":", 1)[1])
    body = (
        b"From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\n"
        b"line one\r\n.dot line\r\n\xc3\xa9 8bit\r\n"
    )
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
        smtp.login("anyone", "anything")  # AUTH offered without TLS, any credentials pass
        smtp.sendmail("a@example.com", ["b@example.com"], body)
    line = tcp_sim.readline()
    assert line.startswith("mail: ")
    path = line[len("mail: ") :]
    assert os.path.dirname(path) == directory
    name = os.path.basename(path)
    assert name.startswith("0001-") and name.endswith(".eml")
    with open(path, "rb") as f:
        assert f.read() == body
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
        smtp.sendmail("a@example.com", ["c@example.com"], b"Subject: 2\r\n\r\ntwo\r\n")
    second = os.path.basename(tcp_sim.readline()[len("mail: ") :])
    assert second.startswith("0002-")
    assert sorted(os.listdir(directory)) == [name, second]


def test_sink_port_busy_falls_back(sim):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        taken = busy.getsockname()[1]
        s = sim("--tcp", "127.0.0.1:0", "--sink-port", str(taken))
        addr = s.info["smtp-sink"].split(" ")[0]
        port = int(addr.rsplit(":", 1)[1])
        assert port not in (0, taken)
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
            assert smtp.noop()[0] == 250


def test_no_sink(sim):
    s = sim("--tcp", "127.0.0.1:0", "--no-smtp-sink")
    assert "smtp-sink" not in s.info
    with s.connect() as c:
        chat(c, b"AT#SMTPSERV?\r", b'\r\n#SMTPSERV: ""\r\n' + OK)


def test_no_network(sim):
    s = sim("--tcp", "127.0.0.1:0", "--no-network")
    with s.connect() as c:
        chat(c, b"AT#CONNECTIONSTART\r", b"\r\n#CME ERROR: %d\r\n" % NOT_ATTACHED)


def test_sigint_with_host_connected(sim):
    s = sim("--tcp", "127.0.0.1:0")
    with s.connect() as c:
        chat(c, b"AT\r", OK)
        s.proc.send_signal(signal.SIGINT)
        assert s.proc.wait(5) == 0
        c.settimeout(3)
        assert c.recv(100) == b""  # the cable is gone
    assert s.stop() == 0


# ------------------------------------------------------------ end to end: the newcomer's mail


def test_newcomer_sends_a_mail_into_the_sink_over_the_pty(sim, tmp_path):
    """make run, open the pty, configure, AT#CONNECTIONSTART, AT#PUTMAIL: an .eml appears."""
    s = sim()
    with serial.Serial(s.info["serial"], 115200, timeout=5) as p:

        def cmd(line, want):
            p.write(line + b"\r")
            got = p.read(len(line) + 1 + len(want))
            assert got == line + b"\r" + want, got

        cmd(b'AT#SENDERADDR="panel@example.com"', OK)
        cmd(b'AT#REC1="ops@example.com"', OK)
        cmd(b'AT#SUBJ1="Alarm"', OK)
        p.write(b"AT#CONNECTIONSTART\r")
        tail = b"\r\nOk_Info_GprsActivation\r\n"
        got = b""
        while not got.endswith(tail):
            data = p.read(1)
            assert data, got
            got += data
        cmd(b"AT#PUTMAIL", b"\r\nOk_Info_WaitingForData\r\n")
        p.write(b"Tank 3 level low\r\n")
        time.sleep(0.3)  # hosts pause between chunks; the end marker arrives split
        p.write(b"\r\n.")
        time.sleep(0.3)
        p.write(b"\r\n")
        assert p.read(len(OK)) == OK
        cmd(b"AT", OK)
    line = s.readline(5)
    assert line.startswith("mail: "), line
    eml = open(line[len("mail: ") :], "rb").read()
    assert b"\r\nSubject: Alarm\r\n" in eml and b"\r\nTo: ops@example.com\r\n" in eml
    assert eml.endswith(b"\r\n\r\nTank 3 level low\r\n\r\n")


def test_settings_survive_restart_then_mail_goes_out(sim, tmp_path):
    s = sim("--tcp", "127.0.0.1:0")
    with s.connect() as c:
        for line in (
            b'AT#SENDERADDR="a@example.com"',
            b'AT#REC1="b@example.com"',
            b"AT#CONNECTIONSTART",
        ):
            c.sendall(line + b"\r")
            recv_until(c, b"\r\n", 5)
            quiet(c, 0.3)
    assert s.stop() == 0
    s2 = sim("--tcp", "127.0.0.1:0", state=s.state)
    with s2.connect() as c:
        c.sendall(b"ATE0\rAT#CONNECTIONSTART\r")
        assert recv_until(c, b"Ok_Info_GprsActivation\r\n").startswith(b"ATE0\r" + OK)
        c.sendall(b"AT#PUTMAIL\r")
        assert recv_exact(c, b"\r\nOk_Info_WaitingForData\r\n") == (
            b"\r\nOk_Info_WaitingForData\r\n"
        )
        c.sendall(b"after a power cycle\r\n.\r\n")
        assert recv_exact(c, OK) == OK
    assert s2.readline(5).startswith("mail: ")


def test_state_folder_is_private_and_locked(sim, tmp_path):
    s = sim("--tcp", "127.0.0.1:0")
    c = s.connect()
    c.sendall(b'ATE0\rAT#SMTPPW="secret"\r')
    deadline = time.monotonic() + 5
    got = b""
    while got.count(OK) < 2 and time.monotonic() < deadline:
        got += c.recv(100)
    c.close()
    state = tmp_path / "state"
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(state / "settings.json").st_mode) == 0o600
    # A second simulator on the same folder is refused, clearly, and the first goes on.
    r = subprocess.run(
        [sys.executable, SIM, "--state", str(state), "--tcp", "127.0.0.1:0", "--sink-port", "0"],
        capture_output=True,
        timeout=30,
    )
    assert r.returncode == 1
    assert b"is in use by another simulator (pid %d)" % s.proc.pid in r.stderr
    c = s.connect()
    c.sendall(b"AT\r")
    assert c.recv(100) == OK
    c.close()


def test_every_failure_is_logged_with_its_code(sim):
    s = sim("--tcp", "127.0.0.1:0", "--no-network")
    c = s.connect()
    c.sendall(b"ATE0\rAT#CONNECTIONSTART\r")
    deadline = time.monotonic() + 5
    got = b""
    while b"35865" not in got and time.monotonic() < deadline:
        got += c.recv(100)
    c.close()
    assert got == b"ATE0\r" + OK + b"\r\n#CME ERROR: 35865\r\n"
    time.sleep(0.2)
    err = s.stderr()
    assert b"session: no network" in err and b"answer: #CME ERROR: 35865" in err


def test_term_enter_sends_cr_lf_so_a_typed_mail_ends(tcp_sim):
    """tools/term.py as a person uses it: keys on a terminal (a pty), Enter is CR there."""
    host, port = tcp_sim.tcp_address()
    master, slave = os.openpty()
    p = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "tools", "term.py"), "%s:%d" % (host, port)],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    os.close(slave)
    out = b""

    def read_until(suffix, timeout=10):
        nonlocal out
        deadline = time.monotonic() + timeout
        while not out.endswith(suffix) and time.monotonic() < deadline:
            if select.select([p.stdout], [], [], 0.1)[0]:
                out += os.read(p.stdout.fileno(), 4096)
        return out

    try:
        assert b"connected" in p.stderr.readline()
        for keys, want in (
            (b"ATE0\r", b"ATE0\r" + OK),
            (b'AT#REC1="ops@example.com"\r', OK),
            (b'AT#SENDERADDR="panel@example.com"\r', OK),
            (b"AT#CONNECTIONSTART\r", b"Ok_Info_GprsActivation\r\n"),
            (b"AT#PUTMAIL\r", b"Ok_Info_WaitingForData\r\n"),
            (b"typed by hand\r.\r", OK),  # Enter . Enter: CR LF . CR LF on the line
        ):
            out = b""
            os.write(master, keys)
            assert read_until(want).endswith(want), out
        os.write(master, b"\x1d")
        assert p.wait(10) == 0
    finally:
        if p.poll() is None:
            p.kill()
        os.close(master)
