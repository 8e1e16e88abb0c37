"""A settings writer for test_store.py to kill mid-save, on CPython and MicroPython alike.

Usage: <python> store_writer.py FIRMWARE_DIR PATH STOP MODE

Saves OLD, then saves NEW through modem.store with every file-system step counted: opening
the new file, each eighth of its data, flush, fsync, close, remove, rename. At step STOP it
prints "stop" and waits to be killed (SIGKILL: no cleanup of any kind runs). When the save
ends before STOP it prints "done" and the number of steps. MODE "fat" gives store a rename
that refuses to replace an existing file, as FAT's does on the boards.
"""

import sys

sys.path.insert(0, sys.argv[1])

import os  # noqa: E402
import time  # noqa: E402

from modem import store  # noqa: E402

OLD = {"at": {"SMTPSERV": "old.example.com", "SMTPPORT": 25}, "gsm": {"CREG": 0}}
NEW = {"at": {"SMTPSERV": "new.example.com", "SMTPPORT": 587, "SUBJ1": "x" * 300}}
PIECES = 8

_steps = [0]
_stop = int(sys.argv[3])
_fat = sys.argv[4] == "fat"


def step():
    _steps[0] += 1
    if _steps[0] == _stop:
        print("stop")
        if hasattr(sys.stdout, "flush"):
            sys.stdout.flush()
        while True:
            time.sleep(1)  # the test kills us here


class File:
    """A file whose writes go out in pieces, a step after each."""

    def __init__(self, f):
        self.f = f

    def write(self, data):
        n = max(1, len(data) // PIECES)
        for i in range(0, len(data), n):
            self.f.write(data[i : i + n])
            self.f.flush()  # the piece reaches the file before the kill can land
            step()
        return len(data)

    def flush(self):
        self.f.flush()
        step()

    def fileno(self):
        return self.f.fileno()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()
        step()


def counted_open(name, mode="r"):
    f = open(name, mode)
    step()
    return File(f)


class OS:
    """The os module as modem.store sees it, each step counted."""

    def stat(self, p):
        return os.stat(p)

    def remove(self, p):
        os.remove(p)
        step()

    def rename(self, a, b):
        if _fat:
            try:
                os.stat(b)
                exists = True
            except OSError:
                exists = False
            if exists:
                raise OSError(17)  # EEXIST: FAT cannot replace a file by renaming
        step()  # just before the rename
        os.rename(a, b)
        step()


if hasattr(os, "fsync"):

    def _fsync(fd):
        os.fsync(fd)
        step()

    OS.fsync = lambda self, fd: _fsync(fd)


path = sys.argv[2]
store.FileStore(path).save(OLD)
store.os = OS()
store.open = counted_open
store.FileStore(path).save(NEW)
print("done %d" % _steps[0])
