"""Raspberry Pi Pico W (RP2040, CYW43439): pins and numbers; the code is in mpboard."""

# Host serial line on UART0 (the REPL is on USB). RP2040 pin mux, function UART0:
# GP0 TX, GP1 RX, GP2 CTS, GP3 RTS (datasheet 1.4.3). See docs/wiring.md.
UART_ID = 0
TX = 0
RX = 1
CTS = 2
RTS = 3
BAUD = 115200
RXBUF = 2048  # MicroPython heap; 180 ms of input at 115200 baud (RTS/CTS pauses the host)
TXBUF = 1024
LED = "LED"  # the on-board LED, driven through the Wi-Fi chip
LED_ACTIVE_LOW = False
SAFE_PIN = 22  # GP22 (pin 29) to GND (pin 28) with a jumper or a button -> safe mode
SAFE_WINDOW_MS = 1000
SETUP_PIN = 21  # GP21 (pin 27) to GND (pin 28) at power-up -> setup mode (docs/portal.md)
WDT_MS = 8000  # the RP2040 watchdog allows 8388 ms at most
TIMER_ID = -1  # a virtual timer feeds the watchdog after Ctrl-C
LOG = None  # None: off; "console": the USB REPL; "/log.txt": a file on flash


def safe_pressed():
    import mpboot  # boot-only code: main.py forgets it after the set-up

    return mpboot.safe_pressed(SAFE_PIN, SAFE_WINDOW_MS, LED)


def make(**kw):
    """The board object; keyword arguments override the numbers above (tests, experiments)."""
    import mpboot

    return mpboot.make(globals(), kw)
