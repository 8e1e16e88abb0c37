"""The setup and status pages over plain HTTP (urllib), against tools/sim.py --web on both
runtimes: every route and every refusal, the caps, escaping, passwords, the test mail, and
the serial side answering while pages load (docs/portal.md)."""

import base64
import os
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from test_micropython import MICROPYTHON
from test_sim import OK, Sim, chat, recv_until

RUNTIMES = [
    pytest.param("cpython", id="cpython"),
    pytest.param("micropython", id="micropython"),
]
PW = "page-Pa55"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kw):
        return None


_OPENER = urllib.request.build_opener(NoRedirect)


class Web:
    """A simulator with --web: its serial side (a TCP socket) and its pages."""

    def __init__(self, sim):
        self.sim = sim
        url = sim.info["web"].split(" ")[0]
        self.base = url.rstrip("/")
        u = urllib.parse.urlparse(url)
        self.addr = (u.hostname, u.port)
        self.serial = sim.connect()
        chat(self.serial, b"ATE0\r", OK)

    def at(self, cmd, end=OK, timeout=10):
        """One AT command (echo off); its answer up to `end`."""
        self.serial.sendall(cmd + b"\r")
        return recv_until(self.serial, end, timeout)

    def get(self, path, auth=None):
        return self.request("GET", path, None, auth)

    def post(self, path, fields, auth=None):
        return self.request("POST", path, urllib.parse.urlencode(fields).encode(), auth)

    def request(self, method, path, data, auth=None):
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if auth is not None:
            token = base64.b64encode(auth.encode()).decode()
            req.add_header("Authorization", "Basic " + token)
        try:
            with _OPENER.open(req, timeout=20) as r:
                return r.status, r.headers, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode()

    def raw(self, data, timeout=15):
        """Bytes straight to the server; everything it answers until it closes."""
        with socket.create_connection(self.addr, timeout=timeout) as s:
            s.sendall(data)
            out = b""
            while True:
                try:
                    chunk = s.recv(4096)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                out += chunk
            return out

    def close(self):
        self.serial.close()


@pytest.fixture(params=RUNTIMES)
def web(request, tmp_path):
    """Start a simulator with --web on the runtime of the parameter; each stops cleanly."""
    runtime = request.param
    if runtime == "micropython":
        assert os.path.exists(MICROPYTHON), "requirements.txt installs the MicroPython port"
    started = []

    def start(*args, state=None):
        s = Sim(
            tmp_path,
            "--runtime",
            runtime,
            "--tcp",
            "127.0.0.1:0",
            "--web",
            "127.0.0.1:0",
            *args,
            state=state,
        )
        w = Web(s)
        started.append(w)
        return w

    start.runtime = runtime
    yield start
    for w in started:
        w.close()
    codes = [w.sim.stop() for w in started if w.sim.proc.returncode is None]
    assert codes == [0] * len(codes)


def note(body):
    i = body.find('id="note">')
    return body[i + 10 : body.find("<", i)] if i >= 0 else None


def test_routes_in_setup_mode(web):
    w = web()
    assert w.sim.info["web"].endswith("(setup mode)")
    status, headers, _ = w.get("/")
    assert status == 303 and headers["Location"] == "/setup"
    for probe in ("/generate_204", "/hotspot-detect.html"):  # phones' captive-portal checks
        assert w.get(probe)[0] == 303
    status, headers, body = w.get("/setup")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY" and headers["Cache-Control"] == "no-store"
    # the PC's stand-in networks, strongest first
    assert body.index("mtgw-sim-office") < body.index("mtgw-sim-guest (-80 dBm, open)")
    assert w.get("/setup?scan=1")[0] == 200
    status, _, body = w.get("/status")
    assert status == 200 and "mtgw-V01.00" in body and "none since power-up" in body
    assert "Free heap" in body
    if web.runtime == "micropython":
        assert " bytes</td>" in body  # gc.mem_free() of the MicroPython heap
    assert w.get("/nothing")[0] == 404
    assert w.get("/save")[0] == 405  # changes are POST only
    assert w.get("/test")[0] == 405
    assert w.post("/setup", {})[0] == 405
    assert w.request("PUT", "/save", b"")[0] == 405
    assert w.request("DELETE", "/status", None)[0] == 405


def test_caps_and_malformed_requests(web):
    w = web()
    assert w.raw(b"POST /save HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 411 ")
    big = b"WIFISSID=" + b"a" * 3000
    head = b"POST /save HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(big)
    assert w.raw(head + big).startswith(b"HTTP/1.1 413 ")
    assert w.raw(b"GET /setup HTTP/1.1\r\nX: " + b"a" * 2000 + b"\r\n\r\n").startswith(
        b"HTTP/1.1 431 "
    )
    assert w.raw(b"GET /setup\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert w.raw(b"GET /%zz HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    body = b"WIFISSID=%ff"  # not UTF-8
    head = b"POST /save HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(body)
    assert w.raw(head + body).startswith(b"HTTP/1.1 400 ")
    head = b"POST /save HTTP/1.1\r\nContent-Length: \xc2\xb2\r\n\r\n"  # a superscript two
    assert w.raw(head).startswith(b"HTTP/1.1 400 ")
    # a client that sends half a request is dropped after 10 s; others are served meanwhile
    slow = socket.create_connection(w.addr)
    slow.sendall(b"GET /setup HTTP/1.1\r\n")
    assert w.get("/status")[0] == 200
    slow.settimeout(15)
    assert slow.recv(100) == b""
    slow.close()
    assert w.at(b"AT").endswith(OK)


def test_refused_value_same_reason_as_at(web):
    w = web()
    refused = b"\r\n#CME ERROR: 34882\r\n"
    assert w.at(b"AT#SMTPPORT=99999", refused) == refused
    fields = {"WIFISSID": "mtgw-sim-office", "SMTPPORT": "99999", "REC1": "ops@example.com"}
    status, _, body = w.post("/save", fields)
    assert status == 200 and note(body) == "SMTPPORT: 34882: bad value"
    assert 'id="SMTPPORT" name="SMTPPORT" value="99999" inputmode="numeric" aria-invalid' in body
    # nothing of that form was stored
    assert b'#WIFISSID: ""' in w.at(b"AT#VWIFI") and b'#REC1: ""' in w.at(b"AT#VMAIL1")
    for name, value in (
        ("SENDERADDR", "two words@example.com"),
        ("SMTPSEC", "3"),
        ("WIFISSID", "x" * 33),
        ("SMTPSERV", "mail\r\nRCPT TO:<x@y>"),
    ):
        status, _, body = w.post("/save", {name: value})
        assert note(body) == name + ": 34882: bad value", (name, note(body))


def test_escaping_no_reflected_markup(web):
    w = web()
    evil = '"><script>alert(1)</script>'
    status, _, body = w.post("/save", {"WIFISSID": evil})
    assert note(body) == "Saved."
    assert "<script>" not in body and "&quot;&gt;&lt;script&gt;" in body
    assert b'#WIFISSID: ""><script>alert(1)</script>"' in w.at(b"AT#VWIFI")
    status, _, body = w.post("/save", {"SMTPPORT": "<b>1</b>"})
    assert "<b>1</b>" not in body and "&lt;b&gt;1&lt;/b&gt;" in body


def test_passwords_write_only_and_page_password(web):
    w = web()
    assert w.at(b'AT#SMTPPW="hunter2"').endswith(OK)
    assert w.at(b'AT#WIFIPW="wifi-secret"').endswith(OK)
    _, _, body = w.get("/setup")
    assert "hunter2" not in body and "wifi-secret" not in body
    assert "(set; empty keeps it)" in body
    # an empty password field keeps the stored password
    assert note(w.post("/save", {"SMTPPW": "", "WIFIPW": ""})[2]) == "Nothing to change."
    # setting the page password: from now on every change needs it, even in setup mode
    assert note(w.post("/save", {"WEBPW": PW})[2]) == "Saved."
    status, _, body = w.post("/save", {"SUBJ1": "x", "SMTPSERV": "mail.example.com"})
    assert status == 403 and "Wrong page password" in body
    status, _, body = w.post("/save", {"SMTPSERV": "mail.example.com", "pw": "wrong"})
    assert status == 403
    assert b'#SMTPSERV: "127.0.0.1"' in w.at(b"AT#VSMTP")  # the sink's factory value
    status, _, body = w.post("/save", {"SMTPSERV": "mail.example.com", "pw": PW})
    assert status == 200 and note(body) == "Saved."
    assert b'#SMTPSERV: "mail.example.com"' in w.at(b"AT#VSMTP")
    assert b'#WEBPW: "********"' in w.at(b"AT#VWIFI")
    _, _, body = w.get("/setup")
    assert PW not in body and 'name="pw"' in body
    w.sim.stop()
    err = w.sim.stderr()
    assert b"hunter2" not in err and PW.encode() not in err and b"wifi-secret" not in err
    assert b"web: wrong page password" in err


def test_test_mail_and_status_after_it(web, tmp_path):
    w = web()
    fields = {
        "WIFISSID": "mtgw-sim-office",
        "WIFIPW": "office-pw",
        "SENDERADDR": "panel@example.com",
        "REC1": "ops@example.com",
    }
    status, _, body = w.post("/test", fields)
    assert status == 200 and note(body) == "Saved. Test mail sent to ops@example.com."
    line = w.sim.readline(10)
    assert line.startswith("mail: ")
    with open(line[6:], "rb") as f:
        mail = f.read()
    assert b"Subject: mtgw test mail" in mail and b"To: ops@example.com" in mail
    _, _, body = w.get("/status")
    assert "delivered (250 OK stored)" in body
    assert "#SMTPLOG: &quot;END&quot;,250,&quot;OK stored&quot;" in body
    assert "mtgw-sim-office joined" in body
    # the host sees the same trace, and its own IP session was not touched
    assert b'#SMTPLOG: "END",250,"OK stored"' in w.at(b"AT#SMTPLOG")
    assert b'#STATE: "IDLE"' in w.at(b"AT#VSTATE")
    # a failing test mail says why, in the #CME words
    assert w.at(b'AT#SMTPSERV="127.0.0.1"').endswith(OK)
    assert w.at(b"AT#SMTPPORT=1").endswith(OK)
    _, _, body = w.post("/test", {})
    assert note(body).startswith("Nothing to change. Test mail not sent: #CME ERROR 37970")
    assert "<td>failed at " in w.get("/status")[2]  # CONNECT, or GREETING (lazy connect)


def test_status_mode_needs_basic_auth(web, tmp_path):
    state = tmp_path / "st"
    first = web(state=state)
    assert first.at(b'AT#WIFISSID="mtgw-sim-office"').endswith(OK)
    first.close()
    assert first.sim.stop() == 0
    w = web(state=state)  # a stored network: status mode, pages off by default
    assert w.sim.info["web"].endswith("(status mode)")
    assert w.get("/status")[0] == 403
    assert w.get("/setup")[0] == 403
    assert w.post("/save", {"SMTPSERV": "x"})[0] == 403
    assert w.at(b"AT#WEBSTATUS=1").endswith(OK)
    assert w.get("/status")[0] == 403  # on, but without a page password still off
    assert w.at(b'AT#WEBPW="%s"' % PW.encode()).endswith(OK)
    status, headers, _ = w.get("/status")
    assert status == 401 and headers["WWW-Authenticate"].startswith('Basic realm="mtgw"')
    assert w.get("/status", auth="admin:wrong")[0] == 401
    status, _, body = w.get("/status", auth="admin:" + PW)
    assert status == 200 and "Setup access point" not in body
    assert w.get("/", auth="x:" + PW)[0] == 303
    # basic auth alone changes nothing: a change carries the password in the form (CSRF)
    status, _, body = w.post("/save", {"SMTPSERV": "mail.example.com"}, auth="a:" + PW)
    assert status == 403
    fields = {"SMTPSERV": "mail.example.com", "pw": PW}
    assert note(w.post("/save", fields, auth="a:" + PW)[2]) == "Saved."


def test_busy_refuses_changes(web):
    """While the host's AT#PUTMAIL runs, the page refuses changes as AT# writes do (37123)."""
    w = web()
    assert w.at(b'AT#SENDERADDR="panel@example.com"').endswith(OK)
    assert w.at(b'AT#REC1="ops@example.com"').endswith(OK)
    assert w.at(b"AT#CONNECTIONSTART", b"Ok_Info_GprsActivation\r\n").endswith(b"Activation\r\n")
    wait = b"\r\nOk_Info_WaitingForData\r\n"
    assert w.at(b"AT#PUTMAIL", wait) == wait
    status, _, body = w.post("/save", {"SUBJ1": "x", "SMTPSERV": "mail.example.com"})
    assert status == 200 and note(body) == "settings: 37123: a service is running"
    _, _, body = w.post("/test", {})
    assert note(body) == "settings: 37123: a service is running"
    w.serial.sendall(b"Tank 3 low\r\n.\r\n")
    assert recv_until(w.serial, OK) == OK
    assert w.sim.readline(10).startswith("mail: ")
    assert b'#SMTPSERV: "127.0.0.1"' in w.at(b"AT#VSMTP")


def test_serial_answers_while_pages_load(web):
    """The modem keeps answering the host while a browser loads pages (one event loop)."""
    w = web()
    stop = threading.Event()
    loads = [0]
    errors = []

    def browse():
        while not stop.is_set():
            try:
                for path in ("/setup", "/status", "/setup?scan=1"):
                    assert w.get(path)[0] == 200
                    loads[0] += 1
            except Exception as e:  # reported below
                errors.append(e)
                return

    threads = [threading.Thread(target=browse) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        worst = 0.0
        for i in range(40):
            t0 = time.monotonic()
            got = w.at(b"AT+CSQ")
            worst = max(worst, time.monotonic() - t0)
            assert got.endswith(OK) and b"+CSQ:" in got, got
            got = w.at(b'AT#SUBJ1="alarm %d"' % i)
            assert got == b"\r\nOK\r\n", got
        assert b'#SUBJ1: "alarm 39"' in w.at(b"AT#SUBJ1?")
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert not errors, errors
    assert loads[0] >= 10, loads
    assert worst < 2.0, worst
