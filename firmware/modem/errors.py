"""Typed errors of every layer, and the #CME ERROR codes they map to (one table)."""

from .compat import const

# S000333D ch.9 p42 [READ] unless marked; codes marked OURS are documented in docs/commands.md.
UNKNOWN_COMMAND = const(34817)
SYNTAX = const(34819)
EEPROM_WRITE = const(34824)
TOO_LONG = const(34881)
BAD_VALUE = const(34882)
ALREADY_RUNNING = const(35840)
GPRS_LOST = const(35841)
PHY_TIMEOUT = const(35862)
NOT_ATTACHED = const(35865)
INVALID_EVENT = const(35866)
NO_LINK = const(35867)
SERVICE_RUNNING = const(37123)
SMTP_NO_ANSWER = const(37964)  # p68: no answer from the SMTP server within 3 min
DNS_FAILED = const(38027)
ACTIVATION_FAILED = const(49155)  # [HOST]
# OURS: SMTP steps the readable pages do not number (block 37970-37981).
SMTP_CONNECT = const(37970)
SMTP_GREETING = const(37971)
SMTP_HELO = const(37972)
SMTP_TLS = const(37973)
SMTP_AUTH = const(37974)
SMTP_SENDER = const(37975)
SMTP_RECIPIENT = const(37976)
SMTP_DATA = const(37977)
SMTP_REJECTED = const(37978)
SMTP_LOST = const(37979)
SERIAL_TIMEOUT = const(37980)
NO_RECIPIENT = const(37981)
# OURS: POP3 steps of AT#GETMAIL (block 37990-37999).
POP3_CONNECT = const(37990)
POP3_GREETING = const(37991)
POP3_TLS = const(37992)
POP3_AUTH = const(37993)
POP3_COMMAND = const(37994)
POP3_LOST = const(37995)
POP3_NO_ANSWER = const(37996)

# Socket services (TCP, UDP, PING): 38016 as hosts saw it, then OURS (block 38050-38053).
TCP_OPEN_FAILED = const(38016)  # [HOST] TCP open failed: refused, unreachable, S7 timeout
NOT_CONFIGURED = const(38050)  # OURS: server/port/remote not set, or a filter not an address
LISTEN_FAILED = const(38051)  # OURS: the listening port could not be opened
SOCKET_IO = const(38052)  # OURS: a UDP datagram could not be sent or received
# OURS: FTP steps of AT#FTPGET / AT#FTPPUT (block 38060-38069, docs/ftp.md).
FTP_CONNECT = const(38060)
FTP_GREETING = const(38061)
FTP_TLS = const(38062)
FTP_LOGIN = const(38063)
FTP_NO_FILE = const(38064)
FTP_DENIED = const(38065)
FTP_FULL = const(38066)
FTP_LOST = const(38067)
FTP_NO_ANSWER = const(38068)
FTP_COMMAND = const(38069)
# The outbox (docs/outbox.md): OURS (block 38070-38071).
OUTBOX_FULL = const(38070)  # OURS: the mail does not fit in OUTBOXMAX or the flash
OUTBOX_EXPIRED = const(38071)  # OURS: a mail older than OUTBOXAGE (recorded, not answered)


# SMS (3GPP TS 27.005 3.2.5): '+CMS ERROR: <n>' once AT+CMEE enabled it (S000293I p10). 0-127
# are the network's RP causes (TS 24.011 E.2), 300-500 the modem's own.
CMS_REJECTED = const(21)  # RP cause: short message transfer rejected (the server said 5xx)
CMS_NET_DOWN = const(38)  # RP cause: network out of order (no connection to the server)
CMS_TEMPORARY = const(41)  # RP cause: temporary failure (the server said 4xx)
CMS_NOT_ALLOWED = const(302)
CMS_NOT_SUPPORTED = const(303)
CMS_BAD_PDU = const(304)
CMS_BAD_TEXT = const(305)
CMS_BAD_INDEX = const(321)
CMS_MEMORY_FULL = const(322)  # the outbox is full (docs/outbox.md)
CMS_NO_SERVICE = const(331)
CMS_TIMEOUT = const(332)
CMS_UNKNOWN = const(500)


class ATError(Exception):
    """A command failed; code None means plain ERROR, else '#CME ERROR: <code>'."""

    def __init__(self, code=None, plus=False, cms=False):
        super().__init__(code)
        self.code = code
        self.plus = plus  # True: GSM-level '+CME ERROR' (shown only with AT+CMEE>=1)
        self.cms = cms  # True: '+CMS ERROR' (SMS commands; shown only with AT+CMEE>=1)


class NetError(Exception):
    """A network step failed; code is the #CME ERROR code to report."""

    def __init__(self, code, text=""):
        super().__init__(code, text)
        self.code = code
        self.text = text


class SMTPError(NetError):
    """The SMTP server refused a step (reply is the server's code, 0 when none)."""

    def __init__(self, code, step, reply=0, text=""):
        super().__init__(code, text)
        self.step = step
        self.reply = reply


class PDUError(Exception):
    """An SMS PDU or text is malformed or cannot be coded (27.005 3.2.5: '+CMS ERROR: 304'
    in PDU mode)."""
