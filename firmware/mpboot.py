"""What a MicroPython board runs once, at boot: the safe-mode checks, the board object's
making from the board file's constants, its constructor, main.py's set-up.

main.py imports it for setup() and forgets it then (docs/design.md, Memory): nothing here
stays in the heap while the modem runs; mpboard keeps what runs all the time.
"""

import sys
import time

import machine

from modem.compat import asyncio, const
from modem.store import FileStore

_LED_MS = const(50)  # the LED's flicker period during the safe-mode window

# The board file's constants that become MPBoard's keyword arguments (lower case)
_GLUE = (
    "RTS",
    "CTS",
    "BAUD",
    "RXBUF",
    "TXBUF",
    "LED",
    "LED_ACTIVE_LOW",
    "WDT_MS",
    "TIMER_ID",
    "LOG",
)


def _sleep_ms(ms):
    # Blocking pause before the event loop runs (safe-mode window only).
    if hasattr(time, "sleep_ms"):
        time.sleep_ms(ms)
    else:  # CPython with the test fakes
        time.sleep(ms / 1000)


def safe_pressed(pin, window_ms=1000, led=None):
    """True when `pin` (pulled up) reads low within window_ms; the LED flickers meanwhile.

    A button to GND (ESP32: BOOT, GPIO0) or a jumper (Pico W: GP22 to GND) selects safe mode:
    main.py then leaves the board at the REPL without the modem or the watchdog.
    """
    if pin is None:
        return False
    p = machine.Pin(pin, machine.Pin.IN, machine.Pin.PULL_UP)
    light = machine.Pin(led, machine.Pin.OUT) if led is not None else None
    try:
        for i in range(window_ms // _LED_MS + 1):
            if p.value() == 0:
                return True
            if i * _LED_MS >= window_ms:
                break
            if light is not None:
                light.value(i & 1)
            _sleep_ms(_LED_MS)
        return False
    finally:
        if light is not None:
            light.value(0)


def make(pins, overrides):
    """The board object from a board file's constants (UART_ID, TX, RX, RTS, CTS, BAUD...);
    overrides (keyword arguments of MPBoard) win: tests, experiments."""
    from mpboard import MPBoard

    kw = {"setup_pin": pins.get("SETUP_PIN")}
    for name in _GLUE:
        kw[name.lower()] = pins[name]
    kw.update(overrides)
    return MPBoard(pins["UART_ID"], pins["TX"], pins["RX"], **kw)


def init(
    self,
    uart_id,
    tx,
    rx,
    rts=None,
    cts=None,
    baud=115200,
    rxbuf=2048,
    txbuf=1024,
    led=None,
    led_active_low=False,
    wdt_ms=8000,
    timer_id=-1,
    settings="/settings.json",
    ca="/ca.pem",
    outbox="/outbox",
    log=None,
    clock=None,
    stream=None,
    ntp=None,
    join_timeout_ms=15000,
    keep_ms=2000,
    setup_pin=None,
    web_poll_ms=1000,
    ap_linger_ms=120000,
):
    """MPBoard.__init__: the board's pieces made from pins and numbers (mpboard.MPBoard).

    web_poll_ms: how often the web pages' mode is looked at; ap_linger_ms: setup mode ends
    this long after the new network was joined (docs/portal.md).
    """
    from mpboard import LED, UARTPort, Watchdog, WiFiLink
    from mpchores import uart_args

    self.clock = clock or time
    self.setup_pin = setup_pin
    self.web_poll_ms = web_poll_ms
    self.ap_linger_ms = ap_linger_ms
    self.web_mode = None  # None, "setup" or "status": what the web task serves now
    self.web_task = None
    self.ap = None  # (name, address) while the setup access point is open
    self._forced = False  # the setup button was held at power-up
    self._down_since = None  # ticks since when the stored network is not joined
    self._up_since = None  # ticks since when it is joined (ends setup mode)
    self.store = FileStore(settings)
    self.defaults = {}
    self.ca_path = ca
    self.outbox_dir = outbox  # the queued mails (docs/outbox.md)
    self.log_to = log  # None: off; "console": print (USB REPL, not the host's UART); path
    self.watchdog = Watchdog(wdt_ms, 1000, timer_id)
    self.led = LED(led, led_active_low)
    self.link = WiFiLink(join_timeout_ms, keep_ms, ntp, self.clock, self.log, self.watchdog.feed)
    self.net = self.link
    self.pins = (tx, rx, rts, cts)
    self.bufs = (rxbuf, txbuf)
    self.serial = None  # (rate, flow flags) as last applied
    self.uart = machine.UART(uart_id, **uart_args(self, baud, 0))
    self.port = UARTPort(self.uart, stream, self.led.activity)
    self.tasks = []


def start(self, values):
    """MPBoard.start: the background tasks in the running loop: the watchdog (its WDT started
    if not yet), the LED, the Wi-Fi keeper. values (the modem's AT# parameters): a stored
    WIFISSID joins Wi-Fi right away. Returns the task list."""
    if values and values.get("WIFISSID"):
        self.link.creds = (values["WIFISSID"], values.get("WIFIPW") or "")
    w = self.watchdog
    if w.wdt is None:
        w.wdt = machine.WDT(timeout=w.timeout_ms)
    self.tasks = [
        asyncio.create_task(w.run()),
        asyncio.create_task(self.led.run(self.led_state)),
        asyncio.create_task(self.link.keep()),
    ]
    return self.tasks


def start_web(self, modem):
    """MPBoard.start_web: the web pages' watcher; the setup button (pin to GND, pulled up)
    held at power-up forces setup mode (docs/portal.md)."""
    pin = self.setup_pin
    self._forced = (
        pin is not None and machine.Pin(pin, machine.Pin.IN, machine.Pin.PULL_UP).value() == 0
    )
    self.tasks.append(asyncio.create_task(self.web(modem)))


def safe_reason(glue, safe_file):
    """Why to stay in safe mode, or None."""
    import os

    try:
        os.stat(safe_file)
        return safe_file + " exists"
    except OSError:
        pass
    if glue.safe_pressed():
        return "safe pin held low"
    return None


def setup(glue, safe_file):
    """main.setup(): the board and the modem, or None in safe mode. glue: the board module
    (board.py), imported here when None. This module forgets itself on the way out."""
    try:
        if glue is None:
            import board as glue
        reason = safe_reason(glue, safe_file)
        if reason:
            print("modem: safe mode (%s): REPL only" % reason)
            return None
        from modem.modem import Modem

        board = glue.make()
        return board, Modem(board)
    finally:
        sys.modules.pop("mpboot", None)
        sys.modules.pop("mpchores", None)
