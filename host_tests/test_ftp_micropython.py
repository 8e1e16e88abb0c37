"""AT#FTPGET / AT#FTPPUT with the firmware under MicroPython (tools/sim.py --runtime
micropython, the heap capped like a board's) against pyftpdlib on loopback: exact bytes."""

import os

import pytest

from ftp_servers import PASSWORD, USER, cert_files, pyftpd
from test_micropython import HEAP, OK, TLS_HEAP, ask, mp_sim  # noqa: F401  (mp_sim: fixture)
from test_sim import recv_exact, recv_until

BEGIN = b"\r\nOk_Info_DataBegin\r\n"
WAIT = b"\r\nOk_Info_WaitingForData\r\n"
ETX = b"\x03"
DLE = b"\x10"


def esc(data):
    return data.replace(DLE, DLE + DLE).replace(ETX, DLE + ETX)


def setup(c, port, extra=()):
    ask(c, b"ATE0\r", b"ATE0\r" + OK)
    for line in [
        b'AT#FTPSERV="127.0.0.1"',
        b"AT#FTPPORT=%d" % port,
        b'AT#FTPUN="%s"' % USER.encode(),
        b'AT#FTPPW="%s"' % PASSWORD.encode(),
        b'AT#FTPGETFILENAME="data.bin"',
        b'AT#FTPPUTFILENAME="up.bin"',
        *extra,
    ]:
        ask(c, line + b"\r", OK)
    c.sendall(b"AT#CONNECTIONSTART\r")
    tail = b"\r\n\r\nOk_Info_GprsActivation\r\n"
    assert recv_until(c, tail, 10).endswith(tail)


@pytest.mark.parametrize("sec", [0, 1], ids=["plain", "explicit-ftps"])
def test_ftpget_and_ftpput_under_micropython(mp_sim, tmp_path, sec):  # noqa: F811
    root = tmp_path / "srv"
    root.mkdir()
    blob = (bytes(range(256)) + ETX + DLE) * 1200 + os.urandom(100000)  # ~410 KB
    (root / "data.bin").write_bytes(blob)
    cafile, chain = cert_files(tmp_path)
    args = ("--tcp", "127.0.0.1:0") + (("--cafile", cafile) if sec else ())
    s = mp_sim(*args, heap=TLS_HEAP if sec else HEAP)
    tls = "explicit" if sec else None
    with pyftpd(root, tls, chain) as port, s.connect() as c:
        extra = [b'AT#FTPSERV="localhost"', b"AT#FTPSEC=1"] if sec else []
        setup(c, port, extra)
        c.sendall(b"AT#FTPGET\r")
        want = BEGIN + esc(blob) + ETX + OK
        assert recv_exact(c, want, 60) == want
        ask(c, b"AT\r", OK)
        ask(c, b"AT#FTPPUT\r", WAIT)
        data = esc(blob)
        for i in range(0, len(data), 8192):
            c.sendall(data[i : i + 8192])
        c.sendall(ETX)
        assert recv_exact(c, ETX + OK, 60) == ETX + OK
        ask(c, b"AT\r", OK)
    assert (root / "up.bin").read_bytes() == blob
