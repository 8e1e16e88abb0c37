"""Power cuts against the outbox: tools/sim.py killed with SIGKILL at random points while a
mail is written to the queue and while the queue is delivered, round after round; then every
mail the modem answered OK for must have arrived, whole and byte for byte, each at most once
more per cut and then with the same Message-ID (docs/outbox.md).

    .venv/bin/python tools/outbox_kill.py [--rounds 200] [--seed N] [--runtime micropython]

host_tests/test_outbox_kill.py runs a bounded loop of it; larger loops are for this script.
"""

import argparse
import email
import email.policy
import hashlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIM = os.path.join(ROOT, "tools", "sim.py")
OK = b"\r\nOK\r\n"
WAIT = b"\r\nOk_Info_WaitingForData\r\n"
END = b"\r\n.\r\n"


class Sink:
    """aiosmtpd on loopback that lives across the simulator's deaths; it answers the final
    dot after a random short delay, so cuts also land between the server's 250 and the
    removal of the mail from the queue."""

    def __init__(self, rng):
        from aiosmtpd.controller import Controller

        self.rng = rng
        self.lock = threading.Lock()
        self.mails = []  # content of each accepted mail, in arrival order
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.ctl = Controller(self, hostname="127.0.0.1", port=self.port)
        self.ctl.start()

    async def handle_DATA(self, server, session, envelope):
        import asyncio

        with self.lock:
            delay = self.rng.random() * 0.02
        await asyncio.sleep(delay)
        with self.lock:
            self.mails.append(envelope.original_content)
        return "250 OK"

    def stop(self):
        self.ctl.stop()


def body(n, rng):
    """A mail body that carries its number and a digest of itself: a half or mixed mail can
    never pass for a whole one."""
    lines = [b"mail %05d" % n]
    size = rng.choice((200, 2000, 20000, 60000))
    while sum(len(x) + 2 for x in lines) < size:
        lines.append(b"%05d %s" % (n, os.urandom(24).hex().encode()))
    text = b"\r\n".join(lines)
    return text + b"\r\nsha1 " + hashlib.sha1(text).hexdigest().encode()


class Sim:
    def __init__(self, state, runtime, err):
        cmd = [sys.executable, SIM, "--state", state, "--no-smtp-sink", "--tcp", "127.0.0.1:0"]
        cmd += ["--runtime", runtime]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=err, start_new_session=True
        )
        port = None
        for line in self.proc.stdout:
            line = line.decode().strip()
            if line.startswith("serial: tcp://"):
                port = int(line.rsplit(":", 1)[1])
            if line == "ready":
                break
        if port is None:
            raise RuntimeError("simulator did not start")
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def ask(self, data, want, timeout=30):
        self.sock.sendall(data)
        return self.expect(want, timeout)

    def expect(self, want, timeout=30):
        deadline = time.monotonic() + timeout
        while want not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("waited for %r, got %r" % (want, self.buf[-200:]))
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                raise AssertionError("serial side closed, got %r" % self.buf[-200:])
            self.buf += data
        i = self.buf.find(want) + len(want)
        got, self.buf = self.buf[:i], self.buf[i:]
        return got

    def kill(self):
        os.killpg(self.proc.pid, signal.SIGKILL)  # the sim and a MicroPython child: a power cut
        self.proc.wait()
        self.sock.close()
        self.proc.stdout.close()

    def stop(self):
        self.sock.close()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(20)
        self.proc.stdout.close()


def run(rounds, seed, runtime, workdir, log=print):
    rng = random.Random(seed)
    state = os.path.join(workdir, "state")
    err = open(os.path.join(workdir, "stderr.txt"), "ab")
    sink = Sink(rng)
    try:
        s = Sim(state, runtime, err)
        for c in (
            b"ATE0",
            b"AT&W",
            b'AT#SMTPSERV="127.0.0.1"',
            b"AT#SMTPPORT=%d" % sink.port,
            b'AT#SENDERADDR="panel@example.com"',
            b'AT#REC1="ops@example.com"',
            b"AT#OUTBOXMAX=65536",
            b"AT#OUTBOX=1",
        ):
            s.ask(c + b"\r", OK)
        s.stop()
        sent = {}  # number -> body of every mail the host typed
        acked = set()  # numbers the modem answered OK for
        cuts = 0
        n = 0
        for _ in range(rounds):
            s = Sim(state, runtime, err)
            t_cut = time.monotonic() + rng.random() * 0.4
            try:
                while time.monotonic() < t_cut:
                    data = body(n, rng)
                    sent[n] = data
                    s.ask(b"AT#PUTMAIL\r", WAIT)
                    step = rng.choice((512, 4096, 65536))
                    for i in range(0, len(data), step):
                        s.sock.sendall(data[i : i + step])
                        if time.monotonic() >= t_cut:
                            break
                    else:
                        s.sock.sendall(END)
                        s.expect(OK, max(0.001, t_cut - time.monotonic() + 10))
                        acked.add(n)
                    n += 1
            except AssertionError:
                pass
            time.sleep(max(0.0, t_cut - time.monotonic()))
            s.kill()
            cuts += 1
        s = Sim(state, runtime, err)
        deadline = time.monotonic() + 120
        while True:
            out = s.ask(b"AT#VOUTBOX\r", OK)
            if out.split(b"\r\n")[1].startswith(b"#VOUTBOX: 0,0,") and b"#OUTBOX:" not in out:
                break
            assert time.monotonic() < deadline, out
            time.sleep(0.2)
        s.stop()
    finally:
        sink.stop()
        err.close()
    return check(sent, acked, sink.mails, cuts, log)


def check(sent, acked, mails, cuts, log):
    pol = email.policy.default
    seen = {}
    for content in mails:
        msg = email.message_from_bytes(content, policy=pol)
        got = msg.get_payload(decode=True).rstrip(b"\r\n")
        n = int(got[5:10])
        assert got == sent[n], "mail %d arrived damaged" % n
        seen.setdefault(n, []).append(msg["Message-ID"])
    lost = sorted(acked - set(seen))
    assert not lost, "accepted and lost: %r" % lost
    dups = sum(len(v) - 1 for v in seen.values())
    assert dups <= cuts, (dups, cuts)
    for n, ids in seen.items():
        assert len(set(ids)) == 1, "a duplicate of %d with another Message-ID" % n
    log(
        "%d cuts, %d mails typed, %d answered OK, %d arrived, %d duplicates, 0 lost, 0 damaged"
        % (cuts, len(sent), len(acked), len(seen), dups)
    )
    return cuts, len(sent), len(acked), len(seen), dups


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--runtime", choices=("cpython", "micropython"), default="cpython")
    a = ap.parse_args(argv)
    seed = a.seed if a.seed is not None else random.randrange(1 << 30)
    print("seed %d" % seed)
    work = tempfile.mkdtemp(prefix="mtgw-kill-")
    try:
        run(a.rounds, seed, a.runtime, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
