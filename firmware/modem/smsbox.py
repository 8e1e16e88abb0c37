"""The received SMS (docs/sms.md): in RAM, or on a board with a module one small file each on
flash (board.sms_dir), read when a command needs it, so that they take no heap in between and
survive a power cut."""

import json
import os

from .store import remove_file, write_file

# A record: [index, stat, oa, toa, scts, text, concat]; stat 0 REC UNREAD, 1 REC READ (27.005
# 3.1 <stat>); scts the 7 numbers of 23.040 9.2.3.11; concat [ref, total, seq] of a part of a
# long message (23.040 9.2.3.24.1) or None. On flash the file <index>.sms holds the record
# without its index as JSON, replaced as store.write_file does (new file, fsync, rename): a
# power cut leaves the old or the new one; <index>.sms.new alone is the FAT window (read too).
_EXT = ".sms"


def _dir(m):
    return getattr(m.board, "sms_dir", None)


def _mem(m):
    from .sms import settings

    return settings(m)["box"]


def indexes(m):
    """The used locations, ascending."""
    d = _dir(m)
    if d is None:
        return sorted(_mem(m))
    try:
        names = os.listdir(d)
    except OSError:
        return []
    out = []
    for n in names:
        i = n.find(_EXT)
        if i > 0 and n[:i].isdigit() and n[i:] in (_EXT, _EXT + ".new"):
            k = int(n[:i])
            if k not in out:
                out.append(k)
    out.sort()
    return out


def get(m, i):
    """The record at location i, or None."""
    d = _dir(m)
    if d is None:
        return _mem(m).get(i)
    path = "%s/%d%s" % (d, i, _EXT)
    for name in (path, path + ".new"):
        try:
            with open(name) as f:
                r = json.load(f)
        except (OSError, ValueError):
            continue  # missing, or torn by a power cut before the rename
        if isinstance(r, list) and len(r) == 6:
            return [i] + r
    return None


def put(m, r):
    """Store (or update) a record; OSError when the flash cannot take it."""
    d = _dir(m)
    if d is None:
        _mem(m)[r[0]] = r
        return
    try:
        os.mkdir(d)
    except OSError:
        pass  # there already
    write_file("%s/%d%s" % (d, r[0], _EXT), json.dumps(r[1:]))


def remove(m, i):
    d = _dir(m)
    if d is None:
        _mem(m).pop(i, None)
        return
    path = "%s/%d%s" % (d, i, _EXT)
    remove_file(path)
    remove_file(path + ".new")


def mark_read(m, r):
    """A listed or read REC UNREAD becomes REC READ (27.005 3.4.2); a flash that cannot take
    it leaves it unread."""
    if r[1] == 0:
        r[1] = 1
        try:
            put(m, r)
        except OSError:
            m.board.log("sms: flash: %d stays unread" % r[0])
