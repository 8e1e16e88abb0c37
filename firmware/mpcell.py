"""MicroPython glue for a board with a cellular module: its UART, PWRKEY, PPP (network.PPP)."""

import machine

from cellmods import MODULES
from cellsession import CellSession
from cellular import REGISTERED, Cellular
from modem.compat import asyncio, const
from modem.errors import NetError
from mpboard import MPBoard, UARTPort, WiFiLink

_ACTIVATION_FAILED = const(49155)

_PPP_MS = const(30000)  # LCP, PAP/CHAP and IPCP after CONNECT
_PPP_POLL_MS = const(100)


class PPPLink(CellSession, WiFiLink):
    """Wi-Fi (WiFiLink) and the module as one Net. After the module's CONNECT, network.PPP
    (esp32 port, MicroPython 1.24+) runs PPP on the module's UART; sockets are mpnet's, lwIP
    routes them over the interface that is up."""

    def __init__(self, cell, uart, wifi):
        WiFiLink.__init__(
            self,
            wifi.join_timeout_ms,
            wifi.keep_ms,
            wifi._ntp,
            wifi.clock,
            wifi.log,
            wifi.before_block,
            wifi.poll_ms,
        )
        self.cell = cell
        self.uart = uart
        self.ppp = None
        cell.data_hook = self._hook

    def _hook(self, on):
        """The driver leaves (+++) or re-enters (ATO) data mode: PPP stops or resumes reading
        the UART (network.PPP reads from the UART's RXIDLE interrupt)."""
        if self.ppp is None or not self.ppp.isconnected():
            return
        if on:
            self.uart.irq(self.ppp.poll, self.uart.IRQ_RXIDLE)
        else:
            self.uart.irq(None)

    async def _cell_up(self, values):
        import network

        if not hasattr(network, "PPP"):  # a build without it (rp2, stm32 stock): no dial
            raise NetError(_ACTIVATION_FAILED, "no network.PPP in this MicroPython build")
        return await CellSession._cell_up(self, values)

    async def wifi_up(self, values):
        return await WiFiLink.up(self, values)

    async def wifi_down(self):
        await WiFiLink.down(self)

    async def data_up(self, values):
        import network

        if self.ppp is None:
            self.ppp = network.PPP(self.uart)
        user = values.get("APNUN") or ""
        key = values.get("APNPW") or ""
        # PAP when the APN wants a user name (most M2M APNs that want one take PAP).
        sec = network.PPP.SEC_PAP if user else network.PPP.SEC_NONE
        self.ppp.connect(security=sec, user=user or None, key=key or None)
        for _ in range(_PPP_MS // _PPP_POLL_MS):
            if self.ppp.isconnected():
                break
            await asyncio.sleep(_PPP_POLL_MS / 1000)
        else:
            self.ppp.disconnect()
            raise NetError(_ACTIVATION_FAILED, "PPP did not come up")
        self.session = True
        return (self.ppp.ipconfig("addr4")[0], "0.0.0.0", self.ppp.ipconfig("gw4"))

    async def data_down(self):
        self.session = False
        if self.ppp is not None and self.ppp.isconnected():
            self.ppp.disconnect()


class CellBoard(MPBoard):
    """MPBoard with a module on a second UART (docs/cellular.md). power(pressed) drives
    PWRKEY through the board's pin; pwrkey_active_high: the pin presses the key when high
    (a transistor between them, as on the T-SIM7080G)."""

    def __init__(
        self,
        uart_id,
        tx,
        rx,
        cell_uart,
        cell_tx,
        cell_rx,
        pwrkey,
        pwrkey_active_high=True,
        model="SIM7080G",
        cell_rxbuf=4096,
        cell_stream=None,
        cell_scale=1.0,
        sms_dir="/sms",
        ri=None,
        **kw,
    ):
        MPBoard.__init__(self, uart_id, tx, rx, **kw)
        self.sms_dir = sms_dir  # received SMS, one file each (modem.smsbox)
        q = MODULES[model]
        self.cell_uart = machine.UART(
            cell_uart,
            baudrate=q["baud"],
            tx=cell_tx,
            rx=cell_rx,
            rxbuf=cell_rxbuf,
            txbuf=1024,
            timeout=0,
        )
        self.key_high = pwrkey_active_high
        self.key = machine.Pin(pwrkey, machine.Pin.OUT, value=0 if pwrkey_active_high else 1)
        port = UARTPort(self.cell_uart, cell_stream or kw.get("stream"))
        self.cell = Cellular(
            port,
            power=self.press,
            model=model,
            log=self.log,
            scale=cell_scale,
            ri=ri is not None,
        )
        if ri is not None:  # the module's RI line: low pulse on an SMS (cellmods ri_init)
            self.ri = machine.Pin(ri, machine.Pin.IN, machine.Pin.PULL_UP)
            self.ri.irq(self._ring, trigger=machine.Pin.IRQ_FALLING)
        self.link = PPPLink(self.cell, self.cell_uart, self.link)
        self.net = self.link
        self.defaults["NETMODE"] = "AUTO"

    def _ring(self, pin):
        self.cell.ring()  # a flag only: safe in an interrupt

    def press(self, pressed):
        self.key.value(1 if pressed == self.key_high else 0)

    def rssi(self):
        if self.link.via == "wifi":
            return WiFiLink.rssi(self.link)
        return self.cell.rssi_dbm()

    def link_available(self):
        if self.link.via == "wifi":
            return self.link.connected()
        return self.cell.reg in REGISTERED

    def led_state(self):
        if self.link.via == "cell" and self.cell.data:
            return 2
        return 1 if self.link_available() else 0

    def start(self, values=None):
        tasks = MPBoard.start(self, values)
        tasks.append(asyncio.create_task(self.cell.keep()))
        tasks.append(asyncio.create_task(self.link.keep_session()))
        return tasks


_GLUE = ("CELL_TX", "CELL_RX", "PWRKEY", "PWRKEY_ACTIVE_HIGH", "MODEL", "RI")


def make(pins, overrides):
    """The board object from a board file's constants (mpboard.make's, plus CELL_UART_ID,
    CELL_TX, CELL_RX, PWRKEY, PWRKEY_ACTIVE_HIGH, MODEL, RI: None when not wired)."""
    import mpboot

    kw = {}
    for name in mpboot._GLUE:
        kw[name.lower()] = pins[name]
    for name in _GLUE:
        kw[name.lower()] = pins.get(name)
    kw.update(overrides)
    return CellBoard(pins["UART_ID"], pins["TX"], pins["RX"], pins["CELL_UART_ID"], **kw)
