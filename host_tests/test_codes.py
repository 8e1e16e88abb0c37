"""Error codes: firmware modules declare the codes they answer as private constants
(`_SMTP_LOST = const(37979)`, inlined by mpy-cross); modem.codes holds the one table. These
checks read the sources, so a constant that drifts from the table, or one that looks like a
code but names none, fails here (docs/design.md, Memory)."""

import ast
import os

from modem import codes, errors

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCES = ("firmware", "boards")
# A private constant is taken for an error code when its name is a code's, its value a #CME
# ERROR code's, or its name starts like a code family's; then it must be one, name and value.
FAMILIES = ("_CMS_", "_SMTP_", "_POP3_", "_FTP_", "_OUTBOX_")


def private_constants():
    """(file, line, name, value) of every module-level `_NAME = const(int)`."""
    for top in SOURCES:
        for d, _, files in os.walk(os.path.join(ROOT, top)):
            for f in sorted(files):
                if not f.endswith(".py"):
                    continue
                path = os.path.join(d, f)
                tree = ast.parse(open(path, encoding="utf-8").read(), path)
                for node in tree.body:
                    if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
                        continue
                    target, value = node.targets[0], node.value
                    if not (isinstance(target, ast.Name) and target.id[:1] == "_"):
                        continue
                    if not (
                        isinstance(value, ast.Call) and getattr(value.func, "id", "") == "const"
                    ):
                        continue
                    arg = value.args[0] if len(value.args) == 1 else None
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, int):
                        rel = os.path.relpath(path, ROOT)
                        yield rel, node.lineno, target.id, arg.value


def looks_like_code(name, value):
    return (
        name[1:] in codes.table()
        or (value >= 1000 and value in codes.table().values())
        or name.startswith(FAMILIES)
    )


def test_every_private_code_constant_matches_the_table():
    table = codes.table()
    found = 0
    bad = []
    for path, line, name, value in private_constants():
        if not looks_like_code(name, value):
            continue
        found += 1
        if name[1:] not in table:
            bad.append("%s:%d: %s = %d names no code" % (path, line, name, value))
        elif table[name[1:]] != value:
            bad.append(
                "%s:%d: %s = %d, the table says %d" % (path, line, name, value, table[name[1:]])
            )
    assert not bad, "\n".join(bad)
    assert found > 50  # the check sees the modules' constants


def test_the_check_catches_a_wrong_or_unknown_code():
    assert looks_like_code("_SMTP_LSOT", 37979)  # a misspelt name: in the code range
    assert looks_like_code("_CMS_WRONG", 7)  # a code family's name
    assert not looks_like_code("_LINE_CAP", 512)
    assert not looks_like_code("_PORT_BASE", 40000)


def test_the_table():
    table = codes.table()
    assert len(table) == len(set(table.values()))  # no code twice
    assert codes.get("SMTP_LOST") == 37979 and codes.get("SMTP") is None and codes.get("") is None
    for name, value in table.items():
        assert codes.get(name) == value
        assert getattr(errors, name) == value  # modem.errors answers from the table


def test_errors_has_no_code_of_its_own():
    import pytest

    with pytest.raises(AttributeError):
        assert errors.NO_SUCH_CODE is None
    assert not [n for n in vars(errors) if n.isupper()]
