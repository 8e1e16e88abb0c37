"""net.up()/down() of a board with a cellular module (docs/cellular.md): AT#NETMODE picks
Wi-Fi, the module, or Wi-Fi first with the module as fallback; a dropped call is dialled
again."""

from modem.compat import asyncio, const
from modem.errors import NetError
from cellular import REGISTERED

_POLL_MS = const(5000)  # a dropped call is looked at this often


class CellSession:
    """net.up()/down() of a board with a module (a mixin before the runtime's Net, which does
    DNS and sockets): AT#NETMODE picks Wi-Fi, the module, or Wi-Fi first with the module as
    fallback (AUTO, Wi-Fi only tried when WIFISSID is set). A subclass gives self.cell,
    wifi_up(values), wifi_down(), data_up(values) -> (ip, peer, gw) and data_down()."""

    # AT#CONNECTIONSTART waits this long for registration: hosts give the command 5-6 s
    # (docs/hosts.md); the keeper registers from power-up, so this is the rare case.
    reg_ms = 5000
    via = None  # "wifi" or "cell" while a session is up
    redials = 0

    async def up(self, values):
        mode = values.get("NETMODE") or "WIFI"
        self.via = None
        if mode == "WIFI" or (mode == "AUTO" and values.get("WIFISSID")):
            try:
                addr = await self.wifi_up(values)
                self.via = "wifi"
                return addr
            except NetError:
                if mode == "WIFI":
                    raise
        addr = await self._cell_up(values)
        self.via = "cell"
        self._values = values
        return addr

    async def _cell_up(self, values):
        await self.cell.attach(values.get("APNSERV") or "", self.reg_ms)
        try:
            return await self.data_up(values)
        except NetError:
            await self.cell.hangup()
            raise

    async def down(self):
        via = self.via
        self.via = None
        if via == "wifi":
            await self.wifi_down()
        elif via == "cell":
            await self.data_down()
            await self.cell.hangup()

    async def recover(self):
        """A cellular session whose call dropped (NO CARRIER, coverage lost) is dialled again
        once the module is registered; the session's address may change (docs/cellular.md)."""
        c = self.cell
        if self.via != "cell" or c.data or not c.alive or c.reg not in REGISTERED:
            return False
        try:
            await self.data_down()
            await self._cell_up(self._values)
        except NetError as e:
            c.log("module: redial failed: %s" % e.text)
            return False
        self.redials += 1
        return True

    async def keep_session(self, poll_ms=_POLL_MS):
        while True:
            await asyncio.sleep(poll_ms * self.cell.scale / 1000)
            await self.recover()
