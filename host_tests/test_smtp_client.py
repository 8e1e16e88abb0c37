"""SMTP client, DATA encoder and host Net adapter, against real aiosmtpd servers on loopback."""

import asyncio
import binascii
import os
import random
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _p in (os.path.join(ROOT, "firmware"), os.path.join(ROOT, "boards", "host"), ROOT):
    if _p not in sys.path:
        sys.path.insert(0, _p)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from modem import errors  # noqa: E402
from modem.errors import NetError, SMTPError  # noqa: E402
from modem.smtp import MAX_LINE, MAX_LINES, ReplyParser, SMTPClient  # noqa: E402
from modem.tlsconf import TLSConfig  # noqa: E402
from modem.smtp import open_session  # noqa: E402
from modem import smtpopen  # noqa: E402
from modem.smtpdata import DataEncoder  # noqa: E402
from net import HostNet  # noqa: E402
from smtp_servers import (  # noqa: E402
    HOST,
    PASSWORD,
    USER,
    Authenticator,
    DropInBody,
    NoEHLO,
    Recorder,
    TLSMaterial,
    fake_server,
    free_port,
    greet_421,
    greet_then_close,
    recording_proxy,
    silent,
    smtp_server,
    starttls_inject,
    StopsReading,
)

MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
SENDER = "modem@example.test"
RCPT1 = "alice@example.test"
RCPT2 = "bob@example.test"
DOMAIN = "modem.test"

# A body with every line-end form, leading dots and no final line end.
MSG = b"Subject: test\r\nFrom: modem\r\n\r\n.leading dot\nbare lf\rbare cr\r\n..two dots\r\nend"
# What the server stores after un-stuffing (RFC 5321 4.5.2): CRLF everywhere, one final CRLF.
MSG_STORED = (
    b"Subject: test\r\nFrom: modem\r\n\r\n.leading dot\r\nbare lf\r\nbare cr\r\n"
    b"..two dots\r\nend\r\n"
)
MSG_WIRE = (
    b"Subject: test\r\nFrom: modem\r\n\r\n..leading dot\r\nbare lf\r\nbare cr\r\n"
    b"...two dots\r\nend\r\n.\r\n"
)


def run(coro, limit_s=30):
    """Run one test's conversation; the outer limit turns a hang into a failure."""
    return asyncio.run(asyncio.wait_for(coro, limit_s))


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return TLSMaterial(tmp_path_factory.mktemp("tls"))


class FakeClock:
    """ticks_ms/ticks_diff with MicroPython's 2**30 wrap, starting just below the wrap."""

    PERIOD = 1 << 30

    def __init__(self, step=7):
        self.now = self.PERIOD - 10
        self.step = step

    def ticks_ms(self):
        self.now = (self.now + self.step) % self.PERIOD
        return self.now

    def ticks_diff(self, a, b):
        d = (a - b) % self.PERIOD
        return d - self.PERIOD if d >= self.PERIOD // 2 else d


async def deliver(
    port,
    body=MSG,
    host=HOST,
    security="NONE",
    tls_cfg=None,
    user="",
    password="",
    recipients=(RCPT1,),
    timeout_s=5,
    trace=None,
    clock=None,
):
    """A whole session through open_session; returns the refused recipients."""
    client, refused = await open_session(
        HostNet(),
        host,
        port,
        security,
        tls_cfg,
        DOMAIN,
        user,
        password,
        SENDER,
        list(recipients),
        timeout_s,
        trace,
        clock,
    )
    enc = DataEncoder()
    for i in range(0, len(body), 7):  # small chunks: every split path is exercised
        await client.send(enc.feed(body[i : i + 7]))
    await client.end_data(enc.finish())
    await client.quit()
    await client.close()
    return refused


def steps(trace):
    return [(t[0], t[1]) for t in trace]


def assert_no_secret(trace):
    text = repr(trace)
    assert PASSWORD not in text
    for tok in (
        binascii.b2a_base64(b"\0" + USER.encode() + b"\0" + PASSWORD.encode()),
        binascii.b2a_base64(PASSWORD.encode()),
    ):
        assert tok.strip().decode() not in text


# ---------------------------------------------------------------- DataEncoder


def encode(chunks):
    enc = DataEncoder()
    return b"".join([enc.feed(c) for c in chunks]) + enc.finish()


def reference(data):
    """Byte-at-a-time model of the DATA transform, written independently of the encoder."""
    out = bytearray()
    bol = True
    i = 0
    while i < len(data):
        c = data[i : i + 1]
        if c in (b"\r", b"\n"):
            out += b"\r\n"
            bol = True
            i += 2 if data[i : i + 2] == b"\r\n" else 1
            continue
        if bol and c == b".":
            out += b"."
        out += c
        bol = False
        i += 1
    out += b".\r\n" if bol else b"\r\n.\r\n"
    return bytes(out)


ENCODER_CASES = [
    (b"", b".\r\n"),
    (b"a", b"a\r\n.\r\n"),
    (b"a\r\n", b"a\r\n.\r\n"),
    (b"a\n", b"a\r\n.\r\n"),
    (b"a\r", b"a\r\n.\r\n"),
    (b".", b"..\r\n.\r\n"),
    (b".\r\n", b"..\r\n.\r\n"),
    (b"..\r\n", b"...\r\n.\r\n"),
    (b"\r\n.\r\n", b"\r\n..\r\n.\r\n"),  # a terminator inside the content stays content
    (b"x.y\r\n.", b"x.y\r\n..\r\n.\r\n"),
    (b"\r\r\n\n", b"\r\n\r\n\r\n.\r\n"),  # CR, CRLF, LF: three line ends
    (b"\n\r", b"\r\n\r\n.\r\n"),  # LF CR is two line ends, not one
    (b"a\n.b\r.c\r\n.d", b"a\r\n..b\r\n..c\r\n..d\r\n.\r\n"),
    (b"\r.\n.\r\n.", b"\r\n..\r\n..\r\n..\r\n.\r\n"),
    (MSG, MSG_WIRE),
]

TRICKY = b".a\r\n.\r\r\n\n.b\r\r..c\n\r.\r\n..\rd"


@pytest.mark.parametrize("data,wire", ENCODER_CASES)
def test_encoder_exact_bytes(data, wire):
    assert encode([data]) == wire
    assert reference(data) == wire


@pytest.mark.parametrize("data", [c[0] for c in ENCODER_CASES] + [TRICKY])
def test_encoder_every_split_and_bytewise(data):
    whole = encode([data])
    for i in range(len(data) + 1):
        assert encode([data[:i], data[i:]]) == whole, i
    assert encode([data[i : i + 1] for i in range(len(data))]) == whole


def test_encoder_every_three_way_split():
    whole = encode([TRICKY])
    assert whole == reference(TRICKY)
    n = len(TRICKY)
    for i in range(n + 1):
        for j in range(i, n + 1):
            assert encode([TRICKY[:i], TRICKY[i:j], TRICKY[j:]]) == whole, (i, j)


def test_encoder_random_against_reference():
    rnd = random.Random(5321)
    for _ in range(2000):
        data = bytes(rnd.choice(b"\r\n.a") for _ in range(rnd.randrange(0, 40)))
        chunks = []
        i = 0
        while i < len(data):
            k = rnd.randrange(0, 6)  # empty chunks too
            chunks.append(data[i : i + k])
            i += k
        out = encode(chunks)
        assert out == reference(data), data
        # Only CRLF line ends on the wire, and the terminator appears exactly at the end.
        assert out.replace(b"\r\n", b"").count(b"\r") == 0
        assert out.replace(b"\r\n", b"").count(b"\n") == 0
        assert (b"\r\n" + out).find(b"\r\n.\r\n") == len(out) - 3


def test_encoder_accepts_bytearray_memoryview_and_is_reusable():
    enc = DataEncoder()
    out = enc.feed(bytearray(b".x\r")) + enc.feed(memoryview(b"\n.y")) + enc.finish()
    assert out == b"..x\r\n..y\r\n.\r\n"
    # finish() resets: the next message starts at a line start again, with no pending CR.
    assert enc.feed(b"\n") == b"\r\n"
    assert enc.feed(b".z") + enc.finish() == b"..z\r\n.\r\n"


def test_encoder_constant_memory_large_body():
    enc = DataEncoder()
    chunk = b"line of text\n.dot\r\n" * 50
    total = 0
    for _ in range(2000):
        out = enc.feed(chunk)
        assert len(out) == len(chunk) + 50 + 50  # +1 CR per bare LF, +1 dot per dot line
        total += len(out)
    assert enc.finish() == b".\r\n"
    assert total == 2000 * (len(chunk) + 100)


# ---------------------------------------------------------------- ReplyParser


def parse_all(chunks):
    p = ReplyParser()
    out = []
    for c in chunks:
        out.extend(p.feed(c))
    return out, p


def test_parser_single_and_multiline():
    data = b"220 mx.test ESMTP\r\n250-mx.test\r\n250-SIZE 100\r\n250 8BITMIME\r\n"
    out, p = parse_all([data])
    assert out == [(220, [b"mx.test ESMTP"]), (250, [b"mx.test", b"SIZE 100", b"8BITMIME"])]
    assert not p.pending()


def test_parser_every_split_position():
    data = b"250-mx.test\r\n250-AUTH PLAIN LOGIN\r\n250 HELP\r\n354 go\n221 bye\r\n"
    whole, _ = parse_all([data])
    assert len(whole) == 3
    for i in range(len(data) + 1):
        assert parse_all([data[:i], data[i:]])[0] == whole, i
    assert parse_all([data[i : i + 1] for i in range(len(data))])[0] == whole


def test_parser_pending_and_bare_code():
    p = ReplyParser()
    assert p.feed(b"250-one\r\n25") == []
    assert p.pending()
    assert p.feed(b"0\r\n") == [(250, [b"one", b""])]
    assert not p.pending()


def test_parser_overlong_line_truncated_and_next_reply_intact():
    long_text = b"x" * (MAX_LINE * 5)
    data = b"250 " + long_text + b"\r\n221 bye\r\n"
    for size in (1, 7, 100, len(data)):
        p = ReplyParser()
        out = []
        for i in range(0, len(data), size):
            out.extend(p.feed(data[i : i + size]))
            assert len(p._part) <= MAX_LINE  # never more than one line's cap buffered
        assert out[0][0] == 250 and out[0][1] == [long_text[: MAX_LINE - 4]]
        assert out[1] == (221, [b"bye"])


def test_parser_caps_lines_per_reply():
    data = b"".join(b"250-line %d\r\n" % i for i in range(1000)) + b"250 last\r\n"
    (reply,), _ = parse_all([data])
    assert reply[0] == 250 and len(reply[1]) == MAX_LINES
    assert reply[1][0] == b"line 0"


def test_parser_garbage_is_code_zero():
    out, _ = parse_all([b"HTTP/1.1 400 Bad Request\r\n"])
    assert out == [(0, [b"HTTP/1.1 400 Bad Request"])]


def test_ehlo_keywords_including_old_auth_form():
    c = SMTPClient(None)  # the constructor does no I/O
    smtpopen._parse_ehlo(
        c, [b"mx.test greets you", b"auth login", b"AUTH=PLAIN CRAM-MD5", b"  ", b"SIZE  2048 "]
    )
    assert c.ext == {"AUTH": "PLAIN CRAM-MD5", "SIZE": "2048"}
    assert c.auth == ["LOGIN", "PLAIN", "CRAM-MD5"]


# ---------------------------------------------------------------- sessions, aiosmtpd


def test_plain_session_exact_bytes_and_trace():
    async def main():
        handler = Recorder()
        async with smtp_server(handler) as port, recording_proxy(port) as (pport, tap):
            trace = []
            refused = await deliver(pport, trace=trace)
            return handler, tap, trace, refused

    handler, tap, trace, refused = run(main())
    assert refused == []
    assert handler.messages == [(SENDER, [], [RCPT1], MSG_STORED, False, False)]
    # The golden transcript of what the client put on the wire.
    assert bytes(tap.up) == (
        b"EHLO modem.test\r\n"
        b"MAIL FROM:<modem@example.test>\r\n"
        b"RCPT TO:<alice@example.test>\r\n"
        b"DATA\r\n" + MSG_WIRE + b"QUIT\r\n"
    )
    assert steps(trace) == [
        ("DNS", 0),
        ("CONNECT", 0),
        ("GREETING", 220),
        ("EHLO", 250),
        ("MAIL", 250),
        ("RCPT", 250),
        ("DATA", 354),
        ("END", 250),
        ("QUIT", 221),
    ]
    assert trace[0][2] == HOST
    assert trace[2][2].startswith("mx.test ")
    assert trace[7][2] == "2.0.0 queued as 1234"
    assert all(t[3] == 0 for t in trace)  # no clock given


def test_security_none_never_upgrades_even_when_offered(tls):
    async def main():
        handler = Recorder()
        async with smtp_server(handler, tls_context=tls.server_context) as port:
            trace = []
            await deliver(port, trace=trace)
            return handler, trace

    handler, trace = run(main())
    assert "STARTTLS" not in [t[0] for t in trace]
    assert handler.messages[0][4] is False  # delivered in plain text, as configured


def test_ehlo_extensions_body8_and_size():
    async def main():
        handler = Recorder()
        async with smtp_server(handler, data_size_limit=100000, enable_SMTPUTF8=True) as port:
            conn = await HostNet().connect(HOST, port)
            c = SMTPClient(conn, 5)
            await smtpopen.greet(c)
            await smtpopen.ehlo(c, DOMAIN)
            ext, auth, esmtp = dict(c.ext), list(c.auth), c.esmtp
            await smtpopen.mail_from(c, SENDER, body8=True, size=1234)
            await smtpopen.rcpt(c, RCPT1)
            await smtpopen.data(c)
            await c.send(b"8bit \xc3\xa9\r\n")
            await c.end_data()
            await c.quit()
            await c.close()
            return handler, ext, auth, esmtp

    handler, ext, auth, esmtp = run(main())
    assert esmtp
    assert ext == {
        "SIZE": "100000",
        "8BITMIME": "",
        "SMTPUTF8": "",
        "AUTH": "LOGIN PLAIN",
        "HELP": "",
    }
    assert auth == ["LOGIN", "PLAIN"]
    assert handler.messages[0][1] == ["BODY=8BITMIME", "SIZE=1234"]
    assert handler.messages[0][3] == b"8bit \xc3\xa9\r\n"


def test_body8_not_sent_when_not_offered():
    async def main():
        handler = Recorder()
        # decode_data=True makes aiosmtpd withhold 8BITMIME; no size limit, no SIZE.
        async with smtp_server(handler, decode_data=True, data_size_limit=0) as port:
            conn = await HostNet().connect(HOST, port)
            c = SMTPClient(conn, 5)
            await smtpopen.greet(c)
            await smtpopen.ehlo(c, DOMAIN)
            await smtpopen.mail_from(c, SENDER, body8=True, size=10)  # SIZE not offered either
            await smtpopen.rcpt(c, RCPT1)
            await smtpopen.data(c)
            await c.end_data(b"x\r\n.\r\n")
            await c.quit()
            return handler, c.ext

    handler, ext = run(main())
    assert "8BITMIME" not in ext and "SIZE" not in ext
    assert handler.messages[0][1] == []


def test_helo_fallback_when_ehlo_not_implemented():
    async def main():
        handler = Recorder()
        async with smtp_server(handler, factory=NoEHLO) as port:
            trace = []
            await deliver(port, trace=trace)
            return handler, trace

    handler, trace = run(main())
    assert steps(trace)[2:5] == [("GREETING", 220), ("EHLO", 502), ("HELO", 250)]
    assert handler.messages[0][3] == MSG_STORED


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("exclude,mech", [([], "PLAIN"), (["PLAIN"], "LOGIN")])
def test_auth_success_and_no_secret_in_trace(exclude, mech):
    async def main():
        handler = Recorder()
        auth = Authenticator()
        async with (
            smtp_server(
                handler, authenticator=auth, auth_required=True, auth_exclude_mechanism=exclude
            ) as port,
            recording_proxy(port) as (pport, tap),
        ):
            trace = []
            await deliver(pport, user=USER, password=PASSWORD, trace=trace)
            return handler, auth, trace, tap

    handler, auth, trace, tap = run(main())
    assert auth.seen == [(mech, USER.encode(), PASSWORD.encode())]
    assert handler.messages[0][5] is True
    assert ("AUTH", 235) in steps(trace)
    assert [t[0] for t in trace].count("AUTH") == 1
    assert_no_secret(trace)
    up = bytes(tap.up)
    if mech == "PLAIN":
        tok = binascii.b2a_base64(b"\0" + USER.encode() + b"\0" + PASSWORD.encode()).strip()
        assert b"\r\nAUTH PLAIN " + tok + b"\r\nMAIL FROM:" in up
    else:
        u = binascii.b2a_base64(USER.encode()).strip()
        p = binascii.b2a_base64(PASSWORD.encode()).strip()
        assert b"\r\nAUTH LOGIN\r\n" + u + b"\r\n" + p + b"\r\nMAIL FROM:" in up


@pytest.mark.parametrize("exclude", [[], ["PLAIN"]])
def test_auth_535(exclude):
    async def main():
        auth = Authenticator()
        async with smtp_server(
            Recorder(), authenticator=auth, auth_exclude_mechanism=exclude
        ) as port:
            trace = []
            with pytest.raises(SMTPError) as ei:
                await deliver(port, user=USER, password="wrong-password", trace=trace)
            return ei.value, trace

    e, trace = run(main())
    assert (e.code, e.step, e.reply) == (errors.SMTP_AUTH, "AUTH", 535)
    assert "wrong-password" not in repr(trace) and "wrong-password" not in e.text
    assert steps(trace)[-2:] == [("AUTH", 535), ("QUIT", 221)]


def test_auth_required_but_not_offered():
    async def main():
        # auth_require_tls: aiosmtpd offers AUTH only after STARTTLS, and this is plain.
        async with smtp_server(
            Recorder(), authenticator=Authenticator(), auth_require_tls=True
        ) as port:
            trace = []
            with pytest.raises(SMTPError) as ei:
                await deliver(port, user=USER, password=PASSWORD, trace=trace)
            return ei.value, trace

    e, trace = run(main())
    assert (e.code, e.step, e.reply) == (errors.SMTP_AUTH, "AUTH", 0)
    assert steps(trace)[-2:] == [("AUTH", 0), ("QUIT", 221)]


def test_sender_refused():
    async def main():
        async with smtp_server(Recorder(mail_reply="553 5.7.1 sender not allowed")) as port:
            with pytest.raises(SMTPError) as ei:
                await deliver(port)
            return ei.value

    e = run(main())
    assert (e.code, e.step, e.reply, e.text) == (
        errors.SMTP_SENDER,
        "MAIL",
        553,
        "5.7.1 sender not allowed",
    )


@pytest.mark.parametrize("reply", ["550 5.1.1 no such user", "452 4.5.3 too many recipients"])
def test_one_recipient_refused_continues(reply):
    async def main():
        handler = Recorder(refuse={RCPT1: reply})
        async with smtp_server(handler) as port:
            trace = []
            refused = await deliver(port, recipients=(RCPT1, RCPT2), trace=trace)
            return handler, refused, trace

    handler, refused, trace = run(main())
    assert refused == [RCPT1]
    assert handler.rcpt_seen == [RCPT1, RCPT2]
    assert handler.messages[0][2] == [RCPT2]
    assert handler.messages[0][3] == MSG_STORED
    code = int(reply[:3])
    assert steps(trace)[5:7] == [("RCPT", code), ("RCPT", 250)]


@pytest.mark.parametrize("reply", ["550 5.1.1 no such user", "452 4.5.3 too many recipients"])
def test_all_recipients_refused(reply):
    async def main():
        handler = Recorder(refuse={RCPT1: reply, RCPT2: reply})
        async with smtp_server(handler) as port:
            trace = []
            with pytest.raises(SMTPError) as ei:
                await deliver(port, recipients=(RCPT1, RCPT2), trace=trace)
            return handler, ei.value, trace

    handler, e, trace = run(main())
    assert (e.code, e.step, e.reply, e.text) == (
        errors.SMTP_RECIPIENT,
        "RCPT",
        int(reply[:3]),
        reply[4:],
    )
    assert handler.messages == []
    assert "DATA" not in [t[0] for t in trace]  # no DATA once nobody was accepted
    assert steps(trace)[-1] == ("QUIT", 221)


def test_rcpt_all_details_and_empty_list():
    async def main():
        async with smtp_server(Recorder(refuse={RCPT2: "550 5.1.1 unknown"})) as port:
            conn = await HostNet().connect(HOST, port)
            c = SMTPClient(conn, 5)
            await smtpopen.greet(c)
            await smtpopen.ehlo(c, DOMAIN)
            await smtpopen.mail_from(c, SENDER)
            refused = await smtpopen.rcpt_all(c, [RCPT1, RCPT2])
            details = list(c.refused)
            with pytest.raises(SMTPError) as ei:
                await smtpopen.rcpt_all(c, [])
            await c.quit()
            await c.close()
            return refused, details, ei.value

    refused, details, e = run(main())
    assert refused == [RCPT2]
    assert details == [(RCPT2, 550, "5.1.1 unknown")]
    assert e.code == errors.NO_RECIPIENT


def test_data_refused():
    async def main():
        async with smtp_server(Recorder()) as port:
            conn = await HostNet().connect(HOST, port)
            c = SMTPClient(conn, 5)
            await smtpopen.greet(c)
            await smtpopen.ehlo(c, DOMAIN)
            await smtpopen.mail_from(c, SENDER)
            with pytest.raises(SMTPError) as ei:
                await smtpopen.data(c)  # no accepted RCPT: aiosmtpd answers 503
            await smtpopen.rset(c)
            await c.quit()
            await c.close()
            return ei.value

    e = run(main())
    assert (e.code, e.step, e.reply) == (errors.SMTP_DATA, "DATA", 503)


def test_message_rejected_at_final_dot():
    async def main():
        handler = Recorder(data_reply="554 5.7.1 message content rejected")
        async with smtp_server(handler) as port:
            trace = []
            with pytest.raises(SMTPError) as ei:
                await deliver(port, trace=trace)
            return ei.value, trace

    e, trace = run(main())
    assert (e.code, e.step, e.reply, e.text) == (
        errors.SMTP_REJECTED,
        "END",
        554,
        "5.7.1 message content rejected",
    )
    assert steps(trace)[-1] == ("END", 554)


def test_no_answer_after_final_dot():
    async def main():
        async with smtp_server(Recorder(data_delay_s=5)) as port:
            trace = []
            t0 = time.monotonic()
            with pytest.raises(SMTPError) as ei:
                await deliver(port, timeout_s=0.5, trace=trace)
            return ei.value, trace, time.monotonic() - t0

    e, trace, elapsed = run(main())
    assert (e.code, e.step, e.reply) == (errors.SMTP_NO_ANSWER, "END", 0)
    assert steps(trace)[-1] == ("END", 0)
    assert elapsed < 3


def test_no_timeout_at_all():
    # timeout_s None: waits are unbounded, and QUIT still gets its own short limit.
    async def main():
        handler = Recorder()
        async with smtp_server(handler) as port:
            trace = []
            await deliver(port, timeout_s=None, trace=trace)
            return handler, trace

    handler, trace = run(main())
    assert handler.messages[0][3] == MSG_STORED
    assert steps(trace)[-1] == ("QUIT", 221)


def test_clock_durations_across_tick_wrap():
    async def main():
        async with smtp_server(Recorder()) as port:
            trace = []
            await deliver(port, trace=trace, clock=FakeClock(step=7))
            return trace

    trace = run(main())
    assert [t[3] for t in trace] == [7] * len(trace)


def test_crlf_in_argument_is_refused_before_sending():
    async def main():
        handler = Recorder()
        async with smtp_server(handler) as port:
            conn = await HostNet().connect(HOST, port)
            c = SMTPClient(conn, 5)
            await smtpopen.greet(c)
            with pytest.raises(ValueError):
                await smtpopen.ehlo(c, "x\r\nMAIL FROM:<evil>")
            await smtpopen.ehlo(c, DOMAIN)
            for bad in ("a@b\r\nRCPT TO:<x@y>", "a@b\nDATA", "a@b\r"):
                with pytest.raises(ValueError):
                    await smtpopen.mail_from(c, bad)
            await smtpopen.mail_from(c, SENDER)
            with pytest.raises(ValueError):
                await smtpopen.rcpt(c, "x@y\r\nDATA")
            code, _ = await smtpopen.rcpt(c, RCPT1)  # the session is still in step: nothing leaked
            await c.quit()
            await c.close()
            return code

    assert run(main()) == 250


# ---------------------------------------------------------------- TLS


def test_starttls_verified_with_cafile(tls):
    async def main():
        handler = Recorder()
        auth = Authenticator()
        async with smtp_server(
            handler,
            tls_context=tls.server_context,
            require_starttls=True,
            authenticator=auth,
            auth_require_tls=True,
        ) as port:
            trace = []
            await deliver(
                port,
                host="localhost",
                security="STARTTLS",
                tls_cfg=TLSConfig("localhost", cafile=tls.cafile),
                user=USER,
                password=PASSWORD,
                trace=trace,
            )
            return handler, trace

    handler, trace = run(main())
    assert steps(trace)[2:6] == [
        ("GREETING", 220),
        ("EHLO", 250),
        ("STARTTLS", 220),
        ("EHLO", 250),
    ]
    assert ("AUTH", 235) in steps(trace)
    assert handler.messages[0][3:] == (MSG_STORED, True, True)
    assert_no_secret(trace)


def test_starttls_default_tlsconfig_is_host_and_system_cas(tls):
    # tls None: TLSConfig(host) with the system CAs, which do not know the test CA.
    async def main():
        async with smtp_server(Recorder(), tls_context=tls.server_context) as port:
            with pytest.raises(SMTPError) as ei:
                await deliver(port, host="localhost", security="STARTTLS")
            return ei.value

    e = run(main())
    assert (e.code, e.step) == (errors.SMTP_TLS, "STARTTLS")
    assert "CERTIFICATE_VERIFY_FAILED" in e.text


@pytest.mark.parametrize(
    "cfg,ok",
    [
        (lambda t: TLSConfig("localhost", cafile=t.cafile), True),
        (lambda t: TLSConfig("127.0.0.1", cafile=t.cafile), True),  # IP SAN
        (lambda t: TLSConfig("localhost"), False),  # system CAs only
        (lambda t: TLSConfig("mx.other.test", cafile=t.cafile), False),  # wrong name
        (lambda t: TLSConfig("mx.other.test", verify=False), True),
    ],
)
@pytest.mark.parametrize("security", ["STARTTLS", "TLS"])
def test_tls_verification(tls, cfg, ok, security):
    async def main():
        handler = Recorder()
        kw = (
            {"tls_context": tls.server_context}
            if security == "STARTTLS"
            else {"ssl_context": tls.server_context}
        )
        async with smtp_server(handler, **kw) as port:
            trace = []
            try:
                await deliver(port, security=security, tls_cfg=cfg(tls), trace=trace)
            except SMTPError as e:
                return handler, trace, e
            return handler, trace, None

    handler, trace, e = run(main())
    if ok:
        assert e is None
        assert handler.messages[0][3:5] == (MSG_STORED, True)
    else:
        step = "STARTTLS" if security == "STARTTLS" else "CONNECT"
        assert (e.code, e.step, e.reply) == (errors.SMTP_TLS, step, 0)
        assert handler.messages == []
        assert steps(trace)[-1] == (step, 0)  # no QUIT on a stream in an unknown state


def test_starttls_required_but_not_offered():
    async def main():
        async with smtp_server(Recorder()) as port:
            trace = []
            with pytest.raises(SMTPError) as ei:
                await deliver(
                    port, security="STARTTLS", tls_cfg=TLSConfig("localhost"), trace=trace
                )
            return ei.value, trace

    e, trace = run(main())
    assert (e.code, e.step, e.reply) == (errors.SMTP_TLS, "STARTTLS", 0)
    assert steps(trace)[-2:] == [("STARTTLS", 0), ("QUIT", 221)]


def test_starttls_plaintext_injection_refused():
    async def main():
        async with fake_server(starttls_inject) as port:
            with pytest.raises(SMTPError) as ei:
                await deliver(port, security="STARTTLS", tls_cfg=TLSConfig("localhost"))
            return ei.value

    e = run(main())
    assert (e.code, e.step) == (errors.SMTP_TLS, "STARTTLS")


def test_missing_cafile(tmp_path):
    async def main():
        async with smtp_server(Recorder()) as port:
            with pytest.raises(SMTPError) as ei:
                await deliver(
                    port,
                    security="TLS",
                    tls_cfg=TLSConfig("localhost", cafile=str(tmp_path / "none.pem")),
                )
            return ei.value

    e = run(main())
    assert (e.code, e.step) == (errors.SMTP_TLS, "CONNECT")


# ---------------------------------------------------------------- faults


def test_dns_failure():
    async def main():
        trace = []
        t0 = time.monotonic()
        with pytest.raises(SMTPError) as ei:
            await deliver(25, host="no-such-host.invalid", trace=trace)  # RFC 6761 6.4
        return ei.value, trace, time.monotonic() - t0

    e, trace, elapsed = run(main())
    assert (e.code, e.step) == (errors.DNS_FAILED, "DNS")
    assert steps(trace) == [("DNS", 0)]
    assert elapsed < 5


def test_hostnet_resolve():
    async def main():
        net = HostNet()
        with pytest.raises(NetError) as ei:
            await net.resolve("no-such-host.invalid")
        return await net.resolve("localhost"), await net.resolve("127.0.0.1"), ei.value

    loc, lit, e = run(main())
    assert (loc, lit, e.code) == ("127.0.0.1", "127.0.0.1", errors.DNS_FAILED)


def test_connection_refused():
    async def main():
        trace = []
        with pytest.raises(SMTPError) as ei:
            await deliver(free_port(), trace=trace)
        return ei.value, trace

    e, trace = run(main())
    assert (e.code, e.step) == (errors.SMTP_CONNECT, "CONNECT")
    assert steps(trace) == [("DNS", 0), ("CONNECT", 0)]


def test_greeting_421():
    async def main():
        async with fake_server(greet_421) as port:
            trace = []
            with pytest.raises(SMTPError) as ei:
                await deliver(port, trace=trace)
            return ei.value, trace

    e, trace = run(main())
    assert (e.code, e.step, e.reply, e.text) == (
        errors.SMTP_GREETING,
        "GREETING",
        421,
        "4.3.2 mx.test too busy, try later",
    )
    # QUIT is still tried (the stream is sane); the server has closed, so it finds EOF.
    assert steps(trace)[2:] == [("GREETING", 421), ("QUIT", 0)]


def test_silent_server_no_answer():
    async def main():
        async with fake_server(silent) as port:
            trace = []
            t0 = time.monotonic()
            with pytest.raises(SMTPError) as ei:
                await deliver(port, timeout_s=0.5, trace=trace)
            return ei.value, trace, time.monotonic() - t0

    e, trace, elapsed = run(main())
    assert (e.code, e.step, e.reply) == (errors.SMTP_NO_ANSWER, "GREETING", 0)
    assert steps(trace)[-1] == ("GREETING", 0)  # no QUIT after a timeout
    assert 0.4 < elapsed < 2


def test_server_closes_after_greeting():
    async def main():
        async with fake_server(greet_then_close) as port:
            with pytest.raises(SMTPError) as ei:
                await deliver(port)
            return ei.value

    e = run(main())
    assert (e.code, e.step, e.reply) == (errors.SMTP_LOST, "EHLO", 0)


def test_connection_dropped_mid_body():
    async def main():
        server = DropInBody(body_bytes=12)
        async with fake_server(server) as port:
            client, refused = await open_session(
                HostNet(), HOST, port, "NONE", None, DOMAIN, "", "", SENDER, [RCPT1], 5
            )
            enc = DataEncoder()
            await client.send(enc.feed(b"first line\r\n"))
            await asyncio.wait_for(server.closed.wait(), 5)
            with pytest.raises(SMTPError) as ei:
                await client.send(enc.feed(b"second line\r\n"))
                await client.end_data(enc.finish())
            await client.quit()  # never raises, even now
            await client.close()
            return server.received, ei.value

    received, e = run(main())
    assert received == b"first line\r\n"
    # The server left without a reply: lost, not rejected. The write after its FIN still
    # succeeds (the peer answers it with RST), so the loss shows at the end-of-data step.
    assert (e.code, e.step, e.reply) == (errors.SMTP_LOST, "END", 0)


def test_connection_dropped_mid_large_body():
    async def main():
        server = DropInBody(body_bytes=1000)
        async with fake_server(server) as port:
            client, _ = await open_session(
                HostNet(), HOST, port, "NONE", None, DOMAIN, "", "", SENDER, [RCPT1], 5
            )
            enc = DataEncoder()
            chunk = b"x" * 70 + b"\r\n"
            with pytest.raises(SMTPError) as ei:
                for _ in range(100000):  # ~7 MB: more than any socket buffer holds
                    await client.send(enc.feed(chunk))
                await client.end_data(enc.finish())
            await client.close()
            return ei.value

    e = run(main())
    assert (e.code, e.step, e.reply) == (errors.SMTP_LOST, "BODY", 0)


class RealClock(FakeClock):
    """Milliseconds of real time on the 2**30 wrap, starting at_ms before the wrap."""

    def __init__(self, at_ms=200):
        self.base = int(time.monotonic() * 1000)
        self.at = at_ms

    def ticks_ms(self):
        return (int(time.monotonic() * 1000) - self.base + self.PERIOD - self.at) % self.PERIOD


BIG = (b"x" * 70 + b"\r\n") * 900  # 65,700 bytes of body a write


async def _plain(port, timeout_s, trace):
    """A plain session to port up to DATA, its steps timed by the real clock."""
    client, _ = await open_session(
        HostNet(),
        HOST,
        port,
        "NONE",
        None,
        DOMAIN,
        "",
        "",
        SENDER,
        [RCPT1],
        timeout_s,
        trace,
        RealClock(),
    )
    return client


async def _stall(port, timeout_s, trace, sessions):
    """A session with a server that stops reading mid-body: body writes until one fails. The
    client goes into sessions, closed once the server is gone (a close would wait for the
    unsent bytes to leave)."""
    client = await _plain(port, timeout_s, trace)
    sessions.append(client)
    for _ in range(2000):  # 131 MB: far more than any socket buffer holds
        await client.send(BIG)


async def _close(sessions):
    for client in sessions:
        await client.close()


def test_server_stops_reading_mid_body():
    # RFC 5321 4.5.3.2.5: a body write that has not completed within the timeout fails the
    # mail, as every other step's wait does; one task bounds all the writes of a body.
    async def main():
        server = StopsReading(1000)
        sessions = []
        async with fake_server(server) as port:
            trace = []
            with pytest.raises(SMTPError) as ei:
                await _stall(port, 0.5, trace, sessions)
            task = asyncio.current_task()
            # The timeout cancelled the write, not the task: it goes on as before.
            left = task.cancelling() if hasattr(task, "cancelling") else 0
            await asyncio.sleep(0)
        await _close(sessions)
        return ei.value, trace, left, server.stalled.is_set()

    e, trace, left, stalled = run(main())
    assert stalled
    assert (e.code, e.step, e.reply, e.text) == (errors.SMTP_NO_ANSWER, "BODY", 0, "timeout")
    assert trace[-1][:3] == ("BODY", 0, "timeout")
    assert trace[-1][3] >= 500  # never before the timeout (RealClock crosses the wrap)
    assert left == 0


def test_body_timeout_counts_each_write_not_the_pauses_between():
    # The host may pause between reads up to DATATIMEOUT: only a write in progress is timed.
    async def main():
        handler = Recorder()
        async with smtp_server(handler) as port:
            trace = []
            client = await _plain(port, 0.3, trace)
            for line in (b"one\r\n", b"two\r\n", b"three\r\n"):
                await client.send(line)
                await asyncio.sleep(0.4)  # longer than the timeout, no write in progress
            await client.end_data()
            await client.quit()
            await client.close()
            return handler, trace

    handler, trace = run(main())
    assert handler.messages[0][3] == b"one\r\ntwo\r\nthree\r\n"
    assert steps(trace)[-2:] == [("END", 250), ("QUIT", 221)]


def test_cancel_from_elsewhere_is_not_a_timeout():
    # Another task cancels the one that writes (the outbox paused, a shutdown): the cancel
    # goes on up, it is not turned into the body's timeout.
    async def main():
        server = StopsReading(1000)
        sessions = []
        async with fake_server(server) as port:
            task = asyncio.create_task(_stall(port, 30, None, sessions))
            await server.stalled.wait()
            await asyncio.sleep(0.2)  # the writes fill the socket buffers and stall
            task.cancel()
            try:
                await task
                got = "finished"
            except asyncio.CancelledError:
                got = "cancelled"
            except SMTPError as e:
                got = e
        await _close(sessions)
        return got

    assert run(main()) == "cancelled"


# ---------------------------------------------------------------- MicroPython


MP_SCRIPT = r"""
import sys
sys.path.insert(0, FIRMWARE)
import asyncio, binascii
from modem import errors
from modem.smtp import open_session, SMTPError
from modem.smtpdata import DataEncoder

def encode(chunks):
    enc = DataEncoder()
    return b"".join([enc.feed(c) for c in chunks]) + enc.finish()

for data in CASES:
    whole = encode([data])
    splits = all(encode([data[:i], data[i:]]) == whole for i in range(len(data) + 1))
    bytewise = encode([data[i:i + 1] for i in range(len(data))]) == whole
    print("ENC", binascii.hexlify(whole).decode(), splits, bytewise)

from mpnet import MPNet as Net  # the board's own network adapter

async def main():
    trace = []
    client, refused = await open_session(Net(), "127.0.0.1", PORT, "NONE", None, "modem.test",
                                         USER, PASSWORD, SENDER, [RCPT1, RCPT2], 5, trace)
    enc = DataEncoder()
    for i in range(0, len(MSG), 5):
        await client.send(enc.feed(MSG[i:i + 5]))
    await client.end_data(enc.finish())
    await client.quit()
    await client.close()
    print("REFUSED", refused)
    print("TRACE", [(t[0], t[1]) for t in trace])
    try:
        await open_session(Net(), "127.0.0.1", SILENT, "NONE", None, "d", "", "", SENDER,
                           [RCPT1], 0.3)
    except SMTPError as e:
        print("SILENT", e.code == errors.SMTP_NO_ANSWER, e.step)
    import time  # MicroPython's own ticks, as a board's clock
    trace = []
    client, _ = await open_session(Net(), "127.0.0.1", STALL, "NONE", None, "d", "", "",
                                   SENDER, [RCPT1], 0.5, trace, time)
    big = (b"x" * 70 + b"\r\n") * 900
    try:
        for _ in range(2000):
            await client.send(big)
    except SMTPError as e:
        await asyncio.sleep(0)  # the task that wrote goes on
        print("STALL", e.code == errors.SMTP_NO_ANSWER, e.step, e.text, trace[-1][3] >= 500)
    await client.close()

asyncio.run(main())
"""


@pytest.mark.skipif(not os.path.exists(MICROPYTHON), reason="no MicroPython unix port")
def test_same_code_under_micropython():
    cases = [c[0] for c in ENCODER_CASES] + [TRICKY]

    async def main():
        handler = Recorder(refuse={RCPT2: "550 5.1.1 unknown"})
        async with (
            smtp_server(handler, authenticator=Authenticator()) as port,
            fake_server(silent) as silent_port,
            fake_server(StopsReading(1000)) as stall_port,
        ):
            head = (
                f"FIRMWARE = {os.path.join(ROOT, 'firmware')!r}\nCASES = {cases!r}\n"
                f"PORT = {port}\nSILENT = {silent_port}\nSTALL = {stall_port}\n"
                f"MSG = {MSG!r}\nUSER = {USER!r}\n"
                f"PASSWORD = {PASSWORD!r}\nSENDER = {SENDER!r}\nRCPT1 = {RCPT1!r}\n"
                f"RCPT2 = {RCPT2!r}\n"
            )
            proc = await asyncio.create_subprocess_exec(
                MICROPYTHON,
                "-c",
                head + MP_SCRIPT,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(proc.communicate(), 20)
            return handler, proc.returncode, out.decode(), err.decode()

    handler, rc, out, err = run(main())
    assert rc == 0, out + err
    lines = out.splitlines()
    enc_lines = [ln for ln in lines if ln.startswith("ENC ")]
    assert enc_lines == [
        "ENC %s True True" % binascii.hexlify(encode([c])).decode() for c in cases
    ]
    assert "REFUSED ['%s']" % RCPT2 in lines
    assert (
        "TRACE [('DNS', 0), ('CONNECT', 0), ('GREETING', 220), ('EHLO', 250), ('AUTH', 235), "
        "('MAIL', 250), ('RCPT', 250), ('RCPT', 550), ('DATA', 354), ('END', 250), "
        "('QUIT', 221)]" in lines
    )
    assert "SILENT True GREETING" in lines
    assert "STALL True BODY timeout True" in lines
    assert handler.messages == [(SENDER, [], [RCPT1], MSG_STORED, False, True)]


def _scripted(data_reply, dot_reply, ehlo_reply=b"250-mx.test\r\n250 8BITMIME\r\n"):
    """A fake server (for replies a real one does not send): data_reply after DATA,
    dot_reply after the final dot."""

    async def serve(reader, writer):
        writer.write(b"220 mx.test ESMTP\r\n")
        await writer.drain()
        while True:
            line = await reader.readline()
            if not line:
                return
            verb = line[:4].upper()
            if verb == b"EHLO":
                writer.write(ehlo_reply)
            elif verb == b"HELO":
                writer.write(b"250 mx.test\r\n")
            elif verb in (b"MAIL", b"RCPT", b"RSET"):
                writer.write(b"250 OK\r\n")
            elif verb == b"DATA":
                writer.write(data_reply)
                await writer.drain()
                while (await reader.readline()) not in (b".\r\n", b""):
                    pass
                writer.write(dot_reply)
            elif verb == b"QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                return
            else:
                writer.write(b"500 what\r\n")
            await writer.drain()

    return serve


def test_stray_reply_after_354_is_never_taken_for_the_verdict():
    # 354 and a stray 250 at once, then 554 for the message: it was refused.
    async def main():
        async with fake_server(_scripted(b"354 go\r\n250 stray\r\n", b"554 no\r\n")) as port:
            with pytest.raises(SMTPError) as ei:
                await deliver(port)
            return ei.value

    e = run(main())
    assert (e.code, e.step) == (errors.SMTP_DATA, "DATA")


def test_extra_reply_after_the_final_verdict_is_an_error():
    async def main():
        async with fake_server(_scripted(b"354 go\r\n", b"250 ok\r\n554 no\r\n")) as port:
            with pytest.raises(SMTPError) as ei:
                await deliver(port)
            return ei.value

    e = run(main())
    assert (e.code, e.step) == (errors.SMTP_REJECTED, "END")


def test_helo_after_any_ehlo_refusal_and_keywords_past_the_line_cap():
    for ehlo in (b"550 no ESMTP here\r\n", b"501 syntax\r\n"):

        async def main(ehlo=ehlo):
            trace = []
            async with fake_server(_scripted(b"354 go\r\n", b"250 ok\r\n", ehlo)) as port:
                await deliver(port, trace=trace)
            return trace

        assert [s[:2] for s in run(main()) if s[0] in ("EHLO", "HELO")] == [
            ("EHLO", int(ehlo[:3])),
            ("HELO", 250),
        ]
    # 40 filler lines, then AUTH and SIZE: still seen (only lines past the cap are dropped)
    many = b"".join(b"250-X-FILLER%d\r\n" % i for i in range(40)) + b"250-SIZE 1000\r\n"

    async def main2():
        from modem.smtp import SMTPClient

        async with fake_server(
            _scripted(b"354\r\n", b"250\r\n", b"250-mx\r\n" + many + b"250 AUTH PLAIN LOGIN\r\n")
        ) as port:
            conn = await HostNet().connect("127.0.0.1", port)
            c = SMTPClient(conn, 5)
            await smtpopen.greet(c)
            await smtpopen.ehlo(c, "d")
            await c.close()
            return c

    c = run(main2())
    assert c.auth == ["PLAIN", "LOGIN"] and c.ext["SIZE"] == "1000"
