"""ESP32 and Pico W glue on CPython with fake machine/network modules, through the real Modem."""

import asyncio
import importlib.util
import json
import os
import re
import sys
import time
import types

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FAKES = os.path.join(HERE, "fakes")
FIRMWARE = os.path.join(ROOT, "firmware")
BOARDS = ("esp32", "rp2040")
_ISOLATED = (
    "machine",
    "network",
    "mpboard",
    "mpboot",
    "mpchores",
    "mpsetup",
    "mpnet",
    "mpsock",
    "mpserve",
)

# What each board file must say (docs/wiring.md): UART id, TX, RX, RTS, CTS, WDT timeout.
EXPECTED = {
    "esp32": {"uart": 2, "tx": 17, "rx": 16, "rts": 18, "cts": 19, "wdt": 30000, "timer": 0},
    "rp2040": {"uart": 0, "tx": 0, "rx": 1, "rts": 3, "cts": 2, "wdt": 8000, "timer": -1},
}
SSID = "workshop"
PASSWORD = "wifi-Pa55-word"


class Clock:
    """MicroPython's ticks_* on CPython (the board passes a clock to the Wi-Fi link)."""

    PERIOD = 1 << 30

    def ticks_ms(self):
        return int(time.monotonic() * 1000) & (self.PERIOD - 1)

    def ticks_diff(self, a, b):
        d = (a - b) & (self.PERIOD - 1)
        return d - self.PERIOD if d >= self.PERIOD // 2 else d

    def ticks_add(self, a, d):
        return (a + d) & (self.PERIOD - 1)


class FakeStream:
    """What asyncio.StreamReader(uart) is on MicroPython, around the fake UART, for CPython."""

    interrupt_after_ok = False  # raise KeyboardInterrupt once an OK went out and input ran dry

    def __init__(self, uart):
        self.uart = uart

    async def read(self, n):
        while True:
            data = self.uart.read(n)
            if data:
                return data
            if self.interrupt_after_ok and b"OK" in self.uart.tx:
                raise KeyboardInterrupt
            await asyncio.sleep(0.002)

    def write(self, data):
        self.uart.write(data)

    async def drain(self):
        await asyncio.sleep(0)


class NTP:
    def __init__(self, fail=False):
        self.calls = 0
        self.fail = fail

    def __call__(self):
        self.calls += 1
        if self.fail:
            raise OSError(110)


@pytest.fixture
def hw(monkeypatch):
    """The fake hardware modules first on sys.path; a fresh machine/network per test."""
    monkeypatch.syspath_prepend(FAKES)
    saved = {name: sys.modules.pop(name, None) for name in _ISOLATED}
    import machine
    import network

    machine.reset_all()
    network.reset_all()
    yield types.SimpleNamespace(machine=machine, network=network)
    for name, mod in saved.items():  # other tests see the modules they had before
        sys.modules.pop(name, None)
        if mod is not None:
            sys.modules[name] = mod


def load_glue(name):
    """boards/<name>/board.py as a module (it is 'board' on the device)."""
    path = os.path.join(ROOT, "boards", name, "board.py")
    spec = importlib.util.spec_from_file_location("board_" + name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def make(glue, tmp_path, **kw):
    kw.setdefault("clock", Clock())
    kw.setdefault("stream", FakeStream)
    kw.setdefault("ntp", NTP())
    kw.setdefault("settings", str(tmp_path / "settings.json"))
    kw.setdefault("ca", str(tmp_path / "ca.pem"))
    kw.setdefault("join_timeout_ms", 300)
    kw.setdefault("keep_ms", 20)
    return glue.make(**kw)


_FINAL = re.compile(
    rb"\r\n(OK|ERROR|Ok_Info_GprsActivation|[#+]CME ERROR: \d+)\r\n$",
)


class Host:
    """The host side of the serial line: send a command, wait for its final result code."""

    def __init__(self, board):
        self.board = board
        self.uart = board.uart

    async def cmd(self, line, timeout=5.0):
        self.uart.tx = bytearray()
        self.uart.host_sends(line.encode() + b"\r")
        t0 = time.monotonic()
        while not _FINAL.search(bytes(self.uart.tx)):
            if time.monotonic() - t0 > timeout:
                raise TimeoutError("no final result for %r: %r" % (line, bytes(self.uart.tx)))
            await asyncio.sleep(0.005)
        return bytes(self.uart.tx).decode()


# The fake network's DHCP lease (fakes/network.py)
STARTED = "AT#CONNECTIONSTART\r\r\n192.168.4.23\r\n\r\nOk_Info_GprsActivation\r\n"


def ok(line, *info):
    """What a command that succeeds writes: its echo (echo is on from power-up), its
    information lines, OK."""
    text = "\r\n" + "\r\n".join(info) + "\r\n" if info else ""
    return line + "\r" + text + "\r\nOK\r\n"


async def until(pred, timeout=5.0):
    t0 = time.monotonic()
    while not pred():
        if time.monotonic() - t0 > timeout:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.005)


def running(board, body, start=True):
    """Run the real Modem on the board (modem.start, board.start, modem.run) around body(host)."""
    from modem.modem import Modem

    async def main():
        modem = Modem(board)
        await modem.start()
        if start:
            board.start(modem.values)
        task = asyncio.create_task(modem.run(board.port))
        try:
            return await asyncio.wait_for(body(Host(board)), 30)
        finally:
            task.cancel()
            board.stop()

    return asyncio.run(main())


def events_of(machine, kind):
    return [(i, e[1]) for i, e in enumerate(machine.events()) if e[0] == kind]


# ---------------------------------------------------------------------------- UART


@pytest.mark.parametrize("name", BOARDS)
def test_uart_pins_baud_and_buffers(hw, tmp_path, name):
    exp = EXPECTED[name]
    board = make(load_glue(name), tmp_path)
    uart = hw.machine.UART.instances[exp["uart"]]
    assert board.uart is uart
    c = uart.config
    assert (c["tx"], c["rx"], c["rts"], c["cts"]) == (exp["tx"], exp["rx"], exp["rts"], exp["cts"])
    assert c["baudrate"] == 115200
    assert c["rxbuf"] >= 2048  # 180 ms of input at 115200 baud while the loop is busy
    assert c["timeout"] == 0  # the stream polls; a read never blocks the event loop


class SizedStream(FakeStream):
    """FakeStream that records the size of each read."""

    sizes = []

    async def read(self, n):
        self.sizes.append(n)
        return await FakeStream.read(self, n)


def test_uart_reads_what_is_waiting_up_to_its_buffer(hw, tmp_path):
    # As a UART driver hands bytes: all those already there, at most the receive buffer's
    # 2 KB, and no read sized beyond what is there (256 bytes while none is).
    board = make(load_glue(BOARDS[0]), tmp_path, stream=SizedStream)
    SizedStream.sizes = []
    uart, port = board.uart, board.port
    uart.rx += bytes(range(256)) * 20
    got = [asyncio.run(port.read()) for _ in range(3)]
    assert [len(x) for x in got] == [2048, 2048, 1024]
    assert b"".join(got) == bytes(range(256)) * 20
    uart.rx += b"AT\r"
    assert asyncio.run(port.read()) == b"AT\r"
    assert SizedStream.sizes == [2048, 2048, 1024, 3]

    async def idle_then_line():
        task = asyncio.create_task(port.read())
        await asyncio.sleep(0.01)  # the read waits on an empty UART
        uart.rx += b"AT+CSQ\r"
        return await task

    assert asyncio.run(idle_then_line()) == b"AT+CSQ\r"
    assert SizedStream.sizes[4:] == [256]  # no 2 KB object made for the first bytes to come


@pytest.mark.parametrize("name", BOARDS)
def test_flow_control_and_rate_through_the_modem(hw, tmp_path, name):
    exp = EXPECTED[name]
    m = hw.machine
    U = m.UART
    board = make(load_glue(name), tmp_path)
    uart = board.uart

    async def body(host):
        # Power-up applies the profile: AT+IFC=2,2 and 115200 by default.
        assert uart.config["flow"] == U.RTS | U.CTS
        assert uart.config["baudrate"] == 115200
        assert await host.cmd("AT+IFC=0,0") == ok("AT+IFC=0,0")
        assert uart.config["flow"] == 0
        rts = m.Pin.pins[exp["rts"]]  # held asserted: a host watching CTS keeps sending
        assert (rts.mode, rts._value) == (m.Pin.OUT, 0)
        assert await host.cmd("AT+IFC=2,0") == ok(
            "AT+IFC=2,0"
        )  # host stops us with its RTS: our CTS
        assert uart.config["flow"] == U.CTS
        assert await host.cmd("AT+IFC=0,2") == ok("AT+IFC=0,2")  # we stop the host with our RTS
        assert uart.config["flow"] == U.RTS
        assert await host.cmd("AT+IFC=2,2") == ok("AT+IFC=2,2")
        assert uart.config["flow"] == U.RTS | U.CTS
        assert await host.cmd("AT+IFC?") == ok("AT+IFC?", "+IFC: 2,2")
        n = len(m.events())
        assert await host.cmd("AT+IPR=9600") == ok("AT+IPR=9600")
        assert uart.config["baudrate"] == 9600
        assert uart.config["flow"] == U.RTS | U.CTS  # a rate change keeps flow control
        # V.250 6.2.10: the OK leaves at the old rate, then the UART switches.
        ev = m.events()[n:]
        kinds = [e[0] for e in ev]
        sent = max(i for i, e in enumerate(ev) if e[0] == "uart.write" and b"OK" in e[1])
        flush = kinds.index("uart.flush", sent)
        init = next(i for i, e in enumerate(ev) if e[0] == "uart.init" and i > flush)
        assert ev[init][1]["baudrate"] == 9600
        assert (ev[init][1]["tx"], ev[init][1]["rx"]) == (exp["tx"], exp["rx"])
        assert ev[init][1]["rxbuf"] == uart.inits[0]["rxbuf"]  # rp2 re-allocates otherwise
        assert await host.cmd("AT+IPR?") == ok("AT+IPR?", "+IPR: 9600")

    running(board, body)


@pytest.mark.parametrize("name", BOARDS)
def test_saved_rate_is_applied_at_power_up(hw, tmp_path, name):
    board = make(load_glue(name), tmp_path)

    async def body(host):
        assert await host.cmd("AT+IPR=19200") == ok("AT+IPR=19200")
        assert await host.cmd("AT+IFC=0,0") == ok("AT+IFC=0,0")
        assert await host.cmd("AT&W") == ok("AT&W")

    running(board, body)
    hw.machine.reset_all()
    board = make(load_glue(name), tmp_path)  # same settings file: a power cycle
    running(board, lambda host: asyncio.sleep(0))
    assert board.uart.config["baudrate"] == 19200
    assert board.uart.config["flow"] == 0


# ---------------------------------------------------------------------------- Wi-Fi


def _configure(host):
    async def go():
        assert await host.cmd('AT#WIFISSID="%s"' % SSID) == ok('AT#WIFISSID="%s"' % SSID)
        assert await host.cmd('AT#WIFIPW="%s"' % PASSWORD) == ok('AT#WIFIPW="%s"' % PASSWORD)

    return go()


@pytest.mark.parametrize("name", BOARDS)
def test_wifi_connect_success(hw, tmp_path, name):
    hw.network.world.aps = {SSID: PASSWORD}
    log = tmp_path / "log.txt"
    board = make(load_glue(name), tmp_path, log=str(log))

    async def body(host):
        assert await host.cmd("AT+CREG?") == ok(
            "AT+CREG?", "+CREG: 0,2"
        )  # no Wi-Fi yet: searching
        assert await host.cmd("AT+CSQ") == ok("AT+CSQ", "+CSQ: 99,99")
        assert board.utc() is None  # no NTP yet: no Date: header
        await _configure(host)
        assert await host.cmd("AT#CONNECTIONSTART") == STARTED
        assert await host.cmd("AT#DISPLAYIP") == ok(
            "AT#DISPLAYIP",
            '#MY IP: "192.168.4.23"',
            '#PEER IP: "0.0.0.0"',
            '#GATEWAY IP: "192.168.4.1"',
        )
        assert await host.cmd("AT+CREG?") == ok("AT+CREG?", "+CREG: 0,1")
        assert await host.cmd("AT+CSQ") == ok("AT+CSQ", "+CSQ: 23,99")  # -67 dBm: (−67+113)/2
        assert board.ntp_calls() == 1
        assert len(board.utc()) == 7
        await until(lambda: board.led.lit)  # the session is up: LED on
        assert await host.cmd("AT#CONNECTIONSTOP") == ok("AT#CONNECTIONSTOP")
        assert await host.cmd("AT+CREG?") == ok(
            "AT+CREG?", "+CREG: 0,1"
        )  # Wi-Fi stays: like GSM registration

    board.ntp_calls = lambda: board.link._ntp.calls
    running(board, body)
    wlan = hw.network.WLAN(hw.network.STA_IF)
    assert wlan.connects == [SSID]
    text = log.read_text()
    assert "wifi: joined" in text
    assert PASSWORD not in text  # the password never reaches the log


@pytest.mark.parametrize(
    "aps, pw, why",
    [
        ({SSID: "other"}, PASSWORD, "wrong password"),
        ({}, PASSWORD, "no such network"),
        ({SSID: PASSWORD}, None, "no SSID configured"),
    ],
)
def test_wifi_connect_failure_is_35865(hw, tmp_path, aps, pw, why):
    hw.network.world.aps = aps
    board = make(load_glue("rp2040"), tmp_path, join_timeout_ms=200)

    async def body(host):
        if pw is not None:
            await _configure(host)
        t0 = time.monotonic()
        out = await host.cmd("AT#CONNECTIONSTART")
        assert out.endswith("\r\n#CME ERROR: 35865\r\n"), why
        assert time.monotonic() - t0 < 2  # the join timeout, not longer
        assert await host.cmd("AT#VSTATE") == ok("AT#VSTATE", '#STATE: "IDLE"', "#NO SERVICE")
        assert await host.cmd("AT+CREG?") == ok("AT+CREG?", "+CREG: 0,2")

    running(board, body, start=False)
    assert board.link.session is False


def test_join_timeout_default_is_15_s(hw, tmp_path):
    for name in BOARDS:
        board = load_glue(name).make(clock=Clock(), stream=FakeStream)
        assert board.link.join_timeout_ms == 15000


@pytest.mark.parametrize("name", BOARDS)
def test_drop_and_reconnect(hw, tmp_path, name):
    net = hw.network
    net.world.aps = {SSID: PASSWORD}
    board = make(load_glue(name), tmp_path)
    wlan = net.WLAN(net.STA_IF)

    async def body(host):
        await _configure(host)
        assert await host.cmd("AT#CONNECTIONSTART") == STARTED
        net.world.join_polls = 10  # the next join needs more polls
        net.world.aps = {}  # the access point goes away
        wlan.drop()
        assert await host.cmd("AT+CREG?") == ok("AT+CREG?", "+CREG: 0,2")
        assert await host.cmd("AT+CSQ") == ok("AT+CSQ", "+CSQ: 99,99")
        assert await host.cmd("AT#VSTATE") == ok("AT#VSTATE", '#STATE: "CONNECTED"', "#NO SERVICE")
        await until(lambda: len(wlan.connects) >= 3)  # keeps trying while it is away
        assert not board.link_available()
        net.world.aps = {SSID: PASSWORD}  # back
        await until(board.link_available, timeout=10)
        assert await host.cmd("AT+CREG?") == ok("AT+CREG?", "+CREG: 0,1")
        assert board.link.drops == 1
        assert board.link.session  # the host's session survives the drop

    running(board, body)
    assert set(wlan.connects) == {SSID}


@pytest.mark.parametrize("name", BOARDS)
def test_stored_credentials_join_at_boot(hw, tmp_path, name):
    hw.network.world.aps = {SSID: PASSWORD}
    (tmp_path / "settings.json").write_text(
        json.dumps({"at": {"WIFISSID": SSID, "WIFIPW": PASSWORD}})
    )
    board = make(load_glue(name), tmp_path)
    wlan = hw.network.WLAN(hw.network.STA_IF)

    async def body(host):
        await until(board.link_available)
        assert await host.cmd("AT+CREG?") == ok(
            "AT+CREG?", "+CREG: 0,1"
        )  # registered before any session
        assert await host.cmd("AT#CONNECTIONSTART") == STARTED
        assert wlan.connects == [SSID]  # already joined: no second join

    running(board, body)


@pytest.mark.parametrize(
    "dbm, csq", [(-113, 0), (-114, 0), (-111, 1), (-80, 16), (-67, 23), (-51, 31), (-30, 31)]
)
def test_rssi_to_csq(hw, tmp_path, dbm, csq):
    hw.network.world.aps = {SSID: PASSWORD}
    hw.network.world.rssi = dbm
    board = make(load_glue("esp32"), tmp_path)

    async def body(host):
        await _configure(host)
        await host.cmd("AT#CONNECTIONSTART")
        assert board.rssi() == dbm
        assert await host.cmd("AT+CSQ") == ok("AT+CSQ", "+CSQ: %d,99" % csq)

    running(board, body)


def test_ntp_failure_leaves_time_unknown_and_retries(hw, tmp_path):
    hw.network.world.aps = {SSID: PASSWORD}
    ntp = NTP(fail=True)
    board = make(load_glue("rp2040"), tmp_path, ntp=ntp)

    async def body(host):
        await _configure(host)
        assert await host.cmd("AT#CONNECTIONSTART") == STARTED
        assert board.utc() is None
        assert ntp.calls >= 1
        ntp.fail = False
        board.link._ntp_at = board.clock.ticks_add(board.clock.ticks_ms(), -61000)
        await until(lambda: board.utc() is not None)

    running(board, body)


def test_ntp_failures_back_off(hw, tmp_path):
    ntp = NTP(fail=True)
    board = make(load_glue("esp32"), tmp_path, ntp=ntp)
    link = board.link
    waits = []
    for _ in range(12):
        assert link.sync_time() is False
        waits.append(link._ntp_wait)
    assert waits[:4] == [60000, 120000, 240000, 480000]
    assert waits[-1] == 6 * 3600 * 1000  # a broken DNS server costs a stall every 6 h at most
    assert not link.ntp_due()
    ntp.fail = False
    assert link.sync_time() is True and board.utc() is not None
    assert link._ntp_wait == 6 * 3600 * 1000


# ---------------------------------------------------------------------------- watchdog


@pytest.mark.parametrize("name", BOARDS)
def test_watchdog_fed_while_a_slow_smtp_step_waits(hw, tmp_path, name):
    from modem.smtp import open_session
    from net import HostNet
    from smtp_servers import Recorder, smtp_server

    board = make(load_glue(name), tmp_path)

    async def main():
        board.start()
        wdt = hw.machine.WDT.instances[0]
        rec = Recorder(data_delay_s=3)  # the server sits on the final dot for 3 s
        async with smtp_server(rec) as port:
            client, _ = await open_session(
                HostNet(),
                "127.0.0.1",
                port,
                "NONE",
                None,
                "m.test",
                "",
                "",
                "a@m.test",
                ["b@m.test"],
                30,
            )
            await client.send(b"Subject: slow\r\n\r\nbody\r\n")
            n = len(wdt.feeds)
            t0 = time.monotonic()
            await client.end_data()
            waited = time.monotonic() - t0
            await client.quit()
            await client.close()
        board.stop()
        return wdt, len(wdt.feeds) - n, waited, rec

    wdt, feeds, waited, rec = asyncio.run(main())
    assert wdt.timeout == EXPECTED[name]["wdt"]
    assert waited >= 3
    # One feed a second while the step waited. The bounds leave a slow machine 1.5 s of slack
    # over the 1 s period and still catch a loop blocked for the 3 s the server waits (the
    # boards reset after 8 s, rp2040, and 30 s, esp32).
    assert feeds >= 2
    assert wdt.max_gap() < 2.5
    assert len(rec.messages) == 1


def test_a_blocked_loop_starves_the_watchdog(hw, tmp_path):
    # The measure above can fail: a loop blocked for 1.6 s shows a gap that long.
    board = make(load_glue("rp2040"), tmp_path)

    async def main():
        board.start()
        await asyncio.sleep(0.05)
        time.sleep(1.6)  # e.g. a blocking call without feeding first
        await asyncio.sleep(0.05)
        board.stop()

    asyncio.run(main())
    assert hw.machine.WDT.instances[0].max_gap() >= 1.6


def test_blocking_dns_feeds_the_watchdog_first(hw, tmp_path):
    board = make(load_glue("rp2040"), tmp_path)

    async def main():
        board.start()
        await asyncio.sleep(0)
        wdt = hw.machine.WDT.instances[0]
        n = len(wdt.feeds)
        assert await board.net.resolve("localhost") == "127.0.0.1"
        assert len(wdt.feeds) == n + 1
        assert await board.net.resolve("10.1.2.3") == "10.1.2.3"  # no DNS for an address
        assert len(wdt.feeds) == n + 1
        board.stop()

    asyncio.run(main())


# ---------------------------------------------------------------------------- LED


def test_led_states_and_activity_flash(hw, tmp_path):
    board = make(load_glue("esp32"), tmp_path)
    led = board.led
    pin = hw.machine.Pin.pins[2]
    assert pin.mode == hw.machine.Pin.OUT
    led.show(0, 0)
    assert pin._value == 0  # no Wi-Fi: off
    led.show(1, 0)
    assert pin._value == 1  # Wi-Fi only: a flash every 40 periods
    led.show(1, 1)
    assert pin._value == 0
    led.show(2, 5)
    assert pin._value == 1  # session up: on
    led.activity()  # serial traffic: inverted for two periods
    led.show(2, 6)
    led.show(2, 7)
    assert pin.history[-2:] == [0, 0]
    led.show(2, 8)
    assert pin._value == 1


def test_led_active_low_and_pico_led_name(hw, tmp_path):
    board = make(load_glue("rp2040"), tmp_path, led_active_low=True)
    pin = hw.machine.Pin.pins["LED"]
    board.led.set(True)
    assert pin._value == 0
    board.led.set(False)
    assert pin._value == 1


def test_led_blinks_on_serial_traffic(hw, tmp_path):
    board = make(load_glue("rp2040"), tmp_path)
    pin = hw.machine.Pin.pins["LED"]

    async def body(host):
        n = len(pin.history)
        await host.cmd("AT")
        await asyncio.sleep(0.2)
        assert 1 in pin.history[n:]  # off without Wi-Fi, so activity shows as light

    running(board, body)


# ---------------------------------------------------------------------------- board services


def test_settings_ca_log_and_uid(hw, tmp_path):
    board = make(load_glue("esp32"), tmp_path)
    assert board.store.path == str(tmp_path / "settings.json")
    assert board.cafile() is None
    board.save_ca(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    assert board.cafile() == str(tmp_path / "ca.pem")
    board.save_ca(None)
    assert board.cafile() is None
    assert board.uid() == hw.machine.unique_id()
    board.log("nothing")  # off by default: no file anywhere
    assert sorted(os.listdir(tmp_path)) == []


def test_default_paths_are_on_the_flash_root(hw):
    board = load_glue("rp2040").make(clock=Clock(), stream=FakeStream)
    assert board.store.path == "/settings.json"
    assert board.ca_path == "/ca.pem"
    assert board.log_to is None


def test_log_file_is_capped(hw, tmp_path):
    log = tmp_path / "log.txt"
    board = make(load_glue("esp32"), tmp_path, log=str(log))
    for i in range(600):
        board.log("line %d %s" % (i, "x" * 40))
    assert log.stat().st_size <= 16384 + 100
    assert (tmp_path / "log.txt.1").exists()


def test_log_to_console(hw, tmp_path, capsys):
    board = make(load_glue("esp32"), tmp_path, log="console")
    board.log("hello")
    assert capsys.readouterr().out == "hello\n"


# ---------------------------------------------------------------------------- main.py


def load_main():
    spec = importlib.util.spec_from_file_location(
        "main_under_test", os.path.join(FIRMWARE, "main.py")
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("name", BOARDS)
def test_main_import_chain_and_serve(hw, tmp_path, monkeypatch, name):
    glue = load_glue(name)
    real_make = glue.make
    monkeypatch.setattr(glue, "SAFE_WINDOW_MS", 0)
    monkeypatch.setattr(
        glue, "make", lambda **kw: make(types.SimpleNamespace(make=real_make), tmp_path)
    )
    monkeypatch.setitem(sys.modules, "board", glue)  # as board.py at the root of the device
    main = load_main()
    monkeypatch.setattr(main, "SAFE_FILE", str(tmp_path / "safe"))
    made = main.setup()  # imports board, checks safe mode, builds board and modem
    assert made is not None
    board, modem = made
    assert type(board).__name__ == "MPBoard"

    assert "mpboot" not in sys.modules  # boot-only code: forgotten after the set-up

    async def go():
        task = asyncio.create_task(main.serve(board, modem))
        host = Host(board)
        out = await host.cmd("AT")
        # started (serial settings applied, tasks running): no boot or rare code left loaded
        assert not {"mpboot", "mpchores", "mpsetup"} & set(sys.modules)
        task.cancel()
        board.stop()
        return out

    assert asyncio.run(go()) == "AT\r\r\nOK\r\n"
    assert hw.machine.WDT.instances[0].timeout == EXPECTED[name]["wdt"]


@pytest.mark.parametrize("name", BOARDS)
def test_ctrl_c_returns_to_the_repl_and_keeps_feeding(hw, tmp_path, monkeypatch, capsys, name):
    glue = load_glue(name)
    boards = []

    class Interrupting(FakeStream):
        interrupt_after_ok = True

    def factory():
        b = make(glue, tmp_path, stream=Interrupting)
        b.uart.host_sends(b"AT\r")
        boards.append(b)
        return b

    main = load_main()
    monkeypatch.setattr(main, "SAFE_FILE", str(tmp_path / "safe"))
    made = main.main(types.SimpleNamespace(safe_pressed=lambda: False, make=factory))
    assert made is not None and made[0] is boards[0]
    assert "modem: stopped (Ctrl-C)" in capsys.readouterr().out
    assert bytes(boards[0].uart.tx) == b"AT\r\r\nOK\r\n"
    wdt = hw.machine.WDT.instances[0]
    timer = hw.machine.Timer.instances[-1]
    assert (timer.id, timer.period, timer.mode) == (EXPECTED[name]["timer"], 1000, 1)
    n = len(wdt.feeds)
    timer.fire()
    timer.fire()
    assert len(wdt.feeds) == n + 2  # the REPL session is safe from the watchdog
    assert boards[0].led.lit is False


def test_start_failure_prints_and_returns(hw, tmp_path, monkeypatch, capsys):
    main = load_main()
    monkeypatch.setattr(main, "SAFE_FILE", str(tmp_path / "safe"))

    def broken():
        raise OSError(19, "ENODEV")

    assert main.main(types.SimpleNamespace(safe_pressed=lambda: False, make=broken)) is None
    out = capsys.readouterr()
    assert "modem: failed to start" in out.out
    assert "ENODEV" in out.err + out.out
    assert hw.machine.WDT.instances == []  # no watchdog: the REPL stays usable


def test_missing_board_file_returns_to_the_repl(hw, tmp_path, monkeypatch, capsys):
    main = load_main()
    monkeypatch.setattr(main, "SAFE_FILE", str(tmp_path / "safe"))
    monkeypatch.setitem(sys.modules, "board", None)  # import board fails, as without board.py
    assert main.main() is None
    assert "modem: failed to start" in capsys.readouterr().out


def test_safe_file_skips_everything(hw, tmp_path, monkeypatch, capsys):
    main = load_main()
    safe = tmp_path / "safe"
    safe.write_text("")
    monkeypatch.setattr(main, "SAFE_FILE", str(safe))
    glue = load_glue("esp32")
    assert main.main(glue) is None
    assert "safe mode (%s exists)" % safe in capsys.readouterr().out
    assert hw.machine.UART.instances == {} and hw.machine.WDT.instances == []


@pytest.mark.parametrize("name", BOARDS)
def test_safe_pin_held_low_skips_everything(hw, tmp_path, monkeypatch, capsys, name):
    main = load_main()
    monkeypatch.setattr(main, "SAFE_FILE", str(tmp_path / "safe"))
    glue = load_glue(name)
    hw.machine.Pin.levels[glue.SAFE_PIN] = 0
    assert main.setup(glue) is None
    assert "safe mode (safe pin held low)" in capsys.readouterr().out
    pin = hw.machine.Pin.pins[glue.SAFE_PIN]
    assert (pin.mode, pin.pull) == (hw.machine.Pin.IN, hw.machine.Pin.PULL_UP)
    assert hw.machine.UART.instances == {}


def test_safe_window_flickers_the_led_then_boots(hw, tmp_path, monkeypatch):
    glue = load_glue("esp32")
    monkeypatch.setattr(glue, "SAFE_WINDOW_MS", 200)
    t0 = time.monotonic()
    assert glue.safe_pressed() is False
    assert time.monotonic() - t0 >= 0.2
    led = hw.machine.Pin.pins[glue.LED]
    assert 1 in led.history and led.history[-1] == 0  # flickered, left off
