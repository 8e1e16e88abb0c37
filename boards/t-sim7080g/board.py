"""LilyGO T-SIM7080G-S3 (ESP32-S3 + SIMCom SIM7080G, LTE-M/NB-IoT): pins and numbers; the
code is in mpboard and mpcell (docs/cellular.md). Pins marked UNVERIFIED come from LilyGO's
published examples and schematic and have not been checked on a board here."""

# The host's serial line on UART2 (the REPL is on the S3's native USB). UNVERIFIED: GPIO43/44
# are the header pins marked TX/RX; any free GPIO works through the S3's pin matrix.
UART_ID = 2
TX = 43
RX = 44
RTS = None  # no flow-control pins wired by default (docs/cellular.md, wiring)
CTS = None
BAUD = 115200
RXBUF = 4096
TXBUF = 1024
# The module on UART1. UNVERIFIED (LilyGO examples: BOARD_MODEM_RXD_PIN 4, TXD_PIN 5, the
# ESP32's receive and transmit pins; PWR_PIN 41 drives PWRKEY through a transistor: high
# presses the key).
CELL_UART_ID = 1
CELL_TX = 5
CELL_RX = 4
PWRKEY = 41
PWRKEY_ACTIVE_HIGH = True
MODEL = "SIM7080G"  # a key of cellmods.MODULES
# UNVERIFIED (LilyGO examples: BOARD_MODEM_RI_PIN 3): the module's RI output, low pulse on an
# incoming SMS; it wakes the driver during a data call (docs/cellular.md). None: not wired.
RI = 3
LED = None  # the board's LEDs hang on the PMU (AXP2101), not on a GPIO
LED_ACTIVE_LOW = False
SAFE_PIN = 0  # the BOOT button
SAFE_WINDOW_MS = 1000
WDT_MS = 30000
TIMER_ID = 0
LOG = None  # None: off; "console": the USB REPL; "/log.txt": a file on flash


def power_rails():
    """The module is supplied by the AXP2101 PMU (I2C SDA 15, SCL 7, address 0x34: UNVERIFIED):
    its DC3 rail (3.0 V) must be on before PWRKEY does anything. LilyGO's firmware leaves it
    on; this firmware does not write PMU registers it could not check (docs/cellular.md)."""


def safe_pressed():
    import mpboot  # boot-only code: main.py forgets it after the set-up

    return mpboot.safe_pressed(SAFE_PIN, SAFE_WINDOW_MS, LED)


def make(**kw):
    """The board object; keyword arguments override the numbers above (tests, experiments)."""
    power_rails()
    import mpcell

    return mpcell.make(globals(), kw)
