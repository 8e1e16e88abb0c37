"""The #CME ERROR and +CMS ERROR codes of every layer: the one table (docs/commands.md lists it).

No firmware module loads it at run time: each declares the codes it answers as private
constants (`_SMTP_LOST = const(37979)`), which mpy-cross inlines, so a board keeps no name and no
dict entry for them (docs/design.md, Memory); host_tests/test_codes.py checks every such
constant against this table. `modem.errors.SMTP_LOST` reads it (tests, tools). One string, not one name a code: loaded on a board, it interns no names.
"""

# One line per code: "NAME value".
TABLE = (
    "\n"
    # S000333D ch.9 p42 [READ] unless marked; codes marked OURS are documented in docs/commands.md.
    "UNKNOWN_COMMAND 34817\n"
    "SYNTAX 34819\n"
    "EEPROM_WRITE 34824\n"
    "TOO_LONG 34881\n"
    "BAD_VALUE 34882\n"
    "ALREADY_RUNNING 35840\n"
    "GPRS_LOST 35841\n"
    "PHY_TIMEOUT 35862\n"
    "NOT_ATTACHED 35865\n"
    "INVALID_EVENT 35866\n"
    "NO_LINK 35867\n"
    "SERVICE_RUNNING 37123\n"
    "SMTP_NO_ANSWER 37964\n"  # p68: no answer from the SMTP server within 3 min
    "DNS_FAILED 38027\n"
    "ACTIVATION_FAILED 49155\n"  # [HOST]
    # OURS: SMTP steps the readable pages do not number (block 37970-37981).
    "SMTP_CONNECT 37970\n"
    "SMTP_GREETING 37971\n"
    "SMTP_HELO 37972\n"
    "SMTP_TLS 37973\n"
    "SMTP_AUTH 37974\n"
    "SMTP_SENDER 37975\n"
    "SMTP_RECIPIENT 37976\n"
    "SMTP_DATA 37977\n"
    "SMTP_REJECTED 37978\n"
    "SMTP_LOST 37979\n"
    "SERIAL_TIMEOUT 37980\n"
    "NO_RECIPIENT 37981\n"
    # OURS: POP3 steps of AT#GETMAIL (block 37990-37999).
    "POP3_CONNECT 37990\n"
    "POP3_GREETING 37991\n"
    "POP3_TLS 37992\n"
    "POP3_AUTH 37993\n"
    "POP3_COMMAND 37994\n"
    "POP3_LOST 37995\n"
    "POP3_NO_ANSWER 37996\n"
    # Socket services (TCP, UDP, PING): 38016 as hosts saw it, then OURS (block 38050-38053).
    "TCP_OPEN_FAILED 38016\n"  # [HOST] TCP open failed: refused, unreachable, S7 timeout
    "NOT_CONFIGURED 38050\n"  # OURS: server/port/remote not set, or a filter not an address
    "LISTEN_FAILED 38051\n"  # OURS: the listening port could not be opened
    "SOCKET_IO 38052\n"  # OURS: a UDP datagram could not be sent or received
    # OURS: FTP steps of AT#FTPGET / AT#FTPPUT (block 38060-38069, docs/ftp.md).
    "FTP_CONNECT 38060\n"
    "FTP_GREETING 38061\n"
    "FTP_TLS 38062\n"
    "FTP_LOGIN 38063\n"
    "FTP_NO_FILE 38064\n"
    "FTP_DENIED 38065\n"
    "FTP_FULL 38066\n"
    "FTP_LOST 38067\n"
    "FTP_NO_ANSWER 38068\n"
    "FTP_COMMAND 38069\n"
    # The outbox (docs/outbox.md): OURS (block 38070-38071).
    "OUTBOX_FULL 38070\n"  # OURS: the mail does not fit in OUTBOXMAX or the flash
    "OUTBOX_EXPIRED 38071\n"  # OURS: a mail older than OUTBOXAGE (recorded, not answered)
    # SMS (3GPP TS 27.005 3.2.5): '+CMS ERROR: <n>' once AT+CMEE enabled it (S000293I p10). 0-127
    # are the network's RP causes (TS 24.011 E.2), 300-500 the modem's own.
    "CMS_REJECTED 21\n"  # RP cause: short message transfer rejected (the server said 5xx)
    "CMS_NET_DOWN 38\n"  # RP cause: network out of order (no connection to the server)
    "CMS_TEMPORARY 41\n"  # RP cause: temporary failure (the server said 4xx)
    "CMS_NOT_ALLOWED 302\n"
    "CMS_NOT_SUPPORTED 303\n"
    "CMS_BAD_PDU 304\n"
    "CMS_BAD_TEXT 305\n"
    "CMS_BAD_INDEX 321\n"
    "CMS_MEMORY_FULL 322\n"  # the outbox is full (docs/outbox.md)
    "CMS_NO_SERVICE 331\n"
    "CMS_TIMEOUT 332\n"
    "CMS_UNKNOWN 500\n"
)


def get(name):
    """The value of the code named `name`, or None."""
    i = TABLE.find("\n" + name + " ")
    if i < 0 or not name:
        return None
    i += len(name) + 2
    return int(TABLE[i : TABLE.find("\n", i)])


def table():
    """{name: value} of every code, in table order (tests, tools)."""
    out = {}
    for line in TABLE.split("\n"):
        if line:
            name, value = line.split(" ")
            out[name] = int(value)
    return out
