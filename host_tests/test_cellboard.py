"""T-SIM7080G-S3 glue (boards/t-sim7080g, firmware/mpcell.py) on CPython with fake machine and
network modules: PWRKEY pin, the module's UART, network.PPP, through the real Modem and the
simulated SIM7080G wired to the fake UART."""

import asyncio
import os
import types

import pytest
import test_boards
from test_boards import load_glue, make, ok, running

SCALE = 0.01


@pytest.fixture
def hw(monkeypatch):
    """test_boards' fake machine/network modules (a fresh pair per test)."""
    gen = test_boards.hw.__wrapped__(monkeypatch)
    yield next(gen)
    next(gen, None)


def board_with_module(tmp_path, **knobs):
    import sys

    from simcell import SimModule

    sys.modules.pop("mpcell", None)  # it holds the machine module of the test before

    board = make(
        load_glue("t-sim7080g"), tmp_path, cell_scale=SCALE, sms_dir=str(tmp_path / "sms")
    )
    sim = SimModule(None, SCALE)
    for k in knobs:
        setattr(sim, k, knobs[k])
    return board, sim


async def wire(board, sim, key=41, ri=3):
    """The board's module UART, PWRKEY and RI pins to the simulated module, both ways."""
    import machine

    uart = board.cell_uart
    pin = machine.Pin.pins[key]
    level = pin.value()
    ri = machine.Pin.pins[ri]
    sim.ri = lambda: ri.handler(ri)  # the RI line's falling edge
    sim.start()
    try:
        while True:
            if uart.tx:
                data = bytes(uart.tx)
                uart.tx.clear()
                sim.receive(data)
            if sim.outbuf:
                uart.rx += sim.outbuf
                sim.outbuf = bytearray()
            if pin.value() != level:
                level = pin.value()
                sim.pwrkey(level == 1)  # high at the GPIO presses the key
            await asyncio.sleep(0.001)
    finally:
        sim.stop()


async def host_sms(board, text):
    """The host sends an SMS in text mode over the board's UART (raw bytes: the prompt, the
    text and Ctrl-Z), waiting for the prompt and then the final OK; board.uart.tx keeps what
    the modem answered."""
    board.uart.tx = bytearray()
    board.uart.host_sends(b'AT+CMGS="+4917012345"\r')
    for _ in range(200):
        await asyncio.sleep(0.005)
        if b"> " in board.uart.tx:
            break
    board.uart.host_sends(text + b"\x1a")
    for _ in range(1000):
        await asyncio.sleep(0.005)
        if b"OK" in board.uart.tx:
            break


def test_pins_uart_and_pwrkey(hw, tmp_path):
    board, _ = board_with_module(tmp_path)
    Pin = hw.machine.Pin
    u = hw.machine.UART.instances[1]
    assert board.cell_uart is u
    assert (u.config["tx"], u.config["rx"], u.config["baudrate"]) == (5, 4, 115200)
    assert u.config["timeout"] == 0
    host = hw.machine.UART.instances[2]
    assert (host.config["tx"], host.config["rx"]) == (43, 44)
    key = hw.machine.Pin.pins[41]
    assert key.mode == hw.machine.Pin.OUT and key.value() == 0  # released at boot
    board.press(True)
    board.press(False)
    assert key.history == [1, 0]
    assert board.defaults["NETMODE"] == "AUTO"
    ri = hw.machine.Pin.pins[3]
    assert (ri.mode, ri.pull, ri.trigger) == (Pin.IN, Pin.PULL_UP, Pin.IRQ_FALLING)
    assert board.cell.ri and board.cell.sms_poll_ms == 600000
    ri.handler(ri)
    assert board.cell.rings == 1


def test_connectionstart_brings_ppp_up_over_the_module_uart(hw, tmp_path):
    board, sim = board_with_module(tmp_path)

    async def body(h):
        w = asyncio.create_task(wire(board, sim))
        try:
            for _ in range(500):
                await asyncio.sleep(0.01)
                if board.cell.reg == 1 and board.cell.oper:
                    break
            assert [p[1] for p in sim.presses] == ["on"]  # PWRKEY pulse at power-up
            assert await h.cmd('AT#APNSERV="m2m.example"') == ok('AT#APNSERV="m2m.example"')
            assert await h.cmd('AT#APNUN="mast"') == ok('AT#APNUN="mast"')
            got = await h.cmd("AT#CONNECTIONSTART", timeout=10)
            assert got == "AT#CONNECTIONSTART\r\r\n10.64.1.2\r\n\r\nOk_Info_GprsActivation\r\n"
            ppp = hw.network.PPP.made[0]
            assert ppp.stream is board.cell_uart
            assert ppp.connects == [(hw.network.PPP.SEC_PAP, "mast", False)]
            assert sim.mode == "data" and sim.apn == "m2m.example"
            assert board.cell_uart.handler == ppp.poll
            # An SMS while PPP runs: PPP lets go of the UART, +++, AT+CMGS, ATO, PPP again.
            await h.cmd("AT+CMGF=1")
            await host_sms(board, b"mast 7 on battery")
            assert b"+CMGS: 0" in board.uart.tx
            assert sim.sent == [("+4917012345", "mast 7 on battery")]
            irqs = [e[1] for e in hw.machine.events() if e[0] == "uart.irq" and e[1][0] == 1]
            assert [i[1] for i in irqs] == [True, False, True]
            assert sim.mode == "data" and board.cell_uart.handler == ppp.poll
            # An SMS comes in while PPP runs: RI falls, PPP lets go, +++, read, ATO, PPP.
            assert sim.cfgri == 1
            await h.cmd("AT+CNMI=2,1,0,0,0")
            board.uart.tx = bytearray()
            sim.deliver("+4930111", "status?")
            for _ in range(1000):
                await asyncio.sleep(0.005)
                if b"+CMTI" in board.uart.tx:
                    break
            assert board.uart.tx == b'\r\n+CMTI: "SM",1\r\n' and board.cell.rings == 1
            assert os.listdir(tmp_path / "sms") == ["1.sms"]  # on the board's flash
            for _ in range(1000):  # the +CMTI may leave before the call is resumed
                irqs = [e[1] for e in hw.machine.events() if e[0] == "uart.irq" and e[1][0] == 1]
                if len(irqs) >= 5 and sim.mode == "data":
                    break
                await asyncio.sleep(0.005)
            assert [i[1] for i in irqs] == [True, False, True, False, True]
            assert sim.mode == "data" and len(sim.store) == 1  # deleted after the call
            assert await h.cmd("AT#CONNECTIONSTOP") == ok("AT#CONNECTIONSTOP")
            assert ppp.disconnects == 1 and sim.mode == "cmd"
        finally:
            w.cancel()

    running(board, body)


def test_apn_rejected_answers_49155(hw, tmp_path):
    board, sim = board_with_module(tmp_path, apns=["m2m.example"])

    async def body(h):
        w = asyncio.create_task(wire(board, sim))
        try:
            for _ in range(500):
                await asyncio.sleep(0.01)
                if board.cell.reg == 1:
                    break
            assert await h.cmd("AT#CONNECTIONSTART", timeout=10) == (
                "AT#CONNECTIONSTART\r\r\n#CME ERROR: 49155\r\n"
            )
            assert hw.network.PPP.made == []
        finally:
            w.cancel()

    running(board, body)


def pico_w_with_module(tmp_path):
    """A Pico W wired to a module as docs/cellular.md draws it: the board file's numbers plus
    the module's (UART1 on GP4/GP5, PWRKEY through a transistor on GP6, RI on GP7)."""
    import sys

    sys.modules.pop("mpcell", None)
    import mpcell

    pins = dict(vars(load_glue("rp2040")))
    pins.update(CELL_UART_ID=1, CELL_TX=4, CELL_RX=5, PWRKEY=6, PWRKEY_ACTIVE_HIGH=True, RI=7)
    pins.update(MODEL="SIM7080G")
    kw = {}  # test_boards.make's fakes (clock, host stream, NTP, paths under tmp_path)
    make(types.SimpleNamespace(make=lambda **k: kw.update(k)), tmp_path)
    kw.update(cell_scale=SCALE, sms_dir=str(tmp_path / "sms"))
    return mpcell.make(pins, kw)


def test_pico_w_without_network_ppp_sms_work_ip_answers_49155(hw, tmp_path, monkeypatch):
    from simcell import SimModule

    monkeypatch.delattr(hw.network, "PPP")  # the stock Pico W build
    board = pico_w_with_module(tmp_path)
    sim = SimModule(None, SCALE)
    u = hw.machine.UART.instances[1]
    assert (u.config["tx"], u.config["rx"]) == (4, 5)
    assert hw.machine.Pin.pins[6].mode == hw.machine.Pin.OUT

    async def body(h):
        w = asyncio.create_task(wire(board, sim, key=6, ri=7))
        try:
            for _ in range(500):
                await asyncio.sleep(0.01)
                if board.cell.reg == 1 and board.cell.oper:
                    break
            assert await h.cmd("AT+CSQ") == ok("AT+CSQ", "+CSQ: 20,99")
            assert await h.cmd("AT#CONNECTIONSTART", timeout=10) == (
                "AT#CONNECTIONSTART\r\r\n#CME ERROR: 49155\r\n"
            )
            assert sim.dials == 0 and sim.mode == "cmd"  # not even dialled
            await h.cmd("AT+CMGF=1")
            await host_sms(board, b"no PPP here")
            assert sim.sent == [("+4917012345", "no PPP here")]
        finally:
            w.cancel()

    running(board, body)
