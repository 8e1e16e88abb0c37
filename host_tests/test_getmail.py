"""AT#GETMAIL end to end: serial bytes out of a real Dovecot POP3 (plain, STLS, POP3S) on
loopback, the streaming state machines chunk by chunk, and scripted servers for faults only."""

import asyncio
import binascii
import email
import email.policy
import grp
import hashlib
import itertools
import os
import poplib
import pwd
import random
import time
import tracemalloc

import pytest

from board import local_address
from harness import LoopPort, Session
from modem.getmail import BodyOnly, Stuffer
from modem.pop3 import MAX_LINE, DotDecoder, POP3Client, POP3Error
from mta import MAIL_GROUP, MAIL_USER, smtp_settings
from smtp_servers import HOST, fake_server, free_port, recording_proxy, silent

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")

OK = b"\r\nOK\r\n"
MAIL = b"\r\nOk_Info_Mail\r\n"
NOMAIL = b"\r\nOk_Info_NoMail\r\n"
WAIT = b"\r\nOk_Info_WaitingForData\r\n"
STARTED = b"\r\n" + local_address().encode() + b"\r\n\r\nOk_Info_GprsActivation\r\n"
END = b"\r\n.\r\n"


# Error numbers are written as docs/mail.md documents them, never as errors.POP3_*: a changed
# constant must fail here even when the generated command reference changed with it.
# 37990 connect, 37991 greeting, 37992 STLS/TLS, 37993 USER/PASS, 37994 STAT/RETR/DELE/QUIT,
# 37995 connection closed or reset, 37996 no answer within POP3TIMEOUT.


def cme(n):
    return b"\r\n#CME ERROR: %d\r\n" % n


def run(coro, limit_s=120):
    """Run one test's conversation; the outer limit turns a hang into a failure."""
    return asyncio.run(asyncio.wait_for(coro, limit_s))


# ------------------------------------------------------------------ reference forms
def serial_form(content):
    """What the host reads between Ok_Info_Mail and OK for message bytes `content` (CRLF
    lines, ending with CRLF): each line, one more "." when it starts with ".", then ".CRLF".
    Written line by line, independently of the firmware's chunked replace()."""
    assert content == b"" or content.endswith(b"\r\n")
    lines = content.split(b"\r\n")[:-1] if content else []
    return b"".join((b"." + x if x[:1] == b"." else x) + b"\r\n" for x in lines) + b".\r\n"


def host_read(out):
    """What a host does with the answer: the mail bytes between Ok_Info_Mail and the line
    ".", with the extra dots removed, and what followed the end marker."""
    assert out.startswith(MAIL), out[:100]
    lines = out[len(MAIL) :].split(b"\r\n")
    i = lines.index(b".")
    content = b"".join((x[1:] if x[:1] == b"." else x) + b"\r\n" for x in lines[:i])
    return content, b"\r\n".join(lines[i + 1 :])


def crlf(text):
    return text.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def body_part(content):
    i = content.find(b"\r\n\r\n")
    return content[i + 4 :] if i >= 0 else b""


# ------------------------------------------------------------------ the mailbox
_seq = itertools.count()


def drop(mta, data):
    """One mail straight into the Maildir, as a delivery agent does it (tmp/, then new/), with
    LF line ends as Maildir files have them; Dovecot serves them with CRLF."""
    name = "%d.M%05dP%d.modemtest" % (time.time(), next(_seq), os.getpid())
    tmp = mta.maildir / "tmp" / name
    tmp.write_bytes(data.replace(b"\r\n", b"\n"))
    os.chown(tmp, pwd.getpwnam(MAIL_USER).pw_uid, grp.getgrnam(MAIL_GROUP).gr_gid)
    tmp.chmod(0o600)
    os.rename(tmp, mta.maildir / "new" / name)


def pop3_count(mta):
    """How many mails Dovecot reports now (a fresh session of Python's poplib)."""
    p = poplib.POP3(mta.host, mta.pop3_port, timeout=10)
    try:
        p.user(mta.user)
        p.pass_(mta.password)
        return p.stat()[0]
    finally:
        p.quit()


async def configure(s, mta, port, sec=0, extra=(), ca=True):
    cmds = [
        b"ATE0",
        b'AT#POP3SERV="localhost"',
        b"AT#POP3PORT=%d" % port,
        b"AT#POP3SEC=%d" % sec,
        b'AT#POP3UN="%s"' % mta.user.encode(),
        b'AT#POP3PW="%s"' % mta.password.encode(),
    ] + list(extra)
    for c in cmds:
        echo = s.modem.profile["E"]  # ATE0 is echoed when echo was still on (a test may start)
        want = c + b"\r" + OK if echo else OK
        assert await s.cmd(c + b"\r") == want, c
    if ca:
        s.board.ca_path = mta.cafile
    assert await s.cmd(b"AT#CONNECTIONSTART\r") == STARTED


async def getmail(s, timeout=60):
    """AT#GETMAIL; everything the modem wrote until it waits for the next command."""
    s.port.send(b"AT#GETMAIL\r")
    await s.idle(timeout)
    return s.port.take()


MSG = (
    b"From: panel@test.example\r\nTo: alarm@test.example\r\nSubject: dots\r\n\r\n"
    b"line 1\r\n.\r\n..two\r\n.three\r\n\r\n. \r\nend\r\n"
)


# ------------------------------------------------------------------ against Dovecot
def test_empty_box_is_nomail(clean_mta):
    async def go():
        async with Session() as s:
            await configure(s, clean_mta, clean_mta.pop3_port)
            assert await getmail(s) == NOMAIL + OK
            assert await s.cmd(b"AT\r") == OK

    run(go())


def test_one_mail_exact_framing_then_gone(clean_mta):
    mta = clean_mta
    drop(mta, MSG)

    async def go():
        async with Session() as s:
            await configure(s, mta, mta.pop3_port)
            out = await getmail(s)
            assert out == (
                MAIL + b"From: panel@test.example\r\nTo: alarm@test.example\r\nSubject: dots\r\n"
                b"\r\nline 1\r\n..\r\n...two\r\n..three\r\n\r\n.. \r\nend\r\n.\r\n" + OK
            )
            assert out == MAIL + serial_form(MSG) + OK
            assert host_read(out) == (MSG, OK)
            # DELE then QUIT committed the deletion: the mail is not reported again.
            assert await getmail(s) == NOMAIL + OK

    run(go())
    assert mta.messages() == []


def test_header_mode_0_sends_the_body_only(clean_mta):
    mta = clean_mta
    drop(mta, MSG)
    drop(mta, b"Subject: no body\r\n")  # a header without an empty line: an empty body
    drop(mta, b"\r\n.starts with a dot\r\n")  # an empty header

    async def go():
        async with Session() as s:
            await configure(s, mta, mta.pop3_port, extra=[b"AT#POP3HEADERMODE=0"])
            assert await s.cmd(b"AT#POP3HEADERMODE?\r") == b"\r\n#POP3HEADERMODE: 0\r\n" + OK
            outs = [await getmail(s) for _ in range(3)]
            assert sorted(outs) == sorted(
                [
                    MAIL + b"line 1\r\n..\r\n...two\r\n..three\r\n\r\n.. \r\nend\r\n.\r\n" + OK,
                    MAIL + b".\r\n" + OK,
                    MAIL + b"..starts with a dot\r\n.\r\n" + OK,
                ]
            )
            assert await getmail(s) == NOMAIL + OK

    run(go())


def test_two_mails_come_one_per_getmail(clean_mta):
    mta = clean_mta
    drop(mta, b"Subject: one\r\n\r\nfirst\r\n")
    drop(mta, b"Subject: two\r\n\r\nsecond\r\n")

    async def go():
        async with Session() as s:
            await configure(s, mta, mta.pop3_port)
            a = host_read(await getmail(s))
            assert pop3_count(mta) == 1
            b = host_read(await getmail(s))
            assert {a, b} == {
                (b"Subject: one\r\n\r\nfirst\r\n", OK),
                (b"Subject: two\r\n\r\nsecond\r\n", OK),
            }
            assert await getmail(s) == NOMAIL + OK

    run(go())


def test_atv0_and_echo(clean_mta):
    mta = clean_mta
    drop(mta, b"Subject: v0\r\n\r\n.x\r\n")

    async def go():
        async with Session() as s:
            await configure(s, mta, mta.pop3_port)
            assert await s.cmd(b"ATE1V0\r") == b"0\r"
            out = await getmail(s)
            assert out == b"AT#GETMAIL\r3073\rSubject: v0\r\n\r\n..x\r\n.\r\n0\r"
            assert await getmail(s) == b"AT#GETMAIL\r3072\r0\r"
            # An empty mail still ends with the whole CR LF . CR LF after "3073 CR".
            drop(mta, b"Subject: header only\r\n")
            assert await s.cmd(b"AT#POP3HEADERMODE=0\r") == b"AT#POP3HEADERMODE=0\r0\r"
            assert await getmail(s) == b"AT#GETMAIL\r3073\r\r\n.\r\n0\r"

    run(go())


FIRMWARE_FILES = tracemalloc.Filter(True, os.path.join(ROOT, "firmware", "*"))


class HashPort(LoopPort):
    """A serial port that hashes what the modem writes instead of keeping it (the test must not
    hold 2 MB either), keeps the last bytes for framing checks, and yields on every write like
    a UART that is slower than the network. While tracemalloc traces, every 50th write sums
    the memory held by objects that firmware code allocated (the host board's asyncio buffers
    are not the firmware's)."""

    def __init__(self):
        super().__init__()
        self.hash = hashlib.sha256()
        self.size = 0
        self.writes = 0
        self.biggest = 0
        self.held = 0

    async def write(self, data):
        self.hash.update(data)
        self.size += len(data)
        self.writes += 1
        self.biggest = max(self.biggest, len(data))
        self.out = (self.out + data)[-64:]
        if self.writes % 50 == 0 and tracemalloc.is_tracing():
            snap = tracemalloc.take_snapshot().filter_traces([FIRMWARE_FILES])
            self.held = max(self.held, sum(t.size for t in snap.traces))
        await asyncio.sleep(0)


def big_mail(size):
    """A mail of about `size` bytes: base64 lines, with lines that are a single dot, start with
    dots, or are empty spread through it."""
    rnd = random.Random(5)
    lines = [b"Subject: big\r\n", b"\r\n"]
    n = 2 * 16
    while n < size:
        r = rnd.random()
        if r < 0.02:
            line = b"."
        elif r < 0.05:
            line = b"." * rnd.randint(1, 4) + b"dotted"
        elif r < 0.07:
            line = b""
        else:
            line = binascii.b2a_base64(rnd.randbytes(57)).strip()
        lines.append(line + b"\r\n")
        n += len(line) + 2
    return b"".join(lines)


@pytest.mark.parametrize("mode", [1, 0])
def test_large_mail_streams_in_constant_memory(clean_mta, mode):
    mta = clean_mta
    content = big_mail(2 * 1024 * 1024)
    drop(mta, content)
    sent = content if mode else body_part(content)
    want = hashlib.sha256(b"AT#GETMAIL\r" + MAIL + serial_form(sent) + OK)

    async def go():
        s = Session()
        s.port = HashPort()
        async with s:
            await configure(s, mta, mta.pop3_port, extra=[b"AT#POP3HEADERMODE=%d" % mode])
            s.port.hash = hashlib.sha256(b"AT#GETMAIL\r")  # hash the answer from here on
            s.port.size = s.port.writes = s.port.biggest = 0
            tracemalloc.start()
            try:
                t0 = time.monotonic()
                await getmail(s, timeout=120)
                elapsed = time.monotonic() - t0
            finally:
                tracemalloc.stop()
            return elapsed, s.port

    elapsed, port = run(go())
    # The whole answer, byte for byte, in pieces of about one network read each.
    assert port.hash.hexdigest() == want.hexdigest()
    assert port.size == len(MAIL + serial_form(sent) + OK) and port.size > 1024 * 1024
    assert port.writes > 1000 and port.biggest <= 2048
    # 2 MB passed; what firmware code held at any sampled moment (modules included) is small.
    assert 0 < port.held < 64 * 1024, port.held
    assert elapsed < 60
    assert mta.messages() == []


def test_pop3s_and_stls_verify_the_certificate(clean_mta):
    mta = clean_mta

    async def go():
        async with Session() as s:
            await configure(s, mta, mta.pop3s_port, sec=2, ca=False)
            drop(mta, b"Subject: tls\r\n\r\nsecret\r\n")
            # The test CA is not trusted: the handshake fails, the mail stays.
            assert await getmail(s) == cme(37992)
            assert await s.cmd(b"AT#POP3SEC=1\r") == OK
            assert await s.cmd(b"AT#POP3PORT=%d\r" % mta.pop3_port) == OK
            assert await getmail(s) == cme(37992)
            assert pop3_count(mta) == 1
            s.board.ca_path = mta.cafile  # as AT#CACERT would install it
            assert await getmail(s) == MAIL + b"Subject: tls\r\n\r\nsecret\r\n.\r\n" + OK
            drop(mta, b"Subject: tls2\r\n\r\nover 995\r\n")
            assert await s.cmd(b"AT#POP3SEC=2\r") == OK
            assert await s.cmd(b"AT#POP3PORT=%d\r" % mta.pop3s_port) == OK
            assert await getmail(s) == MAIL + b"Subject: tls2\r\n\r\nover 995\r\n.\r\n" + OK
            # The name is checked against the certificate (localhost, 127.0.0.1 and
            # mail.test.example are in it): a name that resolves to the server but is not in
            # it fails, even with the CA.
            s.board.net.resolve = _resolve_to_loopback(s.board.net.resolve)
            drop(mta, b"Subject: tls3\r\n\r\nname\r\n")
            assert await s.cmd(b'AT#POP3SERV="other.test.example"\r') == OK
            assert await getmail(s) == cme(37992)
            assert await s.cmd(b'AT#POP3SERV="mail.test.example"\r') == OK
            assert await getmail(s) == MAIL + b"Subject: tls3\r\n\r\nname\r\n.\r\n" + OK
            drop(mta, b"Subject: tls4\r\n\r\nip\r\n")
            assert await s.cmd(b'AT#POP3SERV="127.0.0.1"\r') == OK
            assert await getmail(s) == MAIL + b"Subject: tls4\r\n\r\nip\r\n.\r\n" + OK
            assert await getmail(s) == NOMAIL + OK

    run(go())


def _resolve_to_loopback(resolve):
    async def r(host):
        if host.endswith(".test.example"):
            return "127.0.0.1"
        return await resolve(host)

    return r


def test_pop3verify_0_accepts_an_untrusted_certificate(clean_mta):
    mta = clean_mta
    drop(mta, b"Subject: unverified\r\n\r\nx\r\n")

    async def go():
        async with Session() as s:
            await configure(s, mta, mta.pop3s_port, sec=2, ca=False, extra=[b"AT#POP3VERIFY=0"])
            assert await getmail(s) == MAIL + b"Subject: unverified\r\n\r\nx\r\n.\r\n" + OK

    run(go())


def test_what_travels_on_the_wire(clean_mta):
    """POP3SEC=0 stays plain although Dovecot offers STLS (security is never different from
    what was set); POP3SEC=1 sends STLS first, and no credential travels in clear."""
    mta = clean_mta
    drop(mta, b"Subject: p\r\n\r\nplain\r\n")
    drop(mta, b"Subject: s\r\n\r\nsecret\r\n")
    user = mta.user.encode()
    pw = mta.password.encode()

    async def go():
        async with recording_proxy(mta.pop3_port) as (port, tap):
            async with Session() as s:
                await configure(s, mta, port)
                assert host_read(await getmail(s))[1] == OK
                assert bytes(tap.up) == (
                    b"USER " + user + b"\r\nPASS " + pw + b"\r\nSTAT\r\nRETR 1\r\n"
                    b"DELE 1\r\nQUIT\r\n"
                )
                del tap.up[:]
                del tap.down[:]
                assert await s.cmd(b"AT#POP3SEC=1\r") == OK
                assert host_read(await getmail(s))[1] == OK
                assert bytes(tap.up).startswith(b"STLS\r\n")
                assert user not in tap.up and pw not in tap.up and b"secret" not in tap.down
                assert await getmail(s) == NOMAIL + OK

    run(go())


def test_wrong_password_keeps_the_mail(clean_mta):
    mta = clean_mta
    drop(mta, b"Subject: p\r\n\r\nx\r\n")

    async def go():
        logs = []
        async with Session(log=logs.append) as s:
            await configure(s, mta, mta.pop3_port)
            assert await s.cmd(b'AT#POP3PW="wrong-pw"\r') == OK
            assert await getmail(s) == cme(37993)
            assert await s.cmd(b'AT#POP3UN="nobody-here"\r') == OK
            assert await getmail(s) == cme(37993)
            assert await s.cmd(b"AT\r") == OK
            assert logs and not any("wrong-pw" in x for x in logs)
        assert await pop3_count_async(mta) == 1

    run(go())


def test_errors_before_any_transfer(clean_mta):
    mta = clean_mta

    async def go():
        async with Session() as s:
            await s.cmd(b"ATE0\r")
            assert await getmail(s) == cme(35867)  # no AT#CONNECTIONSTART yet
            await configure(s, mta, free_port())
            assert await getmail(s) == cme(37990)
            assert await s.cmd(b'AT#POP3SERV="no-such-host.invalid"\r') == OK
            assert await getmail(s) == cme(38027)
            assert await s.cmd(b'AT#POP3SERV=""\r') == OK
            assert await getmail(s) == cme(38027)
            # An SMTP server is not a POP3 server: its greeting is refused.
            assert await s.cmd(b'AT#POP3SERV="localhost"\r') == OK
            assert await s.cmd(b"AT#POP3PORT=%d\r" % mta.smtp_port) == OK
            assert await getmail(s) == cme(37991)
            assert await s.cmd(b"AT\r") == OK

    run(go())


def test_round_trip_putmail_postfix_getmail_dovecot(clean_mta):
    """A mail sent with AT#PUTMAIL (STARTTLS, AUTH) comes back with AT#GETMAIL (STLS)."""
    mta = clean_mta
    body = b"Tank 3 level low\r\n.\r\n..two dots\r\n.one dot\r\nPump 2 off = stopped\r\nend"

    async def go():
        async with Session() as s:
            await configure(s, mta, mta.pop3_port, sec=1)
            for c in [
                *smtp_settings(mta),
                b'AT#SENDERADDR="panel@test.example"',
                b'AT#REC1="%s"' % mta.address.encode(),
                b'AT#SUBJ1="Round trip"',
                b'AT#DOMAIN="panel.test.example"',
            ]:
                assert await s.cmd(c + b"\r") == OK, c
            # A lone "." line cannot be typed in PUTMAIL data (it is the end marker): send
            # ". " instead, and every other dotted line as it is.
            data = body.replace(b"\r\n.\r\n", b"\r\n. \r\n")
            assert await s.cmd(b"AT#PUTMAIL\r") == WAIT
            s.port.send(data + END)
            await s.idle(30)
            assert s.port.take() == OK
            await asyncio.get_running_loop().run_in_executor(None, mta.wait_for_mail, 1)
            out = await getmail(s)
            content, after = host_read(out)
            assert after == OK
            msg = email.message_from_bytes(content, policy=email.policy.default)
            assert msg["Subject"] == "Round trip"
            assert msg["From"] == "panel@test.example"
            assert msg.get_payload(decode=True) == data + b"\r\n"
            assert await getmail(s) == NOMAIL + OK

    run(go())


def test_connection_cut_by_the_network_keeps_the_mail_in_dovecot(clean_mta):
    """A real server, a real cut: a relay drops the connection after 100 kB of the mail. The
    host gets the end marker then the error; Dovecot still has the mail, and the next
    AT#GETMAIL delivers it whole."""
    mta = clean_mta
    content = big_mail(300 * 1024)
    drop(mta, content)

    async def go():
        async with cutting_proxy(mta.pop3_port, 100 * 1024) as port:
            async with Session() as s:
                await configure(s, mta, port)
                out = await getmail(s)
                assert out.startswith(MAIL)
                assert out.endswith(END + cme(37995))
                got = out[len(MAIL) : -len(cme(37995))]
                assert len(got) > 50 * 1024
                full = serial_form(content)
                # What arrived is the start of the mail; a partial last line is closed.
                assert got.endswith(END) and full.startswith(got[:-5])
                assert await pop3_count_async(mta) == 1
                assert await s.cmd(b"AT#POP3PORT=%d\r" % mta.pop3_port) == OK
                assert await getmail(s) == MAIL + full + OK
                assert await getmail(s) == NOMAIL + OK

    run(go())


async def pop3_count_async(mta):
    return await asyncio.get_running_loop().run_in_executor(None, pop3_count, mta)


class cutting_proxy:
    """A TCP relay to 127.0.0.1:port that closes both sides after `limit` bytes downstream."""

    def __init__(self, port, limit):
        self.port = port
        self.limit = limit
        self.server = None
        self.writers = []

    async def _on_client(self, creader, cwriter):
        sreader, swriter = await asyncio.open_connection(HOST, self.port)
        self.writers += [cwriter, swriter]

        async def up():
            try:
                while data := await creader.read(65536):
                    swriter.write(data)
                    await swriter.drain()
            except OSError:
                pass

        async def down():
            n = 0
            try:
                while data := await sreader.read(65536):
                    room = self.limit - n
                    cwriter.write(data[:room])
                    await cwriter.drain()
                    n += len(data)
                    if n >= self.limit:
                        break
            except OSError:
                pass
            cwriter.transport.abort()
            swriter.transport.abort()

        await asyncio.gather(up(), down())

    async def __aenter__(self):
        self.server = await asyncio.start_server(self._on_client, HOST, 0)
        return self.server.sockets[0].getsockname()[1]

    async def __aexit__(self, *exc):
        self.server.close()
        for w in self.writers:
            w.transport.abort()


# ------------------------------------------------------------------ scripted faults
class FakePOP3:
    """A POP3 server with one message, scripted to fail where a real server cannot be made
    to: cut the message after `cut` bytes of its wire form (then close, or stall when
    `stall`), or answer one command with `replies[verb]`. Deletion commits at QUIT only, as
    RFC 1939 6 says; `sessions` records the verbs of each connection."""

    def __init__(self, message, cut=None, stall=False, replies=None):
        self.message = message
        self.cut = cut
        self.stall = stall
        self.replies = dict(replies or {})
        self.deleted = False
        self.sessions = []

    def wire(self):
        return serial_form(self.message)

    async def serve(self, reader, writer):
        verbs = []
        self.sessions.append(verbs)
        marked = False
        writer.write(self.replies.pop("GREETING", b"+OK fake POP3 ready") + b"\r\n")
        await writer.drain()
        while True:
            line = await reader.readline()
            if not line:
                return
            verb = line.split()[0].upper().decode() if line.split() else ""
            verbs.append(verb)
            if verb in self.replies:
                writer.write(self.replies.pop(verb) + b"\r\n")
            elif verb == "STAT":
                n = 0 if self.deleted else 1
                writer.write(b"+OK %d %d\r\n" % (n, len(self.message) * n))
            elif verb == "RETR":
                data = b"+OK message follows\r\n" + self.wire()
                if self.cut is not None:
                    writer.write(data[: len(b"+OK message follows\r\n") + self.cut])
                    await writer.drain()
                    while self.stall:  # silent, but whatever the client sends counts
                        line = await reader.readline()
                        if not line:
                            break
                        verbs.append(line.split()[0].upper().decode())
                    writer.transport.abort()
                    return
                writer.write(data)
            elif verb == "DELE":
                marked = True
                writer.write(b"+OK marked\r\n")
            elif verb == "QUIT":
                self.deleted = self.deleted or marked
                writer.write(b"+OK bye\r\n")
                await writer.drain()
                writer.close()
                return
            else:
                writer.write(b"+OK\r\n")
            await writer.drain()


async def fake_setup(s, port, extra=()):
    assert await s.cmd(b"ATE0\r") == b"ATE0\r" + OK
    for c in [
        b'AT#POP3SERV="127.0.0.1"',
        b"AT#POP3PORT=%d" % port,
        b'AT#POP3UN="u"',
        b'AT#POP3PW="p"',
    ] + list(extra):
        assert await s.cmd(c + b"\r") == OK, c
    assert (await s.cmd(b"AT#CONNECTIONSTART\r")).endswith(b"\r\nOk_Info_GprsActivation\r\n")


LINES = b"".join(b"line %04d of the mail\r\n" % i for i in range(400))
FAKE_MSG = b"Subject: fake\r\n\r\n" + LINES.replace(b"line 0100", b".\r\nline 0100")


def test_drop_mid_message_end_marker_then_error_and_no_dele():
    fake = FakePOP3(FAKE_MSG)
    cut = fake.wire().index(b"line 0200") + 4  # within a line: "line" then nothing

    async def go():
        async with fake_server(fake.serve) as port:
            async with Session() as s:
                await fake_setup(s, port)
                fake.cut = cut
                out = await getmail(s)
                assert out == MAIL + fake.wire()[:cut] + END + cme(37995)
                assert fake.sessions[0] == ["USER", "PASS", "STAT", "RETR"]  # no DELE, no QUIT
                assert await s.cmd(b"AT\r") == OK
                # The second connection still sees the mail and gets it whole.
                fake.cut = None
                assert await getmail(s) == MAIL + fake.wire() + OK
                assert fake.sessions[1] == ["USER", "PASS", "STAT", "RETR", "DELE", "QUIT"]
                assert fake.deleted
                assert await getmail(s) == NOMAIL + OK

    run(go())


def test_drop_right_after_a_complete_line():
    fake = FakePOP3(FAKE_MSG)
    cut = fake.wire().index(b"line 0300")

    async def go():
        async with fake_server(fake.serve) as port:
            async with Session() as s:
                await fake_setup(s, port)
                fake.cut = cut
                out = await getmail(s)
                assert out == MAIL + fake.wire()[:cut] + b".\r\n" + cme(37995)
                assert not fake.deleted

    run(go())


def test_server_that_never_answers_times_out():
    async def go():
        async with fake_server(silent) as port:
            async with Session() as s:
                await fake_setup(s, port, [b"AT#POP3TIMEOUT=1"])
                t0 = time.monotonic()
                assert await getmail(s, timeout=10) == cme(37996)
                assert 0.9 < time.monotonic() - t0 < 5
                assert await s.cmd(b"AT\r") == OK

    run(go())


def test_server_that_stalls_mid_message_times_out_without_dele():
    fake = FakePOP3(FAKE_MSG, stall=True)
    cut = fake.wire().index(b"line 0050") + 2

    async def go():
        async with fake_server(fake.serve) as port:
            async with Session() as s:
                await fake_setup(s, port, [b"AT#POP3TIMEOUT=1"])
                fake.cut = cut
                out = await getmail(s, timeout=10)
                assert out == MAIL + fake.wire()[:cut] + END + cme(37996)
                assert "DELE" not in fake.sessions[0] and "QUIT" not in fake.sessions[0]
                assert await s.cmd(b"AT\r") == OK

    run(go())


@pytest.mark.parametrize(
    "verb, reply, sec, code",
    [
        ("GREETING", b"-ERR maildrop locked", 0, 37991),
        ("GREETING", b"220 mx.test ESMTP", 0, 37991),
        ("USER", b"-ERR no such user", 0, 37993),
        ("PASS", b"-ERR [AUTH] Authentication failed.", 0, 37993),
        ("STAT", b"-ERR broken", 0, 37994),
        ("STAT", b"+OK lots", 0, 37994),
        ("RETR", b"-ERR no such message", 0, 37994),
        ("STLS", b"-ERR not offered", 1, 37992),
        ("STLS", b"+OK begin TLS\r\n+OK injected", 1, 37992),
    ],
)
def test_refusals_before_the_mail(verb, reply, sec, code):
    fake = FakePOP3(FAKE_MSG, replies={verb: reply})

    async def go():
        async with fake_server(fake.serve) as port:
            async with Session() as s:
                await fake_setup(s, port, [b"AT#POP3SEC=%d" % sec])
                assert await getmail(s) == cme(code)
                assert "DELE" not in fake.sessions[0]
                assert await s.cmd(b"AT\r") == OK
        assert not fake.deleted

    run(go())


@pytest.mark.parametrize("verb", ["DELE", "QUIT"])
def test_refused_dele_or_quit_after_the_transfer(verb):
    """The host has the mail, but the server did not confirm its removal: the error after
    the end marker tells the host it may see this mail again."""
    fake = FakePOP3(FAKE_MSG, replies={verb: b"-ERR cannot"})

    async def go():
        async with fake_server(fake.serve) as port:
            async with Session() as s:
                await fake_setup(s, port)
                out = await getmail(s)
                assert out == MAIL + fake.wire() + cme(37994)
                assert not fake.deleted

    run(go())


def test_pop3timeout_parameter():
    async def go():
        async with Session() as s:
            assert await s.cmd(b"ATE0\r") == b"ATE0\r" + OK
            assert await s.cmd(b"AT#POP3TIMEOUT?\r") == b"\r\n#POP3TIMEOUT: 180\r\n" + OK
            assert await s.cmd(b"AT#POP3TIMEOUT=0\r") == cme(34882)
            assert await s.cmd(b"AT#POP3TIMEOUT=601\r") == cme(34882)
            assert await s.cmd(b"AT#POP3TIMEOUT=30\r") == OK
            assert await s.cmd(b"AT#VPOP3\r") == (
                b'\r\n#POP3HEADERMODE: 1\r\n#POP3PORT: 110\r\n#POP3PW: ""\r\n#POP3SEC: 0\r\n'
                b'#POP3SERV: ""\r\n#POP3TIMEOUT: 30\r\n#POP3UN: ""\r\n#POP3VERIFY: 1\r\n' + OK
            )

    run(go())


# ------------------------------------------------------------------ the state machines
def decode_all(chunks):
    dec = DotDecoder()
    out = []
    for k, c in enumerate(chunks):
        content, rest = dec.feed(c)
        out.append(content)
        if rest is not None:
            return b"".join(out), rest + b"".join(chunks[k + 1 :])
    return b"".join(out), None


DECODER_CASES = [
    (b".\r\n", b""),
    (b"a\r\n.\r\n", b"a\r\n"),
    (b"..\r\n.\r\n", b".\r\n"),
    (b"...\r\n..x\r\n.\r\nNEXT", b"..\r\n.x\r\n"),
    (b"\r\n\r\n.\r\n", b"\r\n\r\n"),
    (b"a\r\n.. \r\n.\r\r\n.\r\n", b"a\r\n. \r\n\r\r\n"),
    (b"x.\r\n.y\r\n\r.\r\n.\r\n", b"x.\r\ny\r\n\r.\r\n"),  # "." after CR only: kept
    (b"a\r\n..\r\n..\r\n.\r\n+OK next", b"a\r\n.\r\n.\r\n"),
]


@pytest.mark.parametrize("wire, content", DECODER_CASES)
def test_dot_decoder_any_split(wire, content):
    """The same result however the bytes are split: every 2- and 3-way split, byte by byte."""
    whole = decode_all([wire])
    assert whole[0] == content
    rest = whole[1]
    assert rest is not None and wire.endswith(rest)
    n = len(wire)
    for i in range(n + 1):
        assert decode_all([wire[:i], wire[i:]]) == whole, i
        for j in range(i, n + 1):
            assert decode_all([wire[:i], wire[i:j], wire[j:]]) == whole, (i, j)
    assert decode_all([wire[i : i + 1] for i in range(n)]) == whole


def test_dot_decoder_random_against_poplib_rules():
    rnd = random.Random(7)
    alphabet = [b".", b"\r\n", b"\r", b"\n", b"a", b".."]
    for _ in range(300):
        lines = [
            b"".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 6))) for _ in range(8)
        ]
        lines = [x.replace(b"\r\n", b"").replace(b"\n", b"") for x in lines]  # no line ends
        content = b"".join(x + b"\r\n" for x in lines)
        wire = serial_form(content) + b"tail"
        cuts = sorted(rnd.sample(range(len(wire) + 1), 4))
        chunks = [wire[a:b] for a, b in zip([0] + cuts, cuts + [len(wire)])]
        assert decode_all(chunks) == (content, b"tail")


def test_dot_decoder_holds_back_at_most_4_bytes():
    dec = DotDecoder()
    got = b""
    for piece in [b"abc\r", b"\n", b".", b"\r", b"x" * 1000, b"\r\n..\r\n", b".\r"]:
        content, rest = dec.feed(piece)
        got += content
        assert rest is None
        assert len(dec._tail) <= 4
    assert got == b"abc\r\n\r" + b"x" * 1000 + b"\r\n."  # the line "..": "." so far
    assert dec.feed(b"\n") == (b"\r\n", b"")


def skip_all(chunks):
    b = BodyOnly()
    return b"".join(b.feed(c) for c in chunks)


@pytest.mark.parametrize(
    "message, body",
    [
        (b"A: 1\r\nB: 2\r\n\r\nbody\r\n\r\nmore\r\n", b"body\r\n\r\nmore\r\n"),
        (b"\r\nbody only\r\n", b"body only\r\n"),
        (b"A: 1\r\n", b""),
        (b"A: 1\r\n\r\n", b""),
        (b"A: 1\n\nlf\n", b"lf\n"),
        (b"A: 1\r\n folded\r\n\r\n\r\n", b"\r\n"),
        (b"", b""),
    ],
)
def test_body_only_any_split(message, body):
    n = len(message)
    assert skip_all([message]) == body
    for i in range(n + 1):
        for j in range(i, n + 1):
            assert skip_all([message[:i], message[i:j], message[j:]]) == body, (i, j)
    assert skip_all([message[i : i + 1] for i in range(n)]) == body


def test_stuffer_any_split():
    content = b".a\r\nb\r\n.\r\n..\r\nc.\r\n\r\n.d\r\n"
    want = serial_form(content)
    for i in range(len(content) + 1):
        for j in range(i, len(content) + 1):
            st = Stuffer()
            parts = [content[:i], content[i:j], content[j:]]
            assert b"".join(st.feed(p) for p in parts) + st.end() == want, (i, j)
    st = Stuffer()
    assert st.feed(b"partial") + st.end() == b"partial\r\n.\r\n"
    assert Stuffer().end() == b".\r\n"


# ------------------------------------------------------------------ the client alone
class ScriptConn:
    """A Conn that replays server bytes in fixed pieces and records what the client wrote."""

    def __init__(self, data, piece=7):
        self.data = data
        self.piece = piece
        self.written = b""
        self.tls = None

    async def read(self, n):
        out = self.data[: min(n, self.piece)]
        self.data = self.data[len(out) :]
        return out

    async def write(self, data):
        self.written += data

    async def starttls(self, tls):
        self.tls = tls
        raise OSError("no TLS here")

    async def close(self):
        pass


def test_reply_lines_are_bounded_and_args_cannot_inject():
    async def go():
        conn = ScriptConn(b"+OK " + b"x" * 100000 + b"\r\n+OK\r\n", piece=512)
        c = POP3Client(conn, 5)
        text = await c.greet()
        assert len(text) <= MAX_LINE
        with pytest.raises(POP3Error) as e:
            await c.login("alarm\r\nDELE 1", "pw")
        assert e.value.code == 37993
        with pytest.raises(POP3Error) as e:
            await c.login("alarm", "pw\nDELE 1")
        assert e.value.code == 37993
        assert conn.written == b""
        # The injected-free client still works: the next line is the next reply.
        assert await c.dele(1) == b""
        assert conn.written == b"DELE 1\r\n"

    run(go())


def test_stls_refuses_plain_text_injected_after_its_ok():
    """CVE-2011-0411 pattern: bytes after the +OK to STLS came before the handshake."""

    async def go():
        conn = ScriptConn(b"+OK ready\r\n+OK begin TLS\r\n+OK injected\r\n", piece=100)
        c = POP3Client(conn, 5)
        await c.greet()
        with pytest.raises(POP3Error) as e:
            await c.stls(object())
        assert e.value.code == 37992 and "after STLS" in e.value.text
        assert conn.tls is None  # no handshake was attempted
        assert conn.written == b"STLS\r\n"

    run(go())


def test_client_streams_in_pieces_and_keeps_what_follows():
    async def go():
        wire = b"+OK 2 40\r\n+OK follows\r\n" + serial_form(MSG) + b"+OK marked\r\n+OK bye\r\n"
        conn = ScriptConn(wire, piece=5)
        c = POP3Client(conn, 5)
        assert await c.stat() == (2, 40)
        await c.retr(1)
        pieces = []

        async def sink(p):
            pieces.append(p)

        await c.read_message(sink)
        assert b"".join(pieces) == MSG and max(map(len, pieces)) <= 9
        await c.dele(1)
        await c.quit()
        assert conn.written == b"STAT\r\nRETR 1\r\nDELE 1\r\nQUIT\r\n"

    run(go())


# ------------------------------------------------------------------ MicroPython
MP_SCRIPT = r"""
import sys
sys.path.insert(0, FIRMWARE)
import asyncio, hashlib, binascii
from modem.pop3 import DotDecoder, open_session, POP3Error
from modem.getmail import BodyOnly, Stuffer

def dec(chunks):
    d = DotDecoder()
    out = b""
    for k in range(len(chunks)):
        content, rest = d.feed(chunks[k])
        out += content
        if rest is not None:
            return out, rest + b"".join(chunks[k + 1:])
    return out, None

for wire, want in DECODER:
    whole = dec([wire])
    splits = all(dec([wire[:i], wire[i:]]) == whole for i in range(len(wire) + 1))
    bytewise = dec([wire[i:i + 1] for i in range(len(wire))]) == whole
    print("DEC", whole[0] == want, splits, bytewise)

b = BodyOnly()
st = Stuffer()
print("BODY", b"".join([b.feed(MSG[i:i + 3]) for i in range(0, len(MSG), 3)]) == BODY)
print("STUFF", b"".join([st.feed(MSG[i:i + 2]) for i in range(0, len(MSG), 2)]) + st.end() == SER)

from mpnet import MPNet as Net  # the board's own network adapter

async def main():
    c = await open_session(Net(), "127.0.0.1", PORT, "NONE", None, USER, PASSWORD, 5)
    print("STAT", (await c.stat())[0])
    await c.retr(1)
    h = hashlib.sha256()
    st = Stuffer()
    async def sink(p):
        h.update(st.feed(p))
    await c.read_message(sink)
    h.update(st.end())
    print("HASH", binascii.hexlify(h.digest()).decode())
    await c.quit()
    await c.close()
    try:
        await open_session(Net(), "127.0.0.1", PORT, "NONE", None, USER, "wrong", 5)
    except POP3Error as e:
        print("WRONG", e.code == 37993, e.step)
    try:
        await open_session(Net(), "127.0.0.1", SILENT, "NONE", None, USER, PASSWORD, 0.3)
    except POP3Error as e:
        print("SILENT", e.code == 37996, e.step)

asyncio.run(main())
"""


@pytest.mark.skipif(not os.path.exists(MICROPYTHON), reason="no MicroPython unix port")
def test_same_code_under_micropython(clean_mta):
    mta = clean_mta
    content = big_mail(200 * 1024)
    drop(mta, content)

    async def main():
        async with fake_server(silent) as silent_port:
            head = (
                f"FIRMWARE = {os.path.join(ROOT, 'firmware')!r}\n"
                f"DECODER = {DECODER_CASES!r}\nMSG = {MSG!r}\nBODY = {body_part(MSG)!r}\n"
                f"SER = {serial_form(MSG)!r}\nPORT = {mta.pop3_port}\nSILENT = {silent_port}\n"
                f"USER = {mta.user!r}\nPASSWORD = {mta.password!r}\n"
            )
            proc = await asyncio.create_subprocess_exec(
                MICROPYTHON,
                "-c",
                head + MP_SCRIPT,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(proc.communicate(), 60)
            return proc.returncode, out.decode(), err.decode()

    rc, out, err = run(main())
    assert rc == 0, out + err
    lines = out.splitlines()
    assert [x for x in lines if x.startswith("DEC ")] == ["DEC True True True"] * len(
        DECODER_CASES
    )
    assert "BODY True" in lines and "STUFF True" in lines
    assert "STAT 1" in lines
    assert "HASH " + hashlib.sha256(serial_form(content)).hexdigest() in lines
    assert "WRONG True PASS" in lines
    assert "SILENT True GREETING" in lines
    assert pop3_count(mta) == 1  # RETR then QUIT without DELE: the mail is still there
