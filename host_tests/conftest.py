import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for p in (os.path.join(ROOT, "firmware"), os.path.join(ROOT, "boards", "host"), ROOT, HERE):
    if p not in sys.path:
        sys.path.insert(0, p)

from mta import clean_mta_fixture, mta_fixture  # noqa: E402, F401  (Postfix + Dovecot)
