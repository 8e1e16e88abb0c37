"""AT#PUTMAIL into a real MTA: Postfix on loopback with STARTTLS and SASL AUTH (Dovecot)."""

import asyncio
import base64
import email
import email.policy
import os

from board import local_address
from harness import Session
from mta import smtp_settings

OK = b"\r\nOK\r\n"
WAIT = b"\r\nOk_Info_WaitingForData\r\n"
END = b"\r\n.\r\n"


def cme(n):
    return b"\r\n#CME ERROR: %d\r\n" % n


async def configure(s, mta, port, sec):
    cmds = [
        b"ATE0",
        *smtp_settings(mta, port, sec),
        b'AT#SENDERADDR="panel@test.example"',
        b'AT#SENDERNAME="Panel 7"',
        b'AT#REC1="%s"' % mta.address.encode(),
        b'AT#SUBJ1="Postfix delivery"',
        b'AT#DOMAIN="panel.test.example"',
    ]
    for c in cmds:
        want = b"ATE0\r" + OK if c == b"ATE0" else OK  # ATE0 itself is echoed
        assert await s.cmd(c + b"\r") == want, c
    s.board.ca_path = mta.cafile
    started = b"\r\n" + local_address().encode() + b"\r\n\r\nOk_Info_GprsActivation\r\n"
    assert await s.cmd(b"AT#CONNECTIONSTART\r") == started


async def send(s, *chunks):
    assert await s.cmd(b"AT#PUTMAIL\r") == WAIT
    for c in chunks:
        s.port.send(c)
    out = b""
    for _ in range(1000):
        out += s.port.take()
        if out.endswith(b"\r\n") and s.port.waiting:
            break
        await asyncio.sleep(0.01)
    return out


def test_putmail_through_postfix_starttls_auth(clean_mta):
    mta = clean_mta
    jpeg = os.urandom(20000)
    body = (
        b"Content-Type: multipart/mixed; boundary=XYZ\n\n--XYZ\nContent-Type: text/plain\n\n"
        b"Door 3 opened\n.leading dot\n--XYZ\nContent-Type: image/jpeg\n"
        b"Content-Transfer-Encoding: base64\n\n" + base64.encodebytes(jpeg) + b"--XYZ--\n"
    )

    async def go():
        async with Session() as s:
            await configure(s, mta, mta.smtp_port, 1)
            assert await send(s, body[:1000], body[1000:], END) == OK
            assert await send(s, b"plain text, line two\r\nsecond line", END) == OK
            log = await s.cmd(b"AT#SMTPLOG\r")
            assert b'"STARTTLS",220' in log and b'"AUTH",235' in log
            assert mta.password.encode() not in log

    asyncio.run(go())
    mails = mta.wait_for_mail(2)
    first = email.message_from_bytes(mails[0].data, policy=email.policy.default)
    assert first["Subject"] == "Postfix delivery"
    assert first["To"] == mta.address
    parts = list(first.walk())
    assert parts[1].get_content().strip() == "Door 3 opened\n.leading dot"
    assert parts[2].get_payload(decode=True) == jpeg
    second = email.message_from_bytes(mails[1].data, policy=email.policy.default)
    assert second.get_content() == "plain text, line two\nsecond line\n"


def test_putmail_through_postfix_implicit_tls(clean_mta):
    mta = clean_mta

    async def go():
        async with Session() as s:
            await configure(s, mta, mta.smtps_port, 2)
            assert await send(s, b"over implicit TLS", END) == OK

    asyncio.run(go())
    (mail,) = mta.wait_for_mail(1)
    assert b"over implicit TLS" in mail.data


def test_postfix_refusals(clean_mta):
    mta = clean_mta

    async def go():
        async with Session() as s:
            await configure(s, mta, mta.smtp_port, 1)
            assert await s.cmd(b'AT#SMTPPW="wrong"\r') == OK
            assert await s.cmd(b"AT#PUTMAIL\r") == cme(37974)
            assert await s.cmd(b'AT#SMTPPW="%s"\r' % mta.password.encode()) == OK
            assert await s.cmd(b'AT#REC1="someone@elsewhere.example"\r') == OK
            assert await s.cmd(b"AT#PUTMAIL\r") == cme(37976)  # relay denied
            assert await s.cmd(b"AT#SMTPSEC=0\r") == OK  # AUTH only after STARTTLS
            assert await s.cmd(b'AT#REC1="%s"\r' % mta.address.encode()) == OK
            assert await s.cmd(b"AT#PUTMAIL\r") == cme(37974)
            assert await s.cmd(b"AT\r") == OK

    asyncio.run(go())


def test_outbox_outage_then_100_mails_through_postfix(clean_mta, tmp_path):
    """AT#OUTBOX=1, the link down while 100 mails are taken, then up: Postfix gets all 100,
    once each, whole (docs/outbox.md)."""
    mta = clean_mta
    bodies = [b"alarm %03d zone %d" % (i, i % 7) + b" x" * i for i in range(100)]

    async def go():
        async with Session(state_dir=str(tmp_path), network=False) as s:
            s.modem.link_poll_s = 0.05
            s.board.ca_path = mta.cafile
            for c in [
                b"ATE0",
                *smtp_settings(mta),
                b'AT#SENDERADDR="panel@test.example"',
                b'AT#REC1="%s"' % mta.address.encode(),
                b'AT#SUBJ1="Queued"',
                b"AT#OUTBOX=1",
            ]:
                assert (await s.cmd(c + b"\r")).endswith(OK), c
            for b in bodies:
                assert await send(s, b, END) == OK
            s.board.network = True
            for _ in range(3000):
                await asyncio.sleep(0.02)
                if s.modem.outq[0] is None and s.modem.sender is None:
                    break
            assert b"#VOUTBOX: 0,0,0,-1\r\n" in await s.cmd(b"AT#VOUTBOX\r")

    asyncio.run(go())
    mails = mta.wait_for_mail(100, timeout=60)
    got = [email.message_from_bytes(m.data, policy=email.policy.default) for m in mails]
    # Postfix's local delivery runs in parallel: the order is checked with aiosmtpd
    # (test_outbox.py); here each mail arrived once, whole.
    assert sorted(msg.get_content() for msg in got) == sorted(b.decode() + "\n" for b in bodies)
    assert len({msg["Message-ID"] for msg in got}) == 100
