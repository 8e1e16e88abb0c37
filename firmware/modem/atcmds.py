"""AT# parameter commands, display commands and multi-line entries (S000333D ch.2-8)."""

import gc

from .compat import INTERN, const
from .errors import ATError
from .entry import read_block
from . import params, paramset, version

_SYNTAX = const(34819)
_EEPROM_WRITE = const(34824)
_BAD_VALUE = const(34882)
_SERVICE_RUNNING = const(37123)

_MAX_ADDRS = const(10)  # RECiADD keeps the first 10 addresses [READ p18]
_ADDR_LEN = const(120)
_BLOCK_CAP = const(1400)  # bytes kept from a multi-line entry (10 addresses of 120 + CRLFs)
_CA_CAP = const(8192)  # a PEM CA certificate (a chain of two or three fits)


def _lines_of(m, p, with_id):
    name = p[0]
    if p[5] & params.PROFILE:
        if with_id is None:
            return [
                "#%s: %d,%s" % (name, i, paramset.show(p, m.values["%s:%d" % (name, i)]))
                for i in params.PROFILES
            ]
        return ["#%s: %s" % (name, paramset.show(p, m.values["%s:%d" % (name, with_id)]))]
    value = m.values[name]
    if name[:4] == "BODY" and "\r\n" in value:
        # One display line per body line: a stored line "OK" never stands alone (docs).
        return ["#%s: %s" % (name, paramset.show(p, x)) for x in value.split("\r\n")]
    return ["#%s: %s" % (name, paramset.show(p, value))]


def _name(p):
    return p[0]


def group_lines(m, group, profile=None):
    out = []
    for p in sorted((p for p in params.table() if p[6] == group), key=_name):
        out.extend(_lines_of(m, p, profile))
    return out


def _set_value(m, key, value):
    if INTERN:
        # MicroPython: what is stored outlives the command; made after a collection, it takes
        # the lowest free space, not wherever the command's garbage left the allocator, which
        # split the heap for good (make bench, Fragmentation).
        gc.collect()
        key = key.encode().decode()
        if isinstance(value, str):
            value = value.encode().decode()
    at = dict(m.values.stored)  # changed only once it is stored (34824 otherwise)
    at[key] = value
    m.save("at", at)
    m.values.stored = at


def check_idle(m):
    """S000333D p53: parameters may be written only while no service uses the stack."""
    if m.busy:
        raise ATError(_SERVICE_RUNNING)


async def _param(m, p, form, args):
    """Set, read or test one parameter of params.table()."""
    if form in ("read", "exec"):
        return _lines_of(m, p, None)
    if form == "test":
        return []
    check_idle(m)
    if p[5] & params.PROFILE:
        parts = params.split_args(args)
        if len(parts) == 1:
            pid, raw = 1, parts[0]  # rev B syntax: no profile id means profile 1
        elif len(parts) == 2:
            pid, raw = params.parse_int(parts[0]), parts[1]
            if pid not in params.PROFILES:
                raise ATError(_BAD_VALUE)
        else:
            raise ATError(_SYNTAX)
        _set_value(m, "%s:%d" % (p[0], pid), paramset.validate(p, params.unquote(raw)))
    else:
        _set_value(m, p[0], paramset.validate(p, params.unquote(args)))
    return []


def _display_handler(groups):
    async def h(m, form, args):
        profile = None
        if form == "set":
            if groups != ("TCP",):
                raise ATError(_SYNTAX)
            profile = params.parse_int(params.unquote(args))
            if profile not in params.PROFILES:
                raise ATError(_BAD_VALUE)
        elif groups == ("TCP",):
            profile = 1
        out = []
        for g in groups:
            out.extend(group_lines(m, g, profile))
        return out

    return h


async def _vmail(m, form, args):
    out = []
    for i in (1, 2, 3):
        out.extend(group_lines(m, "MAIL%d" % i))
    return out


async def _vall(m, form, args):
    # First line is the version without '#', then one block per group, separated by an empty
    # line [READ p39].
    out = [version.NAME]
    for _, groups in paramset.GROUPS:
        if out[-1] != version.NAME:
            out.append("")
        for g in groups:
            out.extend(group_lines(m, g))
    return out


async def _vversion(m, form, args):
    return ['#VERSION: "%s"' % version.REVISION]


def _split_lines(text):
    return [x.strip() for x in text.replace("\r", "\n").split("\n") if x.strip()]


def _rec_add(i):
    async def h(m, form, args):
        check_idle(m)
        got = await read_block(m, _BLOCK_CAP)
        if got is None:
            return []
        data, _ = got
        try:
            text = data.decode()
        except UnicodeError:
            raise ATError(_BAD_VALUE) from None
        addrs = []
        for line in _split_lines(text):
            for a in line.split(","):
                a = a.strip()
                if a:
                    addrs.append(a)
        addrs = addrs[:_MAX_ADDRS]  # the 11th and later are ignored [READ p18]
        p = params.get("REC%d" % i)
        for a in addrs:
            if len(a) > _ADDR_LEN:
                raise ATError(_BAD_VALUE)
            paramset.validate(p, a)
        # Entered addresses replace all earlier ones [READ p18]; stored comma separated, within
        # the same 400 characters as AT#RECi= allows.
        _set_value(m, "REC%d" % i, paramset.validate(p, ",".join(addrs)))
        return []

    return h


def _body(i):
    name = "BODY%d" % i
    p = params.get(name)

    async def h(m, form, args):
        if form != "exec":
            return await _param(m, p, form, args)
        check_idle(m)
        got = await read_block(m, _BLOCK_CAP)
        if got is None:
            return []
        data, over = got
        try:
            text = data.decode()
        except UnicodeError:
            raise ATError(_BAD_VALUE) from None
        # Line ends are kept as CRLF; other control bytes and NUL are refused.
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        for line in lines:
            if not params.printable(line.replace("\t", " ")):
                raise ATError(_BAD_VALUE)
        body = "\r\n".join(lines)
        if over or len(body) > p[2]:
            raise ATError(_BAD_VALUE)
        _set_value(m, name, body)
        return []

    return h


_PEM = b"-----BEGIN CERTIFICATE-----"


async def _cacert(m, form, args):
    """Extension: a CA certificate (PEM) to verify TLS servers with, beside the system's."""
    if form == "read":
        return ["#CACERT: %d" % (1 if m.board.cafile() else 0)]
    if form == "test":
        return []
    check_idle(m)
    if form == "set":
        if params.unquote(args) != "":
            raise ATError(_BAD_VALUE)
        m.board.save_ca(None)
        return []
    got = await read_block(m, _CA_CAP)
    if got is None:
        return []
    data, over = got
    data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").strip()
    if over or not data.startswith(_PEM) or not data.endswith(b"-----"):
        raise ATError(_BAD_VALUE)
    try:
        m.board.save_ca(data + b"\n")
    except OSError:
        raise ATError(_EEPROM_WRITE) from None
    return []


def _handlers():
    h = {"#VMAIL": _vmail, "#VALL": _vall, "#VVERSION": _vversion, "#CACERT": _cacert}
    for i in (1, 2, 3):
        h["#BODY%d" % i] = _body(i)
        h["#REC%dADD" % i] = _rec_add(i)
    for name, groups in paramset.GROUPS:
        h["#" + name] = _display_handler(groups)
    return h


HANDLERS = _handlers()
param = _param  # every parameter of params.table() without a command of its own
