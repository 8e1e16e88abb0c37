"""AT#FTPGET / AT#FTPPUT against real FTP servers on loopback: exact serial bytes.

pyftpdlib (in a thread) and vsftpd (its own instance, tools/install_ftp.sh): passive and
active, TYPE I and A, FTPS explicit (AUTH TLS) and implicit, 10 MB each way, failures.
"""

import asyncio
import contextlib
import hashlib
import os

import pytest

from ftp_servers import (
    FaultFTP,
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


# ------------------------------------------------------------------ both servers: TLS, size
@contextlib.contextmanager
def server(kind, tmp_path, tls=None, certfile=None):
    """(port, directory of the files to fetch, upload directory, user, password, put path)."""
    if kind == "pyftpdlib":
        with pyftpd(tmp_path, tls, certfile) as port:
            yield port, str(tmp_path), str(tmp_path), USER, PASSWORD, b""
    else:
        with vsftpd(tls, certfile) as (port, root):
            yield port, root, os.path.join(root, "up"), "anonymous", "", b"up"


SERVERS = ["pyftpdlib", "vsftpd"]


@pytest.mark.parametrize("kind", SERVERS)
@pytest.mark.parametrize("sec", [1, 2], ids=["explicit", "implicit"])
def test_ftps_verifies_the_certificate_and_protects_the_data(tmp_path, kind, sec):
    cafile, chain = cert_files(tmp_path)
    payload = os.urandom(70000) + ETX + DLE

    async def go():
        with server(
            kind,
            tmp_path / "srv" if kind == "pyftpdlib" else tmp_path,
            "explicit" if sec == 1 else "implicit",
            chain,
        ) as (port, root, updir, user, pw, up):
            with open(os.path.join(root, "data.bin"), "wb") as f:
                f.write(payload)
            async with Session() as s:
                extra = [
                    b'AT#FTPSERV="localhost"',
                    b"AT#FTPSEC=%d" % sec,
                    b'AT#FTPPUTPATH="%s"' % up,
                ]
                await setup(s, port, extra, user, pw)
                # no CA that signed the server's certificate: refused (38062)
                assert await s.cmd(b"AT#FTPGET\r") == cme(38062)
                assert await s.cmd(b"AT\r") == OK
                s.board.ca_path = cafile  # as AT#CACERT would install it
                got = await ftpget(s)
                assert got == BEGIN + esc(payload) + ETX + OK, await s.cmd(b"AT#FTPLOG\r")
                for mode in (1, 0):
                    assert await s.cmd(b"AT#FTPMODE=%d\r" % mode) == OK
                    assert await ftpput(s, esc(payload[:40000]), esc(payload[40000:]) + ETX) == (
                        ETX + OK
                    )
                    with open(os.path.join(updir, "up.bin"), "rb") as f:
                        assert f.read() == payload
                    os.remove(os.path.join(updir, "up.bin"))
                log = await s.cmd(b"AT#FTPLOG\r")
                assert (b'"PROT",200' in log) and (b'"AUTH",234' in log) == (sec == 1)
                s.board.ca_path = None
                assert await s.cmd(b"AT#FTPVERIFY=0\r") == OK  # the opt-out, as SMTPVERIFY
                assert (await ftpget(s)).endswith(ETX + OK)

    (tmp_path / "srv").mkdir()
    run(go())


@pytest.mark.parametrize("kind", SERVERS)
@pytest.mark.parametrize("mode", [1, 0], ids=["passive", "active"])
def test_ten_megabytes_each_way_with_a_checksum(tmp_path, kind, mode):
    size = 10 * 1024 * 1024
    blob = os.urandom(size)
    digest = hashlib.sha256(blob).hexdigest()

    async def go():
        with server(kind, tmp_path, None) as (port, root, updir, user, pw, up):
            with open(os.path.join(root, "data.bin"), "wb") as f:
                f.write(blob)
            async with Session() as s:
                await setup(
                    s, port, [b"AT#FTPMODE=%d" % mode, b'AT#FTPPUTPATH="%s"' % up], user, pw
                )
                out = await ftpget(s, 120)
                assert out[: len(BEGIN)] == BEGIN and out.endswith(ETX + OK)
                body = out[len(BEGIN) : -len(ETX + OK)]
                got = body.replace(DLE + ETX, ETX).replace(DLE + DLE, DLE)  # no DLE DLE ETX
                assert len(body) - len(got) == blob.count(ETX) + blob.count(DLE)
                assert hashlib.sha256(got).hexdigest() == digest
                assert await s.cmd(b"AT#FTPPUT\r") == WAIT
                step = 256 * 1024
                for i in range(0, size, step):
                    s.port.send(esc(blob[i : i + step]))
                s.port.send(ETX)
                assert await until_done(s, 120) == ETX + OK
            with open(os.path.join(updir, "up.bin"), "rb") as f:
                assert hashlib.sha256(f.read()).hexdigest() == digest

    run(go())


def test_vsftpd_plain_ascii_and_failures(tmp_path):
    async def go():
        with vsftpd() as (port, root):
            with open(os.path.join(root, "t.txt"), "wb") as f:
                f.write(b"one\ntwo\n")
            async with Session() as s:
                extra = [b"AT#FTPTYPE=A", b'AT#FTPGETFILENAME="t.txt"', b'AT#FTPPUTPATH="up"']
                await setup(s, port, extra, "anonymous", "")
                # vsftpd sends TYPE A files as stored (LF); the modem delivers NVT, CR LF
                assert await ftpget(s) == BEGIN + b"one\r\ntwo\r\n" + ETX + OK
                assert await ftpput(s, b"a\r\nb\n" + ETX) == ETX + OK
                assert await s.cmd(b'AT#FTPGETFILENAME="missing.txt"\r') == OK
                assert await s.cmd(b"AT#FTPGET\r") == cme(38064)
                assert await s.cmd(b'AT#FTPPUTPATH="ro"\r') == OK
                assert await s.cmd(b"AT#FTPPUT\r") == cme(38065)
                assert await s.cmd(b'AT#FTPUN="panel"\r') == OK  # anonymous only: 530
                assert await s.cmd(b"AT#FTPGET\r") == cme(38063)
                assert await s.cmd(b"AT\r") == OK
            # vsftpd stores TYPE A uploads as sent (ascii_upload_enable=NO): NVT CR LF
            with open(os.path.join(root, "up", "up.bin"), "rb") as f:
                assert f.read() == b"a\r\nb\r\n"

    run(go())


# ------------------------------------------------------------------ faults (a fake server)
@pytest.mark.parametrize("fault", ["cut", "426"])
def test_download_broken_off_ends_with_etx_then_the_error(fault):
    async def go():
        async with FaultFTP(fault, 20000) as srv, Session() as s:
            await setup(s, srv.port)
            out = await ftpget(s)
            assert out == BEGIN + b"\x55" * 10000 + ETX + cme(38067)
            assert await s.cmd(b"AT\r") == OK

    run(go())


def test_upload_refused_for_space_or_broken_off_never_answers_ok():
    async def go():
        async with FaultFTP("full") as srv, Session() as s:
            await setup(s, srv.port)
            assert await ftpput(s, b"data" + ETX) == ETX + cme(38066)
            assert srv.got == b"data"
            assert await s.cmd(b"AT\r") == OK
        async with FaultFTP("stor-cut") as srv, Session() as s:
            await setup(s, srv.port)
            assert await s.cmd(b"AT#FTPPUT\r") == WAIT
            s.port.send(b"x" * 1000)
            await asyncio.sleep(0.3)  # the server has hung up meanwhile
            for _ in range(5):
                s.port.send(b"y" * 100000)  # still read and dropped up to the ETX
            s.port.send(ETX + b"AT\r")
            assert await until_done(s) == ETX + cme(38067) + OK

    run(go())


def test_no_greeting_within_ftptimeout():
    async def go():
        async with FaultFTP("silent") as srv, Session() as s:
            await setup(s, srv.port, [b"AT#FTPTIMEOUT=1"])
            assert await s.cmd(b"AT#FTPGET\r") == cme(38068)
            assert await s.cmd(b"AT\r") == OK
            assert b'"GREETING",0,"GREETING: timeout"' in await s.cmd(b"AT#FTPLOG\r")

    run(go())


# ------------------------------------------------------------------ the sans-I/O pieces
def test_reply_parser_multiline_split_reads_and_caps():
    from modem.ftp import MAX_LINE, ReplyParser

    p = ReplyParser()
    assert p.feed(b"220-Welcome\r\n220 no, not the end yet? it is") == []
    assert p.pending()
    assert p.feed(b"\r\n") == [(220, b"Welcome")]
    # RFC 959 4.2: inner lines may start with digits (another code, or the same one with "-")
    got = p.feed(b"211-Features:\r\n 211 x\r\n150 inner\r\n211-also inner\r\n211 End\r\n3")
    assert got == [(211, b"Features:")] and p.pending()
    assert p.feed(b"31 Password required\n") == [(331, b"Password required")]
    assert p.feed(b"garbage\r\n") == [(0, b"garbage")]
    long = p.feed(b"550 " + b"x" * 5000 + b"\r\n")
    assert long == [(550, b"x" * (MAX_LINE - 4))]
    assert p.feed(b"226\r\n") == [(226, b"")]
