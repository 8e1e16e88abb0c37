"""Mutation check: put small deliberate bugs into a copy of the tree, one at a time, and see
that the tests catch each (make mutate; not part of every CI run).

.venv/bin/python tools/mutate.py [-k NAME] [--list]

Each mutation is (name, file, exact old text, new text, test modules). The tree (git's files
plus untracked ones not ignored, and a link to .venv) is copied to a temporary directory; the
working tree is never touched. For each mutation the copy gets that one change, pytest runs
the listed modules (-x: the first failure is enough), and the copy is restored. A mutation is
caught when the tests fail; old text that is not found exactly once fails the script, so the
list cannot silently rot as the code changes. Exit status 1 when any mutation is missed.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT_S = 600

M = "firmware/modem/"
MUTATIONS = [
    # -- settings store (docs/design.md: write a new file, then rename)
    ("store writes in place", M + "store.py",
     '    tmp = path + ".new"\n    with', "    tmp = path\n    with", ["test_store"]),
    ("store without the FAT fallback", M + "store.py",
     "        os.remove(path)\n        os.rename(tmp, path)\n", "        raise\n",
     ["test_store"]),
    ("store load ignores the .new file", M + "store.py",
     "for name in (self.path, self.tmp):", "for name in (self.path,):", ["test_store"]),
    # -- command line
    ("pair byte always LF", M + "modem.py",
     'self.pair = b"\\n" if data[used - 1 : used] == b"\\r" else b"\\r"', 'self.pair = b"\\n"',
     ["test_lineends"]),
    ("line cap off by one", M + "modem.py",
     "if len(self.buf) + len(seg) > self.cap:", "if len(self.buf) + len(seg) > self.cap + 1:",
     ["test_commands"]),
    ("echo adds LF", M + "modem.py",
     "                    echo.append(data[j : j + 1])\n",
     '                    echo.append(data[j : j + 1] + b"\\n")\n', ["test_commands"]),
    ("CR/LF allowed in values", M + "params.py", "if o < 32 or 127 <= o < 160",
     "if (o < 32 and o not in (10, 13)) or 127 <= o < 160", ["test_commands"]),
    ("password shown in displays", M + "paramset.py",
     "    if p[5] & SECRET:\n        return MASK", "    if False:\n        return MASK",
     ["test_commands"]),
    ("command value in the log", M + "modem.py",
     'self.board.log("cmd %s %s" % (name, form))',
     'self.board.log("cmd %s %s %s" % (name, form, args))', ["test_commands"]),
    # -- mail out
    ("dot-stuffing off (host headers)", M + "smtpdata.py",
     '        c = c.replace(b"\\n.", b"\\n..")\n', "", ["test_mailbody", "test_putmail"]),
    ("dot-stuffing off (quoted-printable)", M + "mailbody.py",
     'return b"." + line if line[:1] == b"." else line', "return line",
     ["test_mailbody", "test_putmail"]),
    ("250 check on the final dot relaxed", M + "smtp.py",
     'r = await self._command("END", None, (250,))',
     'r = await self._command("END", None, None)', ["test_smtp_client", "test_putmail"]),
    ("marker as the first bytes not seen", M + "mailbody.py",
     'self.tail = b"\\r\\n"  # virtual', 'self.tail = b""  # virtual',
     ["test_mailbody", "test_putmail"]),
    ("#SMTPLOG without its time", M + "mail.py",
     """'#SMTPLOG: "%s",%d,"%s",%d' % (step, code, text.replace('"', "'")[:80], ms)""",
     """'#SMTPLOG: "%s",%d,"%s"' % (step, code, text.replace('"', "'")[:80])""",
     ["test_putmail"]),
    ("#SMTPLOG without quote escaping", M + "mail.py",
     """text.replace('"', "'")[:80]""", "text[:80]", ["test_putmail"]),
    ("#SMTPLOG cut at 81", M + "mail.py", """text.replace('"', "'")[:80]""",
     """text.replace('"', "'")[:81]""", ["test_putmail"]),
    # -- mail in
    ("POP3 error number changed", M + "pop3.py", "_POP3_LOST = const(37995)",
     "_POP3_LOST = const(37997)", ["test_getmail"]),
    ("POP3 dot-stuffing to the host off", M + "getmail.py",
     '        data = data.replace(b"\\n.", b"\\n..")\n', "", ["test_getmail"]),
    # -- sockets
    ("DLE not escaped", M + "datamode.py",
     "        data = data.replace(DLE, _DLE2)\n", "        pass\n",
     ["test_datamode", "test_sockets"]),
    ("no ETX when the peer closes", M + "sockets.py",
     "            if self.dle:\n                m.out.append(ETX)\n            m.code(",
     "            m.code(", ["test_sockets"]),
    # -- boards
    ("no watchdog feed before blocking DNS", "firmware/mpsock.py",
     "    if net.before_block:\n        net.before_block()\n", "",
     ["test_boards"]),
]  # fmt: skip


def tree_files():
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    return [f for f in out.decode().split("\0") if f and os.path.isfile(os.path.join(ROOT, f))]


def copy_tree(dest):
    for f in tree_files():
        os.makedirs(os.path.dirname(os.path.join(dest, f)), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, f), os.path.join(dest, f))
    venv = os.path.join(ROOT, ".venv")
    if os.path.exists(venv):
        os.symlink(os.path.realpath(venv), os.path.join(dest, ".venv"))


def run_tests(tree, modules):
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
    cmd += [os.path.join("host_tests", m + ".py") for m in modules]
    try:
        r = subprocess.run(cmd, cwd=tree, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None, "timed out after %d s" % TIMEOUT_S
    last = (r.stdout.strip().splitlines() or [""])[-1]
    return r.returncode, last


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-k", help="only mutations whose name contains this")
    ap.add_argument("--list", action="store_true", help="list the mutations and exit")
    args = ap.parse_args(argv)
    chosen = [m for m in MUTATIONS if not args.k or args.k in m[0]]
    if args.list:
        for name, path, _, _, modules in chosen:
            print("%-40s %-28s %s" % (name, path, " ".join(modules)))
        return 0
    tree = tempfile.mkdtemp(prefix="mtgw-mutate-")
    try:
        copy_tree(tree)
        rc, last = run_tests(tree, sorted({x for m in chosen for x in m[4]}))
        if rc != 0:
            print("the unmutated tree does not pass its tests (%s): nothing to measure" % last)
            return 1
        missed = stale = 0
        for name, path, old, new, modules in chosen:
            full = os.path.join(tree, path)
            with open(full, encoding="utf-8") as f:
                original = f.read()
            n = original.count(old)
            if n != 1:
                print("STALE  %s: old text found %d times in %s" % (name, n, path))
                stale += 1
                continue
            with open(full, "w", encoding="utf-8") as f:
                f.write(original.replace(old, new))
            t0 = time.monotonic()
            try:
                rc, last = run_tests(tree, modules)
            finally:
                with open(full, "w", encoding="utf-8") as f:
                    f.write(original)
            caught = rc != 0
            missed += not caught
            print(
                "%s %s (%s, %.0f s): %s"
                % ("caught" if caught else "MISSED", name, " ".join(modules),
                   time.monotonic() - t0, last),
                flush=True,
            )  # fmt: skip
        print(
            "%d mutations: %d caught, %d missed, %d stale"
            % (len(chosen), len(chosen) - missed - stale, missed, stale)
        )
        return 1 if missed or stale else 0
    finally:
        shutil.rmtree(tree, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
