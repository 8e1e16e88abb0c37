"""The mail data path piece by piece: end marker, header rule, quoted-printable (exact).

Portable test module: it runs under pytest and under MicroPython (tools/mp_tests.py).
"""

import binascii

from modem.mailbody import BodyComposer, EndScanner, QPEncoder

MARK = b"\r\n.\r\n"


def scan(chunks):
    s = EndScanner()
    body = b""
    for i, c in enumerate(chunks):
        b, rest = s.feed(c)
        body += b
        if rest is not None:
            return body, rest + b"".join(chunks[i + 1 :])
    return body, None


def splits(data):
    yield [data]
    for i in range(len(data) + 1):
        yield [data[:i], data[i:]]
    yield [data[i : i + 1] for i in range(len(data))]


def test_end_marker_every_split():
    cases = [
        (b"text" + MARK + b"AT\r", b"text\r\n", b"AT\r"),
        (b".\r\nAT", b"", b"AT"),
        (MARK, b"\r\n", b""),
        (b"a\nb\r\n\r\n.\r\n", b"a\nb\r\n\r\n", b""),
        (b"x\r\n.y\r\n.\r\n", b"x\r\n.y\r\n", b""),
        (b"\r\n.\r", None, None),
    ]
    for data, body, rest in cases:
        for chunks in splits(data):
            got_body, got_rest = scan(chunks)
            if body is None:
                assert got_rest is None
                continue
            assert (got_body, got_rest) == (body, rest), (chunks, got_body, got_rest)


def test_end_marker_constant_memory():
    s = EndScanner()
    for _ in range(1000):
        s.feed(b"y" * 1000)
    assert len(s.tail) <= 4


def test_end_marker_reads_pass_uncopied():
    s = EndScanner()
    assert s.feed(b"first line\r\nsecond") == (b"first line\r\nsecond", None)
    data = b" part of it\r\nthird line"
    body, rest = s.feed(data)
    assert body is data and rest is None  # no copy: nothing of it may begin the marker
    assert s.feed(b"\r\n.") == (b"", None)  # held: it may begin the marker
    assert s.feed(b"x\r\n.\r") == (b"\r\n.x", None)
    assert s.feed(b"\nAT") == (b"\r\n", b"AT")


def test_end_marker_random_reads():
    r = Rand(7)
    for _ in range(200):
        data = b"".join([r.choice((b"ab", b"\r", b"\n", b".", b"\r\n")) for _ in range(60)])
        data += MARK + b"AT"
        full = b"\r\n" + data
        i = full.find(MARK)
        want = (full[2 : i + 2] if i > 0 else b"", full[i + 5 :])
        chunks = []
        k = 0
        while k < len(data):
            n = 1 + r.randrange(9)
            chunks.append(data[k : k + n])
            k += n
        assert scan(chunks) == want, chunks


class Rand:
    """xorshift32: the same cases on both runtimes (MicroPython's random has no Random)."""

    def __init__(self, seed):
        self.x = seed or 1

    def randrange(self, n):
        x = self.x
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.x = x
        return x % n

    def choice(self, seq):
        return seq[self.randrange(len(seq))]


def _a2b_qp(data):
    """RFC 2045 6.7 decoding for MicroPython, whose binascii lacks a2b_qp."""
    parts = data.replace(b"=\r\n", b"").split(b"=")
    return parts[0] + b"".join([binascii.unhexlify(p[:2]) + p[2:] for p in parts[1:]])


a2b_qp = getattr(binascii, "a2b_qp", _a2b_qp)  # CPython's own decoder is the oracle there


def qp_decode_unstuffed(encoded):
    lines = encoded.split(b"\r\n")
    assert lines[-1] == b""
    for line in lines:
        assert len(line) <= 77  # 76 plus a possible stuffed dot
    unstuffed = b"\r\n".join(x[1:] if x[:1] == b"." else x for x in lines)
    return a2b_qp(unstuffed)


def normalize(data):
    data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
    return data if data.endswith(b"\r\n") or not data else data + b"\r\n"


def encode(chunks):
    q = QPEncoder()
    return b"".join(q.feed(c) for c in chunks) + q.finish()


def test_qp_round_trip_random():
    rnd = Rand(7)
    alphabet = b"abc =.\t\r\n\xe9\x00~" + bytes(range(32, 127))
    for n in range(400):
        size = rnd.choice((0, 1, 5, 80, 300, 3000))
        data = bytes(rnd.choice(alphabet) for _ in range(size))
        if n % 3 == 0:
            data = data.replace(b"\r", b"")
        cuts = sorted(rnd.randrange(size + 1) for _ in range(rnd.randrange(4)))
        chunks = [data[a:b] for a, b in zip([0] + cuts, cuts + [size])]
        enc = encode(chunks)
        assert max(enc, default=0) < 128
        assert qp_decode_unstuffed(enc) == normalize(data), (chunks, enc)


def test_qp_plain_text_is_unchanged():
    text = b"Tank 3 level low\r\nPump 2 off\r\n"
    assert encode([text]) == text
    assert encode([b"a\nb\rc"]) == b"a\r\nb\r\nc\r\n"


def test_qp_escapes_exactly():
    assert encode([b"a=b\n"]) == b"a=3Db\r\n"
    assert encode([b"end \n"]) == b"end=20\r\n"
    assert encode([b".dot\n"]) == b"..dot\r\n"
    assert encode([b"caf\xc3\xa9\n"]) == b"caf=C3=A9\r\n"
    # only the bytes that need it (issue: a whole line was escaped): =, controls, 8-bit
    assert encode(["été utf8 = x\t\x01 \n".encode()]) == b"=C3=A9t=C3=A9 utf8 =3D x=09=01=20\r\n"
    long = b"x" * 200
    assert encode([long]) == b"x" * 75 + b"=\r\n" + b"x" * 75 + b"=\r\n" + b"x" * 50 + b"\r\n"


def test_text_only_exactly():
    from modem.mailbody import text_only

    plain = bytes(range(32, 127))
    assert text_only(b"") and text_only(plain) and text_only(plain + b"\n" + plain)
    assert text_only(b'it\'s \\ "q"\n')  # quotes and backslashes are text
    for bad in (b"\r", b"\t", b"\x00", b"\x1f", b"\x7f", b"\x80", b"\xff", b"\\\x01"):
        assert not text_only(b"a'\"" + bad + b"b\n"), bad
    # with the caller's count of CR and LF bytes, CR LF line ends are text too
    assert text_only(b"a b\r\n'\\\"\r\n", 4)
    assert not text_only(b"a\tb\r\n", 2) and not text_only(b"a\x00\r\n", 2)
    assert not text_only(b"\xc3\xa9\r\n", 2) and not text_only(b"\\\x7f\r\n", 2)


def reference_qp(data):
    """The body one line at a time through _qp_line: what any chunking must give."""
    from modem.mailbody import _qp_line

    lines = normalize(data)[:-2].split(b"\r\n") if data else []
    return b"".join([_qp_line(x, True) for x in lines])


LINES = (
    b"2026-11-28 12:00:00 station 245 tank 3 level 071% pump 2 running ok",
    b"x" * 75,
    b"y" * 76,
    b"z" * 74 + b" ",
    b"end ",
    b".dot first",
    b"a=b",
    b"tab\there",
    b"it's",
    b'say "hi"',
    b"both ' and \"",
    b"back\\slash",
    b"",
    b"caf\xc3\xa9",
    b"\x01ctl",
    b"del\x7f",
    b"~ !",
)


def test_qp_lines_exactly_whatever_the_reads():
    # Mostly CR LF text (the path that passes lines as they are), cut anywhere.
    rnd = Rand(11)
    for n in range(300):
        plain = n % 2
        lines = [
            LINES[rnd.randrange(1 if plain else len(LINES))] for _ in range(rnd.randrange(40))
        ]
        ends = [b"\r\n" if n % 5 else rnd.choice((b"\r\n", b"\n", b"\r")) for _ in lines]
        data = b"".join([x + e for x, e in zip(lines, ends)])
        if n % 7 == 0:
            data += b"open line"
        cuts = sorted(rnd.randrange(len(data) + 1) for _ in range(rnd.randrange(6)))
        chunks = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]
        assert encode(chunks) == reference_qp(data), chunks


def test_qp_text_passes_as_it_is():
    q = QPEncoder()
    text = b"Tank 3 level low\r\nPump 2 off\r\n" * 20
    assert q.feed(text) is text  # whole lines, nothing to change: no copy
    assert q.feed(b"x" * 75 + b"\r\nopen") == b"x" * 75 + b"\r\n"
    assert q.pending == b"open"
    assert q.feed(b" line\r\n") == b"open line\r\n"


def test_qp_cr_lf_split_across_chunks_is_one_line_end():
    assert encode([b"a\r", b"\nb\r", b"", b"\n"]) == b"a\r\nb\r\n"


def test_qp_huge_line_in_constant_memory():
    q = QPEncoder()
    out = 0
    for _ in range(1000):
        out += len(q.feed(b"z" * 1000))
        assert len(q.pending) <= 2048 + 1000
    out += len(q.finish())
    assert out > 1000000


def compose(chunks):
    c = BodyComposer([(b"From", b"<a@b.c>"), (b"Subject", b"S"), (b"MIME-Version", b"1.0")])
    return b"".join(c.feed(x) for x in chunks) + c.finish()


def test_composer_header_rule_every_split():
    data = b"Content-Type: text/plain\r\n X-cont\r\nX-A: 1\r\n\r\nbody\r\n"
    want = (
        b"From: <a@b.c>\r\nSubject: S\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n"
        b" X-cont\r\nX-A: 1\r\n\r\nbody\r\n.\r\n"
    )
    for chunks in splits(data):
        assert compose(chunks) == want, chunks


def test_composer_plain_body_every_split():
    data = b"\r\nAlarm: zone 3\r\n"
    want = b"From: <a@b.c>\r\nSubject: S\r\nMIME-Version: 1.0\r\n\r\nAlarm: zone 3\r\n.\r\n"
    for chunks in splits(data):
        assert compose(chunks) == want, chunks


def test_composer_host_replaces_our_field():
    out = compose([b"Subject: mine\nMIME-Version: 1.0\n--b\n"])
    assert out == b"From: <a@b.c>\r\nSubject: mine\r\nMIME-Version: 1.0\r\n\r\n--b\r\n.\r\n"


def test_composer_host_body_is_dot_stuffed_every_split():
    # RFC 5321 4.5.2: after host header lines the body passes as sent, but every line that
    # starts with "." gets one more, so the host's "." line cannot end DATA early.
    data = b"Content-Type: text/plain\r\n\r\n.\r\n.5 bar\nok\r..x\r\n"
    want = (
        b"From: <a@b.c>\r\nSubject: S\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n"
        b"\r\n..\r\n..5 bar\r\nok\r\n...x\r\n.\r\n"
    )
    for chunks in splits(data):
        assert compose(chunks) == want, chunks
