"""AT#VOUTBOX, AT#OUTBOXFLUSH, AT#OUTBOXCLEAR: the outbox seen and handled by the host
(docs/outbox.md)."""

from .compat import const
from .outbox import envelope, epoch, remove, scan, size_of

_SHOW = const(32)  # mail lines AT#VOUTBOX shows at most


async def _voutbox(m, form, args):
    d = getattr(m.board, "outbox_dir", None)
    q, bad, part = scan(d) if d else ([], [], [])
    ob = m.outq
    clock = m.board.clock
    now = epoch(m.board.utc())
    total = size_of(q)
    ages = [_age(d, e[1], now) for e in q[: _SHOW + 1]]
    if not q:
        nxt = -1
    elif not m.board.link_available() or not m.radio:
        nxt = -1  # waiting for the link
    elif m.sender is not None or ob[0] is None:
        nxt = 0
    else:
        nxt = max(0, clock.ticks_diff(ob[0], clock.ticks_ms()) // 1000)
    out = ["#VOUTBOX: %d,%d,%d,%d" % (len(q), total, ages[0] if ages else 0, nxt)]
    i = 0
    for s, _n, size in q:
        if len(out) > _SHOW:
            break
        state = "queued"
        tries, code, reply = 0, 0, 0
        if i == 0:
            tries, code, reply = ob[1], ob[2], ob[3]
            state = "sending" if m.sender is not None else ("retry" if tries else "queued")
        out.append(
            '#OUTBOX: %d,%d,%d,%d,%d,%d,"%s"' % (s, size, ages[i], tries, code, reply, state)
        )
        i += 1
    for s, n, size in bad:
        if len(out) > _SHOW:
            break
        parts = n[:-2].split("-")
        code = int(parts[1]) if len(parts) == 3 else 0
        reply = int(parts[2]) if len(parts) == 3 else 0
        state = "expired" if code == 38071 else "failed"
        out.append(
            '#OUTBOX: %d,%d,%d,0,%d,%d,"%s"' % (s, size, _age(d, n, now), code, reply, state)
        )
    return out


def _age(d, n, now):
    """Seconds since the mail was queued, -1 when the time is unknown."""
    try:
        with open(d + "/" + n, "rb") as f:
            env = envelope(f)
    except OSError:
        env = None
    if env is None or not env[0] or not now:
        return -1
    return max(0, now - env[0])


async def _flush(m, form, args):
    m.outq[0] = m.board.clock.ticks_ms()
    m.outq[1] = 0
    return []


async def _clear(m, form, args):
    d = getattr(m.board, "outbox_dir", None)
    if d:
        q, bad, part = scan(d)
        for box in (q, bad, part):
            for e in box:
                remove(d + "/" + e[1])
    m.outq[:] = [None, 0, 0, 0]
    return []


HANDLERS = {"#VOUTBOX": _voutbox, "#OUTBOXFLUSH": _flush, "#OUTBOXCLEAR": _clear}
