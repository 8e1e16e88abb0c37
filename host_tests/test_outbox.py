"""The outbox (AT#OUTBOX=1, docs/outbox.md): mails accepted during an outage arrive later, in
order, once each, byte for byte; a full queue, refusals and dropped connections."""

import asyncio
import email
import email.policy
import os
import time

from aiosmtpd.controller import Controller

from harness import Session
from smtp_servers import Recorder, free_port

OK = b"\r\nOK\r\n"
WAIT = b"\r\nOk_Info_WaitingForData\r\n"
END = b"\r\n.\r\n"
FULL = b"\r\n#CME ERROR: 38070\r\n"


def body(i, size=300):
    """Plain ASCII lines under 76 characters: quoted-printable leaves them as they are."""
    line = b"mail %04d station 245 tank 3 level low pump 2 running\r\n" % i
    return (line * (size // len(line) + 1))[:size].rstrip(b"\r\n ")


class Server:
    """aiosmtpd on a fixed port that can be down and up again."""

    def __init__(self, handler=None):
        self.port = free_port()
        self.rec = handler or Recorder()
        self.ctl = None

    def up(self):
        self.ctl = Controller(self.rec, hostname="127.0.0.1", port=self.port)
        self.ctl.start()

    def down(self):
        if self.ctl is not None:
            self.ctl.stop()
            self.ctl = None


async def configure(s, port, extra=()):
    s.modem.link_poll_s = 0.05
    for c in [
        b"ATE0",
        b'AT#SMTPSERV="127.0.0.1"',
        b"AT#SMTPPORT=%d" % port,
        b'AT#SENDERADDR="panel@example.com"',
        b'AT#REC1="ops@example.com"',
        b'AT#SUBJ1="Alarm"',
        b"AT#OUTBOX=1",
        *extra,
    ]:
        got = await s.cmd(c + b"\r")
        assert got.endswith(OK) or got.endswith(b"Ok_Info_GprsActivation\r\n"), (c, got)


async def queue(s, data, want=OK):
    assert await s.cmd(b"AT#PUTMAIL\r") == WAIT
    assert await s.cmd(data + END) == want


async def until(cond, timeout=30):
    for _ in range(int(timeout * 50)):
        if cond():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


def parse(content):
    return email.message_from_bytes(content, policy=email.policy.default)


def body_of(content):
    return content.partition(b"\r\n\r\n")[2]


def voutbox(out):
    """The #VOUTBOX summary as numbers: count, bytes, oldest age, next attempt."""
    line = out.split(b"\r\n")[1]
    assert line.startswith(b"#VOUTBOX: "), out
    return [int(x) for x in line[10:].split(b",")]


def test_outage_100_mails_arrive_in_order_once_and_identical(tmp_path):
    srv = Server()

    async def go():
        async with Session(state_dir=str(tmp_path), network=False) as s:
            await configure(s, srv.port)
            # The host's session cannot start during the outage: the mails are taken anyway.
            assert await s.cmd(b"AT#CONNECTIONSTART\r") == b"\r\n#CME ERROR: 35865\r\n"
            for i in range(100):
                await queue(s, body(i, 200 + 37 * i))
            n, size, _, nxt = voutbox(await s.cmd(b"AT#VOUTBOX\r"))
            assert (n, nxt) == (100, -1) and size > 100 * 200
            s.board.network = True  # the link is back, the server still down: retried later
            await until(lambda: s.modem.outq[1] >= 1)
            assert b'"retry"' in await s.cmd(b"AT#VOUTBOX\r")
            assert srv.rec.messages == []
            srv.up()
            assert await s.cmd(b"AT#OUTBOXFLUSH\r") == OK
            await until(lambda: len(srv.rec.messages) >= 100)
            await until(lambda: s.modem.sender is None)
            assert voutbox(await s.cmd(b"AT#VOUTBOX\r")) == [0, 0, 0, -1]

    try:
        asyncio.run(go())
    finally:
        srv.down()
    got = srv.rec.messages
    assert len(got) == 100
    ids = set()
    for i, (mail_from, _, rcpts, content, _, _) in enumerate(got):
        assert (mail_from, rcpts) == ("panel@example.com", ["ops@example.com"])
        assert body_of(content) == body(i, 200 + 37 * i) + b"\r\n"
        ids.add(parse(content)["Message-ID"])
    assert len(ids) == 100
    assert os.listdir(tmp_path / "outbox") == []


def test_content_matches_direct_delivery(tmp_path):
    """The queued mail is the bytes AT#PUTMAIL would have sent: 8-bit, dots, long lines."""
    srv = Server()
    srv.up()
    data = b"caf\xc3\xa9 = 1\r\n.leading dot\r\n" + b"x" * 300 + b"\r\nend  "

    async def go():
        async with Session(state_dir=str(tmp_path)) as s:
            await configure(s, srv.port, [b"AT#OUTBOX=0", b"AT#CONNECTIONSTART"])
            await queue(s, data)
            assert await s.cmd(b"AT#OUTBOX=1\r") == OK
            await queue(s, data)
            await until(lambda: len(srv.rec.messages) == 2)

    try:
        asyncio.run(go())
    finally:
        srv.down()
    a, b = (parse(m[3]) for m in srv.rec.messages)
    assert a.get_payload(decode=True) == b.get_payload(decode=True)
    assert a.get_payload(decode=True) == data + b"\r\n"
    strip = [k for k in a.keys() if k not in ("Message-ID", "Date")]
    assert [a[k] for k in strip] == [b[k] for k in strip]


def test_full_queue_answers_38070_and_keeps_what_it_holds(tmp_path):
    srv = Server()

    async def go():
        async with Session(state_dir=str(tmp_path), network=False) as s:
            await configure(s, srv.port, [b"AT#OUTBOXMAX=16"])
            held = 0
            while True:
                assert await s.cmd(b"AT#PUTMAIL\r") in (WAIT, FULL)
                got = await s.cmd(body(held, 3000) + END)
                if got == FULL:
                    break
                assert got == OK
                held += 1
            assert held == 4  # 16 KB hold four mails of ~3.4 KB, not five
            await queue(s, b"short")  # what still fits is taken
            assert await s.cmd(b"AT#OUTBOXMAX=15\r") == b"\r\n#CME ERROR: 34882\r\n"
            assert await s.cmd(b"AT#PUTMAIL\r") == WAIT
            assert await s.cmd(b"x" * 3000 + END) == FULL
            assert [n[-2:] for n in os.listdir(tmp_path / "outbox")] == [".m"] * (held + 1)
            assert sorted(os.listdir(tmp_path / "outbox"))[-1].endswith(".m")
            assert voutbox(await s.cmd(b"AT#VOUTBOX\r"))[0] == held + 1
            srv.up()
            s.board.network = True
            await until(lambda: len(srv.rec.messages) == held + 1)
            await until(lambda: s.modem.sender is None)
            await queue(s, body(99))  # room again
            await until(lambda: len(srv.rec.messages) == held + 2)
            return held

    try:
        held = asyncio.run(go())
    finally:
        srv.down()
    assert [body_of(m[3]) for m in srv.rec.messages] == [
        body(i, 3000) + b"\r\n" for i in range(held)
    ] + [b"short\r\n", body(99) + b"\r\n"]


def test_permanent_refusal_is_recorded_and_the_queue_goes_on(tmp_path):
    srv = Server(Recorder(refuse={"gone@example.com": "550 5.1.1 no such user"}))
    srv.up()

    async def go():
        async with Session(state_dir=str(tmp_path), network=False) as s:
            await configure(s, srv.port, [b'AT#REC1="gone@example.com"'])
            await queue(s, b"to nobody")
            assert await s.cmd(b'AT#REC1="ops@example.com"\r') == OK
            await queue(s, b"to ops")
            s.board.network = True
            await until(lambda: len(srv.rec.messages) == 1)
            await until(lambda: s.modem.sender is None)
            out = await s.cmd(b"AT#VOUTBOX\r")
            # age in seconds: 0, or 1 on a loaded machine
            size = os.path.getsize(tmp_path / "outbox" / "00000001-37976-550.b")
            assert out in [
                b'\r\n#VOUTBOX: 0,0,0,-1\r\n#OUTBOX: 1,%d,%d,0,37976,550,"failed"\r\n'
                % (size, age)
                + OK
                for age in (0, 1, 2)
            ], out
            assert await s.cmd(b"AT#OUTBOXCLEAR\r") == OK
            assert os.listdir(tmp_path / "outbox") == []

    try:
        asyncio.run(go())
    finally:
        srv.down()
    assert body_of(srv.rec.messages[0][3]) == b"to ops\r\n"
    assert srv.rec.rcpt_seen == ["gone@example.com", "ops@example.com"]


class DropOnce(Recorder):
    """Takes the whole mail, then drops the connection instead of answering the final dot."""

    dropped = 0

    async def handle_DATA(self, server, session, envelope):
        if not self.dropped:
            self.dropped += 1
            server.transport.abort()
            return "421 never sent"
        return await super().handle_DATA(server, session, envelope)


def test_server_drops_before_250_then_the_mail_is_sent_again(tmp_path):
    srv = Server(DropOnce())
    srv.up()

    async def go():
        async with Session(state_dir=str(tmp_path)) as s:
            await configure(s, srv.port)
            await queue(s, body(1))
            await until(lambda: s.modem.outq[1] == 1)
            out = await s.cmd(b"AT#VOUTBOX\r")
            assert b',1,37979,0,"retry"' in out, out  # SMTP_LOST, tried once
            assert voutbox(out)[3] > 5  # back-off: the next try in about 10 s
            assert await s.cmd(b"AT#OUTBOXFLUSH\r") == OK
            await until(lambda: len(srv.rec.messages) == 1)

    try:
        asyncio.run(go())
    finally:
        srv.down()
    assert srv.rec.dropped == 1 and body_of(srv.rec.messages[0][3]) == body(1) + b"\r\n"


def test_temporary_refusal_is_retried(tmp_path):
    rec = Recorder(refuse={"ops@example.com": "451 4.3.0 try later"})
    srv = Server(rec)
    srv.up()

    async def go():
        async with Session(state_dir=str(tmp_path)) as s:
            await configure(s, srv.port)
            await queue(s, b"greylisted")
            await until(lambda: s.modem.outq[1] == 1)
            assert b',1,37976,451,"retry"' in await s.cmd(b"AT#VOUTBOX\r")
            rec.refuse = {}
            assert await s.cmd(b"AT#OUTBOXFLUSH\r") == OK
            await until(lambda: len(rec.messages) == 1)

    try:
        asyncio.run(go())
    finally:
        srv.down()


def test_sms_and_sendmail_are_queued_without_a_link(tmp_path):
    srv = Server()
    srv.up()

    async def go():
        async with Session(state_dir=str(tmp_path), network=False) as s:
            await configure(
                s,
                srv.port,
                [b'AT#SMSMAIL="{number}@sms.example.net"', b"AT+CMGF=1", b'AT#BODY1="b1"'],
            )
            assert await s.cmd(b'AT+CMGS="+4917012345"\r') == b"\r\n> "
            assert await s.cmd(b"Alarm zone 3\x1a") == b"\r\n+CMGS: 0\r\n" + OK
            assert await s.cmd(b"AT#SENDMAIL1\r") == OK
            await asyncio.sleep(0.3)
            assert srv.rec.messages == []
            s.board.network = True
            await until(lambda: len(srv.rec.messages) == 2)

    try:
        asyncio.run(go())
    finally:
        srv.down()
    sms, mail = srv.rec.messages
    assert sms[2] == ["4917012345@sms.example.net"]
    assert parse(sms[3])["Subject"] == "SMS to +4917012345"
    assert b"Alarm zone 3" in sms[3]
    assert body_of(mail[3]) == b"b1\r\n"


def test_host_is_answered_at_once_while_a_mail_is_delivered(tmp_path):
    """The server sits 2 s on the final dot: AT and a parameter write answer meanwhile."""
    srv = Server(Recorder(data_delay_s=2))
    srv.up()

    async def go():
        async with Session(state_dir=str(tmp_path)) as s:
            await configure(s, srv.port)
            await queue(s, body(1, 50000))
            await until(lambda: s.modem.sender is not None)
            await asyncio.sleep(0.3)
            for c in (b"AT", b"AT#SMTPTIMEOUT=120", b"AT#VOUTBOX"):
                t0 = time.monotonic()
                out = await s.cmd(c + b"\r")
                assert out.endswith(OK) and time.monotonic() - t0 < 0.25, (c, out)
            assert s.modem.sender is not None and srv.rec.messages == []
            await until(lambda: len(srv.rec.messages) == 1)

    try:
        asyncio.run(go())
    finally:
        srv.down()


def test_queue_resumes_after_a_restart(tmp_path):
    srv = Server()
    srv.up()

    async def first():
        async with Session(state_dir=str(tmp_path), network=False) as s:
            await configure(s, srv.port)
            for i in range(3):
                await queue(s, body(i))

    async def second():
        async with Session(state_dir=str(tmp_path)) as s:
            s.modem.link_poll_s = 0.05
            await until(lambda: len(srv.rec.messages) == 3)

    try:
        asyncio.run(first())
        assert srv.rec.messages == []
        asyncio.run(second())
    finally:
        srv.down()
    assert [body_of(m[3]) for m in srv.rec.messages] == [body(i) + b"\r\n" for i in range(3)]


def test_a_host_service_stops_the_background_delivery(tmp_path):
    """AT#PUTMAIL with OUTBOX=0 while the outbox sends: the outbox lets go, the host's mail
    goes first, the queued one after it (sent again: same Message-ID)."""
    rec = Recorder(data_delay_s=1)
    srv = Server(rec)
    srv.up()

    async def go():
        async with Session(state_dir=str(tmp_path)) as s:
            await configure(s, srv.port, [b"AT#CONNECTIONSTART"])
            await queue(s, b"queued")
            await until(lambda: s.modem.sender is not None)
            assert await s.cmd(b"AT#OUTBOX=0\r") == OK
            await queue(s, b"direct")
            await until(lambda: len(rec.messages) >= 2)
            await until(lambda: s.modem.sender is None and s.modem.outq[0] is None)

    try:
        asyncio.run(go())
    finally:
        srv.down()
    bodies = [body_of(m[3]) for m in rec.messages]
    assert b"direct\r\n" in bodies and b"queued\r\n" in bodies
    ids = [parse(m[3])["Message-ID"] for m in rec.messages if body_of(m[3]) == b"queued\r\n"]
    assert len(set(ids)) == 1


def test_a_mail_older_than_outboxage_is_given_up_and_the_next_goes(tmp_path):
    """OUTBOXAGE=1: a mail that waited over an hour is recorded as expired (38071), never sent;
    the mail behind it is delivered."""
    srv = Server()
    srv.up()

    async def go():
        async with Session(state_dir=str(tmp_path), network=False) as s:
            await configure(s, srv.port, [b"AT#OUTBOXAGE=1"])
            await queue(s, b"stale alarm")
            later = time.time() + 3601
            s.board.utc = lambda: tuple(time.gmtime(later)[:7])  # an hour and a second on
            await queue(s, b"fresh alarm")
            s.board.network = True
            await until(lambda: len(srv.rec.messages) == 1)
            await until(lambda: s.modem.sender is None)
            out = await s.cmd(b"AT#VOUTBOX\r")
            lines = out.split(b"\r\n")
            assert lines[1].startswith(b"#VOUTBOX: 0,0,0,"), out
            assert lines[2].startswith(b"#OUTBOX: 1,") and lines[2].endswith(
                b',0,38071,0,"expired"'
            ), out
            age = int(lines[2].split(b",")[2])
            assert 3601 <= age <= 3700, out
            assert await s.cmd(b"AT#OUTBOXCLEAR\r") == OK
            assert voutbox(await s.cmd(b"AT#VOUTBOX\r")) == [0, 0, 0, -1]

    try:
        asyncio.run(go())
    finally:
        srv.down()
    assert [body_of(m[3]) for m in srv.rec.messages] == [b"fresh alarm\r\n"]
    assert os.listdir(tmp_path / "outbox") == []


async def _cut_mid_body(s, got, reader, writer):
    """An SMTP server whose link goes away in the middle of the body: it answers up to 354,
    takes 8 KB of the mail, then the board loses its link and the connection is reset."""
    writer.write(b"220 cut.example ESMTP\r\n")
    while True:
        line = await reader.readline()
        if not line:
            return
        verb = line[:4].upper()
        if verb in (b"EHLO", b"HELO"):
            writer.write(b"250 cut.example\r\n")
        elif verb == b"DATA":
            writer.write(b"354 go on\r\n")
            await writer.drain()
            got.append(await reader.readexactly(8192))
            s.board.network = False
            writer.transport.abort()
            return
        else:
            writer.write(b"250 OK\r\n")
        await writer.drain()


def test_a_link_lost_in_the_middle_of_the_body_keeps_the_mail_for_later(tmp_path):
    """The link drops while the body streams: the mail stays at the head of the queue, is
    sent whole once the link is back (to the corrected server), and arrives once."""
    srv = Server()
    srv.up()
    big = body(7, 60000)

    async def go():
        got = []
        async with Session(state_dir=str(tmp_path)) as s:
            cut = await asyncio.start_server(
                lambda r, w: _cut_mid_body(s, got, r, w), "127.0.0.1", 0
            )
            try:
                await configure(s, cut.sockets[0].getsockname()[1])
                await queue(s, big)
                await until(lambda: got and s.modem.sender is None)
                n, _, _, nxt = voutbox(await s.cmd(b"AT#VOUTBOX\r"))
                assert (n, nxt) == (1, -1)  # kept, waiting for the link
                assert srv.rec.messages == []
                assert await s.cmd(b"AT#SMTPPORT=%d\r" % srv.port) == OK
                s.board.network = True
                assert await s.cmd(b"AT#OUTBOXFLUSH\r") == OK
                await until(lambda: len(srv.rec.messages) == 1)
                await until(lambda: s.modem.sender is None)
                assert voutbox(await s.cmd(b"AT#VOUTBOX\r")) == [0, 0, 0, -1]
            finally:
                cut.close()
        assert len(got) == 1 and len(got[0]) == 8192

    try:
        asyncio.run(go())
    finally:
        srv.down()
    assert [body_of(m[3]) for m in srv.rec.messages] == [big + b"\r\n"]
    assert os.listdir(tmp_path / "outbox") == []
