"""Print the setup access point's name and WPA2 password of a board, for its label.

    .venv/bin/python tools/label.py --port /dev/ttyUSB0     # asks the board for its id
    .venv/bin/python tools/label.py --uid e6614104032a5c28  # machine.unique_id() in hex

Both come from the board id as the firmware derives them (modem.portal.ap_name and
ap_password); AT#SETUPPW replaces the password (docs/portal.md).
"""

import argparse
import binascii
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "firmware"))

from modem import portal  # noqa: E402

_ASK = "import machine, binascii; print(binascii.hexlify(machine.unique_id()).decode())"


def board_uid(port):
    mpremote = os.path.join(os.path.dirname(sys.executable), "mpremote")
    out = subprocess.run(
        [mpremote, "connect", port, "resume", "exec", _ASK],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return out.strip().splitlines()[-1]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--uid", metavar="HEX", help="the board id, machine.unique_id() in hex")
    g.add_argument("--port", metavar="PORT", help="ask the board on this serial port")
    args = ap.parse_args(argv)
    text = args.uid or board_uid(args.port)
    try:
        uid = binascii.unhexlify(text.strip())
    except (binascii.Error, ValueError):
        ap.error("--uid wants hex digits")
    print("Setup Wi-Fi: %s" % portal.ap_name(uid))
    print("Password:    %s" % portal.ap_password(uid))
    print("Then open:   http://192.168.4.1/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
