"""Non-volatile settings survive power cuts at any point of a write."""

import json
import os

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
