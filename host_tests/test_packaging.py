"""package.json (mip), manifest.py (freeze) and the deploy/config/repl tools (mpremote)."""

import json
import os
import shlex
import stat
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
TOOLS = os.path.join(ROOT, "tools")
sys.path.insert(0, TOOLS)

import config  # noqa: E402
import deploy  # noqa: E402

SECRET = "s3cret Wi-Fi pw"


def firmware_files():
    """Every .py under firmware/, relative to firmware/ ('/' separated)."""
    out = []
    for d, dirs, files in os.walk(FIRMWARE):
        dirs[:] = [x for x in dirs if x != "__pycache__"]
        for f in files:
            if f.endswith(".py"):
                out.append(os.path.relpath(os.path.join(d, f), FIRMWARE).replace(os.sep, "/"))
    return sorted(out)


def test_package_json_lists_exactly_the_firmware():
    with open(os.path.join(ROOT, "package.json")) as f:
        text = f.read()
    urls = json.loads(text)["urls"]
    expected = [[p, "firmware/" + p] for p in firmware_files()]
    assert urls == expected, "firmware/ changed: run python tools/deploy.py --package-json"
    assert text == deploy.package_json()


def test_package_version_follows_the_firmware_name():
    from modem import version

    with open(os.path.join(ROOT, "package.json")) as f:
        pkg = json.load(f)
    major, minor = version.NAME.split("-V")[1].split(".")  # "mtgw-V01.00" -> 1.0
    assert pkg["version"] == "%d.%d" % (int(major), int(minor))


def _manifest_files():
    """Run manifest.py with stand-ins for the manifest functions; the frozen files."""
    frozen = []
    calls = []

    def package(name, files=None, base_path=".", opt=None):
        base = os.path.join(ROOT, base_path, name)
        for d, dirs, fs in os.walk(base):
            dirs[:] = [x for x in dirs if x != "__pycache__"]
            for f in fs:
                if f.endswith(".py"):
                    p = os.path.relpath(os.path.join(d, f), os.path.join(ROOT, base_path))
                    frozen.append((base_path, p.replace(os.sep, "/")))

    def module(name, base_path=".", opt=None):
        assert os.path.exists(os.path.join(ROOT, base_path, name)), name
        frozen.append((base_path, name))

    def include(path):
        calls.append(("include", path))

    def require(name, **kw):
        calls.append(("require", name))

    with open(os.path.join(ROOT, "manifest.py")) as f:
        exec(
            f.read(),
            {"package": package, "module": module, "include": include, "require": require},
        )
    return frozen, calls


def test_manifest_freezes_exactly_the_firmware():
    frozen, calls = _manifest_files()
    assert {b for b, _ in frozen} == {"firmware"}
    assert sorted(p for _, p in frozen) == firmware_files()
    assert ("include", "$(PORT_DIR)/boards/manifest.py") in calls  # asyncio stays frozen
    assert ("require", "ntptime") in calls


# ---------------------------------------------------------------------------- deploy


def fake_mpremote(tmp_path):
    """An mpremote stand-in that records its arguments and what 'fs cp' would copy."""
    path = tmp_path / "mpremote"
    log = tmp_path / "mpremote.json"
    path.write_text(
        "#!%s\n" % sys.executable + "import json, sys\n"
        "args = sys.argv[1:]\nbody = args[3:]\n"
        "copies = {}\n"
        "step = []\n"
        "for a in body + ['+']:\n"
        "    if a != '+':\n"
        "        step.append(a)\n"
        "        continue\n"
        "    if step[:2] == ['fs', 'cp']:\n"
        "        for src in step[2:-1]:\n"
        "            copies[src] = open(src, 'rb').read().decode('latin-1')\n"
        "    step = []\n"
        "json.dump({'argv': args, 'copies': copies}, open(%r, 'w'))\n" % str(log)
    )
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path), log


def steps_of(argv):
    out, step = [], []
    for a in argv[4:] + ["+"]:
        if a == "+":
            out.append(step)
            step = []
        else:
            step.append(a)
    return out


def run_tool(*args, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([sys.executable] + list(args), capture_output=True, text=True, env=e)


@pytest.mark.parametrize("board", deploy.BOARDS)
def test_deploy_dry_run_builds_and_prints_the_commands(tmp_path, board):
    mpremote, log = fake_mpremote(tmp_path)
    build = tmp_path / "build"
    r = run_tool(
        os.path.join(TOOLS, "deploy.py"),
        "--board",
        board,
        "--port",
        "/dev/ttyX",
        "--dry-run",
        "--build-dir",
        str(build),
        "--mpremote",
        mpremote,
    )
    assert r.returncode == 0, r.stderr
    assert not log.exists()  # nothing ran
    argv = shlex.split(r.stdout)
    assert argv[:4] == [mpremote, "connect", "/dev/ttyX", "resume"]  # resume: no soft reset
    steps = steps_of(argv)
    modules = sorted(p for p in firmware_files() if p.startswith("modem/"))
    assert steps[0][0] == "exec" and 'open(R + "/safe", "w")' in steps[0][1]
    assert steps[1] == ["fs", "cp"] + [str(build / "lib" / (p[:-3] + ".mpy")) for p in modules] + [
        ":lib/modem/"
    ]
    lib = (
        "cellat",
        "cellmods",
        "cellsession",
        "cellsms",
        "cellular",
        "mpboard",
        "mpboot",
        "mpcell",
        "mpchores",
        "mpnet",
        "mpserve",
        "mpsetup",
        "mpsock",
    )
    assert steps[2] == ["fs", "cp"] + [str(build / "lib" / (n + ".mpy")) for n in lib] + [":lib/"]
    assert steps[3] == ["fs", "cp", str(build / "board.py"), ":board.py"]
    assert steps[4] == ["fs", "cp", str(build / "main.py"), ":main.py"]
    assert steps[5][0] == "exec" and 'os.remove(R + "/safe")' in steps[5][1]
    assert steps[6] == ["reset"]
    assert len(steps) == 7
    # Every firmware file is on its way: .mpy bytecode (v6) or the source for main.py.
    built = sorted(
        os.path.relpath(os.path.join(d, f), build).replace(os.sep, "/")
        for d, _, fs in os.walk(build)
        for f in fs
    )
    expect = sorted(
        ["board.py", "main.py"]
        + ["lib/" + p[:-3] + ".mpy" for p in firmware_files() if p != "main.py"]
    )
    assert built == expect
    for f in built:
        if f.endswith(".mpy"):
            assert (build / f).read_bytes()[:2] == b"M\x06", f
    with open(os.path.join(ROOT, "boards", board, "board.py"), "rb") as f:
        assert (build / "board.py").read_bytes() == f.read()


def test_deploy_leaves_out_line_numbers_unless_asked(tmp_path):
    # The board loads .mpy files into its heap: without line-number tables (-O3) each module
    # is smaller; --lines keeps them for a traceback with line numbers.
    exe = deploy.find_mpy_cross()
    files = deploy.build("esp32", str(tmp_path / "o3"), exe)
    assert files == deploy.build("esp32", str(tmp_path / "lines"), exe, lines=True)
    smaller = []
    for f in files:
        if f.endswith(".mpy"):
            a = os.path.getsize(tmp_path / "o3" / f)
            b = os.path.getsize(tmp_path / "lines" / f)
            assert a <= b, f
            if a < b:
                smaller.append(f)
    assert "lib/modem/modem.mpy" in smaller and len(smaller) > 40, smaller


@pytest.fixture
def repl_port():
    """A pseudo terminal that answers like a MicroPython REPL (the tools probe the port)."""
    from test_boardport import _pty

    master, slave, path, stop = _pty(b"\r\n>>> ")
    yield path
    stop.set()
    os.close(slave)
    os.close(master)


def test_deploy_runs_mpremote_with_the_same_command(tmp_path, repl_port):
    mpremote, log = fake_mpremote(tmp_path)
    build = tmp_path / "build"
    common = [
        "--board",
        "rp2040",
        "--port",
        repl_port,
        "--build-dir",
        str(build),
        "--mpremote",
        mpremote,
    ]
    dry = run_tool(os.path.join(TOOLS, "deploy.py"), "--dry-run", *common)
    r = run_tool(os.path.join(TOOLS, "deploy.py"), *common)
    assert r.returncode == 0, r.stderr
    rec = json.loads(log.read_text())
    assert [mpremote] + rec["argv"] == shlex.split(dry.stdout)
    assert rec["copies"][str(build / "main.py")] == open(
        os.path.join(FIRMWARE, "main.py"), "rb"
    ).read().decode("latin-1")


def _run_on_board(script, root):
    r = subprocess.run(
        [MICROPYTHON, "-c", script],
        capture_output=True,
        text=True,
        env=dict(os.environ, MICROPYPATH=FIRMWARE),
    )
    return r


@pytest.mark.skipif(not os.path.exists(MICROPYTHON), reason="no MicroPython unix port")
def test_deploy_scripts_on_micropython(tmp_path):
    root = tmp_path / "flash"
    for p in ("lib/modem", "modem"):
        (root / p).mkdir(parents=True)
    stale = ["lib/modem/smtp.py", "lib/mpnet.py", "modem/modem.py", "mpboard.py"]
    for p in stale + ["lib/modem/smtp.mpy", "settings.json", "board.py"]:
        (root / p).write_text("x")
    r = _run_on_board(deploy.on_board(deploy.PREPARE, str(root)), root)
    assert r.returncode == 0, r.stderr
    assert (root / "safe").exists()  # a reset during the copy boots into safe mode
    for p in stale:
        assert not (root / p).exists(), p  # .py sources would shadow the new .mpy files
    for p in ("lib/modem/smtp.mpy", "settings.json", "board.py"):
        assert (root / p).exists(), p  # settings and the rest stay
    r = _run_on_board(deploy.on_board(deploy.FINISH, str(root)), root)
    assert r.returncode == 0 and "deployed" in r.stdout, r.stderr
    assert not (root / "safe").exists()


def test_repl_dry_run():
    r = run_tool(os.path.join(TOOLS, "repl.py"), "--port", "/dev/ttyUSB0", "--dry-run")
    assert r.stdout.strip() == "mpremote connect /dev/ttyUSB0 resume repl"


# ---------------------------------------------------------------------------- config


def test_config_dry_run_shows_no_password(tmp_path):
    r = run_tool(
        os.path.join(TOOLS, "config.py"),
        "--port",
        "/dev/ttyUSB0",
        "--wifi-ssid",
        "shop",
        "--wifi-pw",
        SECRET,
        "--dry-run",
    )
    assert r.returncode == 0, r.stderr
    assert SECRET not in r.stdout + r.stderr
    steps = steps_of(shlex.split(r.stdout.strip()))
    assert steps[0] == ["fs", "cp", config.PLACEHOLDER, ":wifi.json"]
    assert steps[1][0] == "exec" and "FileStore" in steps[1][1]
    assert steps[-1] == ["reset"]


@pytest.mark.parametrize("how", ["env", "argument"])
def test_config_passes_the_password_only_in_a_private_file(tmp_path, how, repl_port):
    mpremote, log = fake_mpremote(tmp_path)
    args = [
        os.path.join(TOOLS, "config.py"),
        "--port",
        repl_port,
        "--wifi-ssid",
        "shop",
        "--mpremote",
        mpremote,
    ]
    env = {}
    if how == "env":
        args += ["--wifi-pw-env", "PW_FOR_TEST"]
        env["PW_FOR_TEST"] = SECRET
    else:
        args += ["--wifi-pw", SECRET]
    r = run_tool(*args, env=env)
    assert r.returncode == 0, r.stderr
    assert SECRET not in r.stdout + r.stderr
    rec = json.loads(log.read_text())
    assert not any(SECRET in a for a in rec["argv"])  # not on mpremote's command line
    (src,) = rec["copies"]
    assert json.loads(rec["copies"][src]) == {"WIFISSID": "shop", "WIFIPW": SECRET}
    assert not os.path.exists(src)  # the local copy is gone


def test_config_refuses_values_the_modem_would_refuse(tmp_path):
    r = run_tool(
        os.path.join(TOOLS, "config.py"), "--port", "P", "--wifi-ssid", "x" * 33, "--dry-run"
    )
    assert r.returncode != 0 and "WIFISSID" in r.stderr


def test_config_ca_file(tmp_path):
    pem = tmp_path / "ca.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    r = run_tool(os.path.join(TOOLS, "config.py"), "--port", "P", "--ca", str(pem), "--dry-run")
    assert steps_of(shlex.split(r.stdout.strip())) == [
        ["fs", "cp", str(pem), ":ca.pem"],
        ["reset"],
    ]
    (tmp_path / "bad.pem").write_text("hello")
    r = run_tool(
        os.path.join(TOOLS, "config.py"),
        "--port",
        "P",
        "--ca",
        str(tmp_path / "bad.pem"),
        "--dry-run",
    )
    assert r.returncode != 0


@pytest.mark.skipif(not os.path.exists(MICROPYTHON), reason="no MicroPython unix port")
def test_config_merge_on_micropython(tmp_path):
    root = tmp_path / "flash"
    root.mkdir()
    (root / "settings.json").write_text(
        json.dumps({"at": {"SMTPSERV": "mx.example", "WIFISSID": "old"}, "gsm": {"WIND": 0}})
    )
    (root / "wifi.json").write_text(json.dumps({"WIFISSID": "shop", "WIFIPW": SECRET}))
    r = _run_on_board(config.on_board(config.MERGE, str(root)), root)
    assert r.returncode == 0, r.stderr
    assert SECRET not in r.stdout + r.stderr
    assert "stored for shop" in r.stdout
    data = json.loads((root / "settings.json").read_text())
    assert data == {
        "at": {"SMTPSERV": "mx.example", "WIFISSID": "shop", "WIFIPW": SECRET},
        "gsm": {"WIND": 0},
    }
    assert not (root / "wifi.json").exists()


def test_every_mutation_still_applies():
    """make mutate puts each deliberate bug into the code by exact text: a mutation whose text
    has changed would be reported stale only when someone runs it; here every CI run sees it."""
    import mutate

    for name, path, old, new, modules in mutate.MUTATIONS:
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            assert f.read().count(old) == 1, name
        assert new != old and modules, name
        for m in modules:
            assert os.path.exists(os.path.join(ROOT, "host_tests", m + ".py")), (name, m)
