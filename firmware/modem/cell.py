"""The GSM half from a real module (board.cell, docs/cellular.md): SIM, identity, operator,
SMS out through the module and SMS in to the store. Boards without a module never load it."""

from .errors import ATError, CMS_TIMEOUT, CMS_UNKNOWN, NetError
from . import params

_SIM_BUSY = 14  # 27.007 9.2.1: SIM busy (the module has not said yet)
_NOT_INSERTED = 10
_UNKNOWN = 100


def present(m):
    """The board's module driver, or None (Wi-Fi boards, the plain simulator)."""
    return getattr(m.board, "cell", None)


def _need_sim(c):
    if c.sim == "NOT INSERTED":
        raise ATError(_NOT_INSERTED, plus=True)
    if c.sim != "READY":
        raise ATError(11 if c.sim == "SIM PIN" else _SIM_BUSY, plus=True)


async def cpin(m, form, args):
    """AT+CPIN? answers the module's SIM state; AT+CPIN=<pin> goes to the module."""
    c = m.board.cell
    if form == "read":
        if c.sim == "NOT INSERTED":
            raise ATError(_NOT_INSERTED, plus=True)
        if not c.sim:
            raise ATError(_SIM_BUSY, plus=True)
        return ["+CPIN: " + c.sim]
    if form == "set":
        pin = params.unquote(params.split_args(args)[0])
        if not params.digits(pin) or not 4 <= len(pin) <= 8:
            raise ATError(16, plus=True)  # 27.007 9.2.1: incorrect password
        try:
            await c.enter_pin(pin)
        except NetError as e:
            raise ATError(e.code if e.code > 0 else _UNKNOWN, plus=True) from None
    return []


async def radio(m, on):
    """AT+CFUN=0/1, AT+CPOF, AT+COPS=2/0: the module's radio follows (after net.down()). A
    module that does not answer gets it from the keeper later; the host's answer is OK."""
    try:
        await m.board.cell.set_radio(on)
    except NetError as e:
        m.board.log("module: radio: %s" % e.text)


def iccid(m):
    c = m.board.cell
    if c.sim == "NOT INSERTED" or not c.iccid:
        raise ATError(_NOT_INSERTED if c.sim == "NOT INSERTED" else _SIM_BUSY, plus=True)
    return c.iccid


def imsi(m):
    c = m.board.cell
    _need_sim(c)
    return c.imsi


def operator(m):
    """AT+COPS formats 0, 1, 2: long name, short name (the long one cut to 16), MCC MNC."""
    c = m.board.cell
    return (c.oper_name, c.oper_name[:16], c.oper)


async def send(m, number, text, part=None):
    """AT+CMGS through the module; +CMS ERROR with the network's or the module's code."""
    c = m.board.cell
    if not m.radio or c.reg not in (1, 5):
        raise ATError(331, cms=True)  # 27.005 3.2.5: no network service
    try:
        await c.send_sms(number, text, part)
    except NetError as e:
        code = e.code if e.code > 0 else (CMS_TIMEOUT if e.code < 0 else CMS_UNKNOWN)
        m.board.log("sms: module: %s" % e.text)
        raise ATError(code, cms=True) from None


def deliver(m):
    """SMS the module received: into the store and announced per AT+CNMI (modem.sms.receive).
    The link watch calls this only while the host may hear unsolicited codes."""
    from .modem import _module

    c = m.board.cell
    sms = _module("sms")
    s = sms.settings(m)
    while c.inbox:
        oa, text, scts = c.inbox.pop(0)
        mode, mt = s["CNMI"][0], s["CNMI"][1]
        if mode == 0 and mt == 2:
            s["CNMI"][1] = 1  # buffered indications: keep the message rather than lose it
            lines = sms.receive(m, oa, text, scts)
            s["CNMI"][1] = 2
        else:
            lines = sms.receive(m, oa, text, scts)
        if mode:
            for line in lines:
                m.unsolicited(line)
