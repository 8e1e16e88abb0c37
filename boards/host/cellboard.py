"""The host board with a cellular module (tools/sim.py --cellular): the firmware drives a
simulated SIM7080G (simcell.py) through the real driver (firmware/cellular.py). After CONNECT
the data path is the PC's own network in place of PPP (docs/cellular.md: what that leaves
unverified). Portable: it runs on CPython and on the MicroPython unix port."""

from cellsession import CellSession
from cellular import REGISTERED, Cellular
from modem.compat import const
from modem.errors import NetError
from simcell import SimModule

_NOT_ATTACHED = const(35865)

try:
    import asyncio
except ImportError:  # pragma: no cover
    import uasyncio as asyncio


def cell_link(base):
    """A Net class: CellSession's up/down over the PC's Net (HostNet or MPNet)."""

    class CellLink(CellSession, base):
        def __init__(self, board):
            base.__init__(self)
            self.board = board
            self.cell = board.cell

        async def wifi_up(self, values):
            if not self.board.network:  # the PC's network plays Wi-Fi, as on the plain sim
                raise NetError(_NOT_ATTACHED, "no network")
            return (self.board.address(), "0.0.0.0", "0.0.0.0")

        async def wifi_down(self):
            pass

        async def data_up(self, values):
            # PPP would negotiate here (LCP, PAP/CHAP with APNUN/APNPW, IPCP); the PC's
            # sockets stand in for it.
            return (self.board.address(), "0.0.0.0", "0.0.0.0")

        async def data_down(self):
            pass

    return CellLink


def add_cell(board, module=None, scale=1.0, net_base=None):
    """Give a PC board (HostBoard, the unix board) a module: board.module (simulated),
    board.cell (the driver), board.net (CellLink), board.sms_dir (<state>/sms); NETMODE
    defaults to AUTO."""
    if net_base is None:
        try:
            from net import HostNet as net_base  # CPython
        except ImportError:
            from mpnet import MPNet as net_base  # the MicroPython unix port
    if module is None:
        module = SimModule(board.state_dir, scale, log=board.log)
    board.module = module
    board.cell = Cellular(module.port(), power=module.pwrkey, log=board.log, scale=scale, ri=True)
    module.ri = board.cell.ring  # the RI line, wired as on the T-SIM7080G
    board.link = cell_link(net_base)(board)
    board.net = board.link
    board.defaults.setdefault("NETMODE", "AUTO")
    if board.state_dir:  # received SMS kept over a restart, one file each (modem.smsbox)
        board.sms_dir = board.state_dir.rstrip("/") + "/sms"
    board.rssi = lambda: board.cell.rssi_dbm()
    board.link_available = lambda: _available(board)
    board.start = lambda values=None: _start(board)
    board.reset = _resetter(board, board.reset)
    board.stop = lambda: _stop(board)
    return board


def _available(board):
    via = board.link.via
    if via == "wifi":
        return board.network
    return board.cell.reg in REGISTERED


def _resetter(board, reset):
    """AT+CFUN=1,1 / AT#RESET: a board restarts and its driver starts the module's radio
    (Cellular.start); here the driver lives on and its keeper switches the radio on."""

    def go():
        board.cell.radio = True
        reset()

    return go


def _start(board):
    board.tasks = board.module.start() + [
        asyncio.create_task(board.cell.keep()),
        asyncio.create_task(board.link.keep_session()),
    ]
    return board.tasks


def _stop(board):
    for t in getattr(board, "tasks", ()):
        t.cancel()
    board.tasks = []
