"""docs/commands.md is generated from the command table and must match it."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_command_reference_is_current():
    r = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tools", "gen_docs.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_error_code_is_documented():
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import gen_docs
    from modem import codes

    documented = [name for name, _ in gen_docs.ERRORS]
    assert documented == list(codes.table())


def _command_names():
    from modem import cmdtab

    return [x.split(" ")[0] for x in cmdtab.COMMANDS.strip().split("\n") if x[:1] != ":"]


def test_every_command_is_in_the_reference():
    text = open(os.path.join(ROOT, "docs", "commands.md")).read()
    for name in _command_names():
        assert "### AT" + name + "\n" in text or "### AT" + name + " " in text, name


def test_command_table_matches_the_handler_modules():
    import importlib

    from modem import cmdtab, params

    table = set(_command_names())
    found = set()
    mods = ("basic", "atcmds", "session", "mail", "getmail", "sockets", "sms", "ftpcmds")
    for mod in mods + ("outboxcmd",):
        handlers = importlib.import_module("modem." + mod).HANDLERS
        for name in handlers:
            assert cmdtab.lookup(name)[0] == mod, name
        found |= set(handlers)
    assert table == found
    for name in table:  # a parameter needs no line unless it has a command of its own
        assert params.get(name[1:]) is None or name[1:5] == "BODY", name
