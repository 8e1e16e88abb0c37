"""Run the portable test modules under the MicroPython unix port (make test runs this).

On CPython (.venv/bin/python tools/mp_tests.py [-v] [module ...]) this file plans the run: it
compiles the firmware into build/unix/ (.mpy, as a board loads it), reads the test modules with
ast to find every test_* function and what MicroPython cannot give it (a pytest fixture
argument, a pytest decorator), then starts .venv/bin/micropython with this same file as the
runner. Under MicroPython it imports each module, calls every test_* function, prints each
failure with its traceback and each skip as "SKIP <name>: <reason>", and ends with exactly one
line "N passed, N failed" (", N skipped" when any): exit status 1 on any failure. Under
CI=true a skip is a failure unless its reason starts with a platform limit that README.md lists
(tools/limits.py).
"""

import sys

# The portable modules: plain test_* functions with asserts, the same on both runtimes.
MODULES = (
    "test_commands",
    "test_gsm",
    "test_mailbody",
    "test_datamode",
    "test_smspdu",
    "test_cellular",
    "test_ftpwire",
)
HEAP = "4m"  # test modules load as source: room for the compiler, not a board's figure
TIMEOUT_S = 900


# ---------------------------------------------------------------- MicroPython side


def _missing_module(e):
    """The top-level module name of "no module named 'x.y'", else None."""
    text = str(e)
    i = text.find("'")
    j = text.find("'", i + 1)
    if i < 0 or j < 0:
        return None
    return text[i + 1 : j].split(".")[0]


def _run(plan, project, verbose, limits=None):
    """limits: None, or (CI) the skip reasons allowed; any other skip is a failure."""
    import asyncio

    passed = failed = skipped = 0

    def skip(full, reason):
        for x in limits or ():
            if reason.startswith(x):
                break
        else:
            if limits is not None:
                print("FAIL %s: skipped under CI=true, not a platform limit: %s" % (full, reason))
                return 0, 1
        print("SKIP %s: %s" % (full, reason))
        return 1, 0

    for module, tests in plan:
        try:
            mod = __import__(module)
        except Exception as e:  # a portable module must import: that is a failure
            print("FAIL %s: import" % module)
            sys.print_exception(e)
            failed += len(tests) or 1
            continue
        found = sorted([n for n in dir(mod) if n.startswith("test_")])
        planned = sorted([t[0] for t in tests])
        if found != planned:
            print("FAIL %s: test_* names differ from the plan: %r" % (module, found))
            failed += 1
        for name, reason in tests:
            full = module + "." + name
            if reason:
                s, f = skip(full, reason)
                skipped += s
                failed += f
                continue
            try:
                getattr(mod, name)()
            except ImportError as e:
                missing = _missing_module(e)
                if missing is None or missing in project:
                    print("FAIL " + full)
                    sys.print_exception(e)
                    failed += 1
                else:  # a CPython-only module: the test cannot run here
                    s, f = skip(full, "needs CPython module " + missing)
                    skipped += s
                    failed += f
            except Exception as e:
                print("FAIL " + full)
                sys.print_exception(e)
                failed += 1
            else:
                passed += 1
                if verbose:
                    print("ok   " + full)
            asyncio.new_event_loop()  # a failed test's tasks never reach the next test
    line = "%d passed, %d failed" % (passed, failed)
    if skipped:
        line += ", %d skipped" % skipped
    print(line)
    return 1 if failed else 0


def mp_main():
    import json

    with open(sys.argv[1]) as f:
        job = json.load(f)
    sys.exit(_run(job["plan"], job["project"], job["verbose"], job["limits"]))


# ---------------------------------------------------------------- CPython side


def plan_module(path):
    """[(test name, skip reason or None)] of a test module, read with ast (never imported)."""
    import ast

    with open(path) as f:
        tree = ast.parse(f.read(), path)
    out = []
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if not node.name.startswith("test_"):
            continue
        reason = None
        a = node.args
        params = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
        if isinstance(node, ast.AsyncFunctionDef):
            reason = "async test function: needs a pytest plugin"
        elif node.decorator_list:
            reason = "pytest decorator (%s)" % ast.unparse(node.decorator_list[0])
        elif params:
            reason = "needs pytest fixture " + ", ".join(params)
        out.append((node.name, reason))
    return out


def project_modules(root):
    """Top-level module names of the project: an ImportError of one of them is a failure."""
    import os

    names = set()
    for d in (
        "firmware",
        os.path.join("boards", "unix"),
        os.path.join("boards", "host"),
        "host_tests",
    ):
        for f in os.listdir(os.path.join(root, d)):
            if f.endswith(".py"):
                names.add(f[:-3])
            elif os.path.isdir(os.path.join(root, d, f)):
                names.add(f)
    return sorted(names)


def main(argv=None):
    import argparse
    import json
    import os
    import subprocess
    import tempfile

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("modules", nargs="*", default=list(MODULES), help="test modules to run")
    ap.add_argument("-v", "--verbose", action="store_true", help="a line per passed test")
    ap.add_argument("--micropython", default=os.path.join(root, ".venv", "bin", "micropython"))
    args = ap.parse_args(argv)
    if not os.path.exists(args.micropython):
        print("no MicroPython unix port at %s: run make venv" % args.micropython)
        return 1
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from build_mpy import BuildError, unix_build

    try:
        build_dir = unix_build()
    except BuildError as e:
        print(e)
        return 1
    tests_dir = os.path.join(root, "host_tests")
    plan = [(m, plan_module(os.path.join(tests_dir, m + ".py"))) for m in args.modules]
    import limits

    job = {
        "plan": plan,
        "project": project_modules(root),
        "verbose": args.verbose,
        "limits": limits.documented(root) if limits.in_ci() else None,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(job, f)
    try:
        # Firmware as .mpy from build/unix (board is boards/unix/board.py there), tests as
        # source; .frozen holds asyncio and ssl.
        env = dict(os.environ, MICROPYPATH=":".join([".frozen", build_dir, tests_dir]))
        cmd = [args.micropython, "-X", "heapsize=" + HEAP, os.path.abspath(__file__), f.name]
        try:
            r = subprocess.run(cmd, env=env, cwd=tests_dir, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            print("MicroPython tests did not finish within %d s" % TIMEOUT_S)
            return 1
    finally:
        os.remove(f.name)
    return r.returncode


if __name__ == "__main__":
    if sys.implementation.name == "micropython":
        mp_main()
    else:
        sys.exit(main())
