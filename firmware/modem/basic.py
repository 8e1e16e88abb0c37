"""V.250 basic commands and the GSM-level AT+ commands hosts send first (legacy-hosts.md)."""

import hashlib

from .errors import ATError, NOT_ATTACHED
from . import params, version

_RATES = (0, 300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)


# ---------------------------------------------------------------- extended (+) commands
def _ints(args, count_lo, count_hi):
    parts = [a.strip().strip('"') for a in args.split(",")]
    if len(parts) < count_lo or len(parts) > count_hi:
        raise ATError()
    out = []
    for a in parts:
        if not a.isdigit():
            raise ATError()
        out.append(int(a))
    return out


def _ident(text_fn):
    async def h(m, form, args):
        if form == "test":
            return []
        return [text_fn(m)]

    return h


def imei(uid):
    """A stable 15-digit serial number from the board's unique id, with a Luhn check digit."""
    d = hashlib.sha256(uid).digest()
    n = 0
    for b in d[:8]:
        n = n * 256 + b
    body = "35" + ("%012d" % (n % 1000000000000))
    total = 0
    for i, ch in enumerate(reversed(body)):
        v = int(ch)
        if i % 2 == 0:
            v *= 2
            if v > 9:
                v -= 9
        total += v
    return body + str((10 - total % 10) % 10)


async def _cfun(m, form, args):
    if form == "read":
        return ["+CFUN: 1"]
    if form == "test":
        return ["+CFUN: (0,1)"]
    (v,) = _ints(args, 1, 1)
    if v not in (0, 1):
        raise ATError()
    await m.restart()
    if v == 1:
        # AT+CFUN=1 restarts the module: OK first, then the readiness indications (Wavecom).
        m.code("OK")
        await m.flush()
        m.result = None
        m.wind_ready()
        m.report_registration()
    return []


def _setting(key, lo, hi, reply):
    async def h(m, form, args):
        if form == "read":
            return ["%s: %d" % (reply, m.gsm[key])]
        if form == "test":
            return ["%s: (%d-%d)" % (reply, lo, hi)]
        if form != "set":
            raise ATError()
        (v,) = _ints(args, 1, 1)
        if v < lo or v > hi:
            raise ATError()
        m.set_gsm(key, v)
        return []

    return h


async def _wopen(m, form, args):
    if form == "set":
        (v,) = _ints(args, 1, 1)
        if v == 3:
            # Wavecom: erase the Open-AT flash objects, only while the application is stopped.
            # Here: factory reset of every AT# parameter (docs/commands.md).
            if m.gsm["WOPEN"]:
                raise ATError(3, plus=True)
            m.factory_reset()
            return []
        if v not in (0, 1):
            raise ATError()
        if v == 0:
            await m.restart()
        m.set_gsm("WOPEN", v)
        return []
    if form == "read":
        return ["+WOPEN: %d" % m.gsm["WOPEN"]]
    if form == "test":
        return ["+WOPEN: (0-3)"]
    raise ATError()


async def _cmee(m, form, args):
    if form == "read":
        return ["+CMEE: %d" % m.profile["CMEE"]]
    if form == "test":
        return ["+CMEE: (0-2)"]
    if form != "set":
        raise ATError()
    (v,) = _ints(args, 1, 1)
    if v > 2:
        raise ATError()
    m.profile["CMEE"] = v
    return []


async def _cpin(m, form, args):
    if form == "read":
        return ["+CPIN: READY"]
    if form == "set":
        return []  # no SIM: any PIN is accepted
    if form == "test":
        return []
    raise ATError()


async def _csq(m, form, args):
    if form == "test":
        return ["+CSQ: (0-31,99),(0-7,99)"]
    if form != "exec":
        raise ATError()
    dbm = m.board.rssi()
    if dbm is None:
        rssi = 99
    else:
        rssi = (dbm + 113) // 2  # 27.007 8.5: 0 = -113 dBm .. 31 = -51 dBm or more
        rssi = 0 if rssi < 0 else (31 if rssi > 31 else rssi)
    return ["+CSQ: %d,99" % rssi]


def _creg(key, reply):
    async def h(m, form, args):
        if form == "read":
            return ["%s: %d,%d" % (reply, m.gsm[key], m.reg_stat(key))]
        if form == "test":
            return ["%s: (0-2)" % reply]
        if form != "set":
            raise ATError()
        (v,) = _ints(args, 1, 1)
        if v > 2:
            raise ATError()
        m.set_gsm(key, v)
        return []

    return h


async def _cgatt(m, form, args):
    if form == "read":
        return ["+CGATT: %d" % (1 if m.attached else 0)]
    if form == "test":
        return ["+CGATT: (0,1)"]
    if form != "set":
        raise ATError()
    (v,) = _ints(args, 1, 1)
    if v > 1:
        raise ATError()
    if v == 1 and not m.board.link_available():
        raise ATError(NOT_ATTACHED)
    if not v and m.session:
        await m.session_down()
    m.attached = bool(v)
    # OK first, then the registration report when the host enabled it (27.007 10.1.19)
    m.code("OK")
    m.result = None
    if m.gsm["CGREG"]:
        m.unsolicited("+CGREG: %d" % m.reg_stat("CGREG"))
    m.reported = (m.reported[0], m.reg_stat("CGREG"))  # reported: the link watch stays quiet
    return []


async def _cgdcont(m, form, args):
    ctx = m.gsm["CGDCONT"]
    if form == "read":
        return [
            '+CGDCONT: %s,"%s","%s","0.0.0.0",0,0' % (cid, ctx[cid][0], ctx[cid][1])
            for cid in sorted(ctx)
        ]
    if form == "test":
        return ['+CGDCONT: (1-4),"IP",,,(0-2),(0-4)']
    if form != "set":
        raise ATError()
    parts = args.split(",")
    cid = parts[0].strip()
    if not cid.isdigit() or not 1 <= int(cid) <= 4:
        raise ATError()
    ctx = dict(ctx)
    if len(parts) == 1:
        ctx.pop(cid, None)  # AT+CGDCONT=<cid> undefines the context
    else:
        kind = parts[1].strip().strip('"').upper()
        apn = parts[2].strip().strip('"') if len(parts) > 2 else ""
        if kind not in ("IP", "PPP", "IPV6") or len(apn) > 100 or not params.printable(apn):
            raise ATError()
        ctx[cid] = [kind, apn]
    m.set_gsm("CGDCONT", ctx)
    return []


async def _ipr(m, form, args):
    if form == "read":
        return ["+IPR: %d" % m.profile["IPR"]]
    if form == "test":
        return ["+IPR: (%s),()" % ",".join(str(r) for r in _RATES[1:])]
    if form != "set":
        raise ATError()
    (v,) = _ints(args, 1, 1)
    if v not in _RATES:
        raise ATError()
    m.profile["IPR"] = v
    # The OK leaves at the old rate; the board switches after it (V.250 6.2.10).
    m.code("OK")
    await m.flush()
    m.result = None
    m.board.apply_serial(v, m.profile["IFC"])
    return []


async def _ifc(m, form, args):
    if form == "read":
        return ["+IFC: %d,%d" % tuple(m.profile["IFC"])]
    if form == "test":
        return ["+IFC: (0,2),(0,2)"]
    if form != "set":
        raise ATError()
    v = _ints(args, 1, 2)
    if len(v) == 1:
        v.append(v[0])
    if v[0] not in (0, 2) or v[1] not in (0, 2):
        raise ATError()
    m.profile["IFC"] = v
    m.board.apply_serial(m.profile["IPR"], v)
    return []


async def _icf(m, form, args):
    # Character framing: only 8 data bits, no parity, 1 stop bit (3,4) exists here, as on the
    # original's host side (S000333D p49); accepting it lets hosts that set it go on.
    if form == "read":
        return ["+ICF: 3,4"]
    if form == "test":
        return ["+ICF: (3),(4)"]
    if form != "set":
        raise ATError()
    v = _ints(args, 1, 2)
    if v[0] != 3 or (len(v) == 2 and v[1] != 4):
        raise ATError()
    return []


async def _cnum(m, form, args):
    if form in ("exec", "test"):
        return []  # no SIM, so no subscriber number
    raise ATError()


def _identity():
    out = {}
    for names, fn in (
        (("+CGMI", "+GMI"), lambda m: version.MANUFACTURER),
        (("+CGMM", "+GMM"), lambda m: version.MODEL),
        (("+CGMR", "+GMR"), lambda m: version.REVISION),
        (("+CGSN", "+GSN"), lambda m: imei(m.board.uid())),
    ):
        h = _ident(fn)
        for n in names:
            out[n] = h
    return out


HANDLERS = _identity()
HANDLERS.update(
    {
        "+CFUN": _cfun,
        "+WIND": _setting("WIND", 0, 4095, "+WIND"),
        "+WOPEN": _wopen,
        "+CMEE": _cmee,
        "+CPIN": _cpin,
        "+CSQ": _csq,
        "+CREG": _creg("CREG", "+CREG"),
        "+CGREG": _creg("CGREG", "+CGREG"),
        "+CGATT": _cgatt,
        "+CGDCONT": _cgdcont,
        "+IPR": _ipr,
        "+IFC": _ifc,
        "+ICF": _icf,
        "+CNUM": _cnum,
    }
)
