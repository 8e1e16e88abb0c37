"""An SMS sent as e-mail where the board has no radio (AT#SMSMAIL; docs/sms.md)."""

from .compat import const
from .errors import ATError, NetError
from .mail import open_smtp, send_body
from .mailopen import compose_headers, queue, smtp_args
from .mailbody import BodyComposer
from . import params

_CMS_REJECTED = const(21)
_CMS_NET_DOWN = const(38)
_CMS_TEMPORARY = const(41)
_CMS_MEMORY_FULL = const(322)
_CMS_NO_SERVICE = const(331)
_CMS_TIMEOUT = const(332)
_CMS_UNKNOWN = const(500)
_SMTP_NO_ANSWER = const(37964)
_SMTP_CONNECT = const(37970)
_SMTP_GREETING = const(37971)
_SMTP_TLS = const(37973)
_SMTP_LOST = const(37979)
_DNS_FAILED = const(38027)
_OUTBOX_FULL = const(38070)

_NO_CONNECTION = (_DNS_FAILED, _SMTP_CONNECT, _SMTP_GREETING, _SMTP_TLS, _SMTP_LOST)


def _cms(m, code):
    """The +CMS ERROR for a failed mail: what the network would have said (docs/sms.md)."""
    reply = 0
    for step in m.last_smtp:  # the server's last refusal, if any (a QUIT may follow it)
        if step[1] >= 400:
            reply = step[1]
    if 400 <= reply < 500:
        return _CMS_TEMPORARY
    if reply >= 500:
        return _CMS_REJECTED
    if code == _SMTP_NO_ANSWER:
        return _CMS_TIMEOUT
    if code in _NO_CONNECTION:
        return _CMS_NET_DOWN
    return _CMS_UNKNOWN


async def send(m, number, text, part=None):
    """Mail the SMS to #SMSMAIL ({number}: the destination's digits) through the SMTP
    settings, over the IP session if one is up, else over the link for this mail only (as the
    phone network carried SMS without GPRS). Returns once the server said 250; raises
    ATError(cms) otherwise, with AT#SMTPLOG telling why."""
    v = m.values
    template = v["SMSMAIL"]
    queued = v["OUTBOX"]  # kept on flash and sent in the background (docs/outbox.md)
    if not template or not m.radio or not (queued or m.board.link_available()):
        raise ATError(_CMS_NO_SERVICE, cms=True)
    digits = number[1:] if number[:1] == "+" else number
    rcpt = template.replace("{number}", digits)
    if not params.mailbox(rcpt):
        raise ATError(_CMS_REJECTED, cms=True)  # e.g. {number} of a number with '#' in it
    subject = "SMS to " + number
    if part is not None:
        subject += " (part %d/%d)" % (part[2], part[1])
    composer = BodyComposer(compose_headers(m, [rcpt], [], subject))
    # A blank first line: the text is body, never header lines, whatever it starts with.
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    body = ("\r\n" + "\r\n".join(lines) + "\r\n").encode()
    if queued:
        try:
            await send_body(m, queue(m, [rcpt], []), composer, body)
        except ATError as e:
            m.board.log("sms: not queued (%s)" % e.code)
            code = _CMS_MEMORY_FULL if e.code == _OUTBOX_FULL else _CMS_UNKNOWN
            raise ATError(code, cms=True) from None
        return
    own = not m.session
    try:
        if own:
            ip = (await m.board.net.up(v))[0]
        else:
            ip = m.session[0]
    except NetError:
        raise ATError(_CMS_NO_SERVICE, cms=True) from None
    m.board.log("sms: as mail")
    try:
        client = await open_smtp(m, smtp_args(m, [rcpt], [], ip))
        await send_body(m, client, composer, body)
    except ATError as e:
        m.board.log("sms: failed with %s" % e.code)
        raise ATError(_cms(m, e.code), cms=True) from None
    finally:
        if own:
            await m.board.net.down()
