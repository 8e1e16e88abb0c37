"""The platform limits a test may be skipped for in CI: the list in README.md's Tests section.

Under CI=true every other skip is a failure (host_tests/conftest.py for pytest,
tools/mp_tests.py for MicroPython). A limit is a README line "- `platform limit: ...`"; a skip
reason names it when it starts with that text.
"""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PREFIX = "platform limit: "


def documented(root=ROOT):
    """The reasons listed in README.md (the text between the backquotes)."""
    out = []
    with open(os.path.join(root, "README.md"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("- `" + PREFIX):
                out.append(line[3 : line.index("`", 3)])
    return out


def in_ci():
    return os.environ.get("CI") == "true"


def allowed(reason, limits):
    """True when the skip reason names one of the documented limits."""
    return any(reason.startswith(x) for x in limits)
