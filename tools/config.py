"""Store the Wi-Fi network (and a CA certificate) on a board without showing the password.

    python tools/config.py --port /dev/ttyUSB0 --wifi-ssid MyNet           # asks the password
    WIFI_PW=... python tools/config.py --port /dev/ttyUSB0 --wifi-ssid MyNet --wifi-pw-env WIFI_PW
    python tools/config.py --port /dev/ttyUSB0 --ca isrg-root-x1.pem

The values land in /settings.json under "at", where AT#WIFISSID and AT#WIFIPW keep them. The
password never appears in an mpremote command line, on screen or in a log: it is written to a
private temporary file (mode 0600), copied to the board as /wifi.json, merged there into the
settings with modem.store.FileStore (new file, then rename), and both copies are removed. The
board then resets and joins the network. (--wifi-pw exists, but shows in `ps` and in the shell
history: prefer the prompt or --wifi-pw-env.)
"""

import argparse
import getpass
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "firmware"))

from modem import params, paramset  # noqa: E402
from modem.errors import ATError  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from boardport import probe  # noqa: E402

# Runs on the board. R is the filesystem root ("" on the board; a directory in the tests).
MERGE = """import json, os
from modem.store import FileStore
try:
    with open(R + "/wifi.json") as f:
        new = json.load(f)
finally:
    os.remove(R + "/wifi.json")
store = FileStore(R + "/settings.json")
data = store.load()
at = data.get("at", {})
at.update(new)
data["at"] = at
store.save(data)
print("Wi-Fi settings stored for", new["WIFISSID"])
"""
PLACEHOLDER = "<private temporary file>"


def on_board(script, root=""):
    return 'R = "%s"\n' % root + script


def check(name, value):
    """The value as the modem would store it (AT#<name>=...), or SystemExit."""
    try:
        return paramset.validate(params.get(name), value)
    except ATError:
        p = params.get(name)
        raise SystemExit("%s: at most %d printable characters" % (name, p[2])) from None


def commands(port, secret_file=None, ca=None, mpremote="mpremote"):
    steps = []
    if secret_file:
        steps.append(["fs", "cp", secret_file, ":wifi.json"])
        steps.append(["exec", on_board(MERGE)])
    if ca:
        steps.append(["fs", "cp", ca, ":ca.pem"])
    steps.append(["reset"])
    argv = [mpremote, "connect", port, "resume"]
    for i, s in enumerate(steps):
        if i:
            argv.append("+")
        argv.extend(s)
    return argv


def write_secret_file(values):
    fd, path = tempfile.mkstemp(prefix="wifi-", suffix=".json")  # mode 0600
    with os.fdopen(fd, "w") as f:
        json.dump(values, f)
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", required=True, help="serial device of the board's REPL")
    ap.add_argument("--wifi-ssid", help="network name (AT#WIFISSID)")
    ap.add_argument("--wifi-pw", help="password (visible in ps and history: avoid)")
    ap.add_argument("--wifi-pw-env", metavar="VAR", help="take the password from $VAR")
    ap.add_argument("--ca", metavar="PEM", help="CA certificate(s) for TLS, stored as /ca.pem")
    ap.add_argument("--dry-run", action="store_true", help="print the mpremote command only")
    ap.add_argument("--mpremote", default="mpremote")
    args = ap.parse_args(argv)
    if not args.wifi_ssid and not args.ca:
        ap.error("nothing to do: give --wifi-ssid and/or --ca")
    if args.ca:
        with open(args.ca, "rb") as f:
            if b"-----BEGIN CERTIFICATE-----" not in f.read():
                raise SystemExit("%s: no PEM certificate in it" % args.ca)
    values = None
    if args.wifi_ssid:
        values = {"WIFISSID": check("WIFISSID", args.wifi_ssid)}
    if not args.dry_run:
        probe(args.port)  # before the password is asked: no board, nothing to ask for
    if args.wifi_ssid:
        if not args.dry_run:
            if args.wifi_pw is not None:
                pw = args.wifi_pw
            elif args.wifi_pw_env:
                pw = os.environ.get(args.wifi_pw_env)
                if pw is None:
                    raise SystemExit("$%s is not set" % args.wifi_pw_env)
            else:
                pw = getpass.getpass("Wi-Fi password for %s: " % args.wifi_ssid)
            values["WIFIPW"] = check("WIFIPW", pw)
    if args.dry_run:
        print(shlex.join(commands(args.port, values and PLACEHOLDER, args.ca, args.mpremote)))
        return 0
    mpremote = args.mpremote
    if mpremote == "mpremote" and not shutil.which(mpremote):
        mpremote = os.path.join(os.path.dirname(sys.executable), "mpremote")
    secret = write_secret_file(values) if values else None
    try:
        return subprocess.call(commands(args.port, secret, args.ca, mpremote))
    finally:
        if secret:
            os.remove(secret)


if __name__ == "__main__":
    sys.exit(main())
