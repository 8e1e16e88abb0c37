"""ESP32 (DevKitC, ESP32-WROOM-32): pins and numbers; the code is in mpboard (docs/wiring.md)."""

# Host serial line on UART2 (UART0 is the USB REPL). GPIO16/17 are wired to the PSRAM on
# WROVER modules: use TX=25, RX=26 there. RTS is an output, CTS an input (any free GPIO).
UART_ID = 2
TX = 17
RX = 16
RTS = 18
CTS = 19
BAUD = 115200
RXBUF = 4096  # in the UART driver's heap, not MicroPython's: 350 ms of input at 115200 baud
TXBUF = 1024
LED = 2  # the blue LED of most DevKits; None: no LED
LED_ACTIVE_LOW = False
SAFE_PIN = 0  # the BOOT button: hold it while the LED flickers after reset -> safe mode
SAFE_WINDOW_MS = 1000
SETUP_PIN = 4  # GPIO4 to GND (a button) held at power-up -> setup mode (docs/portal.md)
WDT_MS = 30000
TIMER_ID = 0  # hardware timer that feeds the watchdog after Ctrl-C (ESP32 has no virtual one)
LOG = None  # None: off; "console": the USB REPL; "/log.txt": a file on flash


def safe_pressed():
    import mpboot  # boot-only code: main.py forgets it after the set-up

    return mpboot.safe_pressed(SAFE_PIN, SAFE_WINDOW_MS, LED)


def make(**kw):
    """The board object; keyword arguments override the numbers above (tests, experiments)."""
    import mpboot

    return mpboot.make(globals(), kw)
