"""Is a MicroPython board at this serial port? Asked before deploy, config and repl do anything,
so a missing board or a port that is not a REPL fails in seconds with a hint, not in mpremote's
own time (or never)."""

import errno
import os
import time

HINT = "see docs/boards.md (flashing MicroPython, finding the port: ls /dev/ttyUSB* /dev/ttyACM*)"


def present(port):
    """SystemExit unless something is connected at port."""
    if not os.path.exists(port):
        raise SystemExit("no board at %s: nothing is connected there; %s" % (port, HINT))


def probe(port, timeout_s=3.0):
    """SystemExit unless a MicroPython REPL answers at port. It interrupts what runs there
    (Ctrl-C), as mpremote's own commands do; main.py then leaves the board at the REPL."""
    import serial  # pyserial, from requirements.txt

    present(port)
    try:
        s = serial.Serial(port, 115200, timeout=0.1, exclusive=True)
    except serial.SerialException as e:
        no = getattr(e, "errno", None)
        if no in (errno.EBUSY, errno.EAGAIN) or "busy" in str(e).lower() or "lock" in str(e):
            raise SystemExit("%s is in use by another program (close mpremote, picocom, a "
                             "running simulator)" % port) from None  # fmt: skip
        raise SystemExit("%s cannot be opened: %s" % (port, e)) from None
    try:
        s.reset_input_buffer()
        s.write(b"\r\x03\x03\r\n")
        got = b""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            got += s.read(256)
            if b">>>" in got or b"raw REPL" in got:
                return
    finally:
        s.close()
    raise SystemExit(
        "%s answered no MicroPython prompt within %.0f s: a modem or a board without "
        "MicroPython? Flash MicroPython first; %s" % (port, timeout_s, HINT)
    )
