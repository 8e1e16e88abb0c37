"""Fake of MicroPython's machine module for host tests: records what the board code does."""

import time

try:
    _now = time.monotonic
except AttributeError:  # MicroPython (tools/benchcore.py glue, the 32-bit VM)

    def _now():
        return time.ticks_ms() / 1000


_events = []  # (kind, details) in order, for tests that check sequencing


def events():
    return _events


def reset_all():
    """Forget every object and event (each test starts from a freshly booted board)."""
    _events.clear()
    Pin.pins.clear()
    Pin.levels.clear()
    UART.instances.clear()
    WDT.instances.clear()
    Timer.instances.clear()


class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_FALLING = 4  # rp2 values (ESP32: 2 and 1): the code must only use the names
    IRQ_RISING = 8
    pins = {}  # id -> the last Pin object made for it
    levels = {}  # id -> level an input reads (tests set it; default 1, pulled up)

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self.mode = mode
        self.pull = pull
        self._value = 0 if value is None else value
        self.history = []
        Pin.pins[id] = self
        _events.append(("pin", (id, mode, pull, value)))

    def value(self, v=None):
        if v is None:
            if self.mode == Pin.IN:
                return Pin.levels.get(self.id, 1)
            return self._value
        self._value = 1 if v else 0
        self.history.append(self._value)

    def irq(self, handler=None, trigger=IRQ_FALLING | IRQ_RISING):
        self.handler = handler
        self.trigger = trigger
        _events.append(("pin.irq", (self.id, trigger)))

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)


class UART:
    CTS = 1  # rp2 values; ESP32 swaps them: the code must only use the names
    RTS = 2
    IRQ_RXIDLE = 4096  # what network.PPP hooks its poll to (MicroPython 1.24+)
    instances = {}

    def __init__(self, id, **kw):
        self.id = id
        self.config = {}
        self.inits = []
        self.rx = bytearray()  # bytes the host sent, not yet read
        self.tx = bytearray()  # bytes written to the host
        self.flushes = 0
        UART.instances[id] = self
        self.init(**kw)

    def init(self, **kw):
        # Like MicroPython: arguments not given keep their previous value.
        self.config.update(kw)
        self.inits.append(dict(kw))
        _events.append(("uart.init", dict(kw)))

    def irq(self, handler=None, trigger=0):
        self.handler = handler
        _events.append(("uart.irq", (self.id, handler is not None, trigger)))

    def flush(self):
        self.flushes += 1
        _events.append(("uart.flush", None))

    def any(self):
        return len(self.rx)

    def read(self, n=-1):
        if not self.rx:
            return None
        n = len(self.rx) if n < 0 else n
        data = bytes(self.rx[:n])
        del self.rx[:n]
        return data

    def write(self, data):
        self.tx += data
        _events.append(("uart.write", bytes(data)))
        return len(data)

    # test side
    def host_sends(self, data):
        self.rx += data


class WDT:
    instances = []

    def __init__(self, id=0, timeout=5000):
        self.timeout = timeout
        self.feeds = []  # time.monotonic() of every feed (_now)
        WDT.instances.append(self)
        _events.append(("wdt", timeout))

    def feed(self):
        self.feeds.append(_now())

    def max_gap(self):
        """Longest time without a feed so far (s), up to now."""
        ticks = self.feeds + [_now()]
        return max(b - a for a, b in zip(ticks, ticks[1:])) if len(ticks) > 1 else 0.0


class Timer:
    ONE_SHOT = 0
    PERIODIC = 1
    instances = []

    def __init__(self, id=-1, mode=PERIODIC, period=-1, callback=None, freq=None):
        self.id = id
        self.mode = mode
        self.period = period
        self.callback = callback
        self.running = callback is not None
        Timer.instances.append(self)

    def deinit(self):
        self.running = False

    # test side
    def fire(self):
        if self.running and self.callback:
            self.callback(self)


def unique_id():
    return b"\xe6\x61\x41\x04\x03\x2a\x5c\x28"


def reset():
    raise SystemExit("machine.reset()")
