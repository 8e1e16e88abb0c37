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

# One line per parameter: name|type|a|b|default|flags|group. Type s: string, a = max length;
# i: integer a..b; p: IPv4 address; c: one of a (slash separated). Kept as one string and parsed
# on demand: a table of tuples costs ~25 KB of a board's heap, this costs ~3 KB.
# Words for the docs are in tools/cmddocs.py.
_SPEC = (
    "ANSWERMODE|i|0|3|0|0|PHY\n"
    "CALLBACKTIMER|i|2|255|2|0|PHY\n"
    "CALLSCREENNUM|s|64||0|0|PHY\n"
    "DIALN1|s|64|||0|PHY\n"
    "DIALN2|s|64|||0|PHY\n"
    "DIALSELECT|i|1|2|1|0|PHY\n"
    "GPRSMODE|i|0|1|1|0|PHY\n"
    "PHYTIMEOUT|i|1|255|15|0|PHY\n"
    "REDIALCOUNT|i|0|255|5|0|PHY\n"
    "REDIALDELAY|i|0|255|5|0|PHY\n"
    "ISPUN|s|64|||0|PPP\n"
    "ISPPW|s|64|||1|PPP\n"
    "PPPMODE|c|1/2/3/4/9||1|0|PPP\n"
    "PPPMYIP|p|||0.0.0.0|0|PPP\n"
    "PPPPEERIP|p|||0.0.0.0|0|PPP\n"
    "PPPSERVUN|s|64|||0|PPP\n"
    "PPPSERVPW|s|64|||1|PPP\n"
    "APNSERV|s|120|||0|GPRS\n"
    "APNUN|s|64|||0|GPRS\n"
    "APNPW|s|64|||1|GPRS\n"
    "GPRSCID|i|1|4|1|0|GPRS\n"
    "DNSSERV1|p|||0.0.0.0|0|DNS\n"
    "DNSSERV2|p|||0.0.0.0|0|DNS\n"
    "DOMAIN|s|120|||0|SMTP\n"
    "SENDERADDR|s|120|||0|SMTP\n"
    "SENDERNAME|s|120|||0|SMTP\n"
    "SMTPAUTH|i|0|1|1|4|SMTP\n"
    "SMTPPORT|i|1|65535|25|0|SMTP\n"
    "SMTPPW|s|64|||1|SMTP\n"
    "SMTPSEC|i|0|2|0|4|SMTP\n"
    "SMTPSERV|s|120|||0|SMTP\n"
    "SMTPTIMEOUT|i|1|600|180|4|SMTP\n"
    "SMTPUN|s|64|||0|SMTP\n"
    "SMTPVERIFY|i|0|1|1|4|SMTP\n"
    "DATATIMEOUT|i|1|600|50|4|SMTP\n"
    "SMSMAIL|s|120|||4|SMTP\n"
    "OUTBOX|i|0|1|0|4|SMTP\n"
    "OUTBOXMAX|i|16|65536|256|4|SMTP\n"
    "OUTBOXAGE|i|0|8760|168|4|SMTP\n"
    "POP3HEADERMODE|i|0|1|1|0|POP3\n"
    "POP3PORT|i|1|65535|110|0|POP3\n"
    "POP3PW|s|64|||1|POP3\n"
    "POP3SEC|i|0|2|0|4|POP3\n"
    "POP3SERV|s|120|||0|POP3\n"
    "POP3TIMEOUT|i|1|600|180|4|POP3\n"
    "POP3UN|s|64|||0|POP3\n"
    "POP3VERIFY|i|0|1|1|4|POP3\n"
    "REC1|s|400|||0|MAIL1\n"
    "CCREC1|s|120|||0|MAIL1\n"
    "SUBJ1|s|120|||0|MAIL1\n"
    "BODY1|s|120|||0|MAIL1\n"
    "REC2|s|400|||0|MAIL2\n"
    "CCREC2|s|120|||0|MAIL2\n"
    "SUBJ2|s|120|||0|MAIL2\n"
    "BODY2|s|120|||0|MAIL2\n"
    "REC3|s|400|||0|MAIL3\n"
    "CCREC3|s|120|||0|MAIL3\n"
    "SUBJ3|s|120|||0|MAIL3\n"
    "BODY3|s|120|||0|MAIL3\n"
    "FTPGETFILENAME|s|120|||0|FTP\n"
    "FTPGETPATH|s|120|||0|FTP\n"
    "FTPMODE|i|0|1|1|0|FTP\n"
    "FTPPORT|i|1|65535|21|0|FTP\n"
    "FTPPUTFILENAME|s|120|||0|FTP\n"
    "FTPPUTPATH|s|120|||0|FTP\n"
    "FTPPW|s|64|||1|FTP\n"
    "FTPSEC|i|0|2|0|4|FTP\n"
    "FTPSERV|s|120|||0|FTP\n"
    "FTPTIMEOUT|i|1|600|180|4|FTP\n"
    "FTPTYPE|c|A/I||I|0|FTP\n"
    "FTPUN|s|64|||0|FTP\n"
    "FTPVERIFY|i|0|1|1|4|FTP\n"
    "DLEMODE|i|0|1|1|2|TCP\n"
    "TCPPORT|i|0|65535|0|2|TCP\n"
    "TCPSERV|s|120|||2|TCP\n"
    "TCPTXDELAY|i|0|32760|100|2|TCP\n"
    "OUTPORT|i|0|65535|0|4|TCP\n"
    "UDPPORT|i|0|65535|0|0|UDP\n"
    "UDPSERV|s|120|||0|UDP\n"
    "UDPTXDELAY|i|0|32760|100|0|UDP\n"
    "UDPDLEMODE|i|0|1|1|4|UDP\n"
    "PINGDELAY|i|1|255|1|0|PING\n"
    "PINGNUM|i|1|255|4|0|PING\n"
    "PINGREMOTE|s|120|||0|PING\n"
    "WIFISSID|s|32|||4|WIFI\n"
    "WIFIPW|s|64|||5|WIFI\n"
    "NETMODE|c|WIFI/CELL/AUTO||WIFI|4|WIFI\n"
    "WEBPW|s|64|||5|WIFI\n"
    "WEBSTATUS|i|0|1|0|4|WIFI\n"
    "WEBPORT|i|1|65535|80|4|WIFI\n"
    "SETUPWAIT|i|0|3600|300|4|WIFI\n"
    "SETUPPW|s|63|||5|WIFI\n"
)

_SPECIALS = '<>()[]\\,;:" '  # RFC 5322 specials and space: never inside a bare address

_KINDS = {"s": STR, "i": INT, "p": IP, "c": CHOICE}


def _parse(line):
    name, k, a, b, d, flags, group = line.split("|")
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
    i = _SPEC.find(name + "|")
    while i > 0 and _SPEC[i - 1] != "\n":
        i = _SPEC.find(name + "|", i + 1)
    if i < 0 or not name:
        return None
    return _parse(_SPEC[i : _SPEC.find("\n", i)])


def table():
    """Every parameter, in table order."""
    start = 0
    n = len(_SPEC)
    while start < n:
        end = _SPEC.find("\n", start)
        yield _parse(_SPEC[start:end])
        start = end + 1


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
