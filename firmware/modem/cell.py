"""The GSM half from a real module (board.cell, docs/cellular.md): SIM, identity, operator,
SMS out through the module and SMS in to the store. Boards without a module never load it."""

from .compat import const
from .errors import ATError, NetError
from . import params

_CMS_TIMEOUT = const(332)
_CMS_UNKNOWN = const(500)

_SIM_BUSY = 14  # 27.007 9.2.1: SIM busy (the module has not said yet)
_NOT_INSERTED = 10
_UNKNOWN = 100
_PARTS_MS = const(60000)  # the parts of a long SMS for +CMT wait this long for each other
_JOIN_MAX = const(10)  # parts joined at most (a longer text goes part by part)


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
        code = e.code if e.code > 0 else (_CMS_TIMEOUT if e.code < 0 else _CMS_UNKNOWN)
        m.board.log("sms: module: %s" % e.text)
        raise ATError(code, cms=True) from None


def deliver(m):
    """SMS the module received: into the store and announced per AT+CNMI (modem.sms.receive).
    The link watch calls this only while the host may hear unsolicited codes, and again while
    the parts of a long message wait for each other."""
    from .modem import _module

    c = m.board.cell
    sms = _module("sms")
    s = sms.settings(m)
    mode, mt = s["CNMI"][0], s["CNMI"][1]
    full = []
    while True:
        e = _next(m, c.inbox, mode and mt == 2 and s["CMGF"] == 1)
        if e is None:
            c.inbox.extend(full)  # tried again at the next round: the host may delete some
            return
        oa, text, scts, concat = e[0], e[1], e[2], e[3]
        if mode == 0 and mt == 2:
            s["CNMI"][1] = 1  # buffered indications: keep the message rather than lose it
            lines = sms.receive(m, oa, text, scts, concat)
            s["CNMI"][1] = 2
        else:
            lines = sms.receive(m, oa, text, scts, concat)
        if lines is None:  # the store is full: the module keeps it meanwhile
            full.append([oa, text, scts, concat, e[4][0], None])
            continue
        for i in e[4]:
            c.done(i)  # on flash or passed on: the module may delete it
        if mode:
            m.info(lines)  # one code: +CMTI, or +CMT and its text (27.005 3.4.1: one CR LF)


def _next(m, inbox, join):
    """The next SMS to pass on, or None. join (+CMT in text mode): the parts of a long message
    (23.040 9.2.3.24.1: same sender, reference and count) wait for each other and go as one
    text; a part whose group is not whole after _PARTS_MS goes alone, as does a group of more
    than _JOIN_MAX parts. Stored SMS keep their parts apart, as the original did (docs/sms.md)."""
    clock = m.board.clock
    now = clock.ticks_ms()
    for i in range(len(inbox)):
        e = inbox[i]
        cc = e[3]
        if not join or not cc or cc[1] > _JOIN_MAX:
            return _one(inbox.pop(i))
        if e[5] is None:
            e[5] = now  # when the core first saw it
        group = [x for x in inbox if x[0] == e[0] and x[3] and x[3][:2] == cc[:2]]
        seqs = []
        for x in group:
            if x[3][2] not in seqs:
                seqs.append(x[3][2])
        if len(seqs) == cc[1]:
            parts = {}
            for x in group:
                inbox.remove(x)
                parts[x[3][2]] = x
            first = parts[1]
            text = "".join(parts[k][1] for k in range(1, cc[1] + 1))
            return [first[0], text, first[2], None, [x[4] for x in group]]
        if clock.ticks_diff(now, e[5]) >= _PARTS_MS:
            return _one(inbox.pop(i))
    return None


def _one(e):
    """An inbox entry as _next returns it: [oa, text, scts, concat, [module indexes]]."""
    return [e[0], e[1], e[2], e[3], [e[4]]]
