"""Writing and showing AT# parameters: the checks of a value, display lines and groups."""

from .compat import const
from .errors import ATError
from .params import CHOICE, INT, IP, SECRET, STR, mailbox, parse_int, parse_ip, printable

_BAD_VALUE = const(34882)

MASK = '"********"'  # what a display shows for a password that is set

_STEP20 = ("TCPTXDELAY", "UDPTXDELAY")  # multiples of 20 ms [READ p31, p34]
_MAILBOX = ("SMSMAIL", "SENDERADDR")  # one address each, checked when set (SMTP envelope)

# Display commands and the groups they show; VALL shows every group in this order,
# blocks separated by an empty line [READ p39].
GROUPS = (
    ("VPHY", ("PHY",)),
    ("VPPP", ("PPP",)),
    ("VGPRS", ("GPRS",)),
    ("VDNS", ("DNS",)),
    ("VSMTP", ("SMTP",)),
    ("VPOP3", ("POP3",)),
    ("VMAIL1", ("MAIL1",)),
    ("VMAIL2", ("MAIL2",)),
    ("VMAIL3", ("MAIL3",)),
    ("VFTP", ("FTP",)),
    ("VTCP", ("TCP",)),
    ("VUDP", ("UDP",)),
    ("VPING", ("PING",)),
    ("VWIFI", ("WIFI",)),
)


def validate(p, text):
    """Turn the unquoted text of a value into the stored value, or raise ATError(34882)."""
    # No CR, LF or NUL may reach a stored value: they would let a host inject SMTP or POP3
    # commands or header lines later. Other control bytes are refused for the same reason.
    if not printable(text):
        raise ATError(_BAD_VALUE)
    kind = p[1]
    if kind == STR:
        if len(text) > p[2] or (p[0] in _MAILBOX and text and not mailbox(text)):
            raise ATError(_BAD_VALUE)
        return text
    if kind == INT:
        v = parse_int(text)
        if v < p[2] or v > p[3] or (p[0] in _STEP20 and v % 20):
            raise ATError(_BAD_VALUE)
        return v
    if kind == IP:
        return parse_ip(text)
    # CHOICE: stored as given by the table (ints stay ints)
    t = text.strip().upper()
    if t not in p[2]:
        raise ATError(_BAD_VALUE)
    return int(t) if isinstance(p[4], int) else t


def show(p, value):
    """The value as a display line shows it: strings quoted, numbers bare, secrets masked."""
    if p[5] & SECRET:
        return MASK if value else '""'
    if p[1] == INT or (p[1] == CHOICE and isinstance(value, int)):
        return str(value)
    return '"' + str(value) + '"'
