"""AT#PUTMAIL and AT#SENDMAILi (S000333D ch.3 p23, p68) and the #SMTPLOG diagnostic.

The set-up (recipients, our header block, the SMTP session up to DATA) is mailopen.py, loaded
for it and forgotten before the body streams: this module holds what runs while it does."""

import sys

from .compat import const
from .errors import ATError, NetError

_BAD_VALUE = const(34882)  # errors.BAD_VALUE
_SERIAL_TIMEOUT = const(37980)  # errors.SERIAL_TIMEOUT


async def _open(m, n):
    """mailopen.open_mail, whose code is loaded for it alone: (client, our headers)."""
    from . import mailopen

    try:
        return await mailopen.open_mail(m, n)
    finally:
        # Drop the set-up's module; the next use imports it again.
        sys.modules.pop(__name__ + "open", None)
        pkg = sys.modules.get(__name__.rpartition(".")[0])
        if pkg is not None and hasattr(pkg, "mailopen"):
            delattr(pkg, "mailopen")


async def _putmail(m, form, args):
    client, headers = await _open(m, 1)
    if not m.values["OUTBOX"]:
        m.busy.add("smtp")  # nothing may change the parameters while the session runs
    # The body's code loads once the set-up's is gone (smtp.open_session): one at a time.
    from .mailbody import BodyComposer

    try:
        # S000333D p23: the SMTP session is open; from now on every byte is body, not echoed.
        await m.begin_data()
        m.code("Ok_Info_WaitingForData", final=False)
        await m.flush()
        err = await _stream(m, client, BodyComposer(headers))
        if err is None:
            try:
                await client.quit()
            finally:
                await client.close()
            return []
        # Mid-DATA there is no clean way out: closing without the final dot makes the server
        # discard the message (RFC 5321 4.1.1.4); a QUIT would only become body text.
        await client.close()
        raise ATError(err)
    finally:
        m.busy.discard("smtp")


async def _stream(m, client, composer):
    """Serial bytes -> server until the end marker. Returns None, or the #CME code of a
    failure. After a server failure the rest of the body is still read up to the marker, so
    none of it is taken for commands."""
    from .mailbody import EndScanner

    scanner = EndScanner()
    failed = None
    timeout = m.values["DATATIMEOUT"]
    while True:
        try:
            data = await m.read_serial(timeout)
        except ATError:
            m.board.log("mail: no byte from the host for %d s" % timeout)
            return _SERIAL_TIMEOUT  # nothing is sent: the message stays incomplete (RSET/QUIT)
        if not data:
            return _SERIAL_TIMEOUT
        body, rest = scanner.feed(data)
        if failed is None:
            try:
                out = composer.feed(body) if body else b""
                if rest is not None:
                    out += composer.finish()
                if out:
                    await client.send(out)
            except NetError as e:
                failed = e.code
        if rest is not None:
            m.unread(rest)
            break
    if failed is not None:
        return failed
    try:
        await client.end_data(b"")
    except NetError as e:
        return e.code
    return None


def _sendmail_of(i):
    async def h(m, form, args):
        n = i
        if form == "set":  # AT#SENDMAIL=<i>
            a = args.strip().strip('"')
            if a not in ("1", "2", "3"):
                raise ATError(_BAD_VALUE)
            n = int(a)
        client, headers = await _open(m, n)
        from .mailbody import BodyComposer

        body = m.values["BODY%d" % n].encode() + b"\r\n"
        await send_body(m, client, BodyComposer(headers), body)
        return []

    return h


async def send_body(m, client, composer, body):
    """A body held in memory (AT#SENDMAILi, an SMS): DATA, the final dot, QUIT. Raises
    ATError unless the server accepted the message."""
    m.busy.add("smtp")
    try:
        await client.send(composer.feed(body) + composer.finish())
        await client.end_data(b"")
    except NetError as e:
        await client.close()
        raise ATError(e.code) from None
    finally:
        m.busy.discard("smtp")
    await client.quit()
    await client.close()


async def _smtplog(m, form, args):
    # Each step of the last SMTP exchange: never a password (AUTH is logged as its reply only).
    return [
        '#SMTPLOG: "%s",%d,"%s",%d' % (step, code, text.replace('"', "'")[:80], ms)
        for step, code, text, ms in m.last_smtp
    ]


HANDLERS = {
    "#PUTMAIL": _putmail,
    "#SENDMAIL1": _sendmail_of(1),
    "#SENDMAIL2": _sendmail_of(2),
    "#SENDMAIL3": _sendmail_of(3),
    "#SENDMAIL": _sendmail_of(1),
    "#SMTPLOG": _smtplog,
}
