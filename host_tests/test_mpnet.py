"""mpnet (with mpboard's port and watchdog, and main.py) under the MicroPython unix port.

One MicroPython process runs every case against real servers on loopback (plain, STARTTLS and
implicit TLS with a CA made by trustme); each case is then checked by its own pytest test.
"""

import asyncio
import json
import os
import socket

import pytest

from smtp_servers import (
    PASSWORD,
    USER,
    Authenticator,
    DropInBody,
    Recorder,
    TLSMaterial,
    fake_server,
    free_port,
    smtp_server,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
SENDER = "modem@example.test"
RCPT = "alice@example.test"

SMTP_CONNECT = 37970
SMTP_TLS = 37973
SMTP_LOST = 37979
DNS_FAILED = 38027

MP_SCRIPT = r"""
import sys
sys.path.insert(0, P["firmware"])
import asyncio, json
from mpnet import MPNet
from mpboard import UARTPort, Watchdog
from modem.smtp import open_session, SMTPError
from modem.tlsconf import TLSConfig
from modem.smtpdata import DataEncoder


def out(label, **kw):
    print("RESULT " + label + " " + json.dumps(kw))


async def send(label, port, security, tls=None, host="localhost", user="", size=0):
    trace = []
    try:
        client, refused = await open_session(
            MPNet(), host, port, security, tls, "modem.test", user, P["password"] if user else "",
            P["sender"], [P["rcpt"]], 5, trace)
        enc = DataEncoder()
        await client.send(enc.feed(b"Subject: " + label.encode() + b"\r\n\r\nbody\r\n"))
        chunk = b"x" * 62 + b"\r\n"
        for i in range(size // 64):
            await client.send(enc.feed(chunk))
        await client.end_data(enc.finish())
        await client.quit()
        await client.close()
        out(label, ok=True, steps=[t[0] for t in trace])
    except SMTPError as e:
        out(label, ok=False, code=e.code, step=e.step, text=e.text)


class FakeWDT:
    def __init__(self):
        self.feeds = 0

    def feed(self):
        self.feeds += 1


async def watchdog_case():
    # The feeding task keeps running while the server sits on the final dot for 2 s.
    wd = Watchdog(8000)
    wd.wdt = FakeWDT()
    task = asyncio.create_task(wd.run())
    await asyncio.sleep(0)
    n = wd.wdt.feeds
    await send("slow", P["slow"], "STARTTLS", TLSConfig("localhost", True, P["ca"]))
    out("watchdog", feeds=wd.wdt.feeds - n)
    task.cancel()


async def port_case():
    # UARTPort over any MicroPython stream (here a TCP socket to an echo server).
    r, w = await asyncio.open_connection("127.0.0.1", P["echo"])
    port = UARTPort(r.s)
    await port.write(b"AT\r")
    got = b""
    while len(got) < 3:
        got += await port.read()
    out("port", got=got.decode())
    r.s.close()


async def sockets_case():
    from modem import errors

    net = MPNet()
    net.bind_host = "127.0.0.1"
    lport, u1, u2 = P["lport"], P["uport1"], P["uport2"]
    lis = await net.listen(lport)
    try:
        await asyncio.wait_for(lis.accept(), 0.1)  # nobody yet: cancelled, nothing lost
    except asyncio.TimeoutError:
        pass
    r, w = await asyncio.open_connection("127.0.0.1", lport)
    w.write(b"hello")
    await w.drain()
    conn, peer = await asyncio.wait_for(lis.accept(), 2)
    data = await conn.read(10)
    await conn.write(b"bye")
    got = await r.read(10)
    try:
        await net.listen(lport)
        busy = None
    except errors.NetError as e:
        busy = e.code
    await conn.close()
    r.s.close()
    lis.close()
    out("listen", peer=peer, data=data.decode(), got=got.decode(), busy=busy)

    a = await net.udp(u1)
    b = await net.udp(u2)
    try:
        await asyncio.wait_for(b.recv(100), 0.1)
    except asyncio.TimeoutError:
        pass
    await a.send(b"0123456789", "127.0.0.1", u2)
    data, ip, port = await asyncio.wait_for(b.recv(4), 2)
    await b.send(b"pong", ip, port)
    back = await asyncio.wait_for(a.recv(100), 2)
    try:
        await net.udp(u1)
        busy = None
    except errors.NetError as e:
        busy = e.code
    anyport = await net.udp(0)
    anyport.close()
    a.close()
    b.close()
    out("udp", data=data.decode(), ip=ip, port=port, back=[back[0].decode(), back[1], back[2]],
        busy=busy)

    alive = await net.ping("127.0.0.1", 1000)
    net.ping_port = P["silent"]  # a listener whose queue is full drops the SYN: no answer
    silent = await net.ping("127.0.0.1", 300)
    out("ping", alive=alive, silent=silent, used=net.ping_used)


def main_case():
    # firmware/main.py under MicroPython: serve "AT", then Ctrl-C returns to the REPL.
    import main as fw
    from modem.store import MemoryStore

    fw.SAFE_FILE = P["safe"]

    class Port:
        def __init__(self):
            self.inq = [b"AT\r"]
            self.out = b""

        async def read(self):
            if self.inq:
                return self.inq.pop(0)
            raise KeyboardInterrupt

        async def write(self, data):
            self.out += data

    class Board:
        def __init__(self):
            self.store = MemoryStore()
            self.defaults = {}
            self.port = Port()
            self.events = []

        def apply_serial(self, rate, ifc):
            self.events.append("serial %d" % rate)

        def link_available(self):
            return True

        def log(self, msg):
            pass

        def start(self, values):
            self.events.append("start")

        def stop(self):
            self.events.append("stop")

    class Glue:
        def safe_pressed(self):
            return False

        def make(self):
            return Board()

    made = fw.main(Glue())
    b = made[0]
    out("main", out=b.port.out.decode(), events=b.events)


async def main():
    ca, other = P["ca"], P["other_ca"]
    net = MPNet()
    out("resolve", addr=await net.resolve("localhost"), ip=await net.resolve("10.0.0.7"))
    await send("plain", P["starttls"], "NONE", user=P["user"])
    await send("starttls", P["starttls"], "STARTTLS", TLSConfig("localhost", True, ca),
               user=P["user"])
    await send("implicit", P["implicit"], "TLS", TLSConfig("localhost", True, ca),
               user=P["user"], size=65536)
    await send("starttls_noverify", P["starttls"], "STARTTLS", TLSConfig("localhost", False))
    await send("starttls_no_ca", P["starttls"], "STARTTLS", TLSConfig("localhost", True))
    await send("implicit_no_ca", P["implicit"], "TLS", TLSConfig("localhost", True))
    await send("starttls_other_ca", P["starttls"], "STARTTLS",
               TLSConfig("localhost", True, other))
    await send("implicit_other_ca", P["implicit"], "TLS", TLSConfig("localhost", True, other))
    await send("implicit_wrong_name", P["implicit"], "TLS", TLSConfig("wrong.test", True, ca))
    await send("implicit_to_plain", P["starttls"], "TLS", TLSConfig("localhost", True, ca))
    await send("bad_cafile", P["implicit"], "TLS", TLSConfig("localhost", True, "/nonexistent"))
    await send("refused", P["refused"], "NONE", host="127.0.0.1")
    await send("dns", P["starttls"], "NONE", host="no-such-host.invalid")
    await send("lost", P["drop"], "NONE", size=65536)
    await watchdog_case()
    await port_case()
    await sockets_case()


asyncio.run(main())
main_case()
out("done")
"""


async def _echo(reader, writer):
    while True:
        data = await reader.read(100)
        if not data:
            return
        writer.write(data)
        await writer.drain()


@pytest.fixture(scope="module")
def mp(tmp_path_factory):
    """Run the script once; results by label, plus what each server received."""
    if not os.path.exists(MICROPYTHON):
        pytest.skip("no MicroPython unix port in .venv (requirements.txt installs it)")
    tls = TLSMaterial(tmp_path_factory.mktemp("tls"))
    other = TLSMaterial(tmp_path_factory.mktemp("other"))  # a CA that signed nothing here

    async def main():
        rec = Recorder()
        slow = Recorder(data_delay_s=2)
        auth = Authenticator()
        drop = DropInBody(8192)
        async with (
            smtp_server(rec, tls_context=tls.server_context, authenticator=auth) as p_starttls,
            smtp_server(rec, ssl_context=tls.server_context, authenticator=auth) as p_implicit,
            smtp_server(slow, tls_context=tls.server_context) as p_slow,
            fake_server(drop) as p_drop,
            fake_server(_echo) as p_echo,
        ):
            params = {
                "firmware": os.path.join(ROOT, "firmware"),
                "ca": tls.cafile,
                "other_ca": other.cafile,
                "starttls": p_starttls,
                "implicit": p_implicit,
                "slow": p_slow,
                "drop": p_drop,
                "echo": p_echo,
                "refused": free_port(),
                "silent": silent_port,
                "lport": free_port(),
                "uport1": free_port(),
                "uport2": free_port(),
                "safe": str(tmp_path_factory.mktemp("flash") / "safe"),
                "user": USER,
                "password": PASSWORD,
                "sender": SENDER,
                "rcpt": RCPT,
            }
            proc = await asyncio.create_subprocess_exec(
                MICROPYTHON,
                "-c",
                "P = %r\n" % params + MP_SCRIPT,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            stdout, stderr = await asyncio.wait_for(proc.communicate(), 90)
        return proc.returncode, stdout.decode(), stderr.decode(), rec, slow

    # Linux drops a SYN when the listener's accept queue is full: a port that never answers.
    full = socket.socket()
    full.bind(("127.0.0.1", 0))
    full.listen(0)
    silent_port = full.getsockname()[1]
    queued = []
    for _ in range(3):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", silent_port))
        queued.append(c)
    try:
        rc, stdout, stderr, rec, slow = asyncio.run(main())
    finally:
        for c in queued + [full]:
            c.close()
    results = {}
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            _, label, data = line.split(" ", 2)
            results[label] = json.loads(data)
    assert rc == 0 and "done" in results, stdout + stderr
    received = {}
    for m in rec.messages + slow.messages:
        subject = m[3].split(b"\r\n", 1)[0].decode()
        received[subject[len("Subject: ") :]] = m
    return results, received


def test_resolve(mp):
    results, _ = mp
    assert results["resolve"] == {"addr": "127.0.0.1", "ip": "10.0.0.7"}


@pytest.mark.parametrize(
    "label, tls, authenticated",
    [
        ("plain", False, True),
        ("starttls", True, True),
        ("implicit", True, True),
        ("starttls_noverify", True, False),
    ],
)
def test_message_arrives(mp, label, tls, authenticated):
    results, received = mp
    assert results[label]["ok"], results[label]
    mail_from, _, rcpts, content, got_tls, got_auth = received[label]
    assert (mail_from, rcpts, got_tls, got_auth) == (SENDER, [RCPT], tls, authenticated)
    assert content.startswith(b"Subject: %s\r\n\r\nbody\r\n" % label.encode())


def test_implicit_tls_streams_a_large_body(mp):
    _, received = mp
    assert len(received["implicit"][3]) == len(b"Subject: implicit\r\n\r\nbody\r\n") + 65536


def test_starttls_steps(mp):
    results, _ = mp
    assert results["starttls"]["steps"] == [
        "DNS",
        "CONNECT",
        "GREETING",
        "EHLO",
        "STARTTLS",
        "EHLO",
        "AUTH",
        "MAIL",
        "RCPT",
        "DATA",
        "END",
        "QUIT",
    ]


@pytest.mark.parametrize(
    "label, code",
    [
        ("starttls_no_ca", SMTP_TLS),  # verification on, no CA: mbedtls has nothing to trust
        ("implicit_no_ca", SMTP_TLS),
        ("starttls_other_ca", SMTP_TLS),  # certificate verification failed
        ("implicit_other_ca", SMTP_TLS),
        ("implicit_wrong_name", SMTP_TLS),  # the name does not match the certificate
        ("implicit_to_plain", SMTP_TLS),  # a plain server answers the ClientHello
        ("bad_cafile", SMTP_TLS),
        ("refused", SMTP_CONNECT),
        ("dns", DNS_FAILED),
        ("lost", SMTP_LOST),
    ],
)
def test_failures_map_to_cme_codes(mp, label, code):
    results, received = mp
    r = results[label]
    assert not r["ok"] and r["code"] == code, r
    assert "\n" not in r["text"]  # one line: it goes into #SMTPLOG
    assert label not in received


def test_handshake_failure_step(mp):
    # The handshake is lazy (non-blocking, inside the next read or write): its failure shows in
    # the STARTTLS step or the next one (EHLO); for implicit TLS in CONNECT or GREETING. Which
    # one depends on how fast the server answers the ClientHello; the #CME code does not.
    results, _ = mp
    for label in ("starttls_no_ca", "starttls_other_ca"):
        assert results[label]["step"] in ("STARTTLS", "EHLO"), results[label]
    for label in ("implicit_no_ca", "implicit_other_ca", "implicit_wrong_name"):
        assert results[label]["step"] in ("CONNECT", "GREETING"), results[label]
    assert results["bad_cafile"]["step"] == "CONNECT"  # before any packet is sent
    assert "CN" in results["implicit_wrong_name"]["text"]


def test_watchdog_task_runs_while_smtp_waits(mp):
    results, received = mp
    assert results["slow"]["ok"]
    assert results["watchdog"]["feeds"] >= 2  # 2 s on the final dot, fed once a second
    assert received["slow"][4] is True


def test_uart_port_over_a_micropython_stream(mp):
    results, _ = mp
    assert results["port"] == {"got": "AT\r"}


def test_main_py_serves_then_ctrl_c_returns_to_the_repl(mp):
    results, _ = mp
    assert results["main"] == {
        "out": "AT\r\r\nOK\r\n",
        "events": ["serial 115200", "start", "stop"],
    }


LISTEN_FAILED = 38051


def test_listener_accepts_a_peer_after_a_cancelled_accept(mp):
    results, _ = mp
    r = results["listen"]
    assert (r["peer"], r["data"], r["got"]) == ("127.0.0.1", "hello", "bye")
    assert r["busy"] == LISTEN_FAILED  # the port is taken while the listener is open


def test_udp_both_ways_cut_to_n_after_a_cancelled_recv(mp):
    results, _ = mp
    r = results["udp"]
    assert (r["data"], r["ip"]) == ("0123", "127.0.0.1")
    assert r["back"][:2] == ["pong", "127.0.0.1"]
    assert r["busy"] == LISTEN_FAILED


def test_ping_by_tcp(mp):
    results, _ = mp
    r = results["ping"]
    assert r["used"] == "tcp"
    assert isinstance(r["alive"], int) and 0 <= r["alive"] < 1000  # a RST is an answer
    assert r["silent"] is None
