"""SMS sent as e-mail (AT+CMGS with #SMSMAIL) through a real aiosmtpd server on loopback."""

import asyncio
import email
import email.policy

from harness import Session
from mta import smtp_settings
from smtp_servers import Recorder, fake_server, silent, smtp_server
from test_putmail import until
from modem import smspdu

OK = b"\r\nOK\r\n"
PROMPT = b"\r\n> "


def mr(n):
    return b"\r\n+CMGS: %d\r\n" % n + OK


def cms(n):
    return b"\r\n+CMS ERROR: %d\r\n" % n


async def setup(s, port, mode=1, extra=()):
    """An SMS-only host: SMTP settings stored by an installer, no AT#CONNECTIONSTART."""
    for c in [
        b"ATE0",
        b"AT+CMEE=1",
        b'AT#SMTPSERV="127.0.0.1"',
        b"AT#SMTPPORT=%d" % port,
        b'AT#SENDERADDR="panel@example.com"',
        b'AT#SMSMAIL="{number}@sms.example.net"',
        b"AT+CMGF=%d" % mode,
    ] + list(extra):
        got = await s.cmd(c + b"\r")
        assert got.endswith(OK), (c, got)


async def sms(s, head, body, want):
    assert await s.cmd(head) == PROMPT
    s.port.send(body)
    await until(s, want)


def parse(content):
    return email.message_from_bytes(content, policy=email.policy.default)


def text_of(msg):
    return msg.get_content().replace("\r\n", "\n")


def test_text_mode_sms_arrives_as_mail_without_a_session():
    rec = Recorder()

    async def go():
        async with smtp_server(rec) as port:
            async with Session() as s:
                await setup(s, port)
                # PCCP437 (the default character set): 0x84 is ä, 0x81 ü
                await sms(
                    s,
                    b'AT+CMGS="+4917012345"\r',
                    b"Alarm zone 3: T\x81r offen\rK\x84lte\x1a",
                    PROMPT + b"\r\n+CMGS: 0\r\n" + OK,  # a CR in the text: a new prompt
                )
                await sms(s, b'AT+CMGS="0301234",129\r', b"second\x1a", b"\r\n+CMGS: 1\r\n" + OK)
                # the IP session was never opened, and still is not
                assert await s.cmd(b"AT#VSTATE\r") == b'\r\n#STATE: "IDLE"\r\n' + OK
                log = await s.cmd(b"AT#SMTPLOG\r")
                assert b'#SMTPLOG: "END",250,"2.0.0 queued as 1234"' in log, log

    asyncio.run(go())
    assert len(rec.messages) == 2
    mail_from, _, rcpts, content, _, _ = rec.messages[0]
    assert mail_from == "panel@example.com"
    assert rcpts == ["4917012345@sms.example.net"]
    msg = parse(content)
    assert msg["Subject"] == "SMS to +4917012345"
    assert msg["To"] == "4917012345@sms.example.net"
    assert text_of(msg) == "Alarm zone 3: Tür offen\nKälte\n"
    assert rec.messages[1][2] == ["0301234@sms.example.net"]
    assert parse(rec.messages[1][3])["Subject"] == "SMS to 0301234"


def test_text_that_looks_like_a_header_stays_body():
    rec = Recorder()

    async def go():
        async with smtp_server(rec) as port:
            async with Session() as s:
                await setup(s, port, extra=[b'AT+CSCS="IRA"'])
                want = PROMPT + b"\r\n+CMGS: 0\r\n" + OK
                await sms(s, b'AT+CMGS="112"\r', b"Subject: fire\r\n.\x1a", want)

    asyncio.run(go())
    msg = parse(rec.messages[0][3])
    assert msg["Subject"] == "SMS to 112"
    assert text_of(msg) == "Subject: fire\n.\n"


def test_pdu_mode_published_vector_and_ucs2_and_parts():
    rec = Recorder()
    # "hellohello" to +46708251358 (the classic SMS-SUBMIT example, 23 octets)
    hello = b"0011000B916407281553F80000AA0AE8329BFD4697D9EC37"
    ucs2, n2 = smspdu.encode_submit("+4917012345", "Grüße 😀")
    part, n3 = smspdu.encode_submit("+4917012345", "part two", udh=bytes((5, 0, 3, 7, 3, 2)))

    async def go():
        async with smtp_server(rec) as port:
            async with Session() as s:
                await setup(s, port, mode=0)
                await sms(s, b"AT+CMGS=23\r", hello + b"\x1a", b"\r\n+CMGS: 0\r\n" + OK)
                await sms(s, b"AT+CMGS=%d\r" % n2, ucs2.encode() + b"\x1a", mr(1))
                await sms(s, b"AT+CMGS=%d\r" % n3, part.encode() + b"\x1a", mr(2))

    asyncio.run(go())
    first = parse(rec.messages[0][3])
    assert rec.messages[0][2] == ["46708251358@sms.example.net"]
    assert first["Subject"] == "SMS to +46708251358"
    assert text_of(first) == "hellohello\n"
    assert text_of(parse(rec.messages[1][3])) == "Grüße 😀\n"
    third = parse(rec.messages[2][3])
    assert third["Subject"] == "SMS to +4917012345 (part 2/3)"
    assert text_of(third) == "part two\n"


def test_refusals_and_failures_answer_cms_errors():
    rec = Recorder(refuse={"4917012345@sms.example.net": "550 5.1.1 no such user"})

    async def go():
        async with smtp_server(rec) as port:
            async with Session() as s:
                await setup(s, port)
                await sms(s, b'AT+CMGS="+4917012345"\r', b"x\x1a", cms(21))
                log = await s.cmd(b"AT#SMTPLOG\r")
                assert b'"RCPT",550,"5.1.1 no such user"' in log, log
                # the message reference counts failed SMS too (S000293I p70)
                await sms(s, b'AT+CMGS="+4917000000"\r', b"y\x1a", b"\r\n+CMGS: 1\r\n" + OK)
                assert await s.cmd(b"AT+CMEE=0\r") == OK
                await sms(s, b'AT+CMGS="+4917012345"\r', b"x\x1a", b"\r\nERROR\r\n")
                assert await s.cmd(b"AT+CMEE=1\r") == OK
        temp = Recorder(refuse={"1@sms.example.net": "451 4.3.0 try later"})
        async with smtp_server(temp) as port:
            async with Session() as s:
                await setup(s, port)
                await sms(s, b'AT+CMGS="1"\r', b"x\x1a", cms(41))
                assert await s.cmd(b"AT\r") == OK
        async with fake_server(silent) as port:
            async with Session() as s:
                await setup(s, port, extra=[b"AT#SMTPTIMEOUT=1"])
                await sms(s, b'AT+CMGS="1"\r', b"x\x1a", cms(332))
        async with Session() as s:
            await setup(s, 1)  # nothing listens on port 1
            await sms(s, b'AT+CMGS="1"\r', b"x\x1a", cms(38))
            assert await s.cmd(b'AT#SENDERADDR=""\r') == OK
            await sms(s, b'AT+CMGS="1"\r', b"x\x1a", cms(500))
            assert await s.cmd(b"AT\r") == OK
        async with Session(network=False) as s:
            await setup(s, 1)
            await sms(s, b'AT+CMGS="1"\r', b"x\x1a", cms(331))

    asyncio.run(go())


def test_sms_over_an_open_session_leaves_it_open():
    rec = Recorder()

    async def go():
        async with smtp_server(rec) as port:
            async with Session() as s:
                await setup(s, port)
                got = await s.cmd(b"AT#CONNECTIONSTART\r")
                assert got.endswith(b"\r\nOk_Info_GprsActivation\r\n")
                await sms(s, b'AT+CMGS="+33612345678"\r', b"hi\x1a", b"\r\n+CMGS: 0\r\n" + OK)
                assert await s.cmd(b"AT#VSTATE\r") == b'\r\n#STATE: "CONNECTED"\r\n' + OK
                assert (await s.cmd(b"AT#DISPLAYIP\r")).startswith(b'\r\n#MY IP: "')

    asyncio.run(go())
    assert rec.messages[0][2] == ["33612345678@sms.example.net"]


def test_sms_through_postfix(clean_mta):
    mta = clean_mta

    async def go():
        async with Session() as s:
            for c in [
                b"ATE0",
                b"AT+CMEE=1",
                *smtp_settings(mta),
                b'AT#SENDERADDR="panel@test.example"',
                b'AT#SMSMAIL="%s"' % mta.address.encode(),
                b"AT+CMGF=1",
                b'AT+CSCS="8859-1"',
            ]:
                assert (await s.cmd(c + b"\r")).endswith(OK), c
            s.board.ca_path = mta.cafile
            await sms(s, b'AT+CMGS="+4917012345"\r', b"Einbruch: T\xfcr 2\x1a", mr(0))

    asyncio.run(go())
    (mail,) = mta.wait_for_mail(1)
    msg = parse(mail.data)
    assert msg["Subject"] == "SMS to +4917012345"
    assert msg["To"] == mta.address
    assert text_of(msg) == "Einbruch: Tür 2\n"
