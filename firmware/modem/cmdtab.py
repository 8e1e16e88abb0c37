"""The extended-command table (S000333D; docs/commands.md is made from it), its look-up and
the parsing of one extended command: name, form, arguments.

On a board the modem loads this module for each extended command and drops it again once the
command is parsed (modem._command; docs/design.md, Memory); CPython keeps it.
"""

from . import params
from .compat import const
from .errors import ATError

_UNKNOWN_COMMAND = const(34817)
_SYNTAX = const(34819)

# Extended commands: a ":module" line names a handler module, the lines below it its commands:
# name, forms (x exec, s set, r read, t test), then p when a background delivery of the outbox
# stops first (docs/outbox.md: the host's own services, what ends the session or the link), q
# when it stops unless OUTBOX=1 (the command then only queues a mail). A handler module is
# imported when first needed; the mail modules are dropped again after each use, so their RAM
# is free while the modem waits (docs/design.md). Parameters of params.table() need no line:
# modem.atcmds handles them.
COMMANDS = (
    "\n:basic\n+CGMI xt\n+GMI xt\n+CGMM xt\n+GMM xt\n+CGMR xt\n+GMR xt\n+CGSN xt\n+GSN xt"
    "\n+CFUN srtp\n+WIND srt\n+WOPEN srtp\n+CMEE srt\n+CPIN srt\n+CSQ xt\n+CREG srt\n+CGREG srt"
    "\n+CGATT srtp\n+CGDCONT srt\n+IPR srt\n+IFC srt\n+ICF srt\n+CNUM xt\n+KSLEEP srt\n+CLIP srt"
    "\n+CLIR srt\n+CRC srt\n+CPOF xsp\n+CIMI xt\n+CCID xrt\n+COPS srt\n+CCED st\n#RESET sxtp"
    "\n:sms\n+CMGF srt\n+CSMP srt\n+CSCA srt\n+CNMI srt\n+CPMS srt\n+CSDH srt\n+CSCS srt"
    "\n+CSMS srt\n+CSAS xt\n+CRES xt\n+CMGS stq\n+CMGL xst\n+CMGR st\n+CMGD st"
    "\n:session\n#CONNECTIONSTART xp\n#CONNECTIONSTOP xp\n#DISPLAYIP x\n#VSTATE x"
    "\n:mail\n#PUTMAIL xq\n#SENDMAIL1 xq\n#SENDMAIL2 xq\n#SENDMAIL3 xq\n#SENDMAIL sxq\n#SMTPLOG x"
    "\n:getmail\n#GETMAIL xp"
    "\n:atcmds\n#BODY1 srtx\n#BODY2 srtx\n#BODY3 srtx\n#REC1ADD x\n#REC2ADD x\n#REC3ADD x"
    "\n#VPHY x\n#VPPP x\n#VGPRS x\n#VDNS x\n#VSMTP x\n#VPOP3 x\n#VMAIL1 x\n#VMAIL2 x\n#VMAIL3 x"
    "\n#VFTP x\n#VTCP xs\n#VUDP x\n#VPING x\n#VWIFI x\n#VMAIL x\n#VALL x\n#VVERSION x"
    "\n#CACERT xsrt"
    "\n:sockets\n#OTCP xsp\n#LTCPSTART xsp\n#LTCPSTOP xs\n#OUDP xp\n#LUDPSTART xp\n#LUDPSTOP x"
    "\n#PING xp"
    "\n:ftpcmds\n#FTPGET x\n#FTPPUT x\n#FTPLOG x"
    "\n:outboxcmd\n#VOUTBOX x\n#OUTBOXFLUSH x\n#OUTBOXCLEAR xp\n"
)


def lookup(name):
    """(module, forms) of an extended command, or None."""
    i = COMMANDS.find("\n" + name + " ")
    if i < 0:
        return None
    h = COMMANDS.rfind("\n:", 0, i) + 2  # the module's line above
    forms = COMMANDS[i + len(name) + 2 : COMMANDS.find("\n", i + 1)]
    return COMMANDS[h : COMMANDS.find("\n", h)], forms


def command(text, hashcmd):
    """One extended command ("+CSQ", "#SMTPSERV=x"): (name, form, args, entry, p), where entry
    is its lookup() and p its parameter (params.get) when it is an AT# parameter without a
    line here; raises ATError for an unknown name or a form it does not have."""
    k = 1
    while k < len(text) and ("0" <= text[k] <= "9" or "A" <= text[k].upper() <= "Z"):
        k += 1
    name = text[:k].upper()
    rest = text[k:].strip()
    if rest[:2] == "=?":
        form, args = "test", ""
        if rest[2:].strip():  # a test form has nothing after "=?"
            raise ATError(_SYNTAX if hashcmd else None)
    elif rest[:1] == "?":
        form, args = "read", ""
        if rest[1:].strip():
            raise ATError(_SYNTAX if hashcmd else None)
    elif rest[:1] == "=":
        form, args = "set", rest[1:]
    elif rest == "":
        form, args = "exec", ""
    else:
        raise ATError(_SYNTAX if hashcmd else None)
    entry = lookup(name)
    p = params.get(name[1:]) if hashcmd and entry is None else None
    if entry is None and p is None:
        raise ATError(_UNKNOWN_COMMAND if hashcmd else None)
    if entry is not None and ("x" if form == "exec" else form[0]) not in entry[1]:
        raise ATError(_SYNTAX if hashcmd else None)
    return name, form, args, entry, p
