"""Socket data mode piece by piece: DLE/ETX codec and +++ detector, byte for byte (portable)."""

from modem.datamode import Decoder, EscapeDetector, encode

ETX = 0x03
DLE = 0x10


def reference_decode(data):
    """The escaping rules one byte at a time (S000333D p30, p51): (payload, rest or None).
    A DLE at the very end is held back (it pairs with a byte that has not come yet)."""
    out = bytearray()
    i = 0
    while i < len(data):
        c = data[i]
        if c == DLE:
            if i + 1 == len(data):
                break
            d = data[i + 1]
            if d == DLE or d == ETX:
                out.append(d)
                i += 2
            else:
                out.append(DLE)  # not an escape: the DLE stays data
                i += 1
        elif c == ETX:
            return bytes(out), data[i + 1 :]
        else:
            out.append(c)
            i += 1
    return bytes(out), None


def decode_chunks(chunks):
    d = Decoder()
    payload = b""
    for k, c in enumerate(chunks):
        p, rest = d.feed(c)
        payload += p
        if rest is not None:
            return payload, rest + b"".join(chunks[k + 1 :])
    return payload, None


def splits(data):
    yield [data]
    for i in range(len(data) + 1):
        yield [data[:i], data[i:]]
    for i in range(len(data) + 1):
        for j in range(i, len(data) + 1):
            yield [data[:i], data[i:j], data[j:]]
    yield [data[i : i + 1] for i in range(len(data))]


# ------------------------------------------------------------------ encoder
def test_encode_exact():
    assert encode(b"") == b""
    assert encode(b"abc") == b"abc"
    assert encode(b"\x03") == b"\x10\x03"
    assert encode(b"\x10") == b"\x10\x10"
    assert encode(b"\x10\x03") == b"\x10\x10\x10\x03"
    assert encode(b"\x03\x10") == b"\x10\x03\x10\x10"
    assert encode(b"a\x03\x03b\x10\x10c") == b"a\x10\x03\x10\x03b\x10\x10\x10\x10c"
    every = bytes(range(256))
    assert encode(every) == every[:3] + b"\x10\x03" + every[4:16] + b"\x10\x10" + every[17:]


# ------------------------------------------------------------------ decoder
CASES = [
    # (escaped input, payload, rest)
    (b"hello", b"hello", None),
    (b"hello\x03AT\r", b"hello", b"AT\r"),
    (b"\x03", b"", b""),
    (b"\x10\x03", b"\x03", None),
    (b"\x10\x10", b"\x10", None),
    (b"\x10\x10\x03", b"\x10", b""),
    (b"\x10\x10\x10\x03\x03", b"\x10\x03", b""),
    (b"a\x10\x03b\x10\x10c\x03rest", b"a\x03b\x10c", b"rest"),
    (b"\x10\x10\x10\x10\x03x", b"\x10\x10", b"x"),
    (b"\x10A\x03", b"\x10A", b""),  # a DLE before another byte is kept as data
    (b"\x10\x10\x10A", b"\x10\x10A", None),
    (b"x\x10", b"x", None),  # lone DLE at the end: held, not a close
    (b"\x03\x03", b"", b"\x03"),
    (b"\x10\x03\x10\x03\x10\x03\x03", b"\x03\x03\x03", b""),
    (b"\x00\x10\x10\x00\x04\x10\x03\x00\x02\x03\x00", b"\x00\x10\x00\x04\x03\x00\x02", b"\x00"),
    (b"\x00\x01\x00\x03\x00", b"\x00\x01\x00", b"\x00"),
]


def test_decode_cases_every_split():
    for data, payload, rest in CASES:
        assert reference_decode(data) == (payload, rest), data
        for chunks in splits(data):
            assert decode_chunks(chunks) == (payload, rest), (data, chunks)


def test_decode_round_trip_of_every_byte_value():
    every = bytes(range(256)) * 3
    for cut in range(0, 40):
        enc = encode(every)
        assert decode_chunks([enc[:cut], enc[cut:] + b"\x03tail"]) == (every, b"tail")


def test_decode_random_against_reference():
    alphabet = b"\x03\x10\x10\x00\x01\x02\x04a"  # NUL and the decoder's token bytes too
    x = 1234
    for _ in range(400):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF  # an LCG: the same on every runtime
        n = x % 15
        data = bytearray()
        for _ in range(n):
            x = (x * 1103515245 + 12345) & 0x7FFFFFFF
            data.append(alphabet[(x >> 16) % len(alphabet)])
        data = bytes(data)
        want = reference_decode(data)
        for chunks in splits(data):
            assert decode_chunks(chunks) == want, (data, chunks)


def test_decode_sparse_escapes_every_split():
    # Escapes among long runs of plain bytes: the decoder hops from DLE to DLE.
    pad = b"p" * 150
    for case, _, _ in CASES:
        data = pad + case + pad + case[:3] + pad
        want = reference_decode(data)
        for i in range(len(data) + 1):
            assert decode_chunks([data[:i], data[i:]]) == want, (case, i)


def test_decode_turning_dense_within_a_chunk():
    # Sparse at first, then an escape every other byte: the rest of the chunk is decoded in
    # whole-chunk passes; the result is the same.
    for tail in (b"\x10\x03" * 150 + b"x\x03AT", b"\x10\x10" * 150 + b"\x10", b"\x10A" * 150):
        data = b"p" * 300 + b"\x10\x03" + b"q" * 200 + tail
        want = reference_decode(data)
        for i in range(0, len(data) + 1, 7):
            assert decode_chunks([data[:i], data[i:]]) == want, (tail[:4], i)


def test_decode_sparse_random_against_reference():
    x = 99
    for _ in range(60):
        data = bytearray()
        for _ in range(700):
            x = (x * 1103515245 + 12345) & 0x7FFFFFFF
            r = (x >> 16) % 64
            data.append(b"\x03\x10\x10\x00"[r] if r < 4 else 0x61)
        data = bytes(data)
        want = reference_decode(data)
        for cut in (0, 1, 99, 350, 699, 700):
            assert decode_chunks([data[:cut], data[cut:]]) == want, (data, cut)


def test_lone_dle_pairs_with_next_chunk():
    d = Decoder()
    assert d.feed(b"ab\x10") == (b"ab", None)
    assert d.dle
    assert d.feed(b"\x03cd") == (b"\x03cd", None)  # DLE | ETX: an escaped ETX, not a close
    assert d.feed(b"\x10") == (b"", None)
    assert d.feed(b"\x10") == (b"\x10", None)
    assert d.feed(b"\x10") == (b"", None)
    assert d.feed(b"") == (b"", None)  # an empty read changes nothing
    assert d.feed(b"z\x03") == (b"\x10z", b"")


# ------------------------------------------------------------------ escape detector
class FakeClock:
    """ticks_ms semantics with a 2**30 period, starting just below the wrap."""

    PERIOD = 1 << 30

    def __init__(self):
        self.t = self.PERIOD - 150

    def ticks_ms(self):
        return self.t

    def ticks_diff(self, a, b):
        d = (a - b) & (self.PERIOD - 1)
        return d - self.PERIOD if d >= self.PERIOD // 2 else d

    def ticks_add(self, a, d):
        return (a + d) & (self.PERIOD - 1)

    def step(self, ms):
        self.t = self.ticks_add(self.t, ms)
        return self.t


def test_escape_with_guard_across_wrap():
    c = FakeClock()
    e = EscapeDetector(1000, c, c.ticks_ms())
    assert e.wait_ms(c.t) is None
    assert e.feed(b"+++", c.step(1000)) == b""  # 1 s of silence before, across the wrap
    assert e.wait_ms(c.t) == 1000
    assert e.expire(c.step(999)) == (b"", False)
    assert e.wait_ms(c.t) == 1
    assert e.expire(c.step(1)) == (b"", True)
    assert e.wait_ms(c.t) is None


def test_escape_pluses_in_separate_chunks():
    c = FakeClock()
    e = EscapeDetector(1000, c, c.ticks_ms())
    assert e.feed(b"+", c.step(1500)) == b""
    assert e.feed(b"+", c.step(999)) == b""
    assert e.feed(b"+", c.step(500)) == b""
    assert e.expire(c.step(1000)) == (b"", True)


def test_pluses_are_data_without_silence():
    c = FakeClock()
    e = EscapeDetector(1000, c, c.ticks_ms())
    assert e.feed(b"+++", c.step(999)) == b"+++"  # too soon after entering data mode
    e = EscapeDetector(1000, c, c.ticks_ms())
    assert e.feed(b"x", c.step(2000)) == b"x"
    assert e.feed(b"+++", c.step(500)) == b"+++"
    assert e.feed(b"a+++", c.step(2000)) == b"a+++"
    assert e.feed(b"++++", c.step(2000)) == b"++++"
    assert e.feed(b"+++b", c.step(2000)) == b"+++b"


def test_held_pluses_become_data():
    c = FakeClock()
    e = EscapeDetector(1000, c, c.ticks_ms())
    assert e.feed(b"++", c.step(1000)) == b""
    assert e.feed(b"x", c.step(10)) == b"++x"  # a byte after them: they were data
    assert e.feed(b"+", c.step(1000)) == b""
    # The first '+' had silence after it (data); the second had silence before it (held).
    assert e.feed(b"+", c.step(1000)) == b"+"
    assert e.expire(c.step(999)) == (b"", False)
    assert e.expire(c.step(1)) == (b"+", False)  # one '+' and silence: data
    assert e.feed(b"++", c.step(1000)) == b""
    assert e.expire(c.step(1000)) == (b"++", False)
    assert e.feed(b"+++", c.step(1000)) == b""
    assert e.feed(b"+", c.step(10)) == b"++++"  # a fourth '+': data
    assert e.feed(b"+++", c.step(1000)) == b""
    assert e.feed(b"", c.step(10)) == b""  # an empty read is not a byte
    assert e.expire(c.step(990)) == (b"", True)


def test_guard_zero_turns_escape_off():
    c = FakeClock()
    e = EscapeDetector(0, c, c.ticks_ms())
    assert e.feed(b"+++", c.step(5000)) == b"+++"
    assert e.wait_ms(c.t) is None
    assert e.expire(c.step(5000)) == (b"", False)
