"""Non-volatile settings: one JSON file, replaced atomically (write new file, then rename)."""

import json
import os


def write_file(path, data):
    """Replace a file so that a power cut leaves the old or the new one, never a mix: write a
    new file, then rename it over the old one (FAT cannot: remove first; readers fall back to
    the .new file in that window)."""
    tmp = path + ".new"
    with open(tmp, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
        f.flush()
        if hasattr(os, "fsync"):
            os.fsync(f.fileno())
    try:
        os.rename(tmp, path)
    except OSError:
        os.remove(path)
        os.rename(tmp, path)


def exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def remove_file(path):
    """Remove a file if it is there."""
    try:
        os.remove(path)
    except OSError:
        pass


class FileStore:
    """Keeps a dict on flash. A power cut during save leaves the old or the new file."""

    def __init__(self, path):
        self.path = path
        self.tmp = path + ".new"

    def load(self):
        for name in (self.path, self.tmp):
            try:
                with open(name) as f:
                    data = json.load(f)
            except (OSError, ValueError):
                continue  # missing, or torn by a power cut before the rename
            if isinstance(data, dict):
                return data
        return {}

    def save(self, data):
        write_file(self.path, json.dumps(data))


class MemoryStore:
    """A store that forgets at power-off (tests, and boards without a filesystem)."""

    def __init__(self, data=None):
        self.data = dict(data or {})
        self.saves = 0

    def load(self):
        return dict(self.data)

    def save(self, data):
        self.data = json.loads(json.dumps(data))
        self.saves += 1
