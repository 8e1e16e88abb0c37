"""SMS commands (3GPP TS 27.005, text and PDU mode) as the original's Wavecom core answers
them. Without a radio an SMS leaves as e-mail (modem.smsmail); docs/sms.md states each byte."""

from .compat import const
from .entry import read_block
from .errors import ATError
from . import params

_CMS_NOT_ALLOWED = const(302)
_CMS_BAD_PDU = const(304)
_CMS_BAD_TEXT = const(305)
_CMS_BAD_INDEX = const(321)
_CMS_UNKNOWN = const(500)

_PROMPT = b"\r\n> "  # 27.005 3.5.1: CR LF '>' space, again after every CR of a text
_TEXT_CAP = const(1024)  # bytes of text mode input kept: several SMS' worth (docs/sms.md)
_PDU_CAP = const(360)  # hex digits: an SMSC part of 12 octets and the longest TPDU, 164
_STATS = ("REC UNREAD", "REC READ", "STO UNSENT", "STO SENT", "ALL")
# Message memories and their sizes (S000293I p63): SIM, flash, cell broadcast, status reports.
# Received SMS go to SM and ME alike (one store); BM and SR stay empty here.
_MEMS = {"SM": 10, "ME": 99, "BM": 20, "SR": 10}
_CHARSETS = ("GSM", "PCCP437", "IRA", "8859-1", "UCS2")
# The SMS settings and their values at first power-up; AT+CSAS saves them, AT+CRES and
# power-up restore the saved ones (S000293I p64; docs/sms.md). CPMS is SM at power-up (p63).
_SAVED = ("CMGF", "CSMP", "CSCA", "CNMI", "CSDH", "CSCS", "CSMS")
DEFAULTS = {
    "CMGF": 0,
    "CSMP": [17, 167, 0, 0],
    "CSCA": ["", 129],
    "CNMI": [0, 1, 0, 0, 0],
    "CSDH": 0,
    "CSCS": "PCCP437",
    "CSMS": 0,
    "CPMS": ["SM", "SM", "SM"],
}
# PC code page 437, bytes 0x80-0xFF (Wavecom's default TE character set)
_CP437 = (
    "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌"
    "█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0"
)


def settings(m):
    """The active SMS settings; the saved ones are loaded at the first SMS command."""
    if m.sms is None:
        s = {}
        for k in DEFAULTS:
            s[k] = DEFAULTS[k]
        saved = m.saved.get("sms", {})
        for k in _SAVED:
            if k in saved:
                s[k] = saved[k]
        s["box"] = {}  # index -> record of received SMS where none is on flash (smsbox)
        s["mr"] = 0
        m.sms = s
    return m.sms


def _nums(args, n_max, old=None):
    """Comma-separated numbers (quoted or not); an empty field keeps old[i]. ERROR otherwise."""
    parts = params.split_args(args)
    if len(parts) > n_max:
        raise ATError()
    out = list(old or [])
    for i, a in enumerate(parts):
        a = a.strip().strip('"')
        if a == "" and i < len(out):
            continue
        if not params.digits(a) or len(a) > 3:
            raise ATError()
        if i < len(out):
            out[i] = int(a)
        else:
            out.append(int(a))
    return out


def _setting(key, ranges, reply):
    """A setting of numbers, each within its range (lo, hi) or a tuple of allowed values."""

    async def h(m, form, args):
        s = settings(m)
        if form == "read":
            v = s[key]
            return ["%s: %s" % (reply, ",".join(str(x) for x in v) if isinstance(v, list) else v)]
        if form == "test":
            return ["%s: %s" % (reply, ",".join(_range(r) for r in ranges))]
        old = s[key] if isinstance(s[key], list) else [s[key]]
        v = _nums(args, len(ranges), old)
        if not v or (len(old) > 1 and args.strip() == ""):
            raise ATError()
        for x, r in zip(v, ranges):
            if (isinstance(r, tuple) and len(r) == 2 and not r[0] <= x <= r[1]) or (
                isinstance(r, list) and x not in r
            ):
                raise ATError()
        s[key] = v if isinstance(s[key], list) else v[0]
        return []

    return h


def _range(r):
    if isinstance(r, list):
        return "(" + ",".join(str(x) for x in r) + ")"
    return "(%d-%d)" % r


async def _cmgf(m, form, args):
    if form == "set" and params.unquote(args) not in ("0", "1"):
        raise ATError()
    return await _CMGF(m, form, args)


_CMGF = _setting("CMGF", [(0, 1)], "+CMGF")


async def _cscs(m, form, args):
    s = settings(m)
    if form == "read":
        return ['+CSCS: "%s"' % s["CSCS"]]
    if form == "test":
        return ['+CSCS: ("%s")' % '","'.join(_CHARSETS)]
    name = params.unquote(args).upper()
    if name not in _CHARSETS:
        raise ATError()
    s["CSCS"] = name
    return []


def _number(text):
    """A destination or centre number: optional '+', then digits, '*' or '#' (<= 20)."""
    digits = text[1:] if text[:1] == "+" else text
    if not 0 < len(digits) <= 20:
        return False
    for c in digits:
        if c not in "0123456789*#":
            return False
    return True


async def _csca(m, form, args):
    s = settings(m)
    if form == "read":
        return ['+CSCA: "%s",%d' % tuple(s["CSCA"])]
    if form == "test":
        return []
    parts = params.split_args(args)
    sca = params.unquote(parts[0])
    if len(parts) > 2 or (sca and not _number(sca)):
        raise ATError()
    tosca = 145 if sca[:1] == "+" else 129
    if len(parts) == 2:
        tosca = _nums(parts[1], 1)[0]
        if tosca > 255:
            raise ATError()
    s["CSCA"] = [sca, tosca]
    return []


def _readable(s):
    """The memory AT+CPMS chose for reading holds the received SMS (BM and SR hold none)."""
    return s["CPMS"][0] in ("SM", "ME")


def _used(m, s, i):
    from .smsbox import indexes

    mem = s["CPMS"][i]
    return "%d,%d" % (len(indexes(m)) if mem in ("SM", "ME") else 0, _MEMS[mem])


async def _cpms(m, form, args):
    s = settings(m)
    if form == "read":
        return [
            "+CPMS: " + ",".join('"%s",%s' % (s["CPMS"][i], _used(m, s, i)) for i in (0, 1, 2))
        ]
    if form == "test":
        return ['+CPMS: (("SM","ME","BM","SR"),("SM","ME"),("SM","ME"))']
    parts = [params.unquote(p).upper() for p in params.split_args(args)]
    if not 1 <= len(parts) <= 3:
        raise ATError()
    for i, mem in enumerate(parts):
        if mem not in _MEMS or (i and mem not in ("SM", "ME")):
            raise ATError(_CMS_NOT_ALLOWED, cms=True)  # S000293I p63: "AM" -> 302
    s["CPMS"] = parts + s["CPMS"][len(parts) :]
    return ["+CPMS: " + ",".join(_used(m, s, i) for i in (0, 1, 2))]


async def _csms(m, form, args):
    s = settings(m)
    if form == "read":
        return ["+CSMS: %d,1,1,1" % s["CSMS"]]
    if form == "test":
        return ["+CSMS: (0,1)"]
    v = _nums(args, 1)
    if len(v) != 1 or v[0] > 1:
        raise ATError()
    s["CSMS"] = v[0]
    return ["+CSMS: 1,1,1"]


async def _csas(m, form, args):
    if form == "test":
        return ["+CSAS: (0)"]
    s = settings(m)
    saved = {}
    for k in _SAVED:
        saved[k] = s[k]
    m.save("sms", saved)
    return []


async def _cres(m, form, args):
    if form == "test":
        return ["+CRES: (0)"]
    s = settings(m)
    box, mr, mems = s["box"], s["mr"], s["CPMS"]
    m.sms = None
    s = settings(m)
    s["box"], s["mr"], s["CPMS"] = box, mr, mems
    return []


# ---------------------------------------------------------------- sending
def _alphabet(dcs):
    """23.038 ch.4: 0 GSM 7-bit, 1 8-bit data, 2 UCS2 (groups 00xx and 1111)."""
    if dcs & 0xC0 == 0:
        a = (dcs >> 2) & 3
        return a if a < 3 else 0
    if dcs & 0xF0 == 0xF0:
        return 1 if dcs & 4 else 0
    return 0


def _decode_text(s, raw):
    """Text mode input as the TE character set (+CSCS) and the coding of +CSMP give it."""
    alphabet = _alphabet(s["CSMP"][3])
    cs = s["CSCS"]
    if alphabet or cs == "UCS2":  # 27.005 3.1: hex digits for 8-bit and UCS2 data
        data = _unhex(raw.replace(b"\r", b"").replace(b"\n", b""))
        if alphabet == 1:
            return _bytes_text(data)
        from .smspdu import PDUError, ucs2_to_text

        try:
            return ucs2_to_text(data)
        except PDUError:
            raise ATError(_CMS_BAD_TEXT, cms=True) from None
    if cs == "GSM":
        from .smspdu import PDUError, gsm_to_text

        try:
            return gsm_to_text(raw)
        except PDUError:  # a byte over 0x7F is no GSM code
            raise ATError(_CMS_BAD_TEXT, cms=True) from None
    if cs == "8859-1":
        return _latin1(raw)
    if cs == "PCCP437":
        return "".join(_CP437[b - 128] if b > 127 else chr(b) for b in raw)
    for b in raw:  # IRA: 7-bit only
        if b > 127:
            raise ATError(_CMS_BAD_TEXT, cms=True)
    return raw.decode()


def _latin1(raw):
    return "".join(chr(b) for b in raw)


def _bytes_text(data):
    """8-bit SMS data as mail text: UTF-8 when it is that, else Latin-1 (docs/sms.md)."""
    try:
        return data.decode()
    except UnicodeError:
        return _latin1(data)


def _unhex(raw):
    import binascii

    try:
        return binascii.unhexlify(raw.strip())
    except ValueError:
        raise ATError(_CMS_BAD_TEXT, cms=True) from None


async def _cmgs(m, form, args):
    s = settings(m)
    if form == "test":
        return []
    pdu = s["CMGF"] == 0
    if pdu:
        parts = params.split_args(args)
        n = parts[0].strip()
        if len(parts) != 1 or not params.digits(n) or not 7 <= int(n) <= 164:
            raise ATError(_CMS_BAD_PDU, cms=True)
        length = int(n)
    else:
        parts = params.split_args(args)
        number = params.unquote(parts[0]) if parts[0].strip()[:1] == '"' else parts[0].strip()
        toda = None
        if len(parts) == 2:
            toda = parts[1].strip()
            toda = int(toda) if params.digits(toda) and len(toda) <= 3 else -1
        if len(parts) > 2 or not _number(number) or (toda is not None and not 0 <= toda <= 255):
            raise ATError(_CMS_BAD_TEXT, cms=True)
        if toda == 145 and number[:1] != "+":
            number = "+" + number
    await m.begin_data()
    m.out.append(_PROMPT)
    got = await _entry(m, pdu)
    if got is None:
        return []  # ESC: nothing sent (27.005 3.5.1)
    raw, over = got
    if pdu:
        from .smspdu import PDUError, decode_submit

        if over:
            raise ATError(_CMS_BAD_PDU, cms=True)
        try:
            sub = decode_submit(bytes(raw.replace(b"\r", b"").replace(b"\n", b"")), length)
        except PDUError:
            raise ATError(_CMS_BAD_PDU, cms=True) from None
        number = sub.da
        text = sub.text if sub.text is not None else _bytes_text(sub.data)
        part = sub.concat
    else:
        if over:
            raise ATError(_CMS_BAD_TEXT, cms=True)
        text = _decode_text(s, raw)
        part = None
    if getattr(m.board, "cell", None) is not None:
        from .cell import send  # a module sends it for real
    else:
        from .smsmail import send

    mr = s["mr"]
    s["mr"] = (mr + 1) & 255  # S000293I p70: counted for failed messages too
    await send(m, number, text, part)
    return ["+CMGS: %d" % mr]


async def _entry(m, pdu):
    """The message typed after the prompt, up to Ctrl-Z; None after ESC. A timeout of
    DATATIMEOUT seconds ends it with +CMS ERROR: 500 (nothing is sent)."""
    try:
        if pdu:
            return await read_block(m, _PDU_CAP)
        return await read_block(m, _TEXT_CAP, _PROMPT)
    except ATError:
        raise ATError(_CMS_UNKNOWN, cms=True) from None


# ---------------------------------------------------------------- reading the store
def receive(m, oa, text, scts, concat=None):
    """An SMS a radio delivered: stored (or passed on at once with AT+CNMI=x,2); returns the
    unsolicited lines (+CMTI / +CMT) that the caller sends when the host may hear them, None
    when the store could not take it (full, or the flash failed): the radio keeps it."""
    from . import smsbox

    s = settings(m)
    toa = 145 if oa[:1] == "+" else 129
    mt = s["CNMI"][1]
    r = [0, 0, oa, toa, list(scts), text, list(concat) if concat else None]
    if mt == 2:
        return _show(m, r, "+CMT: ")
    used = smsbox.indexes(m)
    i = 1
    while i in used:
        i += 1
    if i > _MEMS[s["CPMS"][2]]:
        return None  # memory full: the network keeps it
    r[0] = i
    try:
        smsbox.put(m, r)
    except OSError:
        m.board.log("sms: flash: SMS from %s not stored" % oa)
        return None
    return ['+CMTI: "%s",%d' % (s["CPMS"][2], i)] if mt else []


def _scts(t):
    """27.005 text-mode time stamp "yy/MM/dd,hh:mm:ss+zz" (zz in quarters of an hour)."""
    return "%02d/%02d/%02d,%02d:%02d:%02d%s%02d" % (
        t[0],
        t[1],
        t[2],
        t[3],
        t[4],
        t[5],
        "-" if t[6] < 0 else "+",
        abs(t[6]),
    )


def _te_text(s, text):
    """Stored text as bytes in the TE character set (+CSCS) for a text-mode listing;
    characters the set lacks become '?'."""
    cs = s["CSCS"]
    if cs == "UCS2":
        import binascii

        from .smspdu import text_to_ucs2

        return binascii.hexlify(text_to_ucs2(text)).upper()
    if cs == "GSM":
        from .smspdu import PDUError, text_to_gsm

        try:
            return text_to_gsm(text)
        except PDUError:
            pass
    out = bytearray()
    for c in text:
        o = ord(c)
        if o < 128 or (cs == "8859-1" and o < 256):
            out.append(o)
        elif cs == "PCCP437" and c in _CP437:
            out.append(128 + _CP437.index(c))
        else:
            out.append(63)  # ?
    return bytes(out)


def _show(m, r, head, index=None):
    """One message as +CMGL / +CMGR / +CMT lines, in the mode of AT+CMGF."""
    s = settings(m)
    lead = "" if index is None else "%d," % index
    if s["CMGF"] == 0:
        from .smspdu import encode_deliver

        pdu = encode_deliver(r[2], r[5], r[4], udh=_udh(r[6]))
        length = len(pdu) // 2 - 1 - int(pdu[:2], 16)
        stat = "" if head == "+CMT: " else "%d," % r[1]
        return ["%s%s%s,%d" % (head, lead, stat, length), pdu]
    # S000293I p68-69, as printed: +CMGL: 1,"REC UNREAD","0146290800", (no time stamp
    # unless +CSDH=1) and +CMGR: "REC UNREAD","0146290800","98/10/01,18:22:11+00",
    # With +CSDH=1: <tooa>,<fo>,<pid>,<dcs>,<sca>,<tosca>,<length> (+CMGR, +CMT), or
    # <scts>,<tooa>,<length> (+CMGL), the length in characters (27.005 3.4.3).
    if s["CSDH"]:
        from .smspdu import measure

        alphabet = measure(r[5])[0]
        detail = '%d,4,0,%d,"",129,%d' % (r[3], alphabet * 4, len(r[5]))
    if head == "+CMT: ":
        line = '+CMT: "%s","%s"' % (r[2], _scts(r[4]))
        if s["CSDH"]:
            line += "," + detail
    elif head == "+CMGR: ":
        line = '+CMGR: "%s","%s","%s",' % (_STATS[r[1]], r[2], _scts(r[4]))
        if s["CSDH"]:
            line += detail
    else:
        line = '+CMGL: %d,"%s","%s",' % (index, _STATS[r[1]], r[2])
        if s["CSDH"]:
            line += ',"%s",%d,%d' % (_scts(r[4]), r[3], len(r[5]))
    return [line, _te_text(s, r[5])]


def _udh(concat):
    """The concatenation IE of a stored part (23.040 9.2.3.24.1, .8 for a 16-bit reference),
    so that a PDU-mode host joins the parts as a phone does."""
    if not concat:
        return None
    ref, total, seq = concat
    if ref > 255:
        return bytes((6, 8, 4, ref >> 8, ref & 255, total, seq))
    return bytes((5, 0, 3, ref, total, seq))


def _stat_arg(s, args, default):
    a = params.unquote(args) if args.strip() else default
    if s["CMGF"] == 0:
        if not (params.digits(a) and int(a) <= 4):
            raise ATError(_CMS_BAD_PDU, cms=True)
        return int(a)
    if a.upper() not in _STATS:
        raise ATError(_CMS_BAD_TEXT, cms=True)
    return _STATS.index(a.upper())


async def _cmgl(m, form, args):
    s = settings(m)
    if form == "test":
        if s["CMGF"] == 0:
            return ["+CMGL: (0-4)"]
        return ['+CMGL: ("%s")' % '","'.join(_STATS)]
    from . import smsbox

    want = _stat_arg(s, args, "0" if s["CMGF"] == 0 else _STATS[0])
    out = []
    if not _readable(s):
        return out
    for i in smsbox.indexes(m):  # one record in RAM at a time (on flash: one file each)
        r = smsbox.get(m, i)
        if r is not None and (want == 4 or r[1] == want):
            out.extend(_show(m, r, "+CMGL: ", i))
            smsbox.mark_read(m, r)  # listed: read now
    return out


def _index(m, s, args):
    """The message at an index, or None for an empty location; 321 outside the memory."""
    from .smsbox import get

    v = params.unquote(args)
    if not params.digits(v) or len(v) > 3 or not 1 <= int(v) <= _MEMS[s["CPMS"][0]]:
        raise ATError(_CMS_BAD_INDEX, cms=True)
    return get(m, int(v)) if _readable(s) else None


async def _cmgr(m, form, args):
    s = settings(m)
    if form == "test":
        return []
    r = _index(m, s, args)
    if r is None:
        return []  # an empty location answers OK alone (S000293I p68)
    out = _show(m, r, "+CMGR: ")
    from .smsbox import mark_read

    mark_read(m, r)
    return out


async def _cmgd(m, form, args):
    s = settings(m)
    if form == "test":
        return ["+CMGD: (1-%d),(0-4)" % _MEMS[s["CPMS"][0]]]
    parts = params.split_args(args)
    if len(parts) > 2:
        raise ATError()
    flag = 0
    if len(parts) == 2:
        f = parts[1].strip()
        if not params.digits(f) or int(f) > 4:
            raise ATError()
        flag = int(f)
    from . import smsbox

    if flag == 0:
        r = _index(m, s, parts[0])
        if r is not None:
            smsbox.remove(m, r[0])
        return []
    # 27.005 3.5.4: 1 read, 2 read and sent, 3 read, sent and unsent, 4 all (index ignored)
    keep = {1: (0, 2, 3), 2: (0, 2), 3: (0,), 4: ()}[flag]
    for i in smsbox.indexes(m):
        r = smsbox.get(m, i)
        if r is None or r[1] not in keep:
            smsbox.remove(m, i)
    return []


HANDLERS = {
    "+CMGF": _cmgf,
    "+CSMP": _setting("CSMP", [(0, 255), (0, 255), (0, 255), (0, 255)], "+CSMP"),
    "+CSCA": _csca,
    "+CNMI": _setting("CNMI", [(0, 2), (0, 3), [0, 2], (0, 1), (0, 1)], "+CNMI"),
    "+CPMS": _cpms,
    "+CSDH": _setting("CSDH", [(0, 1)], "+CSDH"),
    "+CSCS": _cscs,
    "+CSMS": _csms,
    "+CSAS": _csas,
    "+CRES": _cres,
    "+CMGS": _cmgs,
    "+CMGL": _cmgl,
    "+CMGR": _cmgr,
    "+CMGD": _cmgd,
}
