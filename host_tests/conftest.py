import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for p in (os.path.join(ROOT, "firmware"), os.path.join(ROOT, "boards", "host"), ROOT, HERE):
    if p not in sys.path:
        sys.path.insert(0, p)

from mta import clean_mta_fixture, mta_fixture  # noqa: E402, F401  (Postfix + Dovecot)
from tools import limits  # noqa: E402

LIMITS = limits.documented()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI=true a skip fails unless it names a platform limit listed in README.md."""
    outcome = yield
    rep = outcome.get_result()
    if not (rep.skipped and limits.in_ci()) or hasattr(rep, "wasxfail"):
        return
    reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
    if reason.startswith("Skipped: "):
        reason = reason[len("Skipped: ") :]
    if not limits.allowed(reason, LIMITS):
        rep.outcome = "failed"
        rep.longrepr = (
            "skipped under CI=true, and not for a platform limit in README.md: " + reason
        )
