"""V.250 basic commands and the GSM-level AT+ commands hosts send first (docs/hosts.md)."""

import hashlib

from .compat import const
from .errors import ATError
from . import params, version

_BAD_VALUE = const(34882)
_NOT_ATTACHED = const(35865)

_RATES = (0, 300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)


# ---------------------------------------------------------------- extended (+) commands
def _ints(args, count_lo, count_hi):
    parts = [a.strip().strip('"') for a in args.split(",")]
    if len(parts) < count_lo or len(parts) > count_hi:
        raise ATError()
    out = []
    for a in parts:
        if not params.digits(a):
            raise ATError()
        out.append(int(a))
    return out


def _ident(text_fn):
    async def h(m, form, args):
        if form == "test":
            return []
        return [text_fn(m)]

    return h


def _digits(uid, n, salt=b""):
    """n stable decimal digits from the board's unique id (salt: one number per use)."""
    d = hashlib.sha256(uid + salt).digest()
    v = 0
    for b in d[:8]:
        v = v * 256 + b
    return ("%020d" % v)[-n:]


def _luhn(body):
    """body followed by its Luhn check digit (IMEI, ICCID)."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        v = int(ch)
        if i % 2 == 0:
            v *= 2
            if v > 9:
                v -= 9
        total += v
    return body + str((10 - total % 10) % 10)


def imei(uid):
    """A stable 15-digit serial number from the board's unique id, with a Luhn check digit."""
    return _luhn("35" + _digits(uid, 12))


# The network a board without a radio reports: the ITU test network 001-01 (never a real
# operator's code), named after the firmware. A cellular board reports its module's instead.
_MCC = "001"
_MNC = "01"
_OPERATOR = ("MTGW Wi-Fi", "MTGW", _MCC + _MNC)  # AT+COPS formats 0, 1, 2


def imsi(uid):
    """AT+CIMI: MCC, MNC and a 10-digit subscriber number from the board id."""
    return _MCC + _MNC + _digits(uid, 10, b"imsi")


def iccid(uid):
    """AT+CCID: 89 (telecom), 001 (test network), 14 digits from the board id, Luhn digit."""
    return _luhn("89" + _MCC + _digits(uid, 14, b"iccid"))


async def _module_radio(m, on):
    """A board with a cellular module switches its radio as the host's GSM stack does."""
    if getattr(m.board, "cell", None) is not None:
        from . import cell

        await cell.radio(m, on)


def _set_gsm(m, key, value):
    """A GSM-level setting that persists as soon as it is set (Wavecom keeps it in EEPROM)."""
    m.gsm[key] = value
    m.save("gsm", dict(m.gsm))


def _factory_reset(m):
    """Every stored setting back to its default; the running E/V/Q profile is kept."""
    profile = m.profile
    m.saved = {}
    m.save("gsm", {"WOPEN": m.gsm["WOPEN"]})
    m.load()
    m.profile = profile


async def _restart(m):
    """AT+CFUN=1 / AT+WOPEN=0: drop the session and services, reload settings as at power-up."""
    await m.session_down()
    m.busy = set()
    m.attached = True
    m.radio = True
    m.reported = (0, 0)  # as at power-up: the registration is reported again
    m.load()
    m.board.apply_serial(m.profile["IPR"], m.profile["IFC"])
    await _module_radio(m, True)  # a board's cellular module: its radio on, as at power-up


async def reboot(m):
    """AT+CFUN=1,1 / AT#RESET=0, once the OK is out (Modem.run calls it): a board restarts for
    real (board.reset() does not return); on a PC this modem starts again as at power-up:
    settings kept, the IP session, sockets, SMS settings not saved and the bytes the host sent
    meanwhile gone, as on the original."""
    from .modem import _TURNS, KEEP, _unload

    await m.session_down()
    await m.pause_outbox()
    m.board.reset()
    _unload(_TURNS)  # this module too: the modem starts without handler modules
    KEEP.clear()
    port = m.port
    m.__init__(m.board)
    m.port = port
    await m.start()
    m.report_registration()


async def _radio_off(m):
    """AT+CPOF, AT+CFUN=0, AT+COPS=2: the GSM stack stops: no registration (+CREG: 0 to a host
    that asked for reports), no IP session, no SMS; AT commands still answer. A module's radio
    goes off after the data call ended (AT+CFUN=0 on the module)."""
    await m.session_down()
    await _module_radio(m, False)
    m.radio = False
    m.code("OK")
    m.result = None
    m.report_registration()


async def _cfun(m, form, args):
    if form == "read":
        return ["+CFUN: %d" % (1 if m.radio else 0)]
    if form == "test":
        return ["+CFUN: (0,1),(0,1)"]
    v = _ints(args, 1, 2)
    if v[0] > 1 or (len(v) == 2 and v[1] > 1):
        raise ATError()
    if v[0] == 0:
        await _radio_off(m)
        return []
    if len(v) == 2 and v[1]:
        m.reboot = True  # AT+CFUN=1,1: OK, then the modem restarts as at power-up
        return []
    await _restart(m)
    # AT+CFUN=1 restarts the module: OK first, then the readiness indications (Wavecom).
    m.code("OK")
    await m.flush()
    m.result = None
    m.wind_ready()
    m.report_registration()
    return []


async def _cpof(m, form, args):
    if form == "set":
        (v,) = _ints(args, 1, 1)
        if v != 1:
            raise ATError()
    await _radio_off(m)
    return []


async def _reset(m, form, args):
    """AT#RESET=0 / =1 (Multi-Tech): OK, then the modem restarts; settings are kept."""
    if form == "test":
        return ["#RESET: (0-1)"]
    if form == "set" and params.unquote(args) not in ("0", "1"):
        raise ATError(_BAD_VALUE)  # 0: GSM stack and modem, 1: modem only; both restart here
    m.reboot = True
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
        _set_gsm(m, key, v)
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
            _factory_reset(m)
            return []
        if v not in (0, 1):
            raise ATError()
        if v == 0:
            await _restart(m)
        _set_gsm(m, "WOPEN", v)
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
    if getattr(m.board, "cell", None) is not None:
        from . import cell

        return await cell.cpin(m, form, args)
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
    return _csq_lines(m)


def _csq_lines(m):
    dbm = m.board.rssi() if m.radio else None
    if dbm is None:
        return ["+CSQ: 99,99"]
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
        _set_gsm(m, key, v)
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
    if v == 1 and not (m.radio and m.board.link_available()):
        raise ATError(_NOT_ATTACHED)
    if not v and m.session:
        await m.session_down()
    m.attached = bool(v)
    # OK first, then the registration report when the host enabled it (27.007 10.1.19)
    m.code("OK")
    m.result = None
    if m.gsm["CGREG"]:
        m.info(["+CGREG: %d" % m.reg_stat("CGREG")])
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
    if not params.digits(cid) or not 1 <= int(cid) <= 4:
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
    _set_gsm(m, "CGDCONT", ctx)
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


def _presentation(key, reply, hi, status):
    """AT+CLIP / AT+CLIR: the mode is stored; <m>, what the network provisions, is unknown
    (27.007 7.6, 7.7): there is no GSM network to ask."""

    async def h(m, form, args):
        if form == "read":
            return ["%s: %d,%d" % (reply, m.gsm[key], status)]
        if form == "test":
            return ["%s: (0-%d)" % (reply, hi)]
        if form != "set":
            raise ATError()
        (v,) = _ints(args, 1, 1)
        if v > hi:
            raise ATError()
        _set_gsm(m, key, v)
        return []

    return h


async def _ksleep(m, form, args):
    # Sleep management (Sierra Wireless; AT+KSLEEP=<mngt>[,<level>[,<delay>]]): this board
    # never sleeps while its host may talk, so the setting is only kept and shown.
    if form == "read":
        return ["+KSLEEP: %d" % m.gsm["KSLEEP"]]
    if form == "test":
        return ["+KSLEEP: (0-2)"]
    if form != "set":
        raise ATError()
    v = _ints(args, 1, 3)
    if v[0] > 2:
        raise ATError()
    _set_gsm(m, "KSLEEP", v[0])
    return []


def _operator(m):
    """(long, short, numeric) of the network: the module's on a board with one."""
    if getattr(m.board, "cell", None) is not None:
        from . import cell

        return cell.operator(m)
    return _OPERATOR


async def _cops(m, form, args):
    fmt = m.gsm["COPSF"]
    if form == "read":
        if m.reg_stat("CREG") not in (1, 5):
            return ["+COPS: 0"]
        return ['+COPS: 0,%d,"%s"' % (fmt, _operator(m)[fmt])]
    if form == "test":
        return ['+COPS: (2,"%s","%s","%s"),,(0-4),(0-2)' % tuple(_operator(m))]
    if form != "set":
        raise ATError()
    parts = params.split_args(args)
    if len(parts) > 3:
        raise ATError()
    mode = _ints(parts[0], 1, 1)[0]
    if len(parts) >= 2:
        f = _ints(parts[1], 1, 1)[0]
        if f > 2:
            raise ATError()
    if mode == 3:  # only the format of the read answer
        if len(parts) != 2:
            raise ATError()
        _set_gsm(m, "COPSF", f)
        return []
    if mode == 2:
        await _radio_off(m)
        return []
    if mode in (1, 4):  # manual selection: only the network there is
        if len(parts) != 3 or params.unquote(parts[2]) != _operator(m)[f]:
            raise ATError(30, plus=True)  # 27.007 9.2: no network service
    elif mode != 0 or len(parts) > 1:
        raise ATError()
    if not m.radio:
        await _module_radio(m, True)
        m.radio = True
        m.code("OK")
        m.result = None
        m.report_registration()
    return []


def _cced_line(m):
    """+CCED main-cell dump (Wavecom): MCC,MNC,LAC,CI,BSIC,BCCH,RxLev,,,RxQual,,,IdleTS; the
    cell numbers come from the board id, RxLev (0-63) from the link's signal."""
    dbm = m.board.rssi() if m.radio and m.board.link_available() else None
    if dbm is None:
        return "0,0,0000,0000,0,0,0,,,0,,,0"  # no service: MCC and MNC 0
    d = _digits(m.board.uid(), 12, b"cell")
    rxlev = dbm + 110
    rxlev = 0 if rxlev < 0 else (63 if rxlev > 63 else rxlev)
    return "%s,%s,%04x,%04x,%d,%d,%d,,,0,,,0" % (
        _MCC,
        _MNC,
        int(d[:5]) % 65535 + 1,
        int(d[5:10]) % 65535 + 1,
        int(d[10:]) % 64,
        1 + int(d[:3]) % 124,
        rxlev,
    )


def _cced_dump(m, dump):
    lines = []
    if dump & 8:
        lines.extend(_csq_lines(m))
    if dump & 7:  # main cell (1), neighbours (2: none here), timing advance (4: 0)
        cell = _cced_line(m) if dump & 1 else ""
        if dump & 4:
            cell = (cell + ",0") if cell else "0"
        lines.append("+CCED: " + cell)
    return lines


async def _cced(m, form, args):
    if form != "set":
        raise ATError()
    v = _ints(args, 1, 3)
    mode = v[0]
    dump = v[1] if len(v) > 1 else 15
    if mode > 2 or not 1 <= dump <= 16 or (len(v) > 2 and not 1 <= v[2] <= 5):
        raise ATError()
    if dump == 16:
        dump = 7
    if mode == 2:
        m.ticker = None
        return []
    if mode == 1:  # automatic shots every 5 s while the modem waits for a command
        clock = m.board.clock
        due = [clock.ticks_ms()]

        def tick(m):
            now = clock.ticks_ms()
            if clock.ticks_diff(now, due[0]) >= 0:
                due[0] = clock.ticks_add(now, 5000)
                for line in _cced_dump(m, dump):
                    m.info([line])

        m.ticker = tick
        return []
    return _cced_dump(m, dump)


async def _cnum(m, form, args):
    if form in ("exec", "test"):
        return []  # no SIM, so no subscriber number
    raise ATError()


def _cimi(m):
    if getattr(m.board, "cell", None) is not None:
        from . import cell

        return cell.imsi(m)
    return imsi(m.board.uid())


async def _ccid(m, form, args):
    if form == "test":
        return []
    if getattr(m.board, "cell", None) is not None:
        from . import cell

        return ['+CCID: "%s"' % cell.iccid(m)]
    return ['+CCID: "%s"' % iccid(m.board.uid())]


def _identity():
    out = {}
    for names, fn in (
        (("+CGMI", "+GMI"), lambda m: version.MANUFACTURER),
        (("+CGMM", "+GMM"), lambda m: version.MODEL),
        (("+CGMR", "+GMR"), lambda m: version.REVISION),
        (("+CGSN", "+GSN"), lambda m: imei(m.board.uid())),
        (("+CIMI",), _cimi),
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
        "+KSLEEP": _ksleep,
        "+CLIP": _presentation("CLIP", "+CLIP", 1, 2),
        "+CLIR": _presentation("CLIR", "+CLIR", 2, 2),
        "+CRC": _setting("CRC", 0, 1, "+CRC"),
        "+CPOF": _cpof,
        "+CCID": _ccid,
        "+COPS": _cops,
        "+CCED": _cced,
        "#RESET": _reset,
    }
)
