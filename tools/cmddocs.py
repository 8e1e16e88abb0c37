"""Words for the command reference: kept off the board, checked against the table."""

# The errors every socket command shares.
_SOCK = "35867 no session; 37123 another service runs (a listener, a socket left with +++, mail)"

# name: (syntax, responses, errors, description)
COMMANDS = {
    "#CACERT": (
        'AT#CACERT, then a PEM certificate, then Ctrl-Z; AT#CACERT="" removes it',
        "OK; AT#CACERT? answers #CACERT: 1 when one is installed, else 0",
        "34882 not a PEM certificate or over 8192 bytes; 37123; 37980; 34824",
        "Extension: a CA certificate that TLS verification trusts besides the system's "
        "(SMTPSEC, POP3SEC, FTPSEC). Verification is turned off only by SMTPVERIFY=0, "
        "POP3VERIFY=0 or FTPVERIFY=0.",
    ),
    "#CONNECTIONSTART": (
        "AT#CONNECTIONSTART",
        "<ip address> then Ok_Info_GprsActivation (GPRSMODE=1) or Ok_Info_PPP (GPRSMODE=0)",
        "35840 already connected; 35865 no network (not attached); 49155 activation failed",
        "Brings the network up (Wi-Fi on boards, the PC's network in the simulator).",
    ),
    "#CONNECTIONSTOP": (
        "AT#CONNECTIONSTOP",
        "OK",
        "",
        "Closes the session (OK also when none is open).",
    ),
    "#DISPLAYIP": (
        "AT#DISPLAYIP",
        '#MY IP: "a.b.c.d", #PEER IP: "...", #GATEWAY IP: "..."',
        "35867",
        "",
    ),
    "#FTPGET": (
        "AT#FTPGET",
        "Ok_Info_DataBegin once the server opened the file, its bytes (ETX as DLE ETX, DLE as "
        "DLE DLE), a bare ETX, then OK once the server confirmed the transfer (226/250)",
        "35867 no session; 37123 another service runs; 38050 FTPSERV or FTPGETFILENAME empty; "
        "38027 name not resolved; 38060-38069 FTP steps. An error after Ok_Info_DataBegin "
        "comes after the closing ETX",
        "Downloads FTPGETPATH/FTPGETFILENAME (FTPTYPE, FTPMODE, FTPSEC). See docs/ftp.md.",
    ),
    "#FTPLOG": (
        "AT#FTPLOG",
        '#FTPLOG: "<step>",<reply code>,"<reply text>",<ms> per step of the last session',
        "",
        "Extension: the last FTP exchange (never the password), as #SMTPLOG for mail.",
    ),
    "#FTPPUT": (
        "AT#FTPPUT, then the data (ETX as DLE ETX, DLE as DLE DLE), then a bare ETX",
        "Ok_Info_WaitingForData once the server is ready to store; the ETX is echoed; OK "
        "once the server confirmed the file (226/250)",
        "35867 no session; 37123 another service runs; 38050 FTPSERV or FTPPUTFILENAME empty; "
        "38027 name not resolved; 38060-38069 FTP steps; 37980 no serial byte for DATATIMEOUT. "
        "A failed upload never answers OK",
        "Uploads the host's data as FTPPUTPATH/FTPPUTFILENAME. See docs/ftp.md.",
    ),
    "#GETMAIL": (
        "AT#GETMAIL",
        "Ok_Info_Mail, the first mail of the box (dot-stuffed; its header is included only "
        "with POP3HEADERMODE=1), CR LF . CR LF, then OK once the mail was deleted on the server; "
        "Ok_Info_NoMail then OK when the box is empty",
        "35867 no session; 37123 another service runs; 38027 name not resolved; 37990-37995 "
        "POP3 steps; 37996 no server answer within POP3TIMEOUT. An error after Ok_Info_Mail "
        "comes after CR LF . CR LF, and the mail stays on the server",
        "Fetches the first mail from POP3SERV over POP3 (POP3SEC: STLS or implicit TLS) and "
        "deletes it once the host has it all. See docs/mail.md.",
    ),
    "#LTCPSTART": (
        "AT#LTCPSTART=<id> (AT#LTCPSTART: profile 1)",
        "OK; then Ok_Info_WaitingForData when a peer TCPSERV allows connects (data mode); "
        "an ETX or AT#LTCPSTOP before that stops listening with OK",
        _SOCK + "; 34882 id not 1 or 2; 38050 TCPPORT 0 or TCPSERV not a dotted address "
        "(255.255.255.255 = any peer); 38051 port in use",
        "Listens on TCPPORT; the modem stays in command mode (parameter writes answer 37123) "
        "until a peer arrives. Other peers are closed at once. One session per start. "
        "See docs/sockets.md.",
    ),
    "#LTCPSTOP": (
        "AT#LTCPSTOP=<id>",
        "OK (also when nothing listens)",
        "34882 id not 1 or 2",
        "Closes the listening port of that profile.",
    ),
    "#LUDPSTART": (
        "AT#LUDPSTART",
        "OK; then Ok_Info_WaitingForData and the datagram, escaped, when the first datagram "
        "UDPSERV allows arrives (data mode); AT#LUDPSTOP or an ETX before that stops with OK",
        _SOCK + "; 38050 UDPPORT 0 or UDPSERV not a dotted address (255.255.255.255 = any); "
        "38051 port in use",
        "Listens on UDPPORT; the session's peer is the sender of the first datagram. "
        "See docs/sockets.md.",
    ),
    "#LUDPSTOP": (
        "AT#LUDPSTOP",
        "OK (also when nothing listens)",
        "",
        "Stops a UDP listener that has not received its first datagram.",
    ),
    "#OTCP": (
        "AT#OTCP=<id> or AT#OTCP (profile 1)",
        "Ok_Info_WaitingForData once connected (data mode); after a bare ETX from the host: OK; "
        "when the peer closes: ETX (DLEMODE=1), Ok_Info_SocketClosed, OK; after +++: OK",
        _SOCK + "; 34882 id not 1 or 2; 38050 TCPPORT 0 or TCPSERV empty; 38027 name not "
        "resolved; 38016 refused, unreachable or no answer within S7 seconds",
        "Opens a TCP connection to TCPSERV:TCPPORT of the profile. Data mode, escaping, "
        "TCPTXDELAY, +++ and ATO: docs/sockets.md.",
    ),
    "#OUDP": (
        "AT#OUDP",
        "Ok_Info_WaitingForData (data mode); after a bare ETX: Ok_Info_SocketClosed, OK",
        _SOCK + "; 38050 UDPPORT 0 or UDPSERV empty; 38027 name not resolved; 38052 a datagram "
        "could not be sent (the session ends with ETX, then the error)",
        "UDP to UDPSERV:UDPPORT: one datagram per UDPTXDELAY batch (at most 1460 bytes); "
        "datagrams from that address and port go to the host. ETX and DLE always escaped.",
    ),
    "#PING": (
        "AT#PING",
        'per request "<PINGREMOTE>" is alive : time = <n> ms, or NO answer from '
        '"<PINGREMOTE>"; then OK',
        _SOCK + "; 38050 PINGREMOTE empty; 38027 name not resolved",
        "PINGNUM ICMP echo requests, PINGDELAY seconds apart, each waiting up to PINGDELAY "
        "seconds. Where ICMP cannot be sent, the time to a TCP answer on port 7 "
        "(docs/sockets.md).",
    ),
    "#PUTMAIL": (
        "AT#PUTMAIL, then the body, then CR LF . CR LF",
        "Ok_Info_WaitingForData once the server accepted DATA; OK once it accepted the "
        "message (250 after the final dot)",
        "35867 no session; 37123 another service runs; 37981 REC1 and CCREC1 empty; 37975 "
        "SENDERADDR empty or refused; 38027 name not resolved; 37970-37979 SMTP steps; "
        "37964 no server answer within SMTPTIMEOUT; 37980 no serial byte for DATATIMEOUT; "
        "with OUTBOX=1 only 37975, 37981, 37976 (a bad address), 37980 and 38070 outbox full",
        "Sends REC1/CCREC1/SUBJ1 with the body typed by the host (not echoed). See "
        "docs/mail.md for headers, encoding and failures. With OUTBOX=1 no session is needed: "
        "Ok_Info_WaitingForData comes at once and OK once the mail is on flash "
        "(docs/outbox.md).",
    ),
    "#REC1ADD": (
        "AT#REC1ADD, then one address per line, then Ctrl-Z (0x1A)",
        "OK after Ctrl-Z; ESC (0x1B) cancels with OK and no change",
        "34882 an address over 120 characters or with control bytes; 37123; 37980",
        "Replaces every REC1 address; the 11th and later addresses are ignored.",
    ),
    "#REC2ADD": (
        "AT#REC2ADD, then one address per line, then Ctrl-Z (0x1A)",
        "OK after Ctrl-Z; ESC (0x1B) cancels with OK and no change",
        "34882 an address over 120 characters or with control bytes; 37123; 37980",
        "Replaces every REC2 address; the 11th and later addresses are ignored.",
    ),
    "#REC3ADD": (
        "AT#REC3ADD, then one address per line, then Ctrl-Z (0x1A)",
        "OK after Ctrl-Z; ESC (0x1B) cancels with OK and no change",
        "34882 an address over 120 characters or with control bytes; 37123; 37980",
        "Replaces every REC3 address; the 11th and later addresses are ignored.",
    ),
    "#SENDMAIL": (
        "AT#SENDMAIL=<1-3>",
        "OK",
        "35867 no session; 37123 another service runs; 37981 REC1 and CCREC1 empty; 37975 "
        "SENDERADDR empty or refused; 38027 name not resolved; 37970-37979 SMTP steps; "
        "37964 no server answer within SMTPTIMEOUT; 37980 no serial byte for DATATIMEOUT",
        "Same as AT#SENDMAILi.",
    ),
    "#SENDMAIL1": (
        "AT#SENDMAIL1",
        "OK",
        "35867 no session; 37123 another service runs; 37981 REC1 and CCREC1 empty; 37975 "
        "SENDERADDR empty or refused; 38027 name not resolved; 37970-37979 SMTP steps; "
        "37964 no server answer within SMTPTIMEOUT; 37980 no serial byte for DATATIMEOUT",
        "Sends REC1/CCREC1/SUBJ1/BODY1.",
    ),
    "#SENDMAIL2": (
        "AT#SENDMAIL2",
        "OK",
        "35867 no session; 37123 another service runs; 37981 REC1 and CCREC1 empty; 37975 "
        "SENDERADDR empty or refused; 38027 name not resolved; 37970-37979 SMTP steps; "
        "37964 no server answer within SMTPTIMEOUT; 37980 no serial byte for DATATIMEOUT",
        "Sends REC2/CCREC2/SUBJ2/BODY2.",
    ),
    "#SENDMAIL3": (
        "AT#SENDMAIL3",
        "OK",
        "35867 no session; 37123 another service runs; 37981 REC1 and CCREC1 empty; 37975 "
        "SENDERADDR empty or refused; 38027 name not resolved; 37970-37979 SMTP steps; "
        "37964 no server answer within SMTPTIMEOUT; 37980 no serial byte for DATATIMEOUT",
        "Sends REC3/CCREC3/SUBJ3/BODY3.",
    ),
    "#VOUTBOX": (
        "AT#VOUTBOX",
        "#VOUTBOX: <count>,<bytes>,<age of the oldest, s>,<next attempt in s, -1 none or no "
        'link>, then #OUTBOX: <id>,<bytes>,<age s>,<tries>,<last #CME>,<last reply>,"<state>" '
        "per mail (queued, retry, sending, failed, expired; at most 32 lines)",
        "",
        "Extension: the outbox (docs/outbox.md). An age is -1 while the time is unknown.",
    ),
    "#OUTBOXFLUSH": (
        "AT#OUTBOXFLUSH",
        "OK at once; the delivery runs in the background",
        "",
        "Extension: try the outbox now, without waiting for the back-off (docs/outbox.md).",
    ),
    "#OUTBOXCLEAR": (
        "AT#OUTBOXCLEAR",
        "OK",
        "",
        "Extension: removes every mail of the outbox, waiting and failed (docs/outbox.md).",
    ),
    "#SMTPLOG": (
        "AT#SMTPLOG",
        '#SMTPLOG: "<step>",<reply code>,"<reply text>",<ms> per step of the last session',
        "",
        "Extension: the last SMTP exchange, for diagnosing a failed send in the field.",
    ),
    "#VALL": ("AT#VALL", "version line, then every group, blocks split by an empty line", "", ""),
    "#VDNS": (
        "AT#VDNS",
        "one #NAME: value line per parameter of group DNS, then OK",
        "",
        'Display; passwords show as "********" when set.',
    ),
    "#VFTP": (
        "AT#VFTP",
        "one #NAME: value line per parameter of group FTP, then OK",
        "",
        'Display; passwords show as "********" when set.',
    ),
    "#VGPRS": (
        "AT#VGPRS",
        "one #NAME: value line per parameter of group GPRS, then OK",
        "",
        'Display; passwords show as "********" when set.',
    ),
    "#VMAIL": ("AT#VMAIL", "VMAIL1..3 lines", "", "Display."),
    "#VMAIL1": (
        "AT#VMAIL1",
        "one #NAME: value line per parameter of group MAIL1, then OK",
        "",
        'Display; passwords show as "********" when set.',
    ),
    "#VMAIL2": (
        "AT#VMAIL2",
        "one #NAME: value line per parameter of group MAIL2, then OK",
        "",
        'Display; passwords show as "********" when set.',
    ),
    "#VMAIL3": (
        "AT#VMAIL3",
        "one #NAME: value line per parameter of group MAIL3, then OK",
        "",
        'Display; passwords show as "********" when set.',
    ),
    "#VPHY": (
        "AT#VPHY",
        "one #NAME: value line per parameter of group PHY, then OK",
        "",
        'Display; passwords show as "********" when set.',
    ),
    "#VPING": (
        "AT#VPING",
        "one #NAME: value line per parameter of group PING, then OK",
        "",
        'Display; passwords show as "********" when set.',
    ),
    "#VPOP3": (
        "AT#VPOP3",
        "one #NAME: value line per parameter of group POP3, then OK",
        "",
        'Display; passwords show as "********" when set.',
    ),
    "#VPPP": (
        "AT#VPPP",
        "one #NAME: value line per parameter of group PPP, then OK",
        "",
        'Display; passwords show as "********" when set.',
    ),
    "#VSMTP": (
        "AT#VSMTP",
        "one #NAME: value line per parameter of group SMTP, then OK",
        "",
        'Display; passwords show as "********" when set.',
    ),
    "#VSTATE": (
        "AT#VSTATE",
        '#STATE: "IDLE" | "DIALING" | "CONNECTED" | "DISCONNECTING"; #NO SERVICE without link',
        "",
        "",
    ),
    "#VTCP": (
        "AT#VTCP[=<id>]",
        "one #NAME: value line per parameter of group TCP, then OK",
        "",
        'Display; passwords show as "********" when set.',
    ),
    "#VUDP": (
        "AT#VUDP",
        "one #NAME: value line per parameter of group UDP, then OK",
        "",
        'Display; passwords show as "********" when set.',
    ),
    "#VVERSION": ("AT#VVERSION", '#VERSION: "<name> <build date>"', "", "Firmware version."),
    "#VWIFI": (
        "AT#VWIFI",
        "one #NAME: value line per parameter of group WIFI, then OK",
        "",
        'Display; passwords show as "********" when set.',
    ),
    "+CFUN": (
        "AT+CFUN=<0|1>[,<rst>]",
        "OK; AT+CFUN? answers +CFUN: 1, or 0 while stopped",
        "ERROR for other values",
        "0 stops the GSM stack like AT+CPOF. 1 restarts the stack: the AT&W profile is reloaded, "
        "the IP session closed, then +WIND and +CREG reports as at power-up. 1,1 answers OK, "
        "then the whole modem restarts as after power-on (settings kept, session, sockets and "
        "unsaved SMS settings gone; a board resets). With a module its radio follows "
        "(AT+CFUN=0/1 on the module; docs/cellular.md).",
    ),
    "+CPOF": (
        "AT+CPOF or AT+CPOF=1",
        "OK (then +CREG: 0 when reports are on)",
        "ERROR for other values",
        "Stops the GSM stack: not registered, +CSQ: 99,99, no IP session, SMS answer +CMS ERROR: "
        "331. AT commands still answer; AT+CFUN=1 starts it again. With a module: its radio "
        "off (AT+CFUN=0 on it) after the data call ended.",
    ),
    "+CIMI": (
        "AT+CIMI",
        "the IMSI: 15 digits, 00101 then 10 from the board id (with a module: the SIM's)",
        "",
        "",
    ),
    "+CCID": (
        "AT+CCID",
        '+CCID: "<20 digits>" (89 001, 14 digits from the board id, a Luhn digit)',
        "",
        "SIM card number; stable for a board. With a module (docs/cellular.md): the SIM's, "
        "+CME ERROR: 10 without a SIM.",
    ),
    "+COPS": (
        "AT+COPS=<mode>[,<format>[,<oper>]]",
        'AT+COPS? answers +COPS: 0,<format>,"<oper>" (MTGW Wi-Fi, MTGW or 00101; with a '
        "module its network's) when registered, else +COPS: 0; AT+COPS=? lists the one network",
        "+CME ERROR: 30 (with AT+CMEE) for a manual choice of another network; ERROR for bad "
        "values",
        "0 automatic, 1/4 manual (only the network it is on), 2 deregister (as AT+CPOF, a "
        "module's radio off; 0 registers again), 3 sets the format only (stored).",
    ),
    "+CCED": (
        "AT+CCED=<mode>[,<dump>[,<step>]]",
        "mode 0: +CSQ (dump 8) and +CCED: MCC,MNC,LAC,CI,BSIC,BCCH,RxLev,,,RxQual,,,IdleTS "
        "(dump 1; LAC and CI in hex), then OK; mode 1: OK, then the same lines every 5 s while "
        "idle; mode 2 stops them",
        "ERROR for values out of range",
        "Wavecom cell environment: the numbers of the main cell come from the board id, RxLev "
        "from the link's signal; there are no neighbour cells, the timing advance is 0.",
    ),
    "+CLIP": ("AT+CLIP=<0|1>", "AT+CLIP? answers +CLIP: <n>,2", "", "Stored; no calls here."),
    "+CLIR": ("AT+CLIR=<0|1|2>", "AT+CLIR? answers +CLIR: <n>,2", "", "Stored; no calls here."),
    "+CRC": ("AT+CRC=<0|1>", "AT+CRC? answers +CRC: <n>", "", "Stored; no calls here."),
    "+KSLEEP": (
        "AT+KSLEEP=<0|1|2>[,<level>[,<delay>]]",
        "OK; AT+KSLEEP? answers +KSLEEP: <n>",
        "ERROR for other values",
        "Sleep management (Sierra Wireless); stored and shown: this modem never sleeps.",
    ),
    "#RESET": (
        "AT#RESET=<0|1> or AT#RESET",
        "OK, then the modem restarts as after power-on",
        "34882 other values",
        "Multi-Tech: 0 restarts the GSM stack and the modem, 1 the modem; both restart all "
        "here. Settings are kept; the IP session and sockets are gone.",
    ),
    "+CMGF": ("AT+CMGF=<0|1>", "AT+CMGF? answers +CMGF: <n>", "ERROR", "0 PDU mode, 1 text."),
    "+CSMP": (
        "AT+CSMP=<fo>[,<vp>[,<pid>[,<dcs>]]]",
        "AT+CSMP? answers +CSMP: 17,167,0,0 by default",
        "ERROR",
        "Text-mode parameters; <dcs> chooses GSM 7-bit text or hex input (8-bit, UCS2).",
    ),
    "+CSCA": (
        'AT+CSCA="<number>"[,<type>]',
        'AT+CSCA? answers +CSCA: "<number>",<type>',
        "ERROR",
        "Service centre number: kept and shown; SMS as mail need none.",
    ),
    "+CNMI": (
        "AT+CNMI=<mode>,<mt>,<bm>,<ds>,<bfr>",
        "AT+CNMI? answers +CNMI: 0,1,0,0,0 by default",
        "ERROR",
        "How received SMS are announced: +CMTI (mt 1) or +CMT (mt 2).",
    ),
    "+CPMS": (
        'AT+CPMS="<mem1>"[,"<mem2>"[,"<mem3>"]]',
        "+CPMS: <used>,<total> three times; AT+CPMS? names the memories",
        "+CMS ERROR: 302 an unknown memory",
        "SM (10), ME (99), BM and SR (reading only); SM again at power-up.",
    ),
    "+CSDH": ("AT+CSDH=<0|1>", "AT+CSDH? answers +CSDH: <n>", "ERROR", "Text-mode header detail."),
    "+CSCS": (
        'AT+CSCS="<set>"',
        'AT+CSCS? answers +CSCS: "PCCP437" by default',
        "ERROR for other sets",
        "Character set of text-mode SMS: GSM, PCCP437, IRA, 8859-1, UCS2 (hex).",
    ),
    "+CSMS": ("AT+CSMS=<0|1>", "+CSMS: 1,1,1", "ERROR", "Message service; both answer alike."),
    "+CSAS": ("AT+CSAS", "OK", "34824 store failed", "Saves the SMS settings (docs/sms.md)."),
    "+CRES": ("AT+CRES", "OK", "", "Restores the SMS settings AT+CSAS saved."),
    "+CMGS": (
        'AT+CMGS="<number>"[,<type>] (text) or AT+CMGS=<length> (PDU), then the message and '
        "Ctrl-Z",
        "the prompt CR LF > space, again after each CR of a text; +CMGS: <mr> then OK once the "
        "mail server accepted the SMS as mail; ESC cancels with OK",
        "+CMS ERROR (with AT+CMEE): 331 no #SMSMAIL or no link, 304 bad PDU, 305 bad text, 38, "
        "41, 21, 332, 500 mail failures (docs/sms.md); 322 the outbox is full (OUTBOX=1)",
        "Without a radio the SMS goes out as e-mail to #SMSMAIL (docs/sms.md); with "
        "OUTBOX=1 +CMGS comes once the mail is on flash, with or without a link "
        "(docs/outbox.md).",
    ),
    "+CMGL": (
        'AT+CMGL="<stat>" (text) or AT+CMGL=<stat> (PDU)',
        "+CMGL lines, each followed by the text or PDU, then OK",
        "+CMS ERROR: 304/305 a bad stat",
        "Received SMS (none arrive without a radio).",
    ),
    "+CMGR": (
        "AT+CMGR=<index>",
        "+CMGR line and the text or PDU, then OK; OK alone for an empty location",
        "+CMS ERROR: 321 an index outside the memory",
        "",
    ),
    "+CMGD": (
        "AT+CMGD=<index>[,<flag>]",
        "OK",
        "+CMS ERROR: 321 an index outside the memory",
        "Flag 1 read, 2 read and sent, 3 read, sent and unsent, 4 all (index ignored).",
    ),
    "+CGATT": ("AT+CGATT=<0|1>", "OK then +CGREG", "", ""),
    "+CGDCONT": ('AT+CGDCONT=<cid>,"IP","<apn>"', "", "", ""),
    "+CGMI": ("AT+CGMI", "identity line", "", "identification"),
    "+CGMM": ("AT+CGMM", "identity line", "", "identification"),
    "+CGMR": ("AT+CGMR", "identity line", "", "identification"),
    "+CGREG": ("AT+CGREG=<n>", "", "", ""),
    "+CGSN": ("AT+CGSN", "identity line", "", "identification"),
    "+CMEE": ("AT+CMEE=<0|1|2>", "", "", ""),
    "+CNUM": ("AT+CNUM", "OK", "", ""),
    "+CPIN": (
        "AT+CPIN?, AT+CPIN=<pin>",
        "+CPIN: READY (with a module: its SIM's state, READY or SIM PIN)",
        "with a module: +CME ERROR: 10 no SIM, 16 wrong PIN (with AT+CMEE)",
        "Without a module any PIN is accepted; with one the PIN goes to the module.",
    ),
    "+CREG": ("AT+CREG=<n>", "+CREG: <n>,<stat>", "", ""),
    "+CSQ": (
        "AT+CSQ",
        "+CSQ: <rssi>,99",
        "",
        "Wi-Fi's level, or the module's (during a data call: its last value before it).",
    ),
    "+GMI": ("AT+GMI", "identity line", "", "identification"),
    "+GMM": ("AT+GMM", "identity line", "", "identification"),
    "+GMR": ("AT+GMR", "identity line", "", "identification"),
    "+GSN": ("AT+GSN", "identity line", "", "identification"),
    "+ICF": (
        "AT+ICF=3,4",
        "OK; AT+ICF? answers +ICF: 3,4",
        "ERROR for any other framing",
        "Character framing: 8 data bits, no parity, 1 stop bit is the only one.",
    ),
    "+IFC": ("AT+IFC=<dce>,<dte>", "", "", ""),
    "+IPR": ("AT+IPR=<rate>", "", "", ""),
    "+WIND": ("AT+WIND=<mask>", "", "", ""),
    "+WOPEN": ("AT+WOPEN=<0|1|3>", "", "", ""),
}

# parameter: what it is for
PARAMS = {
    "ANSWERMODE": "0 host answers, 1 auto, 2 static, 3 dynamic callback",
    "CALLBACKTIMER": "seconds before a call-back",
    "CALLSCREENNUM": "number allowed to call in",
    "DIALN1": "primary ISP number",
    "DIALN2": "secondary ISP number",
    "DIALSELECT": "which DIALNi to dial",
    "GPRSMODE": "0 GSM data call, 1 GPRS",
    "PHYTIMEOUT": "link inactivity timeout, minutes",
    "REDIALCOUNT": "redial attempts",
    "REDIALDELAY": "seconds between redials",
    "ISPUN": "ISP user name",
    "ISPPW": "ISP password",
    "PPPMODE": "1 standard PPP",
    "PPPMYIP": "local IP in PPP server mode",
    "PPPPEERIP": "peer IP in PPP server mode",
    "PPPSERVUN": "user expected from a PPP client",
    "PPPSERVPW": "password expected from a PPP client",
    "APNSERV": "access point name",
    "APNUN": "APN user",
    "APNPW": "APN password",
    "GPRSCID": "PDP context id",
    "DNSSERV1": "primary DNS; 0.0.0.0 = from the network",
    "DNSSERV2": "secondary DNS",
    "DOMAIN": "EHLO/HELO name",
    "SENDERADDR": "From: address and MAIL FROM",
    "SENDERNAME": "From: display name",
    "SMTPAUTH": "1 AUTH when SMTPUN is set, 0 never",
    "SMTPPORT": "server port",
    "SMTPPW": "AUTH password",
    "SMTPSEC": "0 none, 1 STARTTLS, 2 implicit TLS",
    "SMTPSERV": "server name or address",
    "SMTPTIMEOUT": "seconds to wait for any reply",
    "SMTPUN": "AUTH user; empty = no AUTH",
    "SMTPVERIFY": "1 verify the certificate, 0 do not",
    "DATATIMEOUT": "data-mode serial inactivity limit, s",
    "SMSMAIL": "where an SMS goes as mail; {number} becomes the destination's digits",
    "OUTBOX": "1: mails and SMS-as-mail are kept on flash and sent in the background "
    "(docs/outbox.md); 0: sent during the command, as on the original",
    "OUTBOXMAX": "the most the outbox holds, KB (mails waiting and failed ones)",
    "OUTBOXAGE": "hours a mail may wait in the outbox before it is given up; 0: no limit",
    "POP3HEADERMODE": "1 header and body, 0 body only",
    "POP3PORT": "server port",
    "POP3PW": "password",
    "POP3SEC": "0 none, 1 STLS, 2 implicit TLS",
    "POP3SERV": "server name or address",
    "POP3TIMEOUT": "seconds to wait for any reply or data from the server",
    "POP3UN": "user",
    "POP3VERIFY": "1 verify the certificate, 0 do not",
    "REC1": "To: addresses, comma separated",
    "CCREC1": "Cc: address",
    "SUBJ1": "subject",
    "BODY1": "predefined body (AT#BODY1 + Ctrl-Z)",
    "REC2": "To: addresses, comma separated",
    "CCREC2": "Cc: address",
    "SUBJ2": "subject",
    "BODY2": "predefined body",
    "REC3": "To: addresses, comma separated",
    "CCREC3": "Cc: address",
    "SUBJ3": "subject",
    "BODY3": "predefined body",
    "FTPGETFILENAME": "file to download",
    "FTPGETPATH": "download directory",
    "FTPMODE": "0 active, 1 passive",
    "FTPPORT": "control port",
    "FTPPUTFILENAME": "file to create",
    "FTPPUTPATH": "upload directory",
    "FTPPW": "password",
    "FTPSEC": "0 none, 1 explicit FTPS (AUTH TLS), 2 implicit FTPS",
    "FTPSERV": "server name or address",
    "FTPTIMEOUT": "seconds to wait for any reply or data",
    "FTPTYPE": "A ASCII, I binary",
    "FTPUN": "user",
    "FTPVERIFY": "1 verify the certificate, 0 do not",
    "DLEMODE": "1 ETX/DLE escaping, 0 transparent",
    "TCPPORT": "remote or listening port",
    "TCPSERV": "remote host, or peer filter",
    "TCPTXDELAY": "ms, multiple of 20",
    "OUTPORT": "local port of the next #OTCP or #OUDP; 0 any (Multi-Tech)",
    "UDPPORT": "remote or listening port",
    "UDPSERV": "remote host, or peer filter",
    "UDPTXDELAY": "ms, multiple of 20",
    "UDPDLEMODE": "1 ETX/DLE escaping for UDP, 0 transparent (Multi-Tech)",
    "PINGDELAY": "seconds between requests",
    "PINGNUM": "number of requests",
    "PINGREMOTE": "host to ping",
    "WIFISSID": "network name",
    "WIFIPW": "network password",
    "NETMODE": "WIFI, CELL (the board's module, docs/cellular.md), AUTO (Wi-Fi when WIFISSID is"
    " set and joins, else the module; the default on a board with a module)",
    "WEBPW": "password of the web pages: every change on them needs it (docs/portal.md)",
    "WEBSTATUS": "1: the status and setup pages also on the joined network (with WEBPW)",
    "WEBPORT": "TCP port of the web pages",
    "SETUPWAIT": "seconds the stored network may stay unjoined before setup mode; 0: never",
    "SETUPPW": "WPA2 password of the setup access point; empty or shorter than 8: the "
    "one derived from the board id (tools/label.py prints it)",
}
