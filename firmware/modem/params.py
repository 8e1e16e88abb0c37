"""The AT# parameter table (S000333D ch.2-7 plus our extensions): types, limits, defaults."""

from .compat import const
from .errors import ATError

_BAD_VALUE = const(34882)

STR = const(0)  # a: max length
INT = const(1)  # a: min, b: max, step
IP = const(2)  # dotted quad
CHOICE = const(3)  # a: allowed values (strings, upper case)

SECRET = const(1)  # never displayed, never logged
PROFILE = const(2)  # one value per TCP profile (ids 1 and 2), S000333D rev C/D p30
EXT = const(4)  # our extension, not in S000333D

PROFILES = (1, 2)

# One line per parameter, under the line ":GROUP" of its display group: name|type|a|b|default|
# flags, the fields at the end left out when empty (flags: when 0). Type s: string, a = max
# length; i: integer a..b; p: IPv4 address; c: one of a (slash separated). Kept as one string
# and parsed on demand: a table of tuples costs ~25 KB of a board's heap, this ~1.7 KB.
# Words for the docs are in tools/cmddocs.py.
_SPEC = (
    "\n"
    ":PHY\n"
    "ANSWERMODE|i|0|3|0\n"
    "CALLBACKTIMER|i|2|255|2\n"
    "CALLSCREENNUM|s|64||0\n"
    "DIALN1|s|64\n"
    "DIALN2|s|64\n"
    "DIALSELECT|i|1|2|1\n"
    "GPRSMODE|i|0|1|1\n"
    "PHYTIMEOUT|i|1|255|15\n"
    "REDIALCOUNT|i|0|255|5\n"
    "REDIALDELAY|i|0|255|5\n"
    ":PPP\n"
    "ISPUN|s|64\n"
    "ISPPW|s|64|||1\n"
    "PPPMODE|c|1/2/3/4/9||1\n"
    "PPPMYIP|p|||0.0.0.0\n"
    "PPPPEERIP|p|||0.0.0.0\n"
    "PPPSERVUN|s|64\n"
    "PPPSERVPW|s|64|||1\n"
    ":GPRS\n"
    "APNSERV|s|120\n"
    "APNUN|s|64\n"
    "APNPW|s|64|||1\n"
    "GPRSCID|i|1|4|1\n"
    ":DNS\n"
    "DNSSERV1|p|||0.0.0.0\n"
    "DNSSERV2|p|||0.0.0.0\n"
    ":SMTP\n"
    "DOMAIN|s|120\n"
    "SENDERADDR|s|120\n"
    "SENDERNAME|s|120\n"
    "SMTPAUTH|i|0|1|1|4\n"
    "SMTPPORT|i|1|65535|25\n"
    "SMTPPW|s|64|||1\n"
    "SMTPSEC|i|0|2|0|4\n"
    "SMTPSERV|s|120\n"
    "SMTPTIMEOUT|i|1|600|180|4\n"
    "SMTPUN|s|64\n"
    "SMTPVERIFY|i|0|1|1|4\n"
    "DATATIMEOUT|i|1|600|50|4\n"
    "SMSMAIL|s|120|||4\n"
    "OUTBOX|i|0|1|0|4\n"
    "OUTBOXMAX|i|16|65536|256|4\n"
    "OUTBOXAGE|i|0|8760|168|4\n"
    ":POP3\n"
    "POP3HEADERMODE|i|0|1|1\n"
    "POP3PORT|i|1|65535|110\n"
    "POP3PW|s|64|||1\n"
    "POP3SEC|i|0|2|0|4\n"
    "POP3SERV|s|120\n"
    "POP3TIMEOUT|i|1|600|180|4\n"
    "POP3UN|s|64\n"
    "POP3VERIFY|i|0|1|1|4\n"
    ":MAIL1\n"
    "REC1|s|400\n"
    "CCREC1|s|120\n"
    "SUBJ1|s|120\n"
    "BODY1|s|120\n"
    ":MAIL2\n"
    "REC2|s|400\n"
    "CCREC2|s|120\n"
    "SUBJ2|s|120\n"
    "BODY2|s|120\n"
    ":MAIL3\n"
    "REC3|s|400\n"
    "CCREC3|s|120\n"
    "SUBJ3|s|120\n"
    "BODY3|s|120\n"
    ":FTP\n"
    "FTPGETFILENAME|s|120\n"
    "FTPGETPATH|s|120\n"
    "FTPMODE|i|0|1|1\n"
    "FTPPORT|i|1|65535|21\n"
    "FTPPUTFILENAME|s|120\n"
    "FTPPUTPATH|s|120\n"
    "FTPPW|s|64|||1\n"
    "FTPSEC|i|0|2|0|4\n"
    "FTPSERV|s|120\n"
    "FTPTIMEOUT|i|1|600|180|4\n"
    "FTPTYPE|c|A/I||I\n"
    "FTPUN|s|64\n"
    "FTPVERIFY|i|0|1|1|4\n"
    ":TCP\n"
    "DLEMODE|i|0|1|1|2\n"
    "TCPPORT|i|0|65535|0|2\n"
    "TCPSERV|s|120|||2\n"
    "TCPTXDELAY|i|0|32760|100|2\n"
    "OUTPORT|i|0|65535|0|4\n"
    ":UDP\n"
    "UDPPORT|i|0|65535|0\n"
    "UDPSERV|s|120\n"
    "UDPTXDELAY|i|0|32760|100\n"
    "UDPDLEMODE|i|0|1|1|4\n"
    ":PING\n"
    "PINGDELAY|i|1|255|1\n"
    "PINGNUM|i|1|255|4\n"
    "PINGREMOTE|s|120\n"
    ":WIFI\n"
    "WIFISSID|s|32|||4\n"
    "WIFIPW|s|64|||5\n"
    "NETMODE|c|WIFI/CELL/AUTO||WIFI|4\n"
    "WEBPW|s|64|||5\n"
    "WEBSTATUS|i|0|1|0|4\n"
    "WEBPORT|i|1|65535|80|4\n"
    "SETUPWAIT|i|0|3600|300|4\n"
    "SETUPPW|s|63|||5\n"
)

_SPECIALS = '<>()[]\\,;:" '  # RFC 5322 specials and space: never inside a bare address

_KINDS = {"s": STR, "i": INT, "p": IP, "c": CHOICE}


def _parse(line, group):
    f = line.split("|")
    f += ("", "", "0")[len(f) - 3 :]  # the fields left out
    name, k, a, b, d, flags = f
    kind = _KINDS[k]
    if kind == STR:
        a, b = int(a), None
    elif kind == INT:
        a, b, d = int(a), int(b), int(d)
    elif kind == CHOICE:
        a, b = tuple(a.split("/")), None
        d = int(d) if digits(d) else d
    else:
        a = b = None
    return (name, kind, a, b, d, int(flags), group)


def get(name):
    """The parameter named `name` as (name, type, a, b, default, flags, group), or None."""
    i = _SPEC.find("\n" + name + "|") + 1
    if i <= 0 or not name:
        return None
    g = _SPEC.rfind("\n:", 0, i) + 2  # its group's line above
    return _parse(_SPEC[i : _SPEC.find("\n", i)], _SPEC[g : _SPEC.find("\n", g)])


def table():
    """Every parameter, in table order."""
    group = None
    for line in _SPEC[1:-1].split("\n"):
        if line[0] == ":":
            group = line[1:]
        else:
            yield _parse(line, group)


class Values:
    """The AT# parameters: the value set by the host, else the board's factory value, else the
    table's default. Only what differs is kept in RAM: a dict of every default cost ~10 KB and
    fragmented a board's heap at start-up."""

    def __init__(self, stored, base):
        self.stored = stored  # key -> value set by the host (the non-volatile "at" section)
        self.base = base  # key -> factory value of this board (e.g. the simulator's sink)

    def __getitem__(self, key):
        if key in self.stored:
            return self.stored[key]
        if key in self.base:
            return self.base[key]
        p = get(key.split(":")[0])
        if p is None:
            raise KeyError(key)
        return p[4]

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default


def unquote(raw):
    """A value as the host typed it: quoted or not (S000333D p53, legacy hosts)."""
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == '"' and raw[-1] == '"':
        return raw[1:-1]
    if raw[:1] == '"':
        raise ATError(_BAD_VALUE)  # unbalanced quote
    return raw


def split_args(raw, sep=","):
    """Split on sep (a comma, or ';' between extended commands) outside double quotes."""
    out = []
    start = 0
    quoted = False
    for i in range(len(raw)):  # command lines are short; not a data path
        c = raw[i]
        if c == '"':
            quoted = not quoted
        elif c == sep and not quoted:
            out.append(raw[start:i])
            start = i + 1
    out.append(raw[start:])
    return out


def printable(text):
    """True when text has no control character (C0, DEL, C1) and no line or paragraph
    separator (U+2028, U+2029): nothing that could end a line somewhere downstream."""
    for ch in text:  # values are at most a few hundred characters
        o = ord(ch)
        if o < 32 or 127 <= o < 160 or o == 0x2028 or o == 0x2029:
            return False
    return True


def digits(text):
    """True when text is one or more ASCII digits (str.isdigit also takes '²' and other
    scripts' digits, and only on CPython)."""
    if not text:
        return False
    for ch in text:
        if not "0" <= ch <= "9":
            return False
    return True


def parse_int(text):
    text = text.strip()
    if not digits(text) or len(text) > 6:
        raise ATError(_BAD_VALUE)
    return int(text)


def mailbox(text):
    """True when text is one bare address: local@domain, no RFC 5322 specials, no space."""
    at = text.rfind("@")
    if at <= 0 or at == len(text) - 1:
        return False
    for c in _SPECIALS:
        if c in text:
            return False
    return True


def parse_ip(text):
    parts = text.strip().split(".")
    if len(parts) != 4:
        raise ATError(_BAD_VALUE)
    for s in parts:
        if parse_int(s) > 255 or len(s) > 3:
            raise ATError(_BAD_VALUE)
    return ".".join(str(int(s)) for s in parts)
