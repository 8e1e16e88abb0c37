"""A minimal terminal for the modem: Enter sends CR LF, every other key its byte (Ctrl-Z and ESC
too, for SMS and entries); Ctrl-] quits. Connects to the simulator's TCP side or opens a serial
device or pseudo terminal:

    .venv/bin/python tools/term.py 127.0.0.1:7000
    .venv/bin/python tools/term.py /dev/pts/5        (or /dev/ttyUSB0; 115200 8N1, raw)

A mail body ends with CR LF . CR LF: Enter, '.', Enter.
"""

import os
import select
import socket
import sys
import termios
import tty

QUIT = b"\x1d"  # Ctrl-]


def open_target(target):
    """(read fd, write function, close function) for HOST:PORT or a device path."""
    if os.path.exists(target):
        fd = os.open(target, os.O_RDWR | os.O_NOCTTY)
        if os.isatty(fd):
            tty.setraw(fd)
            attrs = termios.tcgetattr(fd)
            attrs[4] = attrs[5] = termios.B115200
            termios.tcsetattr(fd, termios.TCSANOW, attrs)
        return fd, lambda data: os.write(fd, data), lambda: os.close(fd)
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise SystemExit("term: give HOST:PORT or the path of a serial device")
    try:
        s = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
    except OSError as e:
        raise SystemExit("term: cannot connect to %s: %s" % (target, e)) from None
    s.settimeout(None)
    return s.fileno(), s.sendall, s.close


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        raise SystemExit(__doc__)
    fd, write, close = open_target(argv[0])
    keys = sys.stdin.fileno()
    saved = termios.tcgetattr(keys) if os.isatty(keys) else None
    if saved is not None:
        tty.setraw(keys)
    sys.stderr.write("term: connected; Ctrl-] quits\r\n")
    try:
        while True:
            ready = select.select([keys, fd], [], [])[0]
            if fd in ready:
                data = os.read(fd, 4096)
                if not data:
                    break
                os.write(sys.stdout.fileno(), data)
            if keys in ready:
                data = os.read(keys, 1024)
                if not data or QUIT in data:
                    break
                write(data.replace(b"\r\n", b"\r").replace(b"\n", b"\r").replace(b"\r", b"\r\n"))
    finally:
        if saved is not None:
            termios.tcsetattr(keys, termios.TCSADRAIN, saved)
        close()
    sys.stderr.write("\r\nterm: closed\r\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
