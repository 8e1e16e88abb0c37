"""V.250 basic commands (ATE/V/Q/Z/I, AT&F/&W/&V, ATSn, ATD/O/A/H...): loaded for the line."""

from .errors import ATError
from . import version

# V.250 basic commands and the highest value each takes (S000333D p49; docs/hosts.md).
BASIC = {
    "E": 1,
    "V": 1,
    "Q": 1,
    "Z": 0,
    "I": 9,
    "H": 0,
    "L": 3,
    "M": 2,
    "X": 4,
    "O": 0,
    "A": 0,
    "&F": 0,
    "&W": 0,
    "&V": 0,
    "&C": 1,
    "&D": 2,
    "&K": 6,
    "&S": 1,
}


async def run_basic(m, text, i):
    """One V.250 basic command at text[i]; returns (next index, information lines)."""
    c = text[i].upper()
    j = i + 1
    if c == "&" and j < len(text):
        c = "&" + text[j].upper()
        j += 1
    if c == "D":  # dial: the rest of the line is the number; there is no call to make
        m.result = "NO CARRIER"
        return len(text), []
    if c == "S":
        return sreg(m, text, j)
    k = j
    while k < len(text) and "0" <= text[k] <= "9":
        k += 1
    lim = BASIC.get(c)
    v = int(text[j:k]) if k > j else 0
    if lim is None or v > lim:
        raise ATError()
    lines = []
    p = m.profile
    if c in ("E", "V", "Q"):
        p[c] = v
    elif c == "Z":  # restore the AT&W profile (V.250 6.1.1)
        m.restore_profile()
    elif c == "&F":  # factory profile, not saved until AT&W
        m.restore_profile(saved=False)
    elif c == "&W":
        m.save("profile", dict(p))
    elif c == "I":
        if v == 0:
            lines = [version.MANUFACTURER, version.MODEL]
        elif v == 3:
            lines = [version.REVISION]
        else:
            raise ATError()
    elif c == "&V":
        g = m.gsm
        lines = [
            "E%d Q%d V%d +CMEE=%d +IPR=%d +IFC=%d,%d"
            % (p["E"], p["Q"], p["V"], p["CMEE"], p["IPR"], p["IFC"][0], p["IFC"][1]),
            "+CREG=%d +CGREG=%d +WIND=%d +WOPEN=%d"
            % (g["CREG"], g["CGREG"], g["WIND"], g["WOPEN"]),
        ]
    elif c == "O" and m.resume is not None:
        lines = await m.resume(True)
    elif c in ("O", "A"):  # no data connection to go back to, no call to answer
        m.result = "NO CARRIER"
    elif c == "H" and m.hangup is not None:  # close a socket left with +++, a listener
        await m.hangup()
    return k, lines  # H, L, M, X, &C, &D, &K, &S: accepted, nothing to change


def sreg(m, text, j):
    """ATSn? / ATSn=v."""
    k = j
    while k < len(text) and "0" <= text[k] <= "9":
        k += 1
    r = int(text[j:k]) if k > j else -1
    if r not in m.sregs or k >= len(text) or text[k] not in "?=":
        raise ATError()
    if text[k] == "?":
        return k + 1, ["%03d" % m.sregs[r]]
    e = k + 1
    while e < len(text) and "0" <= text[e] <= "9":
        e += 1
    if e == k + 1 or int(text[k + 1 : e]) > 255:
        raise ATError()
    m.sregs[r] = int(text[k + 1 : e])
    return e, []
