"""Non-volatile settings survive power cuts at any point of a write."""

import errno
import json
import os
import signal
import subprocess
import sys
import threading

import pytest

from modem.store import FileStore


def test_round_trip(tmp_path):
    s = FileStore(str(tmp_path / "settings.json"))
    assert s.load() == {}
    s.save({"at": {"SMTPPORT": 587}})
    assert FileStore(str(tmp_path / "settings.json")).load() == {"at": {"SMTPPORT": 587}}
    assert not os.path.exists(str(tmp_path / "settings.json.new"))


def test_cut_while_writing_the_new_file_keeps_the_old(tmp_path):
    path = str(tmp_path / "settings.json")
    s = FileStore(path)
    s.save({"at": {"SMTPPORT": 25}})
    full = json.dumps({"at": {"SMTPPORT": 587, "SMTPSERV": "mail.example.com"}})
    for cut in range(len(full)):  # the power fails after `cut` bytes of the new file
        with open(path + ".new", "w") as f:
            f.write(full[:cut])
        assert FileStore(path).load() == {"at": {"SMTPPORT": 25}}


def test_cut_between_remove_and_rename_uses_the_new_file(tmp_path):
    # On FAT, rename cannot replace a file: the old one is removed first. A cut right then
    # leaves only the complete new file, which load() takes.
    path = str(tmp_path / "settings.json")
    with open(path + ".new", "w") as f:
        json.dump({"at": {"SMTPPORT": 465}}, f)
    assert FileStore(path).load() == {"at": {"SMTPPORT": 465}}


def test_corrupt_main_file_falls_back(tmp_path):
    path = str(tmp_path / "settings.json")
    with open(path, "w") as f:
        f.write('{"at": {"SMTP')
    assert FileStore(path).load() == {}


# ------------------------------------------------------------------ a real writer, killed
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WRITER = os.path.join(HERE, "store_writer.py")
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
RUNTIMES = [
    pytest.param(sys.executable, id="cpython"),
    pytest.param(MICROPYTHON, id="micropython"),
]
# store_writer.py's two contents (kept here too: a test reads them, never imports the script)
OLD = {"at": {"SMTPSERV": "old.example.com", "SMTPPORT": 25}, "gsm": {"CREG": 0}}
NEW = {"at": {"SMTPSERV": "new.example.com", "SMTPPORT": 587, "SUBJ1": "x" * 300}}


def _writer(runtime, path, stop, mode):
    """Run store_writer.py until its step `stop`, then SIGKILL it there. Returns "killed",
    or the step count when the save ended before `stop`."""
    cmd = [runtime, WRITER, os.path.join(ROOT, "firmware"), path, str(stop), mode]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    guard = threading.Timer(30, p.kill)  # a writer that hangs fails the test, never wedges it
    guard.start()
    try:
        line = p.stdout.readline().strip()
        if line == "stop":
            p.send_signal(signal.SIGKILL)  # no flush, no close, no finally: a power cut
            p.wait()
            return "killed"
        err = p.stderr.read()
        assert p.wait() == 0 and line.startswith("done "), (line, err)
        return int(line.split()[1])
    finally:
        guard.cancel()
        p.stdout.close()
        p.stderr.close()


@pytest.mark.parametrize("mode", ["rename", "fat"])
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_writer_killed_at_every_step_leaves_old_or_new(tmp_path, runtime, mode):
    """SIGKILL lands at each step of a real save(): after opening the new file, after each
    eighth of its data, flush, fsync, close, (FAT: remove,) just before and just after the
    rename. load() then gives exactly the old or the new settings, and the next save works."""
    if runtime == MICROPYTHON and not os.path.exists(MICROPYTHON):
        pytest.fail("no MicroPython unix port in .venv (requirements.txt installs it)")
    seen = []
    stop = 1
    while True:
        d = tmp_path / ("%s-%d" % (mode, stop))
        d.mkdir()
        path = str(d / "settings.json")
        got = _writer(runtime, path, stop, mode)
        if got != "killed":
            assert got == stop - 1  # every step was a kill point
            break
        data = FileStore(path).load()
        assert data in (OLD, NEW), (stop, sorted(os.listdir(str(d))), data)
        seen.append("old" if data == OLD else "new")
        FileStore(path).save({"at": {"SMTPPORT": stop}})  # a leftover .new never gets in the way
        assert FileStore(path).load() == {"at": {"SMTPPORT": stop}}
        assert os.listdir(str(d)) == ["settings.json"]
        stop += 1
    # Old up to the rename, new once it is done; on FAT new already after the remove (from
    # the .new file) and just before the rename.
    new = 3 if mode == "fat" else 1
    assert len(seen) >= 12 + new
    assert seen == ["old"] * (len(seen) - new) + ["new"] * new, seen


class RefusingOS:
    """os as modem.store sees it on FAT: rename cannot replace an existing file."""

    def __init__(self):
        self.refused = 0

    def __getattr__(self, name):
        return getattr(os, name)

    def rename(self, a, b):
        if os.path.exists(b):
            self.refused += 1
            raise OSError(errno.EEXIST, "rename cannot replace", b)
        os.rename(a, b)


def test_save_on_a_filesystem_whose_rename_cannot_replace(tmp_path, monkeypatch):
    from modem import store

    fat = RefusingOS()
    monkeypatch.setattr(store, "os", fat)
    path = str(tmp_path / "settings.json")
    s = FileStore(path)
    s.save({"at": {"SMTPPORT": 25}})
    assert fat.refused == 0  # nothing to replace yet
    s.save({"at": {"SMTPPORT": 587}})
    s.save({"at": {"SMTPPORT": 465}})
    assert fat.refused == 2  # the fallback ran: remove, then rename
    assert FileStore(path).load() == {"at": {"SMTPPORT": 465}}
    assert sorted(os.listdir(str(tmp_path))) == ["settings.json"]


def test_window_between_remove_and_rename_loads_the_new_file(tmp_path, monkeypatch):
    """FAT: save() removed the old file and is cut before its rename: load() takes .new."""
    from modem import store

    class Cut(RefusingOS):
        def remove(self, p):
            os.remove(p)
            raise KeyboardInterrupt  # the power fails right here

    path = str(tmp_path / "settings.json")
    FileStore(path).save({"at": {"SMTPPORT": 25}})
    monkeypatch.setattr(store, "os", Cut())
    with pytest.raises(KeyboardInterrupt):
        FileStore(path).save({"at": {"SMTPPORT": 587}})
    assert sorted(os.listdir(str(tmp_path))) == ["settings.json.new"]
    monkeypatch.undo()
    assert FileStore(path).load() == {"at": {"SMTPPORT": 587}}
