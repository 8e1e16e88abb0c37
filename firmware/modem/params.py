"""The AT# parameter table (S000333D ch.2-7 plus our extensions): types, limits, defaults."""

from .compat import const
from .errors import ATError, BAD_VALUE

STR = const(0)  # a: max length
INT = const(1)  # a: min, b: max, step
IP = const(2)  # dotted quad
CHOICE = const(3)  # a: allowed values (strings, upper case)

SECRET = const(1)  # never displayed, never logged
PROFILE = const(2)  # one value per TCP profile (ids 1 and 2), S000333D rev C/D p30
EXT = const(4)  # our extension, not in S000333D

PROFILES = (1, 2)
MASK = '"********"'  # what a display shows for a password that is set

# (name, type, a, b, default, flags, group, source/notes)
# a/b: STR (maxlen, None); INT (min, max) with optional step in notes via _STEPS; CHOICE (values,)
TABLE = (
    # ch.2 Dialing / GSM data (#VPHY) [READ p13, p39]
    ("ANSWERMODE", INT, 0, 3, 0, 0, "PHY", "0 host answers, 1 auto, 2 static, 3 dynamic callback"),
    ("CALLBACKTIMER", INT, 2, 255, 2, 0, "PHY", "seconds before a call-back"),
    ("CALLSCREENNUM", STR, 64, None, "0", 0, "PHY", "number allowed to call in"),
    ("DIALN1", STR, 64, None, "", 0, "PHY", "primary ISP number"),
    ("DIALN2", STR, 64, None, "", 0, "PHY", "secondary ISP number"),
    ("DIALSELECT", INT, 1, 2, 1, 0, "PHY", "which DIALNi to dial"),
    ("GPRSMODE", INT, 0, 1, 1, 0, "PHY", "0 GSM data call, 1 GPRS"),
    ("PHYTIMEOUT", INT, 1, 255, 15, 0, "PHY", "link inactivity timeout, minutes"),
    ("REDIALCOUNT", INT, 0, 255, 5, 0, "PHY", "redial attempts"),
    ("REDIALDELAY", INT, 0, 255, 5, 0, "PHY", "seconds between redials"),
    # ch.2 PPP (#VPPP) [READ B p9, p13]
    ("ISPUN", STR, 64, None, "", 0, "PPP", "ISP user name"),
    ("ISPPW", STR, 64, None, "", SECRET, "PPP", "ISP password"),
    ("PPPMODE", CHOICE, ("1", "2", "3", "4", "9"), None, 1, 0, "PPP", "1 standard PPP"),
    ("PPPMYIP", IP, None, None, "0.0.0.0", 0, "PPP", "local IP in PPP server mode"),
    ("PPPPEERIP", IP, None, None, "0.0.0.0", 0, "PPP", "peer IP in PPP server mode"),
    ("PPPSERVUN", STR, 64, None, "", 0, "PPP", "user expected from a PPP client"),
    ("PPPSERVPW", STR, 64, None, "", SECRET, "PPP", "password expected from a PPP client"),
    # ch.2 GPRS (#VGPRS)
    ("APNSERV", STR, 120, None, "", 0, "GPRS", "access point name"),
    ("APNUN", STR, 64, None, "", 0, "GPRS", "APN user"),
    ("APNPW", STR, 64, None, "", SECRET, "GPRS", "APN password"),
    ("GPRSCID", INT, 1, 4, 1, 0, "GPRS", "PDP context id"),
    # ch.3 DNS (#VDNS) [READ p21]
    ("DNSSERV1", IP, None, None, "0.0.0.0", 0, "DNS", "primary DNS; 0.0.0.0 = from the network"),
    ("DNSSERV2", IP, None, None, "0.0.0.0", 0, "DNS", "secondary DNS"),
    # ch.3 SMTP (#VSMTP) [READ p17, p23]
    ("DOMAIN", STR, 120, None, "", 0, "SMTP", "EHLO/HELO name"),
    ("SENDERADDR", STR, 120, None, "", 0, "SMTP", "From: address and MAIL FROM"),
    ("SENDERNAME", STR, 120, None, "", 0, "SMTP", "From: display name"),
    ("SMTPAUTH", INT, 0, 1, 1, EXT, "SMTP", "1 AUTH when SMTPUN is set, 0 never"),
    ("SMTPPORT", INT, 1, 65535, 25, 0, "SMTP", "server port"),
    ("SMTPPW", STR, 64, None, "", SECRET, "SMTP", "AUTH password"),
    ("SMTPSEC", INT, 0, 2, 0, EXT, "SMTP", "0 none, 1 STARTTLS, 2 implicit TLS"),
    ("SMTPSERV", STR, 120, None, "", 0, "SMTP", "server name or address"),
    ("SMTPTIMEOUT", INT, 1, 600, 180, EXT, "SMTP", "seconds to wait for any reply"),
    ("SMTPUN", STR, 64, None, "", 0, "SMTP", "AUTH user; empty = no AUTH"),
    ("SMTPVERIFY", INT, 0, 1, 1, EXT, "SMTP", "1 verify the certificate, 0 do not"),
    ("DATATIMEOUT", INT, 1, 600, 50, EXT, "SMTP", "data-mode serial inactivity limit, s"),
    # ch.3 POP3 (#VPOP3) [READ p19, p21]
    ("POP3HEADERMODE", INT, 0, 1, 1, 0, "POP3", "1 header and body, 0 body only"),
    ("POP3PORT", INT, 1, 65535, 110, 0, "POP3", "server port"),
    ("POP3PW", STR, 64, None, "", SECRET, "POP3", "password"),
    ("POP3SEC", INT, 0, 2, 0, EXT, "POP3", "0 none, 1 STLS, 2 implicit TLS"),
    ("POP3SERV", STR, 120, None, "", 0, "POP3", "server name or address"),
    ("POP3UN", STR, 64, None, "", 0, "POP3", "user"),
    ("POP3VERIFY", INT, 0, 1, 1, EXT, "POP3", "1 verify the certificate, 0 do not"),
    # ch.3 mail combinations (#VMAILi) [READ p17, p18]
    ("REC1", STR, 400, None, "", 0, "MAIL1", "To: addresses, comma separated"),
    ("CCREC1", STR, 120, None, "", 0, "MAIL1", "Cc: address"),
    ("SUBJ1", STR, 120, None, "", 0, "MAIL1", "subject"),
    ("BODY1", STR, 120, None, "", 0, "MAIL1", "predefined body (AT#BODY1 + Ctrl-Z)"),
    ("REC2", STR, 400, None, "", 0, "MAIL2", "To: addresses, comma separated"),
    ("CCREC2", STR, 120, None, "", 0, "MAIL2", "Cc: address"),
    ("SUBJ2", STR, 120, None, "", 0, "MAIL2", "subject"),
    ("BODY2", STR, 120, None, "", 0, "MAIL2", "predefined body"),
    ("REC3", STR, 400, None, "", 0, "MAIL3", "To: addresses, comma separated"),
    ("CCREC3", STR, 120, None, "", 0, "MAIL3", "Cc: address"),
    ("SUBJ3", STR, 120, None, "", 0, "MAIL3", "subject"),
    ("BODY3", STR, 120, None, "", 0, "MAIL3", "predefined body"),
    # ch.4 FTP (#VFTP) [READ p28, p29, p73, p75]
    ("FTPGETFILENAME", STR, 120, None, "", 0, "FTP", "file to download"),
    ("FTPGETPATH", STR, 120, None, "", 0, "FTP", "download directory"),
    ("FTPMODE", INT, 0, 1, 1, 0, "FTP", "0 active, 1 passive"),
    ("FTPPORT", INT, 1, 65535, 21, 0, "FTP", "control port"),
    ("FTPPUTFILENAME", STR, 120, None, "", 0, "FTP", "file to create"),
    ("FTPPUTPATH", STR, 120, None, "", 0, "FTP", "upload directory"),
    ("FTPPW", STR, 64, None, "", SECRET, "FTP", "password"),
    ("FTPSERV", STR, 120, None, "", 0, "FTP", "server name or address"),
    ("FTPTYPE", CHOICE, ("A", "I"), None, "I", 0, "FTP", "A ASCII, I binary"),
    ("FTPUN", STR, 64, None, "", 0, "FTP", "user"),
    # ch.5 TCP, two profiles (#VTCP) [READ p30, p31]
    ("DLEMODE", INT, 0, 1, 1, PROFILE, "TCP", "1 ETX/DLE escaping, 0 transparent"),
    ("TCPPORT", INT, 0, 65535, 0, PROFILE, "TCP", "remote or listening port"),
    ("TCPSERV", STR, 120, None, "", PROFILE, "TCP", "remote host, or peer filter"),
    ("TCPTXDELAY", INT, 0, 32760, 100, PROFILE, "TCP", "ms, multiple of 20"),
    # ch.6 UDP (#VUDP) [READ p34]
    ("UDPPORT", INT, 0, 65535, 0, 0, "UDP", "remote or listening port"),
    ("UDPSERV", STR, 120, None, "", 0, "UDP", "remote host, or peer filter"),
    ("UDPTXDELAY", INT, 0, 32760, 100, 0, "UDP", "ms, multiple of 20"),
    # ch.7 PING (#VPING) [READ p37]
    ("PINGDELAY", INT, 1, 255, 1, 0, "PING", "seconds between requests"),
    ("PINGNUM", INT, 1, 255, 4, 0, "PING", "number of requests"),
    ("PINGREMOTE", STR, 120, None, "", 0, "PING", "host to ping"),
    # Wi-Fi link that stands in for the GPRS bearer (#VWIFI)
    ("WIFISSID", STR, 32, None, "", EXT, "WIFI", "network name"),
    ("WIFIPW", STR, 64, None, "", SECRET | EXT, "WIFI", "network password"),
)

_STEP20 = ("TCPTXDELAY", "UDPTXDELAY")  # multiples of 20 ms [READ p31, p34]

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

BY_NAME = {}
for _p in TABLE:
    BY_NAME[_p[0]] = _p


def keys(p):
    """Storage keys of a parameter: NAME, or NAME:1 and NAME:2 for TCP profiles."""
    if p[5] & PROFILE:
        return [p[0] + ":" + str(i) for i in PROFILES]
    return [p[0]]


def defaults():
    d = {}
    for p in TABLE:
        for k in keys(p):
            d[k] = p[4]
    return d


def unquote(raw):
    """A value as the host typed it: quoted or not (S000333D p53, legacy hosts)."""
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == '"' and raw[-1] == '"':
        return raw[1:-1]
    if raw[:1] == '"':
        raise ATError(BAD_VALUE)  # unbalanced quote
    return raw


def split_args(raw):
    """Split on commas outside double quotes."""
    out = []
    start = 0
    quoted = False
    for i in range(len(raw)):  # command lines are short; not a data path
        c = raw[i]
        if c == '"':
            quoted = not quoted
        elif c == "," and not quoted:
            out.append(raw[start:i])
            start = i + 1
    out.append(raw[start:])
    return out


def printable(text):
    """True when text has no control character (C0, DEL)."""
    for ch in text:  # values are at most a few hundred characters
        o = ord(ch)
        if o < 32 or o == 127:
            return False
    return True


def parse_int(text):
    text = text.strip()
    if not text or not text.isdigit() or len(text) > 6:
        raise ATError(BAD_VALUE)
    return int(text)


def validate(p, text):
    """Turn the unquoted text of a value into the stored value, or raise ATError(34882)."""
    # No CR, LF or NUL may reach a stored value: they would let a host inject SMTP or POP3
    # commands or header lines later. Other control bytes are refused for the same reason.
    if not printable(text):
        raise ATError(BAD_VALUE)
    kind = p[1]
    if kind == STR:
        if len(text) > p[2]:
            raise ATError(BAD_VALUE)
        return text
    if kind == INT:
        v = parse_int(text)
        if v < p[2] or v > p[3] or (p[0] in _STEP20 and v % 20):
            raise ATError(BAD_VALUE)
        return v
    if kind == IP:
        return parse_ip(text)
    # CHOICE: stored as given by the table (ints stay ints)
    t = text.strip().upper()
    if t not in p[2]:
        raise ATError(BAD_VALUE)
    return int(t) if isinstance(p[4], int) else t


def parse_ip(text):
    parts = text.strip().split(".")
    if len(parts) != 4:
        raise ATError(BAD_VALUE)
    for s in parts:
        if parse_int(s) > 255 or len(s) > 3:
            raise ATError(BAD_VALUE)
    return ".".join(str(int(s)) for s in parts)


def show(p, value):
    """The value as a display line shows it: strings quoted, numbers bare, secrets masked."""
    if p[5] & SECRET:
        return MASK if value else '""'
    if p[1] == INT or (p[1] == CHOICE and isinstance(value, int)):
        return str(value)
    return '"' + str(value) + '"'


def describe(p):
    """Type and range in words, for the generated command reference."""
    kind = p[1]
    if kind == STR:
        return "string, at most %d characters" % p[2]
    if kind == INT:
        s = "integer %d to %d" % (p[2], p[3])
        return s + (", multiple of 20" if p[0] in _STEP20 else "")
    if kind == IP:
        return "IPv4 address, dotted decimal"
    return "one of " + ", ".join(p[2])
