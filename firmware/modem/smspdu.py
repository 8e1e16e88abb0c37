"""SMS PDUs (3GPP TS 23.040) and the GSM 7-bit alphabet (TS 23.038) for AT+CMGS and +CMGR."""

from binascii import hexlify, unhexlify

from .compat import const
from .errors import PDUError  # noqa: F401  (callers catch smspdu.PDUError)

# Alphabets; the values are the alphabet bits 3-2 of TP-DCS (23.038 ch.4).
GSM7 = const(0)
DATA8 = const(1)
UCS2 = const(2)
# Caps (23.040 9.2.3.16, 9.1.2.5; 27.005 4.3): septets, octets, UCS2 units per SMS; address.
MAX_GSM7 = const(160)
MAX_DATA8 = const(140)
MAX_UCS2 = const(70)
_MAX_DIGITS = const(20)  # 10 octets of address value
_MAX_ALNUM = const(11)  # 80 bits of address value hold 11 septets
_MAX_HEX = const(352)  # SMSC part (12 octets) + the longest SMS-SUBMIT (164 octets)
_ESC = const(0x1B)

# 23.038 6.2.1: the default alphabet by septet code; 0x1B (the escape) is only a placeholder.
_BASE = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# 23.038 6.2.1.1: the extension table (after ESC): codes and their characters, pairwise.
_EXT_CODES = b"\x0a\x14\x28\x29\x2f\x3c\x3d\x3e\x40\x65"
_EXT = "\f^{}\\[~]|€"
_DIGITS = "0123456789*#abc"  # 23.040 9.1.2.3 semi-octets 0-14; 15 is the filler


class Submit:
    """A decoded SMS-SUBMIT: smsc first mr da toa pid dcs vp srr + the user data fields
    (alphabet msg_class udh concat data text, see _ud)."""


class Deliver:
    """A decoded SMS-DELIVER: smsc first oa toa pid dcs scts + the user data fields."""


def gsm_to_text(septets):
    """Septet codes (one a byte) to text. 23.038 6.2.1.1: an extension code the table lacks
    reads as the default alphabet's character; ESC ESC (reserved) and a final lone ESC as a
    space, as a receiver without the extension mechanism shows ESC (6.2.1 note 1)."""
    if septets and max(septets) > 127:
        raise PDUError("septet")
    out = []
    esc = False
    for c in septets:
        if esc:
            esc = False
            i = _EXT_CODES.find(bytes((c,)))
            out.append(" " if c == _ESC else _EXT[i] if i >= 0 else _BASE[c])
        elif c == _ESC:
            esc = True
        else:
            out.append(_BASE[c])
    if esc:
        out.append(" ")
    return "".join(out)


def text_to_gsm(text):
    """Text to septet codes (extension characters as ESC + code); PDUError for a character
    the default alphabet and its extension table lack."""
    out = bytearray()
    for ch in text:
        i = _BASE.find(ch)
        if i < 0 or i == _ESC:
            i = _EXT.find(ch)
            if i < 0:
                raise PDUError("no GSM 7-bit code for %r" % ch)
            out.append(_ESC)
            i = _EXT_CODES[i]
        out.append(i)
    return bytes(out)


def pack7(septets, fill_bits=0):
    """Septets packed LSB first (23.038 6.1.2.1.1) after fill_bits zero bits (23.040
    9.2.3.24: they align the septets after a user data header); spare bits are zero."""
    if septets and max(septets) > 127:
        raise PDUError("septet")
    out = bytearray()
    acc = 0
    n = fill_bits
    for s in septets:
        acc |= s << n
        n += 7
        while n >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            n -= 8
    if n:
        out.append(acc)
    return bytes(out)


def unpack7(octets, count, fill_bits=0):
    """count septets from packed octets, skipping fill_bits first; PDUError when short."""
    if count < 0 or fill_bits + 7 * count > 8 * len(octets):
        raise PDUError("septets")
    out = bytearray(count)
    for k in range(count):
        bit = fill_bits + 7 * k
        i = bit >> 3
        v = octets[i] >> (bit & 7)
        if (bit & 7) > 1:
            v |= octets[i + 1] << (8 - (bit & 7))
        out[k] = v & 0x7F
    return bytes(out)


def encode_scts(t):
    """(yy, mm, dd, hh, mi, ss, tz in quarter hours) to 23.040 9.2.3.11: swapped semi-octets,
    the sign of tz in bit 3 of its first semi-octet."""
    v = list(t[:6]) + [abs(t[6])] if len(t) == 7 else [-1]
    if min(v) < 0 or max(v) > 99 or v[-1] > 79:
        raise PDUError("time")
    return bytes(
        [x % 10 << 4 | x // 10 for x in v[:6]] + [v[6] % 10 << 4 | v[6] // 10 | (t[6] < 0) << 3]
    )


def decode_scts(b):
    """23.040 9.2.3.11 octets to (yy, mm, dd, hh, mi, ss, tz in quarter hours)."""
    t = [(x & 15) * 10 + (x >> 4) for x in b]
    if len(b) != 7 or max(b) >> 4 > 9 or max([x & 15 for x in b[:6]] + [b[6] & 7]) > 9:
        raise PDUError("time")
    t[6] = (b[6] & 7) * 10 + (b[6] >> 4)
    return tuple(t[:6]) + (-t[6] if b[6] & 8 else t[6],)


def _bcd(b, n):
    """n semi-octets of b as digits (23.040 9.1.2.3); an odd count ends with the F filler."""
    out = []
    for k in range(n):
        d = b[k >> 1] >> 4 if k & 1 else b[k >> 1] & 15
        if d > 14:
            raise PDUError("digit")
        out.append(_DIGITS[d])
    if n & 1 and b[n >> 1] >> 4 != 15:
        raise PDUError("filler")
    return "".join(out)


def _bcd_enc(s):
    v = [_DIGITS.find(c) for c in s] + ([15] if len(s) & 1 else [])
    if min(v or [0]) < 0:
        raise PDUError("digit")
    return bytes([v[k] | v[k + 1] << 4 for k in range(0, len(v), 2)])


def _need(b, end):
    if end > len(b):
        raise PDUError("short")


def _addr(b, i):
    """TP-DA/TP-OA at b[i] (23.040 9.1.2.5) -> (address, type of address, next index)."""
    _need(b, i + 2)
    n, toa = b[i], b[i + 1]
    j = i + 2 + (n + 1) // 2
    if n > _MAX_DIGITS:
        raise PDUError("address")
    _need(b, j)
    if toa & 0x70 == 0x50:  # alphanumeric: n counts the useful semi-octets of packed septets
        return gsm_to_text(unpack7(b[i + 2 : j], n * 4 // 7)), toa, j
    return ("+" if toa & 0x70 == 0x10 else "") + _bcd(b[i + 2 : j], n), toa, j


def _addr_enc(a):
    """'+digits' international (0x91), digits unknown (0x81), else alphanumeric (0xD0)."""
    if a[:1] == "+":
        return bytes((len(a) - 1, 0x91)) + _bcd_enc(a[1:])
    if not a.strip("0123456789*#"):
        return bytes((len(a), 0x81)) + _bcd_enc(a)
    s = text_to_gsm(a)
    if len(s) > _MAX_ALNUM:
        raise PDUError("address")
    return bytes(((7 * len(s) + 3) // 4, 0xD0)) + pack7(s)


def _smsc(b, i):
    """The SMSC part (27.005 3.1 <pdu>, 24.011 8.2.5.1) -> (address, index of the TPDU)."""
    _need(b, i + 1)
    n = b[i]
    if not n:
        return "", i + 1
    if n > 11:
        raise PDUError("smsc")
    _need(b, i + 1 + n)
    v = b[i + 2 : i + 1 + n]
    digits = 2 * len(v) - (1 if v and v[-1] >> 4 == 15 else 0)
    return ("+" if b[i + 1] & 0x70 == 0x10 else "") + _bcd(v, digits), i + 1 + n


def _hexs(b):
    return hexlify(b).decode().upper()


def _hex(h):
    if isinstance(h, str):
        h = h.encode()
    if len(h) > _MAX_HEX:
        raise PDUError("too long")
    try:
        b = unhexlify(h)
    except (ValueError, TypeError):
        raise PDUError("hex") from None
    if hexlify(b) != h.lower():  # MicroPython's unhexlify lets some non-hex input through
        raise PDUError("hex")
    return b


def _dcs(dcs):
    """TP-DCS (23.038 ch.4) -> (alphabet, message class or None)."""
    g = dcs >> 6
    if g < 2:  # 00xx general data coding, 01xx the same marked for automatic deletion
        if dcs & 0x20:
            raise PDUError("compressed")
        a = dcs >> 2 & 3
        # "Any reserved codings shall be assumed to be the GSM 7 bit default alphabet"
        return (GSM7 if a == 3 else a), (dcs & 3 if dcs & 0x10 else None)
    if dcs >> 4 == 15:  # 1111: data coding / message class, bit 2 the alphabet
        return dcs >> 2 & 1, dcs & 3
    # 1110 message waiting with UCS2; 1100/1101 with GSM 7 bit; 1000-1011 reserved
    return (UCS2 if dcs >> 4 == 14 else GSM7), None


def _ud(m, b, i):
    """TP-UDL and TP-UD at b[i] into m: alphabet, msg_class, udh (with its length octet),
    concat (ref, total, seq), data (septet codes for GSM7, else octets) and text (None for
    8-bit data). The user data must be exactly as long as TP-UDL says."""
    m.alphabet, m.msg_class = _dcs(m.dcs)
    _need(b, i + 1)
    udl = b[i]
    ud = b[i + 1 :]
    seven = m.alphabet == GSM7
    if len(ud) != ((7 * udl + 7) // 8 if seven else udl) or len(ud) > MAX_DATA8:
        raise PDUError("udl")
    hl = 0
    m.udh = m.concat = None
    if m.first & 0x40:  # TP-UDHI
        _need(ud, 1)
        hl = ud[0] + 1
        _need(ud, hl)
        m.udh = ud[:hl]
        m.concat = _ies(m.udh)
    if seven:
        hs = (8 * hl + 6) // 7  # septets of the header and its fill bits
        # TP-UDL counts septets, so 7 spare bits never read as a final '@'; the CR padding of
        # 23.038 6.1.2.3.1 is for octet-counted data, and a CR that TP-UDL counts is text.
        if hs > udl:
            raise PDUError("udh")
        m.data = unpack7(ud[hl:], udl - hs, 7 * hs - 8 * hl)
        m.text = gsm_to_text(m.data)
    else:
        m.data = ud[hl:]
        m.text = ucs2_to_text(m.data) if m.alphabet == UCS2 else None


def _ies(h):
    """The concatenation IE of a UDH (23.040 9.2.3.24.1 8-bit, .8 16-bit reference)."""
    c = None
    i = 1
    while i < len(h):
        _need(h, i + 2)
        j = i + 2 + h[i + 1]
        _need(h, j)
        v = h[i + 2 : j]
        if h[i] == 0 and len(v) == 3:
            c = (v[0], v[1], v[2]) if 0 < v[2] <= v[1] else c  # else "ignore the IE"
        elif h[i] == 8 and len(v) == 4:
            c = (v[0] << 8 | v[1], v[2], v[3]) if 0 < v[3] <= v[2] else c
        i = j
    return c


def ucs2_to_text(b):
    """UTF-16-BE (23.038 6.2.3 UCS2, as handsets send it) to text; a lone surrogate reads
    as U+FFFD (a pair may be split across concatenated parts)."""
    if len(b) & 1:
        raise PDUError("ucs2")
    out = []
    hi = 0
    for k in range(0, len(b), 2):
        u = b[k] << 8 | b[k + 1]
        low = 0xDC00 <= u < 0xE000
        if hi and low:
            out[-1] = chr(0x10000 + (hi - 0xD800 << 10) + u - 0xDC00)
            hi = 0
            continue
        hi = u if 0xD800 <= u < 0xDC00 else 0
        out.append("\ufffd" if hi or low else chr(u))
    return "".join(out)


def text_to_ucs2(text):
    """Text as UTF-16-BE octets (surrogate pairs beyond U+FFFF)."""
    out = bytearray()
    for ch in text:
        u = ord(ch)
        if u > 0xFFFF:
            u -= 0x10000
            out += bytes((0xD8 | u >> 18, u >> 10 & 0xFF, 0xDC | u >> 8 & 3, u & 0xFF))
        else:
            out += bytes((u >> 8, u & 0xFF))
    return bytes(out)


def measure(text, alphabet=None):
    """(alphabet, units used, units per single SMS) for 27.005 text mode: septets with an
    extension character counted twice, octets of 8-bit data, UTF-16 units. None picks GSM7
    when every character has a code, else UCS2."""
    if alphabet == DATA8:
        return DATA8, len(text), MAX_DATA8
    if alphabet is None or alphabet == GSM7:
        try:
            return GSM7, len(text_to_gsm(text)), MAX_GSM7
        except PDUError:
            if alphabet == GSM7:
                raise
    return UCS2, len(text_to_ucs2(text)) // 2, MAX_UCS2


def fits(text, alphabet=None):
    """True when text fits one SMS (without a user data header)."""
    _, used, limit = measure(text, alphabet)
    return used <= limit


def _ud_enc(text, alphabet, udh):
    """-> (TP-DCS, TP-UDL, TP-UD); udh includes its length octet."""
    udh = bytes(udh or b"")
    hl = len(udh)
    if hl and udh[0] != hl - 1:
        raise PDUError("udh")
    alphabet = measure(text, alphabet)[0]
    if alphabet == GSM7:
        hs = (8 * hl + 6) // 7
        s = text_to_gsm(text)
        udl = hs + len(s)
        ud = udh + pack7(s, 7 * hs - 8 * hl)
    else:
        ud = udh + (bytes(text) if alphabet == DATA8 else text_to_ucs2(text))
        udl = len(ud)
    if udl > (MAX_GSM7 if alphabet == GSM7 else MAX_DATA8):
        raise PDUError("too long")
    return alphabet << 2, udl, ud


def _smsc_enc(smsc):
    """24.011 8.2.5.1: the length counts octets (type and digits), not digits."""
    if not smsc:
        return b"\x00"
    a = _addr_enc(smsc)
    if a[1] == 0xD0 or len(a) > 12:
        raise PDUError("smsc")
    return bytes((len(a) - 1,)) + a[1:]


def decode_submit(hexpdu, length):
    """AT+CMGS=<length> in PDU mode (27.005 3.5.1): the hex the host typed, SMSC part
    first, and the TPDU's octet count. A PDU of exactly <length> octets has no SMSC part
    (Wavecom modems take that form too). PDUError for anything malformed."""
    b = _hex(hexpdu)
    m = Submit()
    m.smsc, i = ("", 0) if len(b) == length else _smsc(b, 0)
    if len(b) - i != length:
        raise PDUError("length")
    _need(b, i + 2)
    m.first = f = b[i]
    if f & 3 != 1:
        raise PDUError("not SMS-SUBMIT")
    m.mr = b[i + 1]
    m.da, m.toa, i = _addr(b, i + 2)
    _need(b, i + 2)
    m.pid, m.dcs = b[i], b[i + 1]
    i += 2
    vpf = f >> 3 & 3  # 23.040 9.2.3.3: none, enhanced, relative, absolute
    m.vp = None
    if vpf:
        n = 1 if vpf == 2 else 7
        _need(b, i + n)
        m.vp = b[i] if n == 1 else b[i : i + 7]
        if vpf == 3:
            decode_scts(m.vp)
        i += n
    m.srr = bool(f & 0x20)
    _ud(m, b, i)
    return m


def encode_submit(da, text, mr=0, smsc="", vp=None, alphabet=None, udh=None):
    """-> (hex with SMSC part, TPDU octets for AT+CMGS=<length>). vp: None, an int
    (relative), a scts tuple (absolute) or 7 octets (enhanced, 23.040 9.2.3.12.3)."""
    vpf = 0
    vpb = b""
    if isinstance(vp, int):
        vpf, vpb = 2, bytes((vp,))
    elif isinstance(vp, tuple):
        vpf, vpb = 3, encode_scts(vp)
    elif vp is not None:
        vpf, vpb = 1, bytes(vp)
        if len(vpb) != 7:
            raise PDUError("vp")
    dcs, udl, ud = _ud_enc(text, alphabet, udh)
    first = 0x01 | vpf << 3 | (0x40 if udh else 0)
    tpdu = bytes((first, mr)) + _addr_enc(da) + bytes((0, dcs)) + vpb + bytes((udl,)) + ud
    return _hexs(_smsc_enc(smsc) + tpdu), len(tpdu)


def encode_deliver(oa, text, scts, smsc="", alphabet=None, udh=None):
    """SMS-DELIVER with SMSC part as hex (AT+CMGR, +CMT in PDU mode); TP-MMS set (no more
    messages waiting), TP-PID 0."""
    dcs, udl, ud = _ud_enc(text, alphabet, udh)
    first = 0x04 | (0x40 if udh else 0)
    tpdu = bytes((first,)) + _addr_enc(oa) + bytes((0, dcs)) + encode_scts(scts)
    return _hexs(_smsc_enc(smsc) + tpdu + bytes((udl,)) + ud)


def decode_deliver(hexpdu):
    """SMS-DELIVER with SMSC part -> Deliver (scts as a tuple)."""
    b = _hex(hexpdu)
    m = Deliver()
    m.smsc, i = _smsc(b, 0)
    _need(b, i + 1)
    m.first = b[i]
    if m.first & 3:
        raise PDUError("not SMS-DELIVER")
    m.oa, m.toa, i = _addr(b, i + 1)
    _need(b, i + 9)
    m.pid, m.dcs = b[i], b[i + 1]
    m.scts = decode_scts(b[i + 2 : i + 9])
    _ud(m, b, i + 9)
    return m
