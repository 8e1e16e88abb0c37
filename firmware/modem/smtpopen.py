"""SMTP session set-up (greeting, EHLO, STARTTLS, AUTH, envelope, DATA): loaded for it alone.

smtp.open_session() imports this module and forgets it again before the body streams, so only
the data phase's half of the client (smtp.SMTPClient) is in the heap while a mail is sent
(docs/design.md, Memory). The steps work on an SMTPClient's plumbing (_command, _record...).
"""

import binascii

from .compat import asyncio, const, wait_for
from .errors import NetError, SMTPError
from .smtp import SMTPClient, _first, _join, _text

_SMTP_NO_ANSWER = const(37964)  # errors.SMTP_NO_ANSWER
_DNS_FAILED = const(38027)  # errors.DNS_FAILED
_SMTP_CONNECT = const(37970)  # errors.SMTP_CONNECT
_SMTP_HELO = const(37972)  # errors.SMTP_HELO
_SMTP_TLS = const(37973)  # errors.SMTP_TLS
_SMTP_AUTH = const(37974)  # errors.SMTP_AUTH
_SMTP_RECIPIENT = const(37976)  # errors.SMTP_RECIPIENT
_SMTP_DATA = const(37977)  # errors.SMTP_DATA
_SMTP_LOST = const(37979)  # errors.SMTP_LOST
_NO_RECIPIENT = const(37981)  # errors.NO_RECIPIENT

SECURITY_MODES = ("NONE", "STARTTLS", "TLS")


def _arg(x):
    """A command argument as bytes; CR or LF would end the command early (command injection)."""
    if isinstance(x, str):
        x = x.encode()
    if b"\r" in x or b"\n" in x:
        raise ValueError("CR/LF in SMTP argument")
    return x


def _b64(x):
    if isinstance(x, str):
        x = x.encode()
    return binascii.b2a_base64(x)[:-1]  # drop the newline b2a_base64 appends


def _parse_ehlo(c, lines):
    # RFC 5321 4.1.1.1: the first line greets, each further line is "keyword [params]".
    ext = {}
    auth = []
    for raw in lines[1:]:
        words = _text(raw).strip().split(None, 1)
        if not words:
            continue
        key = words[0].upper()
        val = words[1] if len(words) > 1 else ""
        if key.startswith("AUTH="):  # pre-RFC 4954 form still sent by some servers
            val = key[5:] + " " + val
            key = "AUTH"
        ext[key] = val
        if key == "AUTH":
            for m in val.upper().split():
                if m not in auth:
                    auth.append(m)
    c.ext = ext
    c.auth = auth


# -- the steps --


async def greet(c):
    """Wait for the server's 220 greeting (RFC 5321 4.3.1)."""
    return await c._command("GREETING", None, (220,))


async def ehlo(c, domain):
    """EHLO, or HELO when EHLO is not understood (RFC 5321 4.1.4); fills ext and auth."""
    d = _arg(domain)
    c._domain = d
    code, lines = await c._command("EHLO", b"EHLO " + d, None)
    if code == 250:
        c.esmtp = True
        _parse_ehlo(c, lines)
        return code, lines
    if not 500 <= code < 600:  # RFC 5321 4.1.4: HELO after any EHLO failure (5xx)
        raise SMTPError(_SMTP_HELO, "EHLO", code, _join(lines))
    c.esmtp = False
    c.ext = {}
    c.auth = []
    return await c._command("HELO", b"HELO " + d, (250,))


async def starttls(c, tls):
    """STARTTLS, the TLS handshake, then EHLO again (RFC 3207 4.2: forget what was known)."""
    step = "STARTTLS"
    if "STARTTLS" not in c.ext:
        t0 = c._now()
        c._record(step, t0, 0, "STARTTLS not offered")
        raise SMTPError(_SMTP_TLS, step, 0, "STARTTLS not offered")
    code, lines = await c._command(step, b"STARTTLS", (220,))
    if c._replies or c._parser.pending():
        # Bytes after the 220 arrived in plain text: injected before the handshake
        # (the STARTTLS command injection of CVE-2011-0411); they must not be trusted.
        c._record(step, c._now(), 0, "data after STARTTLS reply")
        c._fail(step, _SMTP_TLS, "data after STARTTLS reply")
    t0 = c._now()
    try:
        await c._io(step, c._conn.starttls(tls))
    except SMTPError as e:
        c._broken = True
        c._record(step, t0, 0, e.text)
        raise SMTPError(_SMTP_TLS if e.code == _SMTP_LOST else e.code, step, 0, e.text) from None
    c.ext = {}
    c.auth = []
    return await ehlo(c, c._domain)


async def login(c, user, password):
    """AUTH PLAIN when offered, else AUTH LOGIN (RFC 4954); traced as one AUTH step.

    The trace gets the final reply only; credentials never reach the trace or errors.
    """
    step = "AUTH"
    t0 = c._now()
    try:
        if "PLAIN" in c.auth:
            # RFC 4616: authzid NUL authcid NUL passwd, sent as the initial response.
            tok = _b64(b"\0" + _bytes(user) + b"\0" + _bytes(password))
            code, lines = await c._exchange(step, b"AUTH PLAIN " + tok)
        elif "LOGIN" in c.auth:
            code, lines = await c._exchange(step, b"AUTH LOGIN")
            if code == 334:
                code, lines = await c._exchange(step, _b64(user))
            if code == 334:
                code, lines = await c._exchange(step, _b64(password))
        else:
            raise SMTPError(_SMTP_AUTH, step, 0, "no AUTH PLAIN or LOGIN offered")
    except SMTPError as e:
        c._record(step, t0, e.reply, e.text)
        raise
    c._record(step, t0, code, _first(lines))
    if code != 235:
        raise SMTPError(_SMTP_AUTH, step, code, _join(lines))
    return code, lines


async def mail_from(c, addr, body8=False, size=None):
    """MAIL FROM; BODY=8BITMIME (RFC 6152) and SIZE (RFC 1870) only when offered."""
    line = b"MAIL FROM:<" + _arg(addr) + b">"
    if body8 and "8BITMIME" in c.ext:
        line += b" BODY=8BITMIME"
    if size is not None and "SIZE" in c.ext:
        line += b" SIZE=" + str(int(size)).encode()
    return await c._command("MAIL", line, (250,))


async def rcpt(c, addr):
    """RCPT TO; returns (code, text) whatever the code, raises only on faults."""
    code, lines = await c._command("RCPT", b"RCPT TO:<" + _arg(addr) + b">", None)
    return code, _join(lines)


async def rcpt_all(c, addrs):
    """RCPT TO each address; return the refused ones, raise only when none was accepted."""
    c.refused = []
    refused = []
    last = (0, "no recipient")
    for a in addrs:
        code, text = await rcpt(c, a)
        if code == 250 or code == 251:  # RFC 5321 4.2.5: 251 also accepts
            continue
        refused.append(a)
        c.refused.append((a, code, text))
        last = (code, text)
    if len(refused) == len(addrs):
        raise SMTPError(_SMTP_RECIPIENT if addrs else _NO_RECIPIENT, "RCPT", last[0], last[1])
    return refused


async def rset(c):
    """RSET: the envelope is forgotten, a new MAIL FROM may follow (RFC 5321 4.1.1.5)."""
    return await c._command("RSET", b"RSET", (250,))


async def data(c):
    """DATA; the server must answer 354 before any content is sent, and nothing more."""
    r = await c._command("DATA", b"DATA", (354,))
    c._no_stray("DATA", _SMTP_DATA)
    return r


def _bytes(x):
    return x.encode() if isinstance(x, str) else bytes(x)


def _trace(trace, clock, step, t0, text):
    if trace is not None:
        ms = clock.ticks_diff(clock.ticks_ms(), t0) if clock is not None else 0
        trace.append((step, 0, text, ms))


async def open_session(
    net,
    host,
    port,
    security,
    tls,
    domain,
    user,
    password,
    sender,
    recipients,
    timeout_s,
    trace=None,
    clock=None,
):
    """Resolve, connect and walk the session up to an accepted DATA.

    Returns (client, refused recipients); the caller streams the content with send() and
    finishes with end_data() and quit(). security is "NONE" (plain, never upgraded even when
    STARTTLS is offered), "STARTTLS" (required) or "TLS" (implicit TLS). tls is a TLSConfig,
    or None for TLSConfig(host). On any failure the connection is closed and the error raised
    is an SMTPError whose code is the #CME code.
    """
    if security not in SECURITY_MODES:
        raise ValueError("security")
    if security != "NONE" and tls is None:
        from .tlsconf import TLSConfig  # here: a plain session needs none

        tls = TLSConfig(host)
    t0 = clock.ticks_ms() if clock is not None else 0
    try:
        addr = await wait_for(net.resolve(host), timeout_s)
    except asyncio.TimeoutError:
        _trace(trace, clock, "DNS", t0, "timeout")
        raise SMTPError(_DNS_FAILED, "DNS", 0, "timeout") from None
    except NetError as e:
        _trace(trace, clock, "DNS", t0, e.text)
        raise SMTPError(e.code, "DNS", 0, e.text) from None
    except (OSError, ValueError) as e:
        _trace(trace, clock, "DNS", t0, str(e))
        raise SMTPError(_DNS_FAILED, "DNS", 0, str(e)) from None
    _trace(trace, clock, "DNS", t0, addr)

    t0 = clock.ticks_ms() if clock is not None else 0
    try:
        conn = await wait_for(
            net.connect(addr, port, tls if security == "TLS" else None), timeout_s
        )
    except asyncio.TimeoutError:
        _trace(trace, clock, "CONNECT", t0, "timeout")
        raise SMTPError(_SMTP_NO_ANSWER, "CONNECT", 0, "timeout") from None
    except NetError as e:
        _trace(trace, clock, "CONNECT", t0, e.text)
        raise SMTPError(e.code, "CONNECT", 0, e.text) from None
    except OSError as e:
        _trace(trace, clock, "CONNECT", t0, str(e))
        raise SMTPError(_SMTP_CONNECT, "CONNECT", 0, str(e)) from None
    _trace(trace, clock, "CONNECT", t0, "")

    client = SMTPClient(conn, timeout_s, trace, clock)
    try:
        await greet(client)
        await ehlo(client, domain)
        if security == "STARTTLS":
            await starttls(client, tls)
        if user:
            await login(client, user, password)
        await mail_from(client, sender)
        refused = await rcpt_all(client, recipients)
        await data(client)
    except Exception:
        await client.quit()  # when still possible
        await client.close()
        raise
    except BaseException:  # cancelled: release the socket without another round trip
        await client.close()
        raise
    return client, refused
