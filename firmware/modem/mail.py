"""AT#PUTMAIL and AT#SENDMAILi (S000333D ch.3 p23, p68) and the #SMTPLOG diagnostic."""

import binascii
import os

from .errors import (
    ATError,
    BAD_VALUE,
    NetError,
    NO_LINK,
    NO_RECIPIENT,
    SERIAL_TIMEOUT,
    SERVICE_RUNNING,
    SMTP_RECIPIENT,
    SMTP_SENDER,
)
from . import params

_SECURITY = ("NONE", "STARTTLS", "TLS")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_count = [0]


def addresses(text):
    """Split a REC/CCREC value (comma or semicolon separated) and check each address."""
    out = []
    for a in text.replace(";", ",").split(","):
        a = a.strip()
        if not a:
            continue
        if not params.mailbox(a):
            raise ATError(SMTP_RECIPIENT)
        out.append(a)
    return out


def _ascii(text):
    for c in text:
        if ord(c) > 126:
            return False
    return True


def encode_words(text):
    """RFC 2047 encoded-words (UTF-8, base64) for a header value that is not ASCII."""
    if _ascii(text):
        return text.encode()
    raw = text.encode()
    words = []
    step = 45  # 45 bytes -> 60 base64 characters: each word stays under 75 characters
    i = 0
    while i < len(raw):
        j = min(i + step, len(raw))
        while j < len(raw) and j > i and (raw[j] & 0xC0) == 0x80:
            j -= 1  # never split a UTF-8 sequence
        b64 = binascii.b2a_base64(raw[i:j]).strip()
        words.append(b"=?utf-8?B?" + b64 + b"?=")
        i = j
    return b"\r\n ".join(words)


def display_name(name):
    if not name:
        return b""
    if not _ascii(name):
        return encode_words(name) + b" "
    return b'"' + name.replace("\\", "\\\\").replace('"', '\\"').encode() + b'" '


def rfc5322_date(t):
    """t: (year, month, mday, hour, minute, second, weekday 0=Monday), UTC."""
    return (
        "%s, %02d %s %04d %02d:%02d:%02d +0000"
        % (_DAYS[t[6]], t[2], _MONTHS[t[1] - 1], t[0], t[3], t[4], t[5])
    ).encode()


def compose_headers(m, to, cc, subject):
    v = m.values
    sender = v["SENDERADDR"]
    domain = sender[sender.rfind("@") + 1 :] if "@" in sender else "localhost"
    _count[0] += 1
    msgid = "<%s.%d@%s>" % (binascii.hexlify(os.urandom(8)).decode(), _count[0], domain)
    h = [(b"From", display_name(v["SENDERNAME"]) + b"<" + sender.encode() + b">")]
    h.append((b"To", ", ".join(to).encode()))
    if cc:
        h.append((b"Cc", ", ".join(cc).encode()))
    h.append((b"Subject", encode_words(subject)))
    now = m.board.utc()
    if now is not None:
        h.append((b"Date", rfc5322_date(now)))
    h.append((b"Message-ID", msgid.encode()))
    h.append((b"MIME-Version", b"1.0"))
    h.append((b"Content-Type", b"text/plain; charset=utf-8"))
    h.append((b"Content-Transfer-Encoding", b"quoted-printable"))
    return h


def _ehlo_name(m, ip):
    d = m.values["DOMAIN"]
    if d:
        return d
    return "[%s]" % ip  # RFC 5321 4.1.3 address literal


def _ready(m):
    """The IP services' precondition: a session and no other service; returns our address."""
    if not m.session:
        raise ATError(NO_LINK)
    if m.busy:
        raise ATError(SERVICE_RUNNING)
    return m.session[0]


def _envelope(m, to, cc):
    if not params.mailbox(m.values["SENDERADDR"]):  # empty, or stored before it was checked
        raise ATError(SMTP_SENDER)
    if not to and not cc:
        m.board.log("smtp: no recipient set")
        raise ATError(NO_RECIPIENT)


def queue(m, to, cc):
    """OUTBOX=1: a client that writes the mail to the outbox (docs/outbox.md)."""
    _envelope(m, to, cc)
    from .outbox import Writer

    return Writer(m, m.values["SENDERADDR"], to + cc)


async def open_smtp(m, to, cc, ip):
    """Everything up to an accepted DATA, from our address ip; returns the client. Raises
    ATError; m.last_smtp holds the exchange."""
    v = m.values
    _envelope(m, to, cc)
    from .smtp import TLSConfig, open_session  # here: a queued mail (OUTBOX=1) needs no SMTP

    security = _SECURITY[v["SMTPSEC"]]
    tls = TLSConfig(v["SMTPSERV"], verify=bool(v["SMTPVERIFY"]), cafile=m.board.cafile())
    m.last_smtp = []
    user = v["SMTPUN"] if v["SMTPAUTH"] else ""
    m.board.log("smtp: %s:%d %s" % (v["SMTPSERV"], v["SMTPPORT"], security))
    try:
        client, refused = await open_session(
            m.board.net,
            v["SMTPSERV"],
            v["SMTPPORT"],
            security,
            tls,
            _ehlo_name(m, ip),
            user,
            v["SMTPPW"],
            v["SENDERADDR"],
            to + cc,
            v["SMTPTIMEOUT"],
            m.last_smtp,
            m.board.clock,
        )
    except NetError as e:
        m.board.log("smtp: failed with %d" % e.code)
        raise ATError(e.code) from None
    return client


async def _putmail(m, form, args):
    v = m.values
    to = addresses(v["REC1"])
    cc = addresses(v["CCREC1"])
    headers = compose_headers(m, to, cc, v["SUBJ1"])
    if v["OUTBOX"]:  # no session needed: the mail goes to flash (docs/outbox.md)
        client = queue(m, to, cc)
    else:
        client = await open_smtp(m, to, cc, _ready(m))
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
            return SERIAL_TIMEOUT  # nothing is sent: the message stays incomplete (RSET/QUIT)
        if not data:
            return SERIAL_TIMEOUT
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
                raise ATError(BAD_VALUE)
            n = int(a)
        from .mailbody import BodyComposer

        v = m.values
        to = addresses(v["REC%d" % n])
        cc = addresses(v["CCREC%d" % n])
        composer = BodyComposer(compose_headers(m, to, cc, v["SUBJ%d" % n]))
        if v["OUTBOX"]:
            client = queue(m, to, cc)
        else:
            client = await open_smtp(m, to, cc, _ready(m))
        await send_body(m, client, composer, v["BODY%d" % n].encode() + b"\r\n")
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
