"""AT#FTPGET / AT#FTPPUT against real FTP servers on loopback: exact serial bytes.

pyftpdlib (in a thread) and vsftpd (its own instance, tools/install_ftp.sh): passive and
active, TYPE I and A, FTPS explicit (AUTH TLS) and implicit, 10 MB each way, failures.
"""

import asyncio
import hashlib
import os

import pytest

from ftp_servers import (
    PASSWORD,
    READER,
    READER_PW,
    USER,
    cert_files,
    free_port,
    pyftpd,
    vsftpd,
)
from harness import Session

OK = b"\r\nOK\r\n"
BEGIN = b"\r\nOk_Info_DataBegin\r\n"
WAIT = b"\r\nOk_Info_WaitingForData\r\n"
ETX = b"\x03"
DLE = b"\x10"


def cme(n):
    return b"\r\n#CME ERROR: %d\r\n" % n


def esc(data):
    return data.replace(DLE, DLE + DLE).replace(ETX, DLE + ETX)


# Every byte value, and the two the escaping is about next to each other and at the ends.
ALL_BYTES = ETX + bytes(range(256)) + DLE + ETX + DLE + DLE + ETX + ETX + DLE


async def setup(s, port, extra=(), user=USER, pw=PASSWORD):
    cmds = [
        b"ATE0",
        b'AT#FTPSERV="127.0.0.1"',
        b"AT#FTPPORT=%d" % port,
        b'AT#FTPUN="%s"' % user.encode(),
        b'AT#FTPPW="%s"' % pw.encode(),
        b'AT#FTPGETFILENAME="data.bin"',
        b'AT#FTPPUTFILENAME="up.bin"',
    ] + list(extra)
    for c in cmds:
        want = b"ATE0\r" + OK if c == b"ATE0" and s.modem.profile["E"] else OK
        assert await s.cmd(c + b"\r") == want, c
    s.board.address = lambda: "127.0.0.1"  # the session's address: what PORT announces
    out = await s.cmd(b"AT#CONNECTIONSTART\r")
    assert out.endswith(b"Ok_Info_GprsActivation\r\n"), out


async def until_done(s, timeout=60):
    """Everything the modem writes until a final result and it waits for the host again."""
    out = bytearray()
    for _ in range(int(timeout * 200)):
        out += s.port.take()
        if s.port.waiting and not s.port.inq and (out.endswith(OK) or b"ERROR" in out[-24:]):
            break
        await asyncio.sleep(0.005)
    return bytes(out)


async def ftpget(s, timeout=60):
    s.port.send(b"AT#FTPGET\r")
    return await until_done(s, timeout)


async def ftpput(s, *chunks, want=WAIT):
    assert await s.cmd(b"AT#FTPPUT\r") == want
    for c in chunks:
        s.port.send(c)
        await asyncio.sleep(0)
    return await until_done(s)


def run(coro):
    return asyncio.run(coro)


# ------------------------------------------------------------------ pyftpdlib, the plain path
@pytest.mark.parametrize("mode", [1, 0], ids=["passive", "active"])
def test_get_binary_escapes_etx_and_dle(tmp_path, mode):
    (tmp_path / "data.bin").write_bytes(ALL_BYTES)

    async def go():
        with pyftpd(tmp_path) as port:
            async with Session() as s:
                await setup(s, port, [b"AT#FTPMODE=%d" % mode])
                assert await ftpget(s) == BEGIN + esc(ALL_BYTES) + ETX + OK
                assert await s.cmd(b"AT\r") == OK
                log = await s.cmd(b"AT#FTPLOG\r")
        assert b'#FTPLOG: "RETR",1' in log and b'#FTPLOG: "END",226,' in log
        assert (b'"PASV",227' in log) == (mode == 1) and (b'"PORT",200' in log) == (mode == 0)
        assert PASSWORD.encode() not in log

    run(go())


@pytest.mark.parametrize("mode", [1, 0], ids=["passive", "active"])
def test_put_binary_unescapes_and_echoes_the_etx(tmp_path, mode):
    async def go():
        with pyftpd(tmp_path) as port:
            async with Session() as s:
                await setup(s, port, [b"AT#FTPMODE=%d" % mode])
                data = esc(ALL_BYTES)
                # split inside escapes: DLE at the end of one read, its partner in the next
                out = await ftpput(s, data[:3], data[3:260], data[260:] + ETX + b"AT\r")
                assert out == ETX + OK + OK  # the ETX echoed, OK, then the AT after it
        assert (tmp_path / "up.bin").read_bytes() == ALL_BYTES

    run(go())


def test_paths_and_ascii_type(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "in" / "t.txt").write_bytes(b"caf\xe9 line\r\nnext\r\n")

    async def go():
        with pyftpd(tmp_path) as port:
            async with Session() as s:
                extra = [
                    b"AT#FTPTYPE=A",
                    b'AT#FTPGETPATH="/in"',
                    b'AT#FTPGETFILENAME="t.txt"',
                    b'AT#FTPPUTPATH="out"',
                    b'AT#FTPPUTFILENAME="u.txt"',
                ]
                await setup(s, port, extra)
                # 7-bit NVT [p75]: the MSB cleared, CR LF line ends
                assert await ftpget(s) == BEGIN + b"cafi line\r\nnext\r\n" + ETX + OK
                # a bare LF gets its CR, also when the CR ended the previous read
                out = await ftpput(s, b"one\ntwo\r", b"\nthr\xe5e\n", ETX)
                assert out == ETX + OK
        # pyftpdlib stores TYPE A with the local line end (LF)
        assert (tmp_path / "out" / "u.txt").read_bytes() == b"one\ntwo\nthree\n"

    run(go())


# ------------------------------------------------------------------ failures, exact bytes
def test_login_refused_missing_file_and_no_write_permission(tmp_path):
    (tmp_path / "data.bin").write_bytes(b"x")

    async def go():
        with pyftpd(tmp_path) as port:
            async with Session() as s:
                await setup(s, port, pw="wrong")
                assert await s.cmd(b"AT#FTPGET\r") == cme(38063)
                assert await s.cmd(b"AT#FTPPUT\r") == cme(38063)
                assert await s.cmd(b"AT\r") == OK
                log = await s.cmd(b"AT#FTPLOG\r")
                assert b'"PASS",530,' in log and b"wrong" not in log
            async with Session() as s:
                await setup(s, port, [b'AT#FTPGETFILENAME="nope.bin"'])
                assert await s.cmd(b"AT#FTPGET\r") == cme(38064)
                assert await s.cmd(b'AT#FTPGETPATH="/nodir"\r') == OK
                assert await s.cmd(b"AT#FTPGET\r") == cme(38064)
                assert await s.cmd(b'AT#FTPPUTPATH="/nodir"\r') == OK
                assert await s.cmd(b"AT#FTPPUT\r") == cme(38064)
                assert await s.cmd(b"AT\r") == OK
            async with Session() as s:
                await setup(s, port, user=READER, pw=READER_PW)
                assert await s.cmd(b"AT#FTPPUT\r") == cme(38065)
                assert await s.cmd(b"AT\r") == OK
        assert not (tmp_path / "up.bin").exists()

    run(go())


def test_refused_connection_no_session_and_unset_names(tmp_path):
    async def go():
        async with Session() as s:
            assert await s.cmd(b"ATE0\r") == b"ATE0\r" + OK
            assert await s.cmd(b'AT#FTPGETFILENAME="a"\r') == OK
            assert await s.cmd(b"AT#FTPGET\r") == cme(35867)
            assert await s.cmd(b"AT#FTPPUT\r") == cme(35867)
        async with Session() as s:
            await setup(s, free_port())
            assert await s.cmd(b"AT#FTPGET\r") == cme(38060)
            assert await s.cmd(b'AT#FTPSERV="no-such-host.invalid"\r') == OK
            assert await s.cmd(b"AT#FTPPUT\r") == cme(38027)
            assert await s.cmd(b'AT#FTPGETFILENAME=""\r') == OK
            assert await s.cmd(b"AT#FTPGET\r") == cme(38050)

    run(go())


def test_serial_silence_aborts_the_upload(tmp_path):
    async def go():
        with pyftpd(tmp_path) as port:
            async with Session() as s:
                await setup(s, port, [b"AT#DATATIMEOUT=1"])
                out = await ftpput(s, b"partial data")
                assert out == cme(37980)  # no ETX came: none is echoed, never OK
                assert await s.cmd(b"AT\r") == OK
                log = await s.cmd(b"AT#FTPLOG\r")
                assert b'"ABOR"' in log and b'"DELE",250' in log
        assert not (tmp_path / "up.bin").exists()  # the partial file was deleted

    run(go())


def test_parameters_locked_while_a_transfer_runs(tmp_path):
    from modem.errors import ATError

    async def go():
        with pyftpd(tmp_path) as port:
            async with Session() as s:
                await setup(s, port)
                assert await s.cmd(b"AT#FTPPUT\r") == WAIT
                # the host cannot type a command in data mode; another path that writes a
                # parameter meanwhile is refused (37123)
                with pytest.raises(ATError) as e:
                    await s.modem.run_one('#FTPUN="x"', True)
                assert e.value.code == 37123
                s.port.send(b'AT#FTPUN="x"\r' + ETX)  # data, like any other byte
                assert await until_done(s) == ETX + OK
                assert "ftp" not in s.modem.busy
                assert await s.cmd(b"AT#FTPUN?\r") == b'\r\n#FTPUN: "%s"\r\n' % USER.encode() + OK
        assert (tmp_path / "up.bin").read_bytes() == b'AT#FTPUN="x"\r'

    run(go())


def test_vftp_shows_the_ftp_parameters_without_the_password():
    async def go():
        async with Session() as s:
            assert await s.cmd(b"ATE0\r") == b"ATE0\r" + OK
            assert await s.cmd(b'AT#FTPPW="top-secret"\r') == OK
            out = await s.cmd(b"AT#VFTP\r")
        assert out == (
            b'\r\n#FTPGETFILENAME: ""\r\n#FTPGETPATH: ""\r\n#FTPMODE: 1\r\n#FTPPORT: 21\r\n'
            b'#FTPPUTFILENAME: ""\r\n#FTPPUTPATH: ""\r\n#FTPPW: "********"\r\n#FTPSEC: 0\r\n'
            b'#FTPSERV: ""\r\n#FTPTIMEOUT: 180\r\n#FTPTYPE: "I"\r\n#FTPUN: ""\r\n'
            b"#FTPVERIFY: 1\r\n" + OK
        )

    run(go())
