"""TCP/UDP sockets and PING end to end: exact serial bytes, real peers on 127.0.0.1 only."""

import asyncio
import errno
import hashlib
import os
import re
import socket
import subprocess
import sys
import time

import pytest

from board import local_address
from harness import LoopPort, Session
from modem import errors

OK = b"\r\nOK\r\n"
WAIT = b"\r\nOk_Info_WaitingForData\r\n"
CLOSED = b"\r\nOk_Info_SocketClosed\r\n"
ETX = b"\x03"
LOCAL = "127.0.0.1"
STARTED = b"\r\n" + local_address().encode() + b"\r\n\r\nOk_Info_GprsActivation\r\n"
HERE = os.path.dirname(os.path.abspath(__file__))


def cme(n):
    return b"\r\n#CME ERROR: %d\r\n" % n


def esc(data):
    """The escaping the spec defines (S000333D p30): DLE -> DLE DLE, ETX -> DLE ETX."""
    return data.replace(b"\x10", b"\x10\x10").replace(b"\x03", b"\x10\x03")


def unesc(data):
    """Independent of the firmware's decoder: one regular expression, left to right."""
    return re.sub(rb"\x10([\x10\x03])", rb"\1", data)


def run(coro):
    return asyncio.run(coro)


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind((LOCAL, 0))
    port = s.getsockname()[1]
    s.close()
    return port


async def setup(s, *cmds, connect=True):
    """Echo off, 100 ms escape guard (ATS12=5), the given settings, then the IP session."""
    s.board.net.bind_host = LOCAL  # listeners and UDP sockets: loopback only
    for c in (b"ATE0", b"ATS12=5") + cmds:
        want = b"ATE0\r" + OK if c == b"ATE0" else OK  # ATE0 itself is echoed
        assert await s.cmd(c + b"\r") == want, c
    if connect:
        assert await s.cmd(b"AT#CONNECTIONSTART\r") == STARTED


def tcp_profile(port, pid=1, host=LOCAL, dle=1, delay=0):
    return (
        b'AT#TCPSERV=%d,"%s"' % (pid, host.encode()),
        b"AT#TCPPORT=%d,%d" % (pid, port),
        b"AT#DLEMODE=%d,%d" % (pid, dle),
        b"AT#TCPTXDELAY=%d,%d" % (pid, delay),
    )


async def until(s, want, timeout=10):
    """Collect serial output until it is exactly `want`; fail on anything else."""
    out = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        out += s.port.take()
        if out == want:
            await asyncio.sleep(0.05)  # and nothing more follows
            out += s.port.take()
            break
        if len(out) >= len(want) or want[: len(out)] != out:
            break
        await asyncio.sleep(0.005)
    assert out == want, (out[:300], want[:300])


async def received(s, n, timeout=30):
    """Wait until at least n bytes of serial output arrived; return them."""
    out = bytearray()
    end = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < end:
        out += s.port.take()
        await asyncio.sleep(0.002)
    return bytes(out)


class Peer:
    """A TCP server on 127.0.0.1; accept() hands over the next (reader, writer)."""

    def __init__(self, handler=None, rcvbuf=None):
        self.handler = handler
        self.rcvbuf = rcvbuf
        self.conns = asyncio.Queue()

    async def __aenter__(self):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if self.rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
        sock.bind((LOCAL, 0))
        self.srv = await asyncio.start_server(self._conn, sock=sock)
        self.port = sock.getsockname()[1]
        return self

    async def __aexit__(self, *exc):
        self.srv.close()

    async def _conn(self, r, w):
        await self.conns.put((r, w))
        if self.handler:
            await self.handler(r, w)

    async def accept(self):
        return await asyncio.wait_for(self.conns.get(), 5)


async def echo(r, w):
    while True:
        data = await r.read(65536)
        if not data:
            break
        w.write(data)
        await w.drain()
    w.close()


async def connect_from(port, source=LOCAL):
    sock = socket.socket()
    sock.bind((source, 0))
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (LOCAL, port))
    return await asyncio.open_connection(sock=sock)


# ------------------------------------------------------------------ TCP client
def test_otcp_echo_with_escaping_both_ways():
    async def go():
        async with Peer(echo) as peer, Session() as s:
            await setup(s, *tcp_profile(peer.port))
            assert await s.cmd(b"AT#OTCP=1\r") == WAIT
            payload = b"plain \x03 etx \x10 dle \x10\x03 both \x03\x03\x10\x10"
            s.port.send(esc(payload))
            await until(s, esc(payload))  # the echo, escaped the same way
            # A bare ETX closes: OK; bytes after it are commands again.
            assert await s.cmd(ETX + b"AT\r") == OK + OK
            assert await s.cmd(b"AT#TCPPORT=1,23\r") == OK  # no service runs any more
            assert await s.cmd(b"ATO\r") == b"\r\nNO CARRIER\r\n"

    run(go())


def test_otcp_profiles_and_legacy_syntax():
    async def go():
        async with Peer(echo) as p1, Peer(echo) as p2, Session() as s:
            await setup(s, *tcp_profile(p1.port) + tcp_profile(p2.port, pid=2))
            assert await s.cmd(b"at#otcp\r") == WAIT  # rev B syntax, lower case: profile 1
            await p1.accept()
            assert await s.cmd(ETX) == OK
            assert await s.cmd(b'AT#OTCP="2"\r') == WAIT
            await p2.accept()
            assert await s.cmd(ETX) == OK
            assert p1.conns.empty() and p2.conns.empty()

    run(go())


def test_otcp_errors():
    async def go():
        async with Session() as s:
            await setup(s, *tcp_profile(free_port()), connect=False)
            assert await s.cmd(b"AT#OTCP=1\r") == cme(errors.NO_LINK)
            assert await s.cmd(b"AT#CONNECTIONSTART\r") == STARTED
            assert await s.cmd(b"AT#OTCP=3\r") == cme(errors.BAD_VALUE)
            assert await s.cmd(b"AT#OTCP=x\r") == cme(errors.BAD_VALUE)
            assert await s.cmd(b"AT#OTCP?\r") == cme(errors.SYNTAX)
            # Nothing listens on the port: refused at once.
            assert await s.cmd(b"AT#OTCP=1\r") == cme(errors.TCP_OPEN_FAILED)
            assert await s.cmd(b"AT#OTCP=2\r") == cme(errors.NOT_CONFIGURED)  # TCPPORT 0
            # A name that cannot resolve, refused locally (a 64-character label is not a
            # DNS name): no query leaves the machine.
            name = b"a" * 64 + b".example"
            assert await s.cmd(b'AT#TCPSERV=1,"%s"\r' % name) == OK
            assert await s.cmd(b"AT#OTCP\r") == cme(errors.DNS_FAILED)
            assert await s.cmd(b'AT#TCPSERV=1,""\r') == OK
            assert await s.cmd(b"AT#OTCP\r") == cme(errors.NOT_CONFIGURED)

    run(go())


def test_otcp_connect_timeout_is_s7():
    """A listener whose accept queue is full drops SYNs (Linux): the connect never completes,
    so ATS7 (seconds) decides when the modem gives up."""

    async def go():
        lsock = socket.socket()
        lsock.bind((LOCAL, 0))
        lsock.listen(0)
        port = lsock.getsockname()[1]
        filler = socket.create_connection((LOCAL, port))  # fills the queue of one
        try:
            async with Session() as s:
                await setup(s, b"ATS7=1", *tcp_profile(port))
                t0 = time.monotonic()
                assert await s.cmd(b"AT#OTCP\r") == cme(errors.TCP_OPEN_FAILED)
                assert 0.9 < time.monotonic() - t0 < 5
        finally:
            filler.close()
            lsock.close()

    run(go())


def test_server_sends_etx_and_dle_then_closes():
    async def go():
        async with Peer() as peer, Session() as s:
            await setup(s, *tcp_profile(peer.port))
            assert await s.cmd(b"AT#OTCP=1\r") == WAIT
            r, w = await peer.accept()
            w.write(b"\x03\x10abc\x10\x03\x10")
            await w.drain()
            await until(s, b"\x10\x03\x10\x10abc\x10\x10\x10\x03\x10\x10")
            w.close()
            # Close by the peer: ETX (DLE mode), then Ok_Info_SocketClosed and OK.
            await until(s, ETX + CLOSED + OK)
            assert await s.cmd(b"AT\r") == OK

    run(go())


def test_peer_close_atv0_and_atq1():
    async def go():
        async with Peer() as peer, Session() as s:
            await setup(s, *tcp_profile(peer.port))
            assert await s.cmd(b"ATV0\r") == b"0\r"
            assert await s.cmd(b"AT#OTCP=1\r") == b"1028\r"
            _, w = await peer.accept()
            w.close()
            await until(s, ETX + b"3074\r" + b"0\r")
            assert await s.cmd(b"ATV1Q1\r") == b""
            assert await s.cmd(b"AT#OTCP=1\r") == WAIT  # indications are never suppressed
            _, w = await peer.accept()
            w.close()
            await until(s, ETX + CLOSED)

    run(go())


def test_dlemode_0_is_transparent():
    async def go():
        async with Peer() as peer, Session() as s:
            await setup(s, *tcp_profile(peer.port, dle=0))
            assert await s.cmd(b"AT#OTCP=1\r") == WAIT
            r, w = await peer.accept()
            raw = b"\x03\x10\x10\x03 raw \x03"
            assert await s.cmd(raw) == b""  # ETX is data: no close
            assert await r.readexactly(len(raw)) == raw
            w.write(raw)
            await w.drain()
            await until(s, raw)
            w.close()
            await until(s, CLOSED + OK)  # no ETX before it in DLEMODE 0

    run(go())


def test_dlemode_0_host_closes_with_escape_then_ath():
    async def go():
        async with Peer() as peer, Session() as s:
            await setup(s, *tcp_profile(peer.port, dle=0))
            assert await s.cmd(b"AT#OTCP=1\r") == WAIT
            r, _ = await peer.accept()
            await asyncio.sleep(0.15)  # guard time before (S12=5: 100 ms)
            s.port.send(b"+++")
            await until(s, OK)  # after the guard time after
            assert await s.cmd(b"ATH\r") == OK
            assert await asyncio.wait_for(r.read(), 5) == b""  # the peer sees the close
            assert await s.cmd(b"ATO\r") == b"\r\nNO CARRIER\r\n"
            assert await s.cmd(b"AT#TCPPORT=1,23\r") == OK

    run(go())


def test_lone_dle_pairs_with_the_next_chunk():
    async def go():
        async with Peer() as peer, Session() as s:
            await setup(s, *tcp_profile(peer.port))
            assert await s.cmd(b"AT#OTCP=1\r") == WAIT
            r, _ = await peer.accept()
            for piece in (b"ab\x10", b"\x03cd\x10", b"\x10", b"\x10", b"\x03"):
                assert await s.cmd(piece) == b""  # nothing closes the socket
                await asyncio.sleep(0.02)
            assert await r.readexactly(7) == b"ab\x03cd\x10\x03"
            assert await s.cmd(ETX) == OK
            assert await asyncio.wait_for(r.read(), 5) == b""

    run(go())


def test_escape_ato_and_suspended_socket():
    async def go():
        async with Peer() as peer, Session() as s:
            await setup(s, *tcp_profile(peer.port))
            assert await s.cmd(b"AT#OTCP=1\r") == WAIT
            r, w = await peer.accept()
            assert await s.cmd(b"before") == b""
            await asyncio.sleep(0.15)
            s.port.send(b"+")
            await asyncio.sleep(0.02)
            s.port.send(b"++")
            await until(s, OK)
            assert await r.readexactly(6) == b"before"  # the '+' never reached the peer
            # Command mode with the socket kept: a service runs.
            assert await s.cmd(b"AT\r") == OK
            assert await s.cmd(b"AT#TCPPORT=1,23\r") == cme(errors.SERVICE_RUNNING)
            assert await s.cmd(b"AT#OTCP=1\r") == cme(errors.SERVICE_RUNNING)
            assert await s.cmd(b"AT#PING\r") == cme(errors.SERVICE_RUNNING)
            w.write(b"while away")  # waits in the socket until ATO
            await w.drain()
            await asyncio.sleep(0.1)
            assert s.port.take() == b""
            s.port.send(b"ATO\r")
            await until(s, OK + b"while away")
            s.port.send(b"after")
            assert await r.readexactly(5) == b"after"
            # A close by the peer while suspended is reported after ATO.
            await asyncio.sleep(0.15)
            s.port.send(b"+++")
            await until(s, OK)
            w.close()
            await asyncio.sleep(0.1)
            assert s.port.take() == b""
            s.port.send(b"ATO\r")
            await until(s, OK + ETX + CLOSED + OK)
            assert await s.cmd(b"ATO\r") == b"\r\nNO CARRIER\r\n"

    run(go())


def test_module_stays_loaded_while_a_socket_waits():
    """Handler modules take turns in RAM; a socket left with +++ keeps modem.sockets (and the
    codec) loaded through other commands, and both go once it is closed."""

    async def go():
        async with Peer() as peer, Session() as s:
            await setup(s, *tcp_profile(peer.port))
            assert await s.cmd(b"AT#OTCP=1\r") == WAIT
            r, _ = await peer.accept()
            await asyncio.sleep(0.15)
            s.port.send(b"+++")
            await until(s, OK)
            assert await s.cmd(b"AT#VTCP\r") == (  # loads modem.atcmds
                b"\r\n#DLEMODE: 1\r\n#OUTPORT: 0\r\n#TCPPORT: %d\r\n" % peer.port
                + b'#TCPSERV: "127.0.0.1"\r\n#TCPTXDELAY: 0\r\n'
                + OK
            )
            assert "modem.sockets" in sys.modules and "modem.datamode" in sys.modules
            # The end of the IP session closes the suspended socket.
            assert await s.cmd(b"AT#CONNECTIONSTOP\r") == OK
            assert await asyncio.wait_for(r.read(), 5) == b""
            assert await s.cmd(b"ATO\r") == b"\r\nNO CARRIER\r\n"
            assert await s.cmd(b"AT+CSQ\r") == b"\r\n+CSQ: 23,99\r\n" + OK  # another turn module
            assert "modem.sockets" not in sys.modules and "modem.datamode" not in sys.modules

    run(go())


def test_pluses_without_guard_are_data():
    async def go():
        async with Peer() as peer, Session() as s:
            await setup(s, *tcp_profile(peer.port))
            assert await s.cmd(b"AT#OTCP=1\r") == WAIT
            r, _ = await peer.accept()
            await asyncio.sleep(0.15)
            s.port.send(b"a+++")  # a byte before them in the same read
            assert await r.readexactly(4) == b"a+++"
            s.port.send(b"+++")  # right after other data: no silence before
            assert await r.readexactly(3) == b"+++"
            await asyncio.sleep(0.15)
            s.port.send(b"++")
            await asyncio.sleep(0.02)
            s.port.send(b"++")  # four: data
            assert await r.readexactly(4) == b"++++"
            await asyncio.sleep(0.15)
            s.port.send(b"++")  # two, then silence: data after the guard time
            assert await asyncio.wait_for(r.readexactly(2), 5) == b"++"
            assert await s.cmd(b"ATS12?\r") == b""  # data, not a command
            assert await r.readexactly(7) == b"ATS12?\r"
            assert s.port.take() == b""
            assert await s.cmd(ETX) == OK

    run(go())


def test_escape_off_with_s12_0():
    async def go():
        async with Peer() as peer, Session() as s:
            await setup(s, b"ATS12=0", *tcp_profile(peer.port))
            assert await s.cmd(b"AT#OTCP=1\r") == WAIT
            r, _ = await peer.accept()
            await asyncio.sleep(0.15)
            s.port.send(b"+++")
            assert await r.readexactly(3) == b"+++"
            await asyncio.sleep(0.15)
            assert s.port.take() == b""
            assert await s.cmd(ETX) == OK

    run(go())


def test_txdelay_batches_host_bytes():
    async def go():
        async with Peer() as peer, Session() as s:
            await setup(s, *tcp_profile(peer.port, delay=300))
            assert await s.cmd(b"AT#OTCP=1\r") == WAIT
            r, _ = await peer.accept()
            t0 = time.monotonic()
            for c in (b"a", b"b", b"c"):
                s.port.send(c)
                await asyncio.sleep(0.03)
            first = await asyncio.wait_for(r.read(100), 5)
            took = time.monotonic() - t0
            assert first == b"abc" and 0.25 < took < 1.5, (first, took)
            # A full segment (1460 bytes) does not wait.
            t0 = time.monotonic()
            s.port.send(b"x" * 1500)
            assert await asyncio.wait_for(r.readexactly(1500), 5) == b"x" * 1500
            assert time.monotonic() - t0 < 0.25
            # An ETX sends what is pending at once.
            s.port.send(b"tail" + ETX)
            assert await asyncio.wait_for(r.read(100), 5) == b"tail"
            await until(s, OK)
        async with Peer() as peer, Session() as s:
            await setup(s, *tcp_profile(peer.port, delay=0))
            assert await s.cmd(b"AT#OTCP=1\r") == WAIT
            r, _ = await peer.accept()
            t0 = time.monotonic()
            s.port.send(b"a")
            assert await asyncio.wait_for(r.read(100), 5) == b"a"
            assert time.monotonic() - t0 < 0.2
            assert await s.cmd(ETX) == OK

    run(go())


def test_ten_megabytes_both_ways():
    size = 10 * 1024 * 1024
    data = os.urandom(size)

    async def go():
        async with Peer(echo) as peer, Session() as s:
            await setup(s, *tcp_profile(peer.port))
            assert await s.cmd(b"AT#OTCP=1\r") == WAIT
            wire = esc(data)
            step = 4096
            got = bytearray()
            for i in range(0, len(wire), step):
                s.port.send(wire[i : i + step])
                if len(s.port.inq) > 64:
                    while len(s.port.inq) > 8:
                        got += s.port.take()
                        await asyncio.sleep(0.001)
            end = time.monotonic() + 60
            while len(unesc(bytes(got))) < size and time.monotonic() < end:
                got += s.port.take()
                await asyncio.sleep(0.01)
            back = unesc(bytes(got))
            assert hashlib.sha256(back).digest() == hashlib.sha256(data).digest()
            assert await s.cmd(ETX) == OK

    run(go())


class GatedPort(LoopPort):
    """A host that stops reading: write() waits while the gate is shut (RTS off)."""

    def __init__(self):
        super().__init__()
        self.gate = asyncio.Event()
        self.gate.set()
        self.blocked = False

    async def write(self, data):
        if not self.gate.is_set():
            self.blocked = True
            await self.gate.wait()
            self.blocked = False
        self.out += data


def test_backpressure_peer_never_reads():
    """The peer reads nothing: once the socket buffers are full the modem stops taking serial
    bytes (the host is held off); when the peer reads, every byte arrives."""
    size = 24 * 1024 * 1024
    data = os.urandom(size)

    async def go():
        async with Peer(rcvbuf=16384) as peer, Session() as s:
            await setup(s, *tcp_profile(peer.port))
            assert await s.cmd(b"AT#OTCP=1\r") == WAIT
            r, _ = await peer.accept()
            wire = esc(data)
            step = 65536
            for i in range(0, len(wire), step):
                s.port.send(wire[i : i + step])
            # Wait until the modem stops consuming serial input.
            last = None
            for _ in range(200):
                await asyncio.sleep(0.05)
                now = len(s.port.inq)
                if now and now == last and not s.port.waiting:
                    break
                last = now
            stalled = len(s.port.inq)
            assert stalled > 0 and not s.port.waiting
            await asyncio.sleep(0.3)
            assert len(s.port.inq) == stalled  # nothing more was taken
            h = hashlib.sha256()
            n = 0
            while n < size:
                chunk = await asyncio.wait_for(r.read(1 << 20), 30)
                assert chunk
                h.update(chunk)
                n += len(chunk)
            assert n == size and h.digest() == hashlib.sha256(data).digest()
            assert await s.cmd(ETX) == OK
            assert s.port.take() == b""

    run(go())


def test_backpressure_host_not_reading():
    """The host stops reading (its writes block): the modem stops reading the socket, so the
    peer's writes stall; once the host reads again, every byte arrives."""
    size = 24 * 1024 * 1024
    data = os.urandom(size)

    async def go():
        async with Peer() as peer:
            s = Session()
            s.port = GatedPort()
            async with s:
                await setup(s, *tcp_profile(peer.port))
                assert await s.cmd(b"AT#OTCP=1\r") == WAIT
                _, w = await peer.accept()
                s.port.gate.clear()
                w.write(data)
                drained = asyncio.ensure_future(w.drain())
                await asyncio.sleep(1.0)
                assert s.port.blocked
                assert not drained.done()  # the peer is held off: the modem stopped reading
                held = len(s.port.out)
                await asyncio.sleep(0.2)
                assert len(s.port.out) == held
                s.port.gate.set()
                await asyncio.wait_for(drained, 30)
                got = await received(s, len(esc(data)))
                assert unesc(got) == data
                w.close()
                await until(s, ETX + CLOSED + OK)

    run(go())


def test_serial_end_closes_the_socket():
    async def go():
        async with Peer() as peer:
            async with Session() as s:
                await setup(s, *tcp_profile(peer.port))
                assert await s.cmd(b"AT#OTCP=1\r") == WAIT
                r, _ = await peer.accept()
            assert await asyncio.wait_for(r.read(), 5) == b""

    run(go())


# ------------------------------------------------------------------ TCP listener
def test_listener_any_peer():
    async def go():
        port = free_port()
        async with Session() as s:
            await setup(s, *tcp_profile(port, host="255.255.255.255"))
            assert await s.cmd(b"AT#LTCPSTART=1\r") == OK
            # Command mode while listening; the listener is a running service.
            assert await s.cmd(b"AT\r") == OK
            assert await s.cmd(b"AT#DLEMODE=1,0\r") == cme(errors.SERVICE_RUNNING)
            assert await s.cmd(b"AT#LTCPSTART=1\r") == cme(errors.SERVICE_RUNNING)
            assert await s.cmd(b"AT#VTCP=1\r") == (
                b"\r\n#DLEMODE: 1\r\n#OUTPORT: 0\r\n#TCPPORT: %d\r\n" % port
                + b'#TCPSERV: "255.255.255.255"\r\n#TCPTXDELAY: 0\r\n'
                + OK
            )
            r, w = await connect_from(port)
            await until(s, WAIT)
            w.write(b"in\x03")
            await w.drain()
            await until(s, b"in\x10\x03")
            s.port.send(b"out\x10\x10")
            assert await r.readexactly(4) == b"out\x10"
            w.close()
            await until(s, ETX + CLOSED + OK)
            # One session per AT#LTCPSTART: the port is closed now.
            with pytest.raises(OSError):
                await connect_from(port)
            assert await s.cmd(b"AT#DLEMODE=1,1\r") == OK

    run(go())


def test_listener_refuses_other_peers():
    async def go():
        port = free_port()
        async with Session() as s:
            await setup(s, *tcp_profile(port, host="127.0.0.2", dle=0))
            assert await s.cmd(b"AT#LTCPSTART=1\r") == OK
            r, _ = await connect_from(port, "127.0.0.1")  # not the peer TCPSERV names
            assert await asyncio.wait_for(r.read(), 5) == b""  # closed at once
            await asyncio.sleep(0.05)
            assert s.port.take() == b""
            r, w = await connect_from(port, "127.0.0.2")
            await until(s, WAIT)
            w.write(b"hi\x03")
            await w.drain()
            await until(s, b"hi\x03")  # DLEMODE 0: untouched
            await asyncio.sleep(0.15)
            s.port.send(b"+++")
            await until(s, OK)
            assert await s.cmd(b"ATH\r") == OK
            assert await asyncio.wait_for(r.read(), 5) == b""

    run(go())


def test_listener_cancelled_by_etx_and_by_ltcpstop():
    async def go():
        port = free_port()
        async with Session() as s:
            await setup(s, *tcp_profile(port, host="255.255.255.255", pid=2))
            assert await s.cmd(b"AT#LTCPSTART=2\r") == OK
            assert await s.cmd(ETX) == OK  # ETX before a peer arrives
            with pytest.raises(OSError):
                await connect_from(port)
            assert await s.cmd(b"AT#TCPPORT=2,%d\r" % port) == OK  # no service any more
            assert await s.cmd(b"AT#LTCPSTART=2\r" + ETX + b"AT\r") == OK + OK + OK
            assert await s.cmd(b"AT#LTCPSTART=2\r") == OK
            assert await s.cmd(b"AT#LTCPSTOP=1\r") == OK  # another profile: still listening
            assert await s.cmd(b"AT#TCPPORT=2,1\r") == cme(errors.SERVICE_RUNNING)
            assert await s.cmd(b"AT#LTCPSTOP=2\r") == OK
            with pytest.raises(OSError):
                await connect_from(port)
            assert await s.cmd(b"AT#LTCPSTOP=2\r") == OK  # nothing to stop: OK
            assert await s.cmd(b"AT#LTCPSTART=2\r") == OK
            assert await s.cmd(b"ATH\r") == OK  # ATH stops it too
            with pytest.raises(OSError):
                await connect_from(port)
            # The end of the IP session ends a listener too.
            assert await s.cmd(b"AT#LTCPSTART=2\r") == OK
            assert await s.cmd(b"AT#CONNECTIONSTOP\r") == OK
            with pytest.raises(OSError):
                await connect_from(port)
            assert await s.cmd(b"AT#LTCPSTART=2\r") == cme(errors.NO_LINK)

    run(go())


def test_listener_errors():
    async def go():
        busy = socket.socket()
        busy.bind((LOCAL, 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        try:
            async with Session() as s:
                await setup(s, *tcp_profile(port, host="127.0.0.1"))
                assert await s.cmd(b"AT#LTCPSTART=1\r") == cme(errors.LISTEN_FAILED)
                assert await s.cmd(b'AT#TCPSERV=1,"localhost"\r') == OK
                assert await s.cmd(b"AT#LTCPSTART=1\r") == cme(errors.NOT_CONFIGURED)
        finally:
            busy.close()

    run(go())


# ------------------------------------------------------------------ UDP
class UDPPeer(asyncio.DatagramProtocol):
    def __init__(self, echo=False):
        self.got = asyncio.Queue()
        self.echo = echo

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.got.put_nowait((data, addr))
        if self.echo:
            self.transport.sendto(data, addr)

    async def next(self):
        return await asyncio.wait_for(self.got.get(), 5)


async def udp_peer(echo=False, port=0):
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_datagram_endpoint(lambda: UDPPeer(echo), local_addr=(LOCAL, port))
    return proto, proto.transport.get_extra_info("sockname")[1]


def test_oudp_round_trip():
    async def go():
        peer, port = await udp_peer(echo=True)
        async with Session() as s:
            await setup(s, b'AT#UDPSERV="127.0.0.1"', b"AT#UDPPORT=%d" % port, b"AT#UDPTXDELAY=0")
            assert await s.cmd(b"AT#OUDP\r") == WAIT
            payload = b"udp \x03\x10 payload"
            s.port.send(esc(payload))
            data, _ = await peer.next()
            assert data == payload
            await until(s, esc(payload))
            # ETX closes: Ok_Info_SocketClosed, then OK [S000333D p36].
            assert await s.cmd(ETX) == CLOSED + OK
            assert await s.cmd(b"AT#UDPPORT=%d\r" % port) == OK
        peer.transport.close()

    run(go())


def test_udp_one_datagram_per_batch_and_etx_flushes():
    async def go():
        peer, port = await udp_peer()
        async with Session() as s:
            await setup(
                s, b'AT#UDPSERV="127.0.0.1"', b"AT#UDPPORT=%d" % port, b"AT#UDPTXDELAY=200"
            )
            assert await s.cmd(b"AT#OUDP\r") == WAIT
            for c in (b"one ", b"two ", b"three"):
                s.port.send(c)
                await asyncio.sleep(0.02)
            data, _ = await peer.next()
            assert data == b"one two three"  # one datagram for the batch
            s.port.send(b"x" * 3000)  # bigger than a segment: 1460 + 1460 + 80
            sizes = [len((await peer.next())[0]) for _ in range(3)]
            assert sizes == [1460, 1460, 80]
            s.port.send(b"last" + ETX)  # pending data leaves before the close
            data, _ = await peer.next()
            assert data == b"last"
            await until(s, CLOSED + OK)
            assert peer.got.empty()
        peer.transport.close()

    run(go())


def test_ludp_listener():
    async def go():
        port = free_port(socket.SOCK_DGRAM)
        peer, peer_port = await udp_peer()
        other, _ = await udp_peer()
        async with Session() as s:
            await setup(
                s, b'AT#UDPSERV="255.255.255.255"', b"AT#UDPPORT=%d" % port, b"AT#UDPTXDELAY=0"
            )
            assert await s.cmd(b"AT#LUDPSTART\r") == OK
            assert await s.cmd(b"AT#UDPTXDELAY=20\r") == cme(errors.SERVICE_RUNNING)
            assert await s.cmd(b"AT#LUDPSTOP\r") == OK  # cancels before the first datagram
            assert await s.cmd(b"AT#UDPTXDELAY=0\r") == OK
            assert await s.cmd(b"AT#LUDPSTART\r") == OK
            await asyncio.sleep(0.05)
            assert s.port.take() == b""
            peer.transport.sendto(b"first\x03", (LOCAL, port))
            await until(s, WAIT + b"first\x10\x03")  # the session starts at the first datagram
            s.port.send(b"reply")
            data, addr = await peer.next()
            assert data == b"reply" and addr == (LOCAL, port)
            other.transport.sendto(b"stranger", (LOCAL, port))  # not the session's peer
            peer.transport.sendto(b"second", (LOCAL, port))
            await until(s, b"second")
            assert await s.cmd(ETX) == CLOSED + OK
        peer.transport.close()
        other.transport.close()

    run(go())


def test_ludp_filter_and_etx_cancel():
    async def go():
        port = free_port(socket.SOCK_DGRAM)
        peer, _ = await udp_peer()
        async with Session() as s:
            await setup(s, b'AT#UDPSERV="127.0.0.2"', b"AT#UDPPORT=%d" % port)
            assert await s.cmd(b"AT#LUDPSTART\r") == OK
            peer.transport.sendto(b"from 127.0.0.1", (LOCAL, port))
            await asyncio.sleep(0.1)
            assert s.port.take() == b""  # filtered out
            assert await s.cmd(ETX) == OK
            assert await s.cmd(b'AT#UDPSERV="somehost"\r') == OK
            assert await s.cmd(b"AT#LUDPSTART\r") == cme(errors.NOT_CONFIGURED)
            assert await s.cmd(b"AT#UDPPORT=0\r") == OK
            assert await s.cmd(b"AT#OUDP\r") == cme(errors.NOT_CONFIGURED)
            assert await s.cmd(b"AT#LUDPSTART\r") == cme(errors.NOT_CONFIGURED)
        peer.transport.close()

    run(go())


def test_udp_send_failure_reports_etx_then_error():
    """A datagram the kernel refuses (broadcast address without SO_BROADCAST: EACCES, nothing
    is sent) ends the session with ETX and the error [S000333D p36]."""

    async def go():
        async with Session() as s:
            await setup(s, b'AT#UDPSERV="127.255.255.255"', b"AT#UDPPORT=9", b"AT#UDPTXDELAY=0")
            assert await s.cmd(b"AT#OUDP\r") == WAIT
            s.port.send(b"x")
            await until(s, ETX + cme(errors.SOCKET_IO))
            assert await s.cmd(b"AT\r") == OK
            assert await s.cmd(b"AT#UDPPORT=7\r") == OK

    run(go())


# ------------------------------------------------------------------ PING
ALIVE = re.compile(rb'\r\n"([^"]+)" is alive : time = (\d+) ms\r\n')


def test_ping_localhost_alive():
    async def go():
        async with Session() as s:
            await setup(s, b'AT#PINGREMOTE="127.0.0.1"', b"AT#PINGNUM=3", b"AT#PINGDELAY=1")
            t0 = time.monotonic()
            out = await s.cmd(b"AT#PING\r")
            took = time.monotonic() - t0
            assert s.board.net.ping_used == "icmp"  # root: a raw ICMP socket
            assert out.endswith(OK)
            lines = ALIVE.findall(out[: -len(OK)])
            assert [h for h, _ in lines] == [b"127.0.0.1"] * 3
            assert (
                out
                == b"".join(b'\r\n"127.0.0.1" is alive : time = %s ms\r\n' % ms for _, ms in lines)
                + OK
            )
            assert 1.9 < took < 4  # PINGDELAY apart: requests at 0, 1, 2 s
            # A name is shown as the host typed it.
            assert await s.cmd(b'AT#PINGREMOTE="localhost"\r') == OK
            assert await s.cmd(b"AT#PINGNUM=1\r") == OK
            out = await s.cmd(b"AT#PING\r")
            assert ALIVE.fullmatch(out[: -len(OK)]).group(1) == b"localhost"

    run(go())


def test_ping_tcp_substitute():
    async def go():
        async with Session() as s:
            await setup(s, b'AT#PINGREMOTE="127.0.0.1"', b"AT#PINGNUM=1")
            s.board.net.ping_method = "tcp"
            out = await s.cmd(b"AT#PING\r")
            assert s.board.net.ping_used == "tcp"
            assert ALIVE.fullmatch(out[: -len(OK)]) and out.endswith(OK)

    run(go())


def test_ping_errors():
    async def go():
        async with Session() as s:
            await setup(s, b"AT#PINGNUM=1", connect=False)
            assert await s.cmd(b"AT#PING\r") == cme(errors.NO_LINK)
            assert await s.cmd(b"AT#CONNECTIONSTART\r") == STARTED
            assert await s.cmd(b"AT#PING\r") == cme(errors.NOT_CONFIGURED)  # no PINGREMOTE
            name = b"a" * 64 + b".example"  # refused by the resolver library: no query
            assert await s.cmd(b'AT#PINGREMOTE="%s"\r' % name) == OK
            assert await s.cmd(b"AT#PING\r") == cme(errors.DNS_FAILED)

    run(go())


NETNS_SCRIPT = r"""
import asyncio, ctypes, fcntl, socket, struct, sys
sys.path[:0] = SYSPATH
libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(0x40000000):  # CLONE_NEWNET: a network namespace of our own
    print("NO-NETNS %d" % ctypes.get_errno())
    sys.exit(0)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # bring its loopback up
flags = struct.unpack("16sH14x", fcntl.ioctl(s, 0x8913, struct.pack("16sH14x", b"lo", 0)))[1]
fcntl.ioctl(s, 0x8914, struct.pack("16sH14x", b"lo", flags | 1))
from harness import Session

async def main():
    async with Session() as s:
        for c in (b"ATE0", b'AT#PINGREMOTE="127.0.0.1"', b"AT#PINGNUM=2", b"AT#PINGDELAY=1",
                  b"AT#CONNECTIONSTART"):
            await s.cmd(c + b"\r")
        print(repr(await s.cmd(b"AT#PING\r")))
        # This namespace's kernel stops answering echo requests (per namespace sysctl).
        with open("/proc/sys/net/ipv4/icmp_echo_ignore_all", "w") as f:
            f.write("1")
        print(repr(await s.cmd(b"AT#PING\r")))

asyncio.run(main())
"""


def test_ping_no_answer_in_a_private_namespace():
    """A real unanswered echo that stays on this machine: in a network namespace of its own
    (its own loopback), the kernel is told to ignore echo requests, then the same ping that
    was answered a moment before gets no reply. Nothing outside the namespace changes."""
    script = "SYSPATH = %r\n" % [
        os.path.join(os.path.dirname(HERE), "firmware"),
        os.path.join(os.path.dirname(HERE), "boards", "host"),
        HERE,
    ]
    r = subprocess.run(
        [sys.executable, "-c", script + NETNS_SCRIPT], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stdout + r.stderr
    if r.stdout.startswith("NO-NETNS"):
        err = int(r.stdout.split()[1])
        # Only EPERM (no CAP_SYS_ADMIN: not root, or an unprivileged container) is a platform
        # limit (README.md, Tests); any other failure is one of ours.
        assert err == errno.EPERM, "unshare(CLONE_NEWNET) failed: %s" % os.strerror(err)
        pytest.skip("platform limit: no CAP_SYS_ADMIN for a private network namespace")
    alive, dead = [eval(line) for line in r.stdout.splitlines()]
    assert len(ALIVE.findall(alive)) == 2 and alive.endswith(OK)
    assert dead == b'\r\nNO answer from "127.0.0.1"\r\n' * 2 + OK


# ------------------------------------------------------------------ the same core on MicroPython
MICROPYTHON = os.path.join(os.path.dirname(HERE), ".venv", "bin", "micropython")

MP_SCRIPT = r"""
import sys
sys.path[:0] = SYSPATH
import asyncio
from modem.modem import Modem
from board import UnixBoard


class Port:
    def __init__(self):
        self.inq = []
        self.ev = asyncio.Event()
        self.out = b""

    async def read(self):
        while not self.inq:
            self.ev.clear()
            await self.ev.wait()
        return self.inq.pop(0)

    async def write(self, data):
        self.out += data

    def send(self, data):
        self.inq.append(data)
        self.ev.set()

    async def take(self, ms=150):
        await asyncio.sleep_ms(ms)
        data = self.out
        self.out = b""
        return data


PEERS = []


async def echo(r, w):
    PEERS.append(bytes(w.get_extra_info("peername")))
    while True:
        data = await r.read(512)
        if not data:
            break
        w.write(data)
        await w.drain()
    await w.wait_closed()


async def main():
    board = UnixBoard()
    board.net.bind_host = "127.0.0.1"
    m = Modem(board)
    port = Port()
    await m.start()
    task = asyncio.create_task(m.run(port))
    srv = await asyncio.start_server(echo, "127.0.0.1", ECHO)

    async def cmd(data, ms=150):
        port.send(data)
        return await port.take(ms)

    for c in (b"ATE0\r", b"ATS12=5\r", b'AT#TCPSERV=1,"127.0.0.1"\r', b"AT#TCPPORT=1,%d\r" % ECHO,
              b"AT#TCPTXDELAY=1,0\r", b'AT#PINGREMOTE="127.0.0.1"\r', b"AT#PINGNUM=1\r",
              b"AT#CONNECTIONSTART\r"):
        await cmd(c)
    print("OTCP", repr(await cmd(b"AT#OTCP=1\r")))
    print("ECHO", repr(await cmd(b"a\x10\x03b\x10\x10c\x10")))
    print("ECHO2", repr(await cmd(b"\x03d")))
    await asyncio.sleep_ms(150)
    print("ESCAPE", repr(await cmd(b"+++", 300)))
    print("BUSY", repr(await cmd(b"AT#TCPPORT=1,1\r")))
    print("VTCP", repr(await cmd(b"AT#VTCP\r")))
    print("ATO", repr(await cmd(b"ATO\r")))
    print("MORE", repr(await cmd(b"more")))
    print("CLOSE", repr(await cmd(b"\x03AT\r")))
    # The listener: a peer that connects, talks, and closes.
    for c in (b'AT#TCPSERV=1,"255.255.255.255"\r', b"AT#TCPPORT=1,%d\r" % LISTEN):
        await cmd(c)
    print("LISTEN", repr(await cmd(b"AT#LTCPSTART=1\r")))
    print("CMDMODE", repr(await cmd(b"AT\r")))
    r, w = await asyncio.open_connection("127.0.0.1", LISTEN)
    print("PEER", repr(await port.take(300)))
    w.write(b"hi\x03")
    await w.drain()
    print("PEERDATA", repr(await port.take(200)))
    port.send(b"yo\x10\x10")
    print("TOPEER", repr(await r.read(10)))
    w.close()
    await w.wait_closed()
    print("PEERCLOSE", repr(await port.take(300)))
    print("LISTEN2", repr(await cmd(b"AT#LTCPSTART=1\r")))
    print("CANCEL", repr(await cmd(b"\x03")))
    # UDP both ways.
    await cmd(b'AT#UDPSERV="127.0.0.1"\r')
    await cmd(b"AT#UDPPORT=%d\r" % UDP)
    await cmd(b"AT#UDPTXDELAY=0\r")
    peer = await board.net.udp(UDP)
    print("OUDP", repr(await cmd(b"AT#OUDP\r")))
    port.send(b"dg\x10\x03")
    data, ip, p = await peer.recv(100)
    print("DGRAM", repr(data), ip)
    await peer.send(b"back\x03", ip, p)
    print("DGRAMBACK", repr(await port.take(200)))
    print("UDPCLOSE", repr(await cmd(b"\x03")))
    peer.close()
    print("PING", repr(await cmd(b"AT#PING\r", 1500)))
    # AT#OUTPORT: the local port of the next socket (mpnet binds, then connects).
    await cmd(b'AT#TCPSERV=1,"127.0.0.1"\r')
    await cmd(b"AT#TCPPORT=1,%d\r" % ECHO)
    await cmd(b"AT#OUTPORT=%d\r" % OUT)
    print("OTCPOUT", repr(await cmd(b"AT#OTCP=1\r")))
    print("OUTECHO", repr(await cmd(b"x")))
    print("OUTCLOSE", repr(await cmd(b"\x03")))
    print("OUTPEER", PEERS[-1][2] * 256 + PEERS[-1][3])
    srv.close()
    port.send(b"")
    await asyncio.wait_for(task, 5)


asyncio.run(main())
"""


@pytest.mark.skipif(not os.path.exists(MICROPYTHON), reason="no MicroPython unix port")
def test_same_core_under_micropython():
    """sockets.py and datamode.py on the MicroPython unix port, with mpnet.MPNet: TCP client
    with escaping, +++ / ATO, listener, UDP and PING, all inside one MicroPython process."""
    root = os.path.dirname(HERE)
    out = free_port()
    head = "SYSPATH = %r\nECHO = %d\nLISTEN = %d\nUDP = %d\nOUT = %d\n" % (
        [os.path.join(root, d) for d in ("firmware", "boards/unix", "boards/host")],
        free_port(),
        free_port(),
        free_port(socket.SOCK_DGRAM),
        out,
    )
    r = subprocess.run(
        [MICROPYTHON, "-X", "heapsize=8M", "-c", head + MP_SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    got = {}
    for line in r.stdout.splitlines():
        k, _, v = line.partition(" ")
        got[k] = v
    b = repr  # MicroPython prints bytes reprs as CPython does
    assert got["OTCP"] == b(WAIT)
    assert got["ECHO"] == b(b"a\x10\x03b\x10\x10c")  # the lone DLE waits for its pair
    assert got["ECHO2"] == b(b"\x10\x03d")
    assert got["ESCAPE"] == b(OK)
    assert got["BUSY"] == b(cme(errors.SERVICE_RUNNING))
    assert got["VTCP"].endswith("OK\\r\\n'")
    assert got["ATO"] == b(OK)
    assert got["MORE"] == b(b"more")
    assert got["CLOSE"] == b(OK + OK)
    assert got["LISTEN"] == b(OK)
    assert got["CMDMODE"] == b(OK)
    assert got["PEER"] == b(WAIT)
    assert got["PEERDATA"] == b(b"hi\x10\x03")
    assert got["TOPEER"] == b(b"yo\x10")
    assert got["PEERCLOSE"] == b(ETX + CLOSED + OK)
    assert got["LISTEN2"] == b(OK)
    assert got["CANCEL"] == b(OK)
    assert got["OUDP"] == b(WAIT)
    assert got["DGRAM"] == b(b"dg\x03") + " 127.0.0.1"
    assert got["DGRAMBACK"] == b(b"back\x10\x03")
    assert got["UDPCLOSE"] == b(CLOSED + OK)
    ping = eval(got["PING"])
    assert ALIVE.fullmatch(ping[: -len(OK)]) and ping.endswith(OK)
    assert got["OTCPOUT"] == b(WAIT)
    assert got["OUTECHO"] == b(b"x")
    assert got["OUTCLOSE"] == b(OK)
    assert got["OUTPEER"] == str(out)  # the peer saw the connection come from AT#OUTPORT


def test_otcp_with_crlf_sends_no_lf_to_the_peer():
    async def go():
        async with Peer() as peer, Session() as s:
            await setup(s, *tcp_profile(peer.port))
            assert await s.cmd(b"AT#OTCP=1\r\n") == WAIT
            r, w = await peer.accept()
            s.port.send(b"payload\x03")
            await until(s, OK)
            assert await asyncio.wait_for(r.read(), 5) == b"payload"

    run(go())


def test_outport_is_the_local_port_of_otcp_and_oudp():
    async def go():
        lport = free_port()
        async with Peer() as peer, Session() as s:
            await setup(s, *tcp_profile(peer.port), b"AT#OUTPORT=%d" % lport)
            assert await s.cmd(b"AT#OTCP=1\r") == WAIT
            r, w = await asyncio.wait_for(peer.conns.get(), 5)
            assert w.get_extra_info("peername")[1] == lport  # the modem's side of it
            assert await s.cmd(ETX) == OK
            w.close()
            # an OUTPORT already in use: the open fails, the modem goes on
            blocker = socket.socket()
            blocker.bind((LOCAL, 0))
            blocker.listen(1)
            try:
                assert await s.cmd(b"AT#OUTPORT=%d\r" % blocker.getsockname()[1]) == OK
                assert await s.cmd(b"AT#OTCP=1\r") == cme(errors.TCP_OPEN_FAILED)
            finally:
                blocker.close()
            assert await s.cmd(b"AT\r") == OK
        uport = free_port(socket.SOCK_DGRAM)
        udp, port = await udp_peer()
        async with Session() as s:
            await setup(
                s,
                b'AT#UDPSERV="127.0.0.1"',
                b"AT#UDPPORT=%d" % port,
                b"AT#UDPTXDELAY=0",
                b"AT#OUTPORT=%d" % uport,
            )
            assert await s.cmd(b"AT#OUDP\r") == WAIT
            s.port.send(b"x")
            data, addr = await udp.next()
            assert (data, addr[1]) == (b"x", uport)
            assert await s.cmd(ETX) == CLOSED + OK
        udp.transport.close()

    run(go())


def test_udpdlemode_0_passes_etx_and_dle_untouched():
    async def go():
        udp, port = await udp_peer()
        async with Session() as s:
            await setup(
                s,
                b'AT#UDPSERV="127.0.0.1"',
                b"AT#UDPPORT=%d" % port,
                b"AT#UDPTXDELAY=0",
                b"AT#UDPDLEMODE=0",
            )
            assert await s.cmd(b"AT#OUDP\r") == WAIT
            s.port.send(b"a\x03b\x10c")
            data, addr = await udp.next()
            assert data == b"a\x03b\x10c"  # the ETX did not close, nothing was unescaped
            udp.transport.sendto(b"\x03\x10", addr)
            await until(s, b"\x03\x10")
            await asyncio.sleep(0.15)  # the guard time of +++ (ATS12=5)
            s.port.send(b"+++")
            await until(s, OK)
            assert await s.cmd(b"ATH\r") == OK
            assert await s.cmd(b"AT#UDPDLEMODE?\r") == b"\r\n#UDPDLEMODE: 0\r\n" + OK
        udp.transport.close()

    run(go())


def test_bare_etx_closes_even_when_the_peer_reads_nothing():
    """The peer never reads, the host's bytes stall behind TCP flow control, then the host sends
    a bare ETX: after a bounded wait (5 s of no progress) the modem aborts the socket and
    answers OK, so a host can always close."""
    data = os.urandom(4 * 1024 * 1024)

    async def go():
        async with Peer(rcvbuf=16384) as peer, Session() as s:
            await setup(s, *tcp_profile(peer.port))
            assert await s.cmd(b"AT#OTCP=1\r") == WAIT
            r, w = await peer.accept()
            wire = esc(data)
            for i in range(0, len(wire), 65536):
                s.port.send(wire[i : i + 65536])
            s.port.send(ETX + b"AT\r")
            t0 = time.monotonic()
            await until(s, OK + OK, timeout=30)
            assert 4 < time.monotonic() - t0 < 25
            assert await s.cmd(b"AT#TCPPORT=1,23\r") == OK  # no service runs any more
            w.close()

    run(go())
