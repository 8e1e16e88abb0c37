"""The outbox on flash (docs/outbox.md): the queue's files and writing a mail durably."""

import os

from .compat import const
from .errors import ATError, NetError

_OUTBOX_FULL = const(38070)

# A queued mail is one file <seq>.m: the line "MTGW1 <epoch> <sender> <rcpt>...\n", then the
# DATA bytes as they go to the server (CRLF, dot-stuffed, ending with CRLF . CRLF). It is
# written as <seq>.t and renamed once complete, so a power cut leaves the whole mail or a .t
# that is never sent. A mail the server refused for good becomes <seq>-<code>-<reply>.b.
_MAGIC = b"MTGW1 "
_END = b"\r\n.\r\n"
_RESERVE = const(32768)  # flash left free for the settings file and the CA certificate


def _seq(name):
    i = name.find(".")
    j = name.find("-")
    k = j if 0 < j < i else i
    s = name[:k]
    return int(s) if k > 0 and s.isdigit() else -1


def size_of(box):
    n = 0
    for e in box:
        n += e[2]
    return n


def scan(d):
    """(queued, failed, partial): lists of (seq, name, size), oldest first."""
    q, bad, part = [], [], []
    try:
        names = os.listdir(d)
    except OSError:
        return q, bad, part
    for n in names:
        s = _seq(n)
        if s < 0:
            continue
        kind = n[-2:]
        box = q if kind == ".m" else bad if kind == ".b" else part if kind == ".t" else None
        if box is None:
            continue
        try:
            size = os.stat(d + "/" + n)[6]
        except OSError:
            continue
        box.append((s, n, size))
    q.sort()
    bad.sort()
    return q, bad, part


def head(d):
    """The oldest queued mail as (seq, name, size), or None."""
    q = scan(d)[0]
    return q[0] if q else None


def epoch(t):
    """Seconds since 1970 of a board.utc() tuple; 0 when the time is unknown."""
    if t is None:
        return 0
    y, mo, d = t[0], t[1], t[2]
    if mo <= 2:
        y -= 1
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (mo + (-3 if mo > 2 else 9)) + 2) // 5 + d - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    return days * 86400 + t[3] * 3600 + t[4] * 60 + t[5]


def envelope(f):
    """Read the first line of a queued mail: (epoch, sender, [recipients]) or None."""
    line = f.readline()
    if line[: len(_MAGIC)] != _MAGIC or line[-1:] != b"\n":
        return None
    words = line[len(_MAGIC) :].strip().decode().split(" ")
    if len(words) < 3 or not words[0].isdigit():
        return None
    return int(words[0]), words[1], words[2:]


def complete(path):
    """True when the stored DATA bytes end with CRLF . CRLF (a whole mail)."""
    try:
        with open(path, "rb") as f:
            f.seek(-len(_END), 2)
            return f.read() == _END
    except OSError:
        return False


def _free(d):
    try:
        st = os.statvfs(d)
    except (OSError, AttributeError):
        return None
    return st[0] * st[4]  # f_bsize (MicroPython has no separate f_frsize) * f_bavail


def _mkdir(d):
    try:
        os.stat(d)
    except OSError:
        os.mkdir(d)


def remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


class Writer:
    """Stands in for the SMTP client of AT#PUTMAIL, AT#SENDMAILi and SMS-as-mail: send() and
    end_data() write the mail to a new file, end_data() makes it a queued mail. Raises
    ATError(38070) at once when the queue has no room at all."""

    def __init__(self, m, sender, rcpts):
        d = getattr(m.board, "outbox_dir", None)
        if not d:
            raise ATError(_OUTBOX_FULL)
        self.m = m
        self.d = d
        self.f = None
        self.done = False
        try:
            _mkdir(d)
            q, bad, part = scan(d)
            for e in part:  # left by a power cut: never a mail
                remove(d + "/" + e[1])
        except OSError:
            raise ATError(_OUTBOX_FULL) from None
        room = m.values["OUTBOXMAX"] * 1024 - size_of(q)
        self.bad = bad  # failed mails make room for new ones (docs/outbox.md)
        free = _free(d)
        if free is not None:
            room = min(room, free - _RESERVE + size_of(bad))
        last = 0
        for box in (q, bad, part):
            if box and box[-1][0] > last:
                last = box[-1][0]
        self.room = room
        self.seq = last + 1
        self.path = "%s/%08d" % (d, self.seq)
        head = _MAGIC + ("%d %s %s\n" % (epoch(m.board.utc()), sender, " ".join(rcpts))).encode()
        self.n = len(head)
        if self.n > room and not bad:
            raise ATError(_OUTBOX_FULL)
        try:
            self.f = open(self.path + ".t", "wb")
            self.f.write(head)
        except OSError:
            self.close_file()
            raise ATError(_OUTBOX_FULL) from None

    def _reclaim(self):
        for e in self.bad:
            remove(self.d + "/" + e[1])
            self.room += e[2]
        self.bad = []

    async def send(self, data):
        if self.f is None:
            raise NetError(_OUTBOX_FULL, "outbox full")
        self.n += len(data)
        if self.n > self.room and self.bad:
            self._reclaim()
        if self.n > self.room:
            self.close_file()
            raise NetError(_OUTBOX_FULL, "outbox full")
        try:
            self.f.write(data)
        except OSError:
            self.close_file()
            raise NetError(_OUTBOX_FULL, "flash full") from None

    async def end_data(self, tail=b""):
        if tail:
            await self.send(tail)
        if self.f is None:
            raise NetError(_OUTBOX_FULL, "outbox full")
        f = self.f
        try:
            f.flush()
            if hasattr(os, "fsync"):
                os.fsync(f.fileno())
            f.close()
            self.f = None
            os.rename(self.path + ".t", self.path + ".m")
            if hasattr(os, "O_DIRECTORY"):  # CPython: the rename itself reaches the disk
                fd = os.open(self.d, os.O_RDONLY | os.O_DIRECTORY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        except OSError:
            self.close_file()
            raise NetError(_OUTBOX_FULL, "flash full") from None
        self.done = True
        self.m.board.log("outbox: queued %08d, %d bytes" % (self.seq, self.n))
        q = self.m.outq
        if q[0] is None:  # try at once unless older mails wait for a retry
            q[0] = self.m.board.clock.ticks_ms()

    def close_file(self):
        if self.f is not None:
            try:
                self.f.close()
            except OSError:
                pass
            self.f = None
        if not self.done:
            remove(self.path + ".t")

    async def quit(self):
        pass

    async def close(self):
        self.close_file()


def fail(d, name, code, reply):
    """Keep a mail the server refused for good (or that expired) as a record: <seq>-code-reply.b"""
    s = _seq(name)
    try:
        os.rename(d + "/" + name, "%s/%08d-%d-%d.b" % (d, s, code, reply))
    except OSError:
        remove(d + "/" + name)
