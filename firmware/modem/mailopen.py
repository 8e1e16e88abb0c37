"""A mail's set-up (AT#PUTMAIL, AT#SENDMAILi, an SMS sent as mail, the setup page's test
mail): recipients, our header block, then the outbox's writer or an SMTP session up to an
accepted DATA. mail.py loads it for that and forgets it before the body streams
(docs/design.md, Memory)."""

import binascii
import os

from .compat import const
from .errors import ATError
from . import params

_NO_LINK = const(35867)  # errors.NO_LINK
_SERVICE_RUNNING = const(37123)  # errors.SERVICE_RUNNING
_SMTP_SENDER = const(37975)  # errors.SMTP_SENDER
_SMTP_RECIPIENT = const(37976)  # errors.SMTP_RECIPIENT
_NO_RECIPIENT = const(37981)  # errors.NO_RECIPIENT

_SECURITY = ("NONE", "STARTTLS", "TLS")
_count = [0]


def addresses(text):
    """Split a REC/CCREC value (comma or semicolon separated) and check each address."""
    out = []
    for a in text.replace(";", ",").split(","):
        a = a.strip()
        if not a:
            continue
        if not params.mailbox(a):
            raise ATError(_SMTP_RECIPIENT)
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
    d = t[6] * 3
    mo = t[1] * 3 - 3
    return (
        "%s, %02d %s %04d %02d:%02d:%02d +0000"
        % (
            "MonTueWedThuFriSatSun"[d : d + 3],
            t[2],
            "JanFebMarAprMayJunJulAugSepOctNovDec"[mo : mo + 3],
            t[0],
            t[3],
            t[4],
            t[5],
        )
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


def _envelope(m, to, cc):
    if not params.mailbox(m.values["SENDERADDR"]):  # empty, or stored before it was checked
        raise ATError(_SMTP_SENDER)
    if not to and not cc:
        m.board.log("smtp: no recipient set")
        raise ATError(_NO_RECIPIENT)


def queue(m, to, cc):
    """OUTBOX=1: a client that writes the mail to the outbox (docs/outbox.md)."""
    _envelope(m, to, cc)
    from .outbox import Writer

    return Writer(m, m.values["SENDERADDR"], to + cc)


def smtp_args(m, to, cc, ip):
    """The arguments of smtp.open_session for a mail from our address ip (mail.open_smtp
    opens the session with them). Raises ATError; m.last_smtp is made for the exchange."""
    v = m.values
    _envelope(m, to, cc)
    security = _SECURITY[v["SMTPSEC"]]
    tls = None  # a plain session (SMTPSEC=0) needs no TLSConfig: its module stays unloaded
    if v["SMTPSEC"]:
        from .tlsconf import TLSConfig

        tls = TLSConfig(v["SMTPSERV"], verify=bool(v["SMTPVERIFY"]), cafile=m.board.cafile())
    m.last_smtp = []
    user = v["SMTPUN"] if v["SMTPAUTH"] else ""
    m.board.log("smtp: %s:%d %s" % (v["SMTPSERV"], v["SMTPPORT"], security))
    d = v["DOMAIN"]
    return (
        m.board.net,
        v["SMTPSERV"],
        v["SMTPPORT"],
        security,
        tls,
        d if d else "[%s]" % ip,  # RFC 5321 4.1.3 address literal
        user,
        v["SMTPPW"],
        v["SENDERADDR"],
        to + cc,
        v["SMTPTIMEOUT"],
        m.last_smtp,
        m.board.clock,
    )


def open_mail(m, n):
    """AT#PUTMAIL (n 1) and AT#SENDMAILn: the mail of REC<n>, CCREC<n> and SUBJ<n>. Returns
    (our headers, the outbox's writer (OUTBOX=1) or smtp_args for the IP session)."""
    v = m.values
    to = addresses(v["REC%d" % n])
    cc = addresses(v["CCREC%d" % n])
    headers = compose_headers(m, to, cc, v["SUBJ%d" % n])
    if v["OUTBOX"]:  # no session needed: the mail goes to flash (docs/outbox.md)
        return headers, queue(m, to, cc)
    # the IP services' precondition: a session and no other service
    if not m.session:
        raise ATError(_NO_LINK)
    if m.busy:
        raise ATError(_SERVICE_RUNNING)
    return headers, smtp_args(m, to, cc, m.session[0])
