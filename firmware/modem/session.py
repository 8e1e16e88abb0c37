"""The IP session: AT#CONNECTIONSTART/STOP, #DISPLAYIP, #VSTATE (S000333D ch.2 p13, p39)."""

from .compat import const
from .errors import ATError, NetError

_ALREADY_RUNNING = const(35840)  # errors.ALREADY_RUNNING
_NOT_ATTACHED = const(35865)  # errors.NOT_ATTACHED
_NO_LINK = const(35867)  # errors.NO_LINK


async def _start(m, form, args):
    if m.session:
        raise ATError(_ALREADY_RUNNING)
    if not m.attached or not m.radio:
        raise ATError(_NOT_ATTACHED)
    m.state = "DIALING"
    try:
        my, peer, gw = await m.board.net.up(m.values)
    except NetError as e:
        m.state = "IDLE"
        m.board.log("session: %s" % e.text)
        raise ATError(e.code) from None
    m.session = (my, peer, gw)
    m.state = "CONNECTED"
    # GPRS: the address, then Ok_Info_GprsActivation and no OK [READ p13; HOST].
    # GSMMODE 0 (data call) reports Ok_Info_PPP the same way; there is no call to dial here.
    m.info([my])
    m.result = "Ok_Info_GprsActivation" if m.values["GPRSMODE"] else "Ok_Info_PPP"
    return []


async def _stop(m, form, args):
    await m.session_down()
    return []


async def _displayip(m, form, args):
    if not m.session:
        raise ATError(_NO_LINK)
    my, peer, gw = m.session
    return ['#MY IP: "%s"' % my, '#PEER IP: "%s"' % peer, '#GATEWAY IP: "%s"' % gw]


async def _vstate(m, form, args):
    lines = ['#STATE: "%s"' % m.state]
    if not m.radio or not m.board.link_available():
        lines.append("#NO SERVICE")
    return lines


HANDLERS = {
    "#CONNECTIONSTART": _start,
    "#CONNECTIONSTOP": _stop,
    "#DISPLAYIP": _displayip,
    "#VSTATE": _vstate,
}
