"""Background delivery of the outbox (docs/outbox.md): oldest mail first, retries with
back-off; loaded by the modem only while it works."""

import os

from .compat import asyncio, const
from .errors import NetError
from .outbox import complete, envelope, epoch, fail, head
from .smtp import open_session
from .tlsconf import TLSConfig

_NO_LINK = const(35867)
_OUTBOX_EXPIRED = const(38071)

_CHUNK = const(1024)  # bytes read from flash per step: the serial loop runs between steps
_FIRST_S = const(10)  # the first retry; each further one waits twice as long ...
_MAX_S = const(900)  # ... up to 15 minutes
_SECURITY = ("NONE", "STARTTLS", "TLS")
# RFC 5321 4.2.1: a 5yz reply to the mail's own steps will not change on a retry. A 5yz to the
# greeting, EHLO, STARTTLS or AUTH is the server's or the settings' fault: retried, so a
# wrong password fixed later loses nothing.
_FINAL_STEPS = ("MAIL", "RCPT", "DATA", "END")


def _backoff(tries):
    s = _FIRST_S
    while tries > 1 and s < _MAX_S:
        s *= 2
        tries -= 1
    return s if s < _MAX_S else _MAX_S


async def run(m):
    """Send queued mails in order until the queue is empty, the link is gone or a mail fails
    for now (then m.outq[0] is when to try again)."""
    d = m.board.outbox_dir
    ob = m.outq
    clock = m.board.clock
    while True:
        h = head(d)
        if h is None:
            ob[:] = [None, 0, 0, 0]
            return
        if not m.radio or not m.board.link_available():
            ob[2], ob[3] = _NO_LINK, 0
            return  # due stays: the modem starts again once the link is back
        seq, name, size = h
        path = d + "/" + name
        age = m.values["OUTBOXAGE"]
        if not complete(path):
            m.board.log("outbox: %s is damaged" % name)
            fail(d, name, 0, 0)
            continue
        try:
            code, reply = await _deliver(m, path, age)
        except NetError as e:
            code, reply = e.code, getattr(e, "reply", 0)
            step = getattr(e, "step", "")
            if step in _FINAL_STEPS and 500 <= reply < 600:
                m.board.log("outbox: %s refused for good (%d %d)" % (name, code, reply))
                fail(d, name, code, reply)
                ob[1:] = [0, code, reply]
                continue
            ob[1] += 1
            ob[2], ob[3] = code, reply
            ob[0] = clock.ticks_add(clock.ticks_ms(), _backoff(ob[1]) * 1000)
            m.board.log("outbox: %s failed with %d, try %d" % (name, code, ob[1]))
            return
        if code == _OUTBOX_EXPIRED:
            fail(d, name, code, 0)
        ob[1:] = [0, 0, 0]
        await asyncio.sleep(0)


async def _deliver(m, path, age_h):
    """One mail; returns (0, 0) once the server said 250 and the file is gone, or
    (OUTBOX_EXPIRED, 0). Raises NetError (SMTPError with the step and reply) otherwise."""
    v = m.values
    f = open(path, "rb")
    try:
        env = envelope(f)
        if env is None:
            raise NetError(0, "damaged")
        created, sender, rcpts = env
        now = epoch(m.board.utc())
        if age_h and created and now and now - created > age_h * 3600:
            return _OUTBOX_EXPIRED, 0
        own = not m.session
        if own:
            ip = (await m.board.net.up(v))[0]  # as SMS-as-mail does: the link for this mail
        else:
            ip = m.session[0]
        try:
            security = _SECURITY[v["SMTPSEC"]]
            tls = TLSConfig(v["SMTPSERV"], verify=bool(v["SMTPVERIFY"]), cafile=m.board.cafile())
            trace = []
            m.last_smtp = trace  # AT#SMTPLOG shows the last background attempt too
            user = v["SMTPUN"] if v["SMTPAUTH"] else ""
            client, refused = await open_session(
                m.board.net,
                v["SMTPSERV"],
                v["SMTPPORT"],
                security,
                tls,
                v["DOMAIN"] or "[%s]" % ip,
                user,
                v["SMTPPW"],
                sender,
                rcpts,
                v["SMTPTIMEOUT"],
                trace,
                m.board.clock,
            )
            try:
                while True:
                    chunk = f.read(_CHUNK)
                    if not chunk:
                        break
                    await client.send(chunk)  # already DATA bytes, ending with CRLF . CRLF
                await client.end_data(b"")
            except BaseException:
                await client.close()
                raise
            f.close()
            # The server has it: a power cut before this line sends it again, with the same
            # Message-ID (at-least-once, docs/outbox.md).
            os.remove(path)
            m.board.log("outbox: %s delivered" % path[path.rfind("/") + 1 :])
            await client.quit()
            await client.close()
        finally:
            if own:
                await m.board.net.down()
    finally:
        f.close()
    return 0, 0
