"""AT#PUTMAIL / AT#SENDMAILi end to end: serial bytes in, a real aiosmtpd server on loopback."""

import asyncio
import base64
import email
import email.policy
import os

import pytest

from board import local_address
from harness import Session
from smtp_servers import (
    PASSWORD,
    USER,
    Authenticator,
    DropInBody,
    Recorder,
    StopsReading,
    TLSMaterial,
    fake_server,
    free_port,
    greet_421,
    silent,
    smtp_server,
)

OK = b"\r\nOK\r\n"
WAIT = b"\r\nOk_Info_WaitingForData\r\n"
END = b"\r\n.\r\n"


def cme(n):
    return b"\r\n#CME ERROR: %d\r\n" % n


async def setup(s, port, extra=()):
    cmds = [
        b"ATE0",
        b'AT#SMTPSERV="127.0.0.1"',
        b"AT#SMTPPORT=%d" % port,
        b'AT#SENDERADDR="panel@example.com"',
        b'AT#SENDERNAME="Machine 245"',
        b'AT#REC1="ops@example.com"',
        b'AT#SUBJ1="Alarm"',
        b'AT#DOMAIN="panel.example.com"',
    ] + list(extra)
    for c in cmds:
        echo = s.modem.profile["E"]  # ATE0 is echoed when echo was still on (a test may start)
        want = c + b"\r" + OK if echo else OK
        assert await s.cmd(c + b"\r") == want, c
    started = b"\r\n" + local_address().encode() + b"\r\n\r\nOk_Info_GprsActivation\r\n"
    echo = b"AT#CONNECTIONSTART\r" if s.modem.profile["E"] else b""  # extra may hold ATE1
    assert await s.cmd(b"AT#CONNECTIONSTART\r") == echo + started


async def until(s, want, timeout=10):
    """Wait until the modem wrote `want` (exactly) and waits for input again."""
    out = b""
    for _ in range(int(timeout * 100)):
        out += s.port.take()
        if len(out) >= len(want) and s.port.waiting:
            break
        await asyncio.sleep(0.01)
    assert out == want, (out, want)


async def putmail(s, *chunks, want=OK):
    assert await s.cmd(b"AT#PUTMAIL\r") == WAIT
    for c in chunks:
        s.port.send(c)
        await asyncio.sleep(0)
    await until(s, want)


def parse(content):
    return email.message_from_bytes(content, policy=email.policy.default)


def body_of(msg):
    return msg.get_payload(decode=True)


def run(coro):
    return asyncio.run(coro)


# ------------------------------------------------------------------ the faithful path
def test_putmail_plain_text():
    async def go():
        rec = Recorder()
        async with smtp_server(rec) as port:
            async with Session() as s:
                await setup(s, port, [b'AT#CCREC1="boss@example.com"'])
                await putmail(s, b"Tank 3 level low\r\nPump 2 off", END)
                assert await s.cmd(b"AT\r") == OK
        (mail_from, _, rcpts, content, tls, auth) = rec.messages[0]
        assert mail_from == "panel@example.com"
        assert rcpts == ["ops@example.com", "boss@example.com"]
        msg = parse(content)
        assert b'\r\nFrom: "Machine 245" <panel@example.com>\r\n' in b"\r\n" + content
        assert msg["To"] == "ops@example.com"
        assert msg["Cc"] == "boss@example.com"
        assert msg["Subject"] == "Alarm"
        assert msg["Message-ID"].endswith("@example.com>")
        assert msg["Date"] and msg["MIME-Version"] == "1.0"
        assert body_of(msg) == b"Tank 3 level low\r\nPump 2 off\r\n"
        assert b"\r\n" in content and b"\n" not in content.replace(b"\r\n", b"")

    run(go())


def test_body_not_echoed_and_marker_split_across_reads():
    async def go():
        rec = Recorder()
        async with smtp_server(rec) as port:
            async with Session() as s:
                await setup(s, port)
                assert await s.cmd(b"ATE1\r") == OK  # echo applies from the next line
                assert await s.cmd(b"AT#PUTMAIL\r") == b"AT#PUTMAIL\r" + WAIT
                for piece in (b"line one\r\n", b"line two", b"\r\n.", b"\r"):
                    assert await s.cmd(piece) == b""
                    await asyncio.sleep(0.05)
                s.port.send(b"\n")
                await until(s, OK)
        assert body_of(parse(rec.messages[0][3])) == b"line one\r\nline two\r\n"

    run(go())


def test_bare_lf_and_bare_cr_lines_and_dots():
    async def go():
        rec = Recorder()
        async with smtp_server(rec) as port:
            async with Session() as s:
                await setup(s, port)
                await putmail(s, b"a\nb\rc\r\n.hidden\n..two\n.", END)
        content = rec.messages[0][3]
        assert body_of(parse(content)) == b"a\r\nb\r\nc\r\n.hidden\r\n..two\r\n.\r\n"

    run(go())


def test_empty_body_and_marker_first():
    async def go():
        rec = Recorder()
        async with smtp_server(rec) as port:
            async with Session() as s:
                await setup(s, port)
                await putmail(s, b".\r\n")
                await putmail(s, END)
        assert body_of(parse(rec.messages[0][3])) == b""
        assert body_of(parse(rec.messages[1][3])) == b""

    run(go())


def test_bytes_after_marker_are_the_next_command():
    async def go():
        rec = Recorder()
        async with smtp_server(rec) as port:
            async with Session() as s:
                await setup(s, port)
                await putmail(s, b"x" + END + b"AT+CMEE?\r", want=OK + b"\r\n+CMEE: 0\r\n" + OK)

    run(go())


def test_long_lines_and_8bit_arrive_exactly():
    async def go():
        rec = Recorder()
        long_line = bytes(range(32, 127)) * 60  # 5700 octets, '=' and '.' included
        eight = "Température élevée: 31 °C".encode()
        async with smtp_server(rec) as port:
            async with Session() as s:
                await setup(s, port)
                await putmail(s, long_line + b"\r\n" + eight + b"\r\ntrailing space \r\n", END)
        content = rec.messages[0][3]
        assert max(len(x) for x in content.split(b"\r\n")) <= 998
        # the CRLF before the end marker ends the last line (RFC 5321 4.1.1.4): the host's
        # own final CRLF therefore leaves one empty last line
        want = long_line + b"\r\n" + eight + b"\r\ntrailing space \r\n\r\n"
        assert body_of(parse(content)) == want

    run(go())


def test_non_ascii_subject_and_name_are_encoded():
    async def go():
        rec = Recorder()
        async with smtp_server(rec) as port:
            async with Session() as s:
                await setup(
                    s,
                    port,
                    [
                        'AT#SUBJ1="Überhitzung Kühlraum"'.encode(),
                        'AT#SENDERNAME="Station Zürich"'.encode(),
                    ],
                )
                await putmail(s, b"hot", END)
        content = rec.messages[0][3]
        assert max(content) < 128  # headers are 7-bit
        msg = parse(content)
        assert msg["Subject"] == "Überhitzung Kühlraum"
        assert msg["From"].addresses[0].display_name == "Station Zürich"

    run(go())


# ------------------------------------------------------------------ host headers
def _jpeg():
    return bytes([0xFF, 0xD8, 0xFF, 0xE0]) + os.urandom(3000) + bytes([0xFF, 0xD9])


def test_camera_multipart_with_bare_lf_arrives_intact():
    jpeg = _jpeg()
    b64 = base64.encodebytes(jpeg)  # 76-character lines ending with bare LF
    body = (
        b"Content-type: multipart/mixed; boundary=CAMBOUNDARY\n"
        b"\n"
        b"--CAMBOUNDARY\n"
        b"Content-type: text/plain\n"
        b"\n"
        b"Motion detected\n"
        b"--CAMBOUNDARY\n"
        b"Content-type: image/jpeg; name=snap.jpg\n"
        b"Content-Transfer-Encoding: base64\n"
        b'Content-Disposition: attachment; filename="snap.jpg"\n'
        b"\n" + b64 + b"--CAMBOUNDARY--\n"
    )

    async def go():
        rec = Recorder()
        async with smtp_server(rec) as port:
            async with Session() as s:
                await setup(s, port)
                chunks = [body[i : i + 100] for i in range(0, len(body), 100)]
                await putmail(s, *(chunks + [END]))
        msg = parse(rec.messages[0][3])
        assert msg["Subject"] == "Alarm" and msg["To"] == "ops@example.com"
        assert msg.get_content_type() == "multipart/mixed"
        assert len(msg.get_all("Content-Type")) == 1  # the host's replaced ours
        parts = list(msg.iter_attachments())
        assert len(parts) == 1 and parts[0].get_filename() == "snap.jpg"
        assert parts[0].get_payload(decode=True) == jpeg

    run(go())


def test_host_header_without_blank_line():
    async def go():
        rec = Recorder()
        async with smtp_server(rec) as port:
            async with Session() as s:
                await setup(s, port)
                await putmail(
                    s,
                    b"Content-Type: text/plain; charset=us-ascii\r\n"
                    b"X-Device: 42\r\nbody starts here\r\n",
                    END,
                )
        msg = parse(rec.messages[0][3])
        assert msg["X-Device"] == "42"
        assert msg.get_payload() == "body starts here\r\n\r\n"

    run(go())


def test_plain_text_that_looks_like_a_header_stays_body():
    async def go():
        rec = Recorder()
        async with smtp_server(rec) as port:
            async with Session() as s:
                await setup(s, port)
                await putmail(s, b"Alarm: zone 3 open\r\n", END)
                await putmail(s, b"\r\nSubject: not a header, host sent CRLF first\r\n", END)
        assert body_of(parse(rec.messages[0][3])) == b"Alarm: zone 3 open\r\n\r\n"
        m2 = parse(rec.messages[1][3])
        assert m2["Subject"] == "Alarm"
        assert body_of(m2) == b"Subject: not a header, host sent CRLF first\r\n\r\n"

    run(go())


# ------------------------------------------------------------------ errors, never wedged
def test_errors_before_data_mode():
    async def go():
        async with Session() as s:
            await s.cmd(b"ATE0\r")
            assert await s.cmd(b"AT#PUTMAIL\r") == cme(35867)  # no session
            await setup(s, free_port())
            assert await s.cmd(b"AT#PUTMAIL\r") == cme(37970)  # refused
            assert await s.cmd(b'AT#SMTPSERV="mail.nowhere.invalid"\r') == OK
            assert await s.cmd(b"AT#PUTMAIL\r") == cme(38027)
            assert await s.cmd(b'AT#REC1=""\r') == OK
            assert await s.cmd(b"AT#PUTMAIL\r") == cme(37981)
            assert await s.cmd(b'AT#REC1="not an address"\r') == OK
            assert await s.cmd(b"AT#PUTMAIL\r") == cme(37976)
            assert await s.cmd(b"AT\r") == OK

    run(go())


def test_greeting_421_and_silent_server():
    async def go():
        async with fake_server(greet_421) as port:
            async with Session() as s:
                await setup(s, port)
                assert await s.cmd(b"AT#PUTMAIL\r") == cme(37971)
        async with fake_server(silent) as port:
            async with Session() as s:
                await setup(s, port, [b"AT#SMTPTIMEOUT=1"])
                assert await s.cmd(b"AT#PUTMAIL\r") == cme(37964)  # after SMTPTIMEOUT
                assert await s.cmd(b"AT\r") == OK

    run(go())


def test_recipient_refusals():
    async def go():
        rec = Recorder(
            refuse={
                "bad@example.com": "550 5.1.1 no such user",
                "full@example.com": "452 4.2.2 mailbox full",
            }
        )
        async with smtp_server(rec) as port:
            async with Session() as s:
                await setup(s, port, [b'AT#REC1="ops@example.com,bad@example.com"'])
                await putmail(s, b"partly", END)  # delivered to the others: OK
                log = await s.cmd(b"AT#SMTPLOG\r")
                assert b'#SMTPLOG: "RCPT",550,' in log
                await s.cmd(b'AT#REC1="bad@example.com;full@example.com"\r')
                assert await s.cmd(b"AT#PUTMAIL\r") == cme(37976)
        assert rec.messages[0][2] == ["ops@example.com"]
        assert len(rec.messages) == 1

    run(go())


def test_auth_and_wrong_password():
    async def go():
        auth = Authenticator()
        rec = Recorder()
        async with smtp_server(rec, authenticator=auth) as port:
            async with Session() as s:
                await setup(
                    s,
                    port,
                    [b'AT#SMTPUN="%s"' % USER.encode(), b'AT#SMTPPW="%s"' % PASSWORD.encode()],
                )
                await putmail(s, b"with auth", END)
                await s.cmd(b'AT#SMTPPW="wrong"\r')
                assert await s.cmd(b"AT#PUTMAIL\r") == cme(37974)
                log = await s.cmd(b"AT#SMTPLOG\r")
                assert b'"AUTH",535' in log and b"wrong" not in log
                await s.cmd(b"AT#SMTPAUTH=0\r")  # AUTH off: the server takes it anyway
                await putmail(s, b"no auth", END)
        assert [m[5] for m in rec.messages] == [True, False]

    run(go())


@pytest.mark.parametrize("sec", [1, 2])
def test_starttls_and_implicit_tls_verify_certificates(tmp_path, sec):
    tlsm = TLSMaterial(tmp_path)

    async def go():
        rec = Recorder()
        if sec == 1:
            server = smtp_server(rec, tls_context=tlsm.server_context, require_starttls=True)
        else:
            server = smtp_server(rec, ssl_context=tlsm.server_context)
        async with server as port:
            async with Session() as s:
                await setup(s, port, [b'AT#SMTPSERV="localhost"', b"AT#SMTPSEC=%d" % sec])
                assert await s.cmd(b"AT#PUTMAIL\r") == cme(37973)  # unknown CA: refused
                s.board.ca_path = tlsm.cafile
                await putmail(s, b"secure", END)
                s.board.ca_path = None
                await s.cmd(b"AT#SMTPVERIFY=0\r")
                await putmail(s, b"unverified, knowingly", END)
        assert [m[4] for m in rec.messages] == [True, True]

    run(go())


def test_server_drops_mid_body_then_modem_recovers():
    async def go():
        drop = DropInBody(50000)
        async with fake_server(drop) as port:
            async with Session() as s:
                await setup(s, port)
                assert await s.cmd(b"AT#PUTMAIL\r") == WAIT
                s.port.send(b"x" * 200000)
                await asyncio.sleep(0.3)
                s.port.send(b"AT+CMEE?\r\nmore body" + END)
                await until(s, cme(37979))
                assert await s.cmd(b"AT\r") == OK

    run(go())


def test_server_stops_reading_mid_body():
    # A body write that has not completed within SMTPTIMEOUT fails the mail (RFC 5321
    # 4.5.3.2.5); the rest of the body is still read up to the marker, and the modem goes on.
    async def go():
        async with fake_server(StopsReading(1000)) as port:
            async with Session() as s:
                await setup(s, port, [b"AT#SMTPTIMEOUT=1"])
                assert await s.cmd(b"AT#PUTMAIL\r") == WAIT
                s.port.send((b"x" * 70 + b"\r\n") * 120000)  # 8.6 MB: more than the buffers
                s.port.send(b"AT+CMEE?\r\nmore body" + END)
                await until(s, cme(37964), timeout=30)
                log = await s.cmd(b"AT#SMTPLOG\r")
                assert await s.cmd(b"AT\r") == OK
        return log

    log = run(go()).split(b"\r\n")
    assert log[-5].startswith(b'#SMTPLOG: "DATA",354,"go ahead",'), log
    last = log[-4]
    assert last.startswith(b'#SMTPLOG: "BODY",0,"timeout",'), log
    assert int(last.rsplit(b",", 1)[1]) >= 1000  # never before SMTPTIMEOUT
    assert log[-3:] == [b"", b"OK", b""]


def test_serial_silence_aborts_and_nothing_is_sent():
    async def go():
        rec = Recorder()
        async with smtp_server(rec) as port:
            async with Session() as s:
                await setup(s, port, [b"AT#DATATIMEOUT=1"])
                assert await s.cmd(b"AT#PUTMAIL\r") == WAIT
                s.port.send(b"half a body")
                await asyncio.sleep(1.5)
                await until(s, cme(37980))
                assert await s.cmd(b"AT\r") == OK
        assert rec.messages == []

    run(go())


def test_sendmail_predefined():
    async def go():
        rec = Recorder()
        async with smtp_server(rec) as port:
            async with Session() as s:
                await setup(
                    s,
                    port,
                    [b'AT#REC2="two@example.com"', b'AT#SUBJ2="Two"', b'AT#BODY2="Door open"'],
                )
                assert await s.cmd(b"AT#SENDMAIL2\r") == OK
                assert await s.cmd(b"AT#SENDMAIL=1\r") == OK
                assert await s.cmd(b"AT#SENDMAIL=4\r") == cme(34882)
        m2 = parse(rec.messages[0][3])
        assert m2["To"] == "two@example.com" and m2["Subject"] == "Two"
        assert body_of(m2) == b"Door open\r\n"
        assert parse(rec.messages[1][3])["Subject"] == "Alarm"

    run(go())


def test_parameters_locked_while_mail_runs():
    async def go():
        rec = Recorder(data_delay_s=0)
        async with smtp_server(rec) as port:
            async with Session() as s:
                await setup(s, port)
                assert await s.cmd(b"AT#PUTMAIL\r") == WAIT
                assert s.modem.busy == {"smtp"}
                s.port.send(b"AT#SMTPPORT=1\r" + END)
                await until(s, OK)
                assert s.modem.busy == set()
        assert body_of(parse(rec.messages[0][3])) == b"AT#SMTPPORT=1\r\n\r\n"

    run(go())


def test_ca_certificate_installed_through_at_commands(tmp_path):
    tlsm = TLSMaterial(tmp_path)
    pem = open(tlsm.cafile, "rb").read().replace(b"\n", b"\r\n")

    async def go():
        rec = Recorder()
        async with smtp_server(rec, tls_context=tlsm.server_context, require_starttls=True) as p:
            async with Session(state_dir=str(tmp_path / "state")) as s:
                await setup(s, p, [b'AT#SMTPSERV="localhost"', b"AT#SMTPSEC=1"])
                assert await s.cmd(b"AT#CACERT?\r") == b"\r\n#CACERT: 0\r\n" + OK
                assert await s.cmd(b"AT#CACERT\rnot a certificate\x1a") == cme(34882)
                assert await s.cmd(b"AT#PUTMAIL\r") == cme(37973)
                assert await s.cmd(b"AT#CACERT\r" + pem + b"\x1a") == OK
                assert await s.cmd(b"AT#CACERT?\r") == b"\r\n#CACERT: 1\r\n" + OK
                await putmail(s, b"verified with the installed CA", END)
                assert await s.cmd(b'AT#CACERT=""\r') == OK
                assert await s.cmd(b"AT#PUTMAIL\r") == cme(37973)
        assert len(rec.messages) == 1

    run(go())


def test_command_ended_with_crlf_leaves_no_lf_in_the_body():
    # Hosts end commands with CR LF too: the LF must not become a blank first body line
    # (which would push a host's own header line into the body).
    async def go():
        rec = Recorder()
        async with smtp_server(rec) as port:
            async with Session() as s:
                await setup(s, port)
                assert await s.cmd(b"AT#PUTMAIL\r\n") == WAIT
                s.port.send(b"Content-Type: text/plain; charset=us-ascii\r\n\r\nhello" + END)
                await until(s, OK)
                s.port.send(b"AT#PUTMAIL\r")
                await asyncio.sleep(0.01)
                s.port.send(b"\nX-Device: 7\r\n\r\nsplit" + END)
                await until(s, WAIT + OK)
        raw = rec.messages[0][3]
        assert raw.count(b"Content-Type:") == 1
        assert b"\r\nContent-Type: text/plain; charset=us-ascii\r\n" in raw
        assert parse(raw).get_payload() == "hello\r\n"
        assert parse(rec.messages[1][3])["X-Device"] == "7"

    run(go())


def test_echo_leaves_before_a_slow_command_answers():
    async def go():
        async with fake_server(silent) as port:
            async with Session() as s:
                await setup(s, port, [b"AT#SMTPTIMEOUT=1", b"ATE1"])
                s.port.send(b"AT#PUTMAIL\r")
                await asyncio.sleep(0.3)  # the server says nothing: the modem waits for it
                assert s.port.take() == b"AT#PUTMAIL\r"
                await until(s, cme(37964))

    run(go())


# ------------------------------------------------------------------ #SMTPLOG, byte for byte
REFUSAL = b'550 5.1.1 "ops@example.com" is not known here; ' + b"x" * 60


async def refuses_every_recipient(reader, writer):
    """A scripted server: a RCPT refusal whose text holds quotes and runs past 80 characters
    (no real server can be told to answer that)."""
    writer.write(b"220 mx.test ESMTP\r\n")
    while True:
        line = await reader.readline()
        if not line:
            return
        verb = line[:4].upper()
        if verb == b"EHLO":
            writer.write(b"250-mx.test\r\n250 8BITMIME\r\n")
        elif verb == b"MAIL":
            writer.write(b"250 2.1.0 sender ok\r\n")
        elif verb == b"RCPT":
            writer.write(REFUSAL + b"\r\n")
        elif verb == b"QUIT":
            writer.write(b"221 2.0.0 bye\r\n")
        else:
            writer.write(b"500 what\r\n")
        await writer.drain()


class SteppingClock:
    """ticks_ms advances 1, 2, 3... ms per call: each step of the log gets its own duration."""

    def __init__(self):
        self.t = 0
        self.step = 0

    def ticks_ms(self):
        self.step += 1
        self.t += self.step
        return self.t

    def ticks_diff(self, a, b):
        return a - b

    def ticks_add(self, a, d):
        return a + d


def test_smtplog_exact_bytes():
    # docs/mail.md: #SMTPLOG: "<step>",<reply code>,"<first reply line>",<ms>, one line per
    # step; a " in the server's text becomes ', and the text is cut at 80 characters.
    async def go():
        async with fake_server(refuses_every_recipient) as port:
            async with Session() as s:
                await setup(s, port)
                s.board.clock = SteppingClock()
                assert await s.cmd(b"AT#PUTMAIL\r") == cme(37976)
                return await s.cmd(b"AT#SMTPLOG\r")

    text = b"5.1.1 'ops@example.com' is not known here; " + b"x" * 37
    assert len(text) == 80
    assert run(go()) == (
        b'\r\n#SMTPLOG: "DNS",0,"127.0.0.1",2\r\n'
        b'#SMTPLOG: "CONNECT",0,"",4\r\n'
        b'#SMTPLOG: "GREETING",220,"mx.test ESMTP",6\r\n'
        b'#SMTPLOG: "EHLO",250,"mx.test",8\r\n'
        b'#SMTPLOG: "MAIL",250,"2.1.0 sender ok",10\r\n'
        b'#SMTPLOG: "RCPT",550,"' + text + b'",12\r\n'
        b'#SMTPLOG: "QUIT",221,"2.0.0 bye",14\r\n' + OK
    )
