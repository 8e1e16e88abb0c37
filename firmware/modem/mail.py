"""AT#PUTMAIL and AT#SENDMAILi (S000333D ch.3 p23, p68) and the #SMTPLOG diagnostic.

The set-up (recipients, our header block, the arguments of the SMTP session) is mailopen.py,
loaded for it and forgotten before the session opens (smtp.open_session loads and forgets its
own set-up code, smtpopen.py): this module holds what runs while the body streams."""

from .compat import const, forget
from .errors import ATError, NetError

_BAD_VALUE = const(34882)  # errors.BAD_VALUE
_SERIAL_TIMEOUT = const(37980)  # errors.SERIAL_TIMEOUT


async def _open(m, n):
    """The mail of REC<n>, CCREC<n> and SUBJ<n>: (client, BodyComposer). The client is the
    outbox's writer (OUTBOX=1), else an SMTP session up to an accepted DATA."""
    headers, client = _setup(m, n)
    if isinstance(client, tuple):
        client = await open_smtp(m, client)
    # The body's code loads once the set-up's is gone (smtp.open_session): one at a time.
    from .mailbody import BodyComposer

    return client, BodyComposer(headers)


def _setup(m, n):
    """mailopen.open_mail, its code loaded for it alone: forgotten before the session opens
    (a function of its own, so that no frame that waits for the server holds the module)."""
    from . import mailopen

    try:
        return mailopen.open_mail(m, n)
    finally:
        forget("mailopen")


async def open_smtp(m, args):
    """Everything up to an accepted DATA: smtp.open_session(*args), args from
    mailopen.smtp_args; returns the client. Raises ATError; m.last_smtp holds the exchange."""
    from .smtp import open_session  # here: a queued mail (OUTBOX=1) needs no SMTP

    try:
        return (await open_session(*args))[0]
    except NetError as e:
        m.board.log("smtp: failed with %d" % e.code)
        raise ATError(e.code) from None


async def _putmail(m, form, args):
    client, composer = await _open(m, 1)
    if not m.values["OUTBOX"]:
        m.busy.add("smtp")  # nothing may change the parameters while the session runs
    try:
        # S000333D p23: the SMTP session is open; from now on every byte is body, not echoed.
        await m.begin_data()
        m.code("Ok_Info_WaitingForData", final=False)
        await m.flush()
        err = await _stream(m, client, composer)
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
        # A coroutine's frame keeps its locals while it waits: each read is dropped once it
        # is encoded, each encoded piece once it is sent, so no piece of 2 KB waits beside the
        # next one (docs/design.md, Memory).
        data = None
        if failed is None:
            try:
                out = composer.feed(body) if body else b""
                body = None
                if rest is not None:
                    out += composer.finish()
                if out:
                    await client.send(out)
                out = None
            except NetError as e:
                failed = e.code
        body = None
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
        client, composer = await _open(m, n)
        await send_body(m, client, composer, m.values["BODY%d" % n].encode() + b"\r\n")
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
