"""Multi-line entries ended by Ctrl-Z, cancelled by ESC: AT#RECiADD, AT#BODYi, AT#CACERT
(S000333D p18) and the SMS text of AT+CMGS (3GPP TS 27.005 3.5.1)."""

_CTRL_Z = b"\x1a"
_ESC = b"\x1b"


async def read_block(m, cap, on_cr=None):
    """Bytes typed up to Ctrl-Z (echoed per ATE); None when ESC cancels. Capped, never wedged:
    returns (bytes kept, whether more came than cap). on_cr: what each CR is answered with
    (the SMS text prompt), echo on or off."""
    await m.begin_data()
    kept = []
    size = 0
    timeout = m.values["DATATIMEOUT"]
    while True:
        data = await m.read_serial(timeout)
        if not data:
            return None
        z = data.find(_CTRL_Z)
        esc = data.find(_ESC)
        end = z if esc < 0 or (0 <= z < esc) else esc
        part = data if end < 0 else data[:end]
        if on_cr is not None and b"\r" in part:
            if m.profile["E"]:
                m.out.append(part.replace(b"\r", on_cr))
            else:
                m.out.append(on_cr * part.count(b"\r"))
        elif m.profile["E"] and part:
            m.out.append(part)
        if size < cap:
            kept.append(part[: cap - size])
        size += len(part)
        if end >= 0:
            m.unread(data[end + 1 :])
            if end == esc:
                return None
            return b"".join(kept), size > cap
