"""The FTP client's wire helpers: PASV replies, TYPE A (7-bit NVT) conversion.

Portable test module: it runs under pytest and under MicroPython (tools/mp_tests.py), where
seven_bit takes its own path (no bytes.translate there).
"""


def test_pasv_port_nvt_and_seven_bit():
    from modem.ftp import NVT, pasv_port, seven_bit

    assert pasv_port(b"Entering Passive Mode (127,0,0,1,195,80).") == 195 * 256 + 80
    assert pasv_port(b"Entering Passive Mode 10,0,0,9,4,1") == 1025
    assert pasv_port(b"Entering Passive Mode (1,2,3)") is None
    assert pasv_port(b"Entering Passive Mode (1,2,3,4,999,1)") is None
    assert seven_bit(bytes([0x41, 0xC1, 0xFF, 0x80])) == b"AA\x7f\x00"
    n = NVT()
    out = n.feed(b"a\nb\r") + n.feed(b"\nc\r") + n.feed(b"d\n") + n.feed(b"\n")
    assert out == b"a\r\nb\r\nc\rd\r\n\r\n"


def test_seven_bit_every_byte_and_a_whole_chunk():
    from modem.ftp import seven_bit

    every = bytes(range(256))
    want = bytes(range(128)) * 2
    assert seven_bit(every) == want
    assert seven_bit(every * 8) == want * 8  # a 2 KB chunk, leading zero bytes kept
    assert seven_bit(b"\x80" + b"\x00" * 1000) == b"\x00" * 1001
    plain = b"plain 7-bit text\r\n"
    assert seven_bit(plain) is plain  # nothing to clear: no copy
    assert seven_bit(b"") == b""
