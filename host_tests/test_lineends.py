"""Every command line ending in front of data and entry mode: CR, LF, CR LF and LF CR.

A host ends `AT#PUTMAIL` (or `AT#OTCP`, `AT#BODY1`...) with CR, LF, CR LF or LF CR. The second
byte of a pair is not data when it came with the command or was already waiting when data mode
began (modem.begin_data); one that arrives after the modem entered data mode is data. So a
host's first MIME header line lands in the header block, the peer gets no stray CR or LF, a
typed body starts with its first character.

The table ENTRIES holds one line per command that enters data or entry mode: its name, the
service behind it, the command, the data the host sends (with its end), and what must arrive
at the far end given `lead`, the pair byte when it came late (else b"").
"""

import asyncio
import contextlib
import email
import email.policy
import os
import tempfile

import pytest

from ftp_servers import pyftpd
from harness import Session
from test_ftp import setup as ftp_setup
from smtp_servers import Recorder, smtp_server
from test_putmail import setup as mail_setup
from test_sms import setup as sms_setup
from test_sockets import Peer, tcp_profile
from test_sockets import setup as socket_setup

OK = b"\r\nOK\r\n"
WAIT = b"\r\nOk_Info_WaitingForData\r\n"
END = b"\r\n.\r\n"
ETX = b"\x03"
TERMINATORS = {"CR": b"\r", "LF": b"\n", "CRLF": b"\r\n", "LFCR": b"\n\r"}
# same: the pair byte in the command's read; waiting: in a read of its own that is already
# there when data mode begins; late: sent after the modem entered data mode (it is data)
TIMINGS = ("same", "waiting", "late")


# ------------------------------------------------------------------ services behind a command
class Mail:
    """An aiosmtpd server; the far end is the mail's Content-Type and its decoded body."""

    @contextlib.asynccontextmanager
    async def run(self):
        self.rec = Recorder()
        async with smtp_server(self.rec) as port, Session() as s:
            await mail_setup(s, port)
            yield s

    async def far_end(self, s):
        assert len(self.rec.messages) == 1
        raw = self.rec.messages[0][3]
        head = raw[: raw.index(b"\r\n\r\n")].split(b"\r\n")
        (ct,) = [h[13:].strip() for h in head if h.lower().startswith(b"content-type:")]
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        return ct + b"\n" + msg.get_payload(decode=True)


class TCP:
    """A TCP peer on loopback (DLEMODE=1); the far end is every byte it received."""

    @contextlib.asynccontextmanager
    async def run(self):
        async with Peer() as self.peer, Session() as s:
            await socket_setup(s, *tcp_profile(self.peer.port))
            yield s

    async def far_end(self, s):
        r, w = await self.peer.accept()
        data = await asyncio.wait_for(r.read(), 5)  # the modem closed at the ETX
        w.close()
        return data


class Query:
    """No network; the far end is the answer to a query command (the stored value)."""

    def __init__(self, query):
        self.query = query

    @contextlib.asynccontextmanager
    async def run(self):
        async with Session() as s:
            assert await s.cmd(b"ATE0\r") == b"ATE0\r" + OK
            yield s

    async def far_end(self, s):
        return await s.cmd(self.query + b"\r")


class SMS(Mail):
    """AT+CMGS in text mode, the SMS sent as mail to aiosmtpd; the far end is its body."""

    ready = b"\r\n> "
    done = b"\r\n+CMGS: 0\r\n" + OK

    @contextlib.asynccontextmanager
    async def run(self):
        self.rec = Recorder()
        async with smtp_server(self.rec) as port, Session() as s:
            await sms_setup(s, port)
            yield s

    def late(self, pair):
        return self.ready if pair == b"\r" else b""  # a CR typed in the text: a new prompt

    async def far_end(self, s):
        (msg,) = self.rec.messages
        return email.message_from_bytes(msg[3]).get_payload(decode=True)


class FTPPut:
    """pyftpdlib on loopback (TYPE I, passive); the far end is the stored file."""

    done = ETX + OK  # the closing ETX is echoed

    @contextlib.asynccontextmanager
    async def run(self):
        self.dir = tempfile.mkdtemp()
        with open(os.path.join(self.dir, "data.bin"), "wb") as f:
            f.write(b"file")
        with pyftpd(self.dir) as port:
            async with Session() as s:
                await ftp_setup(s, port)
                yield s

    async def far_end(self, s):
        with open(os.path.join(self.dir, "up.bin"), "rb") as f:
            return f.read()


class FTPGet(FTPPut):
    """AT#FTPGET: the host sends nothing; everything up to OK is the answer to the command."""

    ready = b"\r\nOk_Info_DataBegin\r\nfile" + ETX + OK
    done = b""

    async def far_end(self, s):
        return b"file"


def _header_mail(lead):
    if lead:  # a blank first line: the host sent no headers, this is plain text
        return b"text/plain; charset=utf-8\nContent-Type: text/html\r\n\r\n<p>hi</p>\r\n"
    return b"text/html\n<p>hi</p>\r\n"


def _crlf(lead):
    return b"\r\n" if lead else b""  # a typed body keeps its line ends, as CR LF


ENTRIES = [
    # (name, service, command, data with its end, far end given the late pair byte)
    ("PUTMAIL-header", Mail, b"AT#PUTMAIL", b"Content-Type: text/html\r\n\r\n<p>hi</p>" + END,
     _header_mail),
    ("PUTMAIL-text", Mail, b"AT#PUTMAIL", b"first line\r\nsecond" + END,
     lambda lead: b"text/plain; charset=utf-8\nfirst line\r\nsecond\r\n"),
    ("OTCP", TCP, b"AT#OTCP=1", b"payload" + ETX, lambda lead: lead + b"payload"),
    ("BODY1", lambda: Query(b"AT#BODY1?"), b"AT#BODY1", b"Tank 3\r\nlevel low\x1a",
     lambda lead: (b'\r\n#BODY1: ""' if lead else b"")
     + b'\r\n#BODY1: "Tank 3"\r\n#BODY1: "level low"\r\n' + OK),
    ("REC1ADD", lambda: Query(b"AT#REC1?"), b"AT#REC1ADD", b"a@b.c\r\nd@e.f\x1a",
     lambda lead: b'\r\n#REC1: "a@b.c,d@e.f"\r\n' + OK),
    ("CMGS", SMS, b'AT+CMGS="+4917012345"', b"first\x1a",
     lambda lead: _crlf(lead) + b"first\r\n"),
    ("FTPPUT", FTPPut, b"AT#FTPPUT", b"payload" + ETX, lambda lead: lead + b"payload"),
    ("FTPGET", FTPGet, b"AT#FTPGET", b"", lambda lead: b"file"),
]  # fmt: skip


def _cases():
    for name, service, command, data, want in ENTRIES:
        for term, end in TERMINATORS.items():
            for timing in TIMINGS if len(end) == 2 else ("same",):
                yield pytest.param(
                    service, command, end, timing, data, want, id="%s-%s-%s" % (name, term, timing)
                )


async def _output(s, want, timeout=10):
    """Wait until the modem wrote exactly `want` and waits for the host again."""
    out = b""
    for _ in range(int(timeout * 100)):
        out += s.port.take()
        if len(out) >= len(want) and s.port.waiting and not s.port.inq:
            break
        await asyncio.sleep(0.01)
    out += s.port.take()
    assert out == want, (out, want)


@pytest.mark.parametrize("service, command, end, timing, data, want", list(_cases()))
def test_line_end_before_data_mode(service, command, end, timing, data, want):
    svc = service()
    ready = getattr(svc, "ready", b"" if isinstance(svc, Query) else WAIT)  # entry mode: none
    done = getattr(svc, "done", OK)
    pair = end[1:]

    async def go():
        async with svc.run() as s:
            if timing == "same":
                s.port.send(command + end)
            else:
                s.port.send(command + end[:1])
                if timing == "waiting":
                    s.port.send(pair)
            await _output(s, ready)
            if timing == "late":
                s.port.send(pair)
                await _output(s, svc.late(pair) if hasattr(svc, "late") else b"")
            if data:  # AT#FTPGET: the host sends nothing
                s.port.send(data)
            await _output(s, done)
            return await svc.far_end(s)

    lead = pair if timing == "late" else b""
    assert asyncio.run(go()) == want(lead)
