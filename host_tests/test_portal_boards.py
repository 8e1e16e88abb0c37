"""The web pages on the ESP32 and Pico W glue (fake machine/network modules, real sockets on
loopback): setup mode and its access point, the scan, the setup button at power-up, the
stored network that cannot be joined, the way back out, status mode (docs/portal.md)."""

import asyncio
import sys
import urllib.parse
import urllib.request

import pytest

from smtp_servers import free_port
import test_boards
from test_boards import BOARDS, PASSWORD, SSID, Host, load_glue, make, until

from modem import portal
from net import HostSocketNet

hw = test_boards.hw  # the fake machine/network fixture


def board_of(name, tmp_path, **kw):
    kw.setdefault("web_poll_ms", 20)
    kw.setdefault("ap_linger_ms", 300)
    b = make(load_glue(name), tmp_path, **kw)
    # mpnet's connections are MicroPython streams: on CPython the pages listen through the
    # host board's listener, on loopback (mpnet's own serves them in test_portal.py).
    host_net = HostSocketNet()
    host_net.bind_host = "127.0.0.1"
    b.link.listen = host_net.listen
    return b


def fetch(port, path, fields=None):
    data = urllib.parse.urlencode(fields).encode() if fields is not None else None
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=data)
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read().decode()


def serving(board, at, body):
    """The real Modem on the board with the web watcher; `at` are AT commands sent first."""
    from modem.modem import Modem

    async def main():
        modem = Modem(board)
        await modem.start()
        task = asyncio.create_task(modem.run(board.port))
        host = Host(board)
        for line in at:
            assert (await host.cmd(line)).endswith("\r\nOK\r\n"), line
        board.start(modem.values)
        board.start_web(modem)
        try:
            return await asyncio.wait_for(body(host, modem), 30)
        finally:
            task.cancel()
            board.stop()

    return asyncio.run(main())


@pytest.mark.parametrize("name", BOARDS)
def test_no_network_opens_access_point_and_scan(hw, tmp_path, name):
    hw.network.world.aps = {SSID: PASSWORD, "neighbour": "x" * 8, "cafe": ""}
    hw.network.world.open_aps = {"cafe"}
    board = board_of(name, tmp_path)
    port = free_port()

    async def body(host, modem):
        await until(lambda: board.web_mode == "setup")
        ap = hw.network.WLAN(hw.network.AP_IF)
        uid = hw.machine.unique_id()
        assert ap.active() and ap.cfg["ssid"] == portal.ap_name(uid) == "mtgw-2A5C28"
        assert ap.cfg["key"] == portal.ap_password(uid) and len(ap.cfg["key"]) == 10
        assert ap.cfg["security"] == hw.network.AUTH_WPA2_PSK
        assert board.ap == ("mtgw-2A5C28", "192.168.4.1")
        page = await asyncio.to_thread(fetch, port, "/setup")
        assert "cafe (-67 dBm, open)" in page and "neighbour (-68 dBm)" in page
        assert hw.network.world.scans == 1
        assert "mtgw-2A5C28 at 192.168.4.1" in await asyncio.to_thread(fetch, port, "/status")
        # the modem answers meanwhile
        assert (await host.cmd("AT+CSQ")).endswith("\r\nOK\r\n")
        # save the network: the board joins it; the access point closes a while later
        fields = {"WIFISSID": SSID, "WIFIPW": PASSWORD}
        page = await asyncio.to_thread(fetch, port, "/save", fields)
        assert 'id="note">Saved.' in page
        await until(lambda: board.link.connected())
        assert ap.active()  # the phone still sees the result for ap_linger_ms
        await until(lambda: board.web_mode is None)
        assert not ap.active() and board.ap is None
        assert "modem.portal" not in sys.modules and "modem.web" not in sys.modules
        assert modem.values["WIFIPW"] == PASSWORD

    serving(board, ["AT#WEBPORT=%d" % port], body)


@pytest.mark.parametrize("name", BOARDS)
def test_setup_button_held_at_power_up(hw, tmp_path, name):
    hw.network.world.aps = {SSID: PASSWORD}
    glue = load_glue(name)
    hw.machine.Pin.levels[glue.SETUP_PIN] = 0  # held
    board = board_of(name, tmp_path)
    port = free_port()

    async def body(host, modem):
        await until(lambda: board.web_mode == "setup")
        await until(lambda: board.link.connected())  # the stored network is joined too
        hw.machine.Pin.levels[glue.SETUP_PIN] = 1  # released: setup mode stays until joined
        assert "Setup" in await asyncio.to_thread(fetch, port, "/setup")
        await until(lambda: board.web_mode is None)

    at = ["AT#WEBPORT=%d" % port, 'AT#WIFISSID="%s"' % SSID, 'AT#WIFIPW="%s"' % PASSWORD]
    serving(board, at, body)


@pytest.mark.parametrize("name", BOARDS)
def test_stored_network_unreachable_for_setupwait(hw, tmp_path, name):
    hw.network.world.aps = {}  # the stored network is gone
    board = board_of(name, tmp_path)
    port = free_port()

    async def body(host, modem):
        await asyncio.sleep(0.5)
        assert board.web_mode is None  # SETUPWAIT=1: not yet
        await until(lambda: board.web_mode == "setup", 5)
        assert board.link.joins >= 1

    at = ["AT#WEBPORT=%d" % port, 'AT#WIFISSID="gone"', "AT#SETUPWAIT=1"]
    serving(board, at, body)


@pytest.mark.parametrize("name", BOARDS)
def test_setupwait_zero_never_and_setuppw(hw, tmp_path, name):
    hw.network.world.aps = {}
    board = board_of(name, tmp_path)
    port = free_port()

    async def body(host, modem):
        await asyncio.sleep(1.5)
        assert board.web_mode is None  # SETUPWAIT=0: never
        hw.machine.Pin.levels[load_glue(name).SETUP_PIN] = 0
        board.stop()
        board.start(modem.values)
        board.start_web(modem)  # power-up with the button held
        await until(lambda: board.web_mode == "setup")
        ap = hw.network.WLAN(hw.network.AP_IF)
        assert ap.cfg["key"] == "label-pw-42"  # SETUPPW set: used instead of the derived one

    at = ["AT#WEBPORT=%d" % port, 'AT#WIFISSID="gone"', "AT#SETUPWAIT=0"]
    serving(board, at + ['AT#SETUPPW="label-pw-42"'], body)


@pytest.mark.parametrize("name", BOARDS)
def test_status_mode_on_the_joined_network(hw, tmp_path, name):
    hw.network.world.aps = {SSID: PASSWORD}
    board = board_of(name, tmp_path)
    port = free_port()

    async def body(host, modem):
        await until(lambda: board.link.connected())
        await asyncio.sleep(0.1)
        assert board.web_mode is None  # off by default
        assert (await host.cmd("AT#WEBSTATUS=1")).endswith("OK\r\n")
        assert (await host.cmd('AT#WEBPW="page-pw"')).endswith("OK\r\n")
        await until(lambda: board.web_mode == "status")
        assert not hw.network.WLAN(hw.network.AP_IF).active()
        req = urllib.request.Request("http://127.0.0.1:%d/status" % port)
        with pytest.raises(urllib.error.HTTPError) as e:
            await asyncio.to_thread(urllib.request.urlopen, req, None, 10)
        assert e.value.code == 401
        assert (await host.cmd("AT#WEBSTATUS=0")).endswith("OK\r\n")
        await until(lambda: board.web_mode is None)

    at = ["AT#WEBPORT=%d" % port, 'AT#WIFISSID="%s"' % SSID, 'AT#WIFIPW="%s"' % PASSWORD]
    serving(board, at, body)
