"""The board's rare work: the UART's settings (power-up, AT+IPR, AT+IFC), the clock from NTP
(every 6 h), the CA certificate's file (AT#CACERT), the restart (AT+CFUN=1,1).

mpboard imports this module for one call and forgets it again (docs/design.md, Memory): none
of it stays in the heap between two uses.
"""

import time

import machine

from modem.compat import const
from modem.store import remove_file, write_file

_NTP_RETRY_MS = const(60000)  # first retry after a failed NTP query, doubling up to 6 h
_NTP_REFRESH_MS = const(21600000)  # 6 h: the RTC drifts a few seconds a day


def uart_args(board, rate, flow):
    """machine.UART's keyword arguments for the host's line at rate with flow flags."""
    tx, rx, rts, cts = board.pins
    args = {
        "baudrate": rate,
        "tx": tx,
        "rx": rx,
        "flow": flow,
        "rxbuf": board.bufs[0],
        "txbuf": board.bufs[1],
        "timeout": 0,
    }
    if rts is not None:  # None would mean "a pin" to some ports: leave it out instead
        args["rts"] = rts
    if cts is not None:
        args["cts"] = cts
    return args


def apply_serial(board, rate, ifc):
    """MPBoard.apply_serial (AT+IPR / AT+IFC). ifc = [DCE_by_DTE, DTE_by_DCE] (V.250
    6.2.12): 2 is RTS/CTS.

    The first number is how the host stops us: its RTS, our CTS input. The second is how
    we stop the host: our RTS output, its CTS. Without our RTS flow control the RTS pin is
    held asserted so that a host that watches CTS anyway keeps sending.
    """
    U = machine.UART
    tx, rx, rts, cts = board.pins
    flow = 0
    if ifc[0] == 2 and cts is not None:
        flow |= U.CTS
    if ifc[1] == 2 and rts is not None:
        flow |= U.RTS
    uart = board.uart
    if hasattr(uart, "flush"):
        uart.flush()  # the reply to AT+IPR leaves at the old rate (V.250 6.2.10)
    uart.init(**uart_args(board, rate, flow))
    if rts is not None and not flow & U.RTS:
        machine.Pin(rts, machine.Pin.OUT, value=0)  # low at the UART = "on" after RS-232
    board.serial = (rate, flow)


def sync_time(link):
    """WiFiLink.sync_time: set the RTC from NTP (ntptime; blocks for its DNS query and up to
    its 1 s socket timeout). True when set. Failures back off (1 min, doubling to 6 h): a
    broken DNS server must not stall the event loop every minute."""
    if link._ntp is None:
        try:
            import ntptime

            link._ntp = ntptime.settime
        except ImportError:
            link._ntp = False
    if not link._ntp:
        return False
    link._ntp_at = link.clock.ticks_ms()
    if link.before_block:
        link.before_block()
    try:
        link._ntp()
    except (OSError, ValueError, OverflowError) as e:
        link.log("ntp: %r" % (e,))
        link._ntp_wait = min(max(link._ntp_wait * 2, _NTP_RETRY_MS), _NTP_REFRESH_MS)
        return False
    link.time_ok = True
    link._ntp_wait = _NTP_REFRESH_MS
    return True


def save_ca(board, pem):
    """MPBoard.save_ca (AT#CACERT): store a PEM CA certificate (new file, then rename), or
    remove it."""
    if pem is None:
        remove_file(board.ca_path)
    else:
        write_file(board.ca_path, pem)


def reset(board):
    """MPBoard.reset (AT+CFUN=1,1 / AT#RESET=0): the OK leaves the UART first, then the board
    restarts (settings are on flash already)."""
    if hasattr(board.uart, "flush"):
        board.uart.flush()  # waits for the TX FIFO (esp32, rp2)
    if hasattr(time, "sleep_ms"):
        time.sleep_ms(20)
    else:  # CPython with the test fakes
        time.sleep(0.02)
    machine.reset()
