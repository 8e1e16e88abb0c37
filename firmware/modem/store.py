"""Non-volatile settings: one JSON file, replaced atomically (write new file, then rename)."""

import json
import os


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
        with open(self.tmp, "w") as f:
            json.dump(data, f)
            f.flush()
            if hasattr(os, "fsync"):
                os.fsync(f.fileno())
        try:
            os.rename(self.tmp, self.path)
        except OSError:
            # FAT cannot rename over a file; load() falls back to the .new file in this window
            os.remove(self.path)
            os.rename(self.tmp, self.path)


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
