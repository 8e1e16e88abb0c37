"""The cellular driver (firmware/cellular.py) against the simulated SIM7080G (simcell.py), and
the host's AT view of a board with a module, exact bytes (portable test module: it runs under
pytest and under MicroPython, tools/mp_tests.py)."""

import asyncio
import os

from board import HostBoard
from cellboard import add_cell
from cellat import NO_ANSWER, Lines
from cellsms import split_sms
from cellular import Cellular
from harness import Session
from modem.errors import NetError
from simcell import SimModule

SCALE = 0.01  # every time of the module table and of the simulated module, 1/100
OK = b"\r\nOK\r\n"
_n = [0]


def tmpdir():
    _n[0] += 1
    tag = "%d-%d" % (os.getpid() if hasattr(os, "getpid") else 0, _n[0])
    path = "/tmp/mtgw-cell-%s-%d" % (tag, id(_n) % 100000)
    _rm(path)
    os.mkdir(path)
    return path


def _rm(path):
    try:
        names = os.listdir(path)
    except OSError:
        return
    for n in names:
        p = path + "/" + n
        try:
            os.remove(p)
        except OSError:
            _rm(p)
    os.rmdir(path)


def line(text):
    return b"\r\n" + text + b"\r\n" + OK


def drive(body, state=None, powered=False, **knobs):
    """body(cell, sim) with a started module and driver (keeper not running)."""

    async def go():
        sim = SimModule(state, SCALE, powered=powered)
        for k in knobs:
            setattr(sim, k, knobs[k])
        sim.start()
        cell = Cellular(sim.port(), power=sim.pwrkey, scale=SCALE)
        try:
            return await body(cell, sim)
        finally:
            cell._stop_reader()
            sim.stop()

    return asyncio.run(go())


async def raises(code, aw):
    try:
        await aw
    except NetError as e:
        assert e.code == code, (e.code, e.text)
        return e
    raise AssertionError("no NetError %d" % code)


async def registered(cell):
    for _ in range(200):
        await cell.refresh()
        if cell.reg in (1, 5):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not registered")


# ------------------------------------------------------------------ line assembly
def test_lines_split_prompt_and_cap():
    p = Lines(cap=16)
    assert p.feed(b"AT\r\r\nO") == [b"AT"]
    assert p.feed(b'K\r\n\r\n+CMTI: "SM",3\r\n') == [b"OK", b'+CMTI: "SM",3']
    assert p.feed(b"\r\n> ") == [b">"]
    assert p.feed(b"x" * 20) == [b"x" * 16]
    assert p.feed(b"\r\n") == []


def test_split_sms_parts():
    assert split_sms("short") == [("short", None)]
    parts = split_sms("a" * 200)
    assert [len(t) for t, _ in parts] == [153, 47]
    assert [c for _, c in parts] == [(0, 2, 1), (0, 2, 2)]
    u = split_sms("ж" * 100)  # UCS2: 67 units a part
    assert [len(t) for t, _ in u] == [67, 33]


# ------------------------------------------------------------------ power, sync, SIM
def test_power_on_with_pwrkey_sync_and_identity():
    async def body(cell, sim):
        await cell.start()
        assert [p[1] for p in sim.presses] == ["on"]
        assert cell.alive and cell.sim == "READY" and not sim.echo
        assert (cell.iccid, cell.imsi) == ("89882390000012345674", "001010123456789")
        await registered(cell)
        assert (cell.reg, cell.csq, cell.oper, cell.oper_name) == (1, 20, "00101", "Sim Mobile")
        assert cell.rssi_dbm() == -73

    drive(body)


def test_module_already_on_is_not_pressed():
    async def body(cell, sim):
        await cell.start()
        assert sim.presses == [] and cell.alive

    drive(body, powered=True)


def test_sim_pin_required_then_given():
    async def body(cell, sim):
        await cell.start()
        assert cell.sim == "SIM PIN" and cell.imsi == ""
        await raises(35865, cell.attach("internet", 100))
        await raises(16, cell.enter_pin("0000"))
        await cell.enter_pin("1234")
        assert cell.sim == "READY" and cell.imsi == "001010123456789"

    drive(body, sim="SIM PIN")


def test_no_sim():
    async def body(cell, sim):
        await cell.start()
        assert cell.alive and cell.sim == "NOT INSERTED"
        e = await raises(35865, cell.attach("internet", 100))
        assert "SIM" in e.text

    drive(body, sim="NOT INSERTED")


def test_dead_module_gives_up_within_bounds():
    async def body(cell, sim):
        sim.pwrkey = lambda pressed: None  # the key is not wired, or the module is gone
        cell.power = sim.pwrkey
        await raises(NO_ANSWER, cell.start())
        assert not cell.alive and cell.power_cycles == 1

    drive(body)


def test_hung_module_is_power_cycled_by_the_keeper():
    async def body(cell, sim):
        await cell.start()
        await registered(cell)
        sim.hang = True
        await cell.step()  # one miss: logged
        assert cell.power_cycles == 0
        await cell.step()  # two misses in a row: off, on, started again
        assert cell.power_cycles == 1 and cell.alive and not sim.hang
        assert [p[1] for p in sim.presses] == ["on", "off", "on"]

    drive(body)


def test_radio_off_is_kept_over_a_power_cycle():
    async def body(cell, sim):
        await cell.start()
        await registered(cell)
        await cell.set_radio(False)
        assert sim.cfun == 0 and cell.reg == 0 and cell.oper == ""
        await cell.refresh()
        assert cell.reg == 0 and cell.csq == 99
        sim.hang = True
        await cell.step()
        await cell.step()  # power-cycled: the module boots with its radio on; told off again
        assert cell.power_cycles == 1 and sim.cfun == 0
        await cell.set_radio(True)
        assert sim.cfun == 1
        await registered(cell)

    drive(body)


def test_keeper_switches_the_radio_the_module_missed():
    async def body(cell, sim):
        await cell.start()
        cell.radio = False  # set while the module did not answer (cell.set_radio logged it)
        await cell.step()
        assert sim.cfun == 0 and cell.reg == 0

    drive(body)


# ------------------------------------------------------------------ registration, data
def test_registration_denied_and_no_coverage():
    async def body(cell, sim):
        await cell.start()
        sim.reg_stat = 3
        await asyncio.sleep(0.05)
        e = await raises(35865, cell.attach("internet"))
        assert "denied" in e.text
        sim.reg_stat = 0
        await raises(
            35865, cell.attach("internet", 10000)
        )  # bounded: 10 polls, 10 ms apart at this scale

    drive(body)


def test_apn_rejected_is_activation_failed():
    async def body(cell, sim):
        await cell.start()
        await raises(49155, cell.attach("wrong.apn", 2000))
        assert not cell.data and sim.apn == "wrong.apn"
        await cell.attach("m2m.example")
        assert cell.data and sim.mode == "data"

    drive(body, apns=["m2m.example"])


def test_link_loss_is_seen():
    async def body(cell, sim):
        await cell.start()
        await cell.attach("internet")
        sim.drop()
        for _ in range(100):
            if not cell.data:
                break
            await asyncio.sleep(0.005)
        assert not cell.data and cell.losses == 1
        await cell.refresh()  # command mode again: the module answers
        assert cell.reg == 1

    drive(body)


# ------------------------------------------------------------------ SMS
def test_sms_out_while_data_mode_suspends_and_resumes():
    state = tmpdir()

    async def body(cell, sim):
        await cell.start()
        await cell.attach("internet")
        mr = await cell.send_sms("+491701234567", "Tank 3 low: 12 % ä")
        assert mr == 1 and cell.data and not cell.suspended and sim.mode == "data"
        long = "Ü" + "x" * 180
        await cell.send_sms("+491701234567", long)
        await cell.hangup()
        assert sim.mode == "cmd" and not cell.data

    drive(body, state=state)
    names = sorted(os.listdir(state + "/sms-out"))
    assert names == ["0001.txt", "0002.txt"]
    with open(state + "/sms-out/0001.txt", "rb") as f:
        assert f.read().decode() == "+491701234567\nTank 3 low: 12 % ä"
    with open(state + "/sms-out/0002.txt", "rb") as f:
        assert f.read().decode() == "+491701234567\nÜ" + "x" * 180
    _rm(state)


def test_sms_in_a_call_module_silent_gives_the_uart_back_to_ppp():
    async def body(cell, sim):
        hooks = []
        cell.data_hook = hooks.append
        await cell.start()
        await cell.attach("internet")
        sim.hang = True  # +++ unanswered
        await raises(NO_ANSWER, cell.sms_in_call())
        assert hooks == [True, False, True] and cell.data and not cell.suspended

    drive(body)


def test_sms_read_but_not_stored_is_read_again_after_a_restart():
    async def body(cell, sim):
        await cell.start()
        sim.deliver("+4930111", "before the cut")
        for _ in range(100):
            await asyncio.sleep(0.01)
            await cell.step()
            if cell.inbox:
                break
        assert cell.inbox[0][:2] == ["+4930111", "before the cut"]
        await cell.step()
        assert len(sim.store) == 1  # the core never took it: kept
        # the board restarts (power cut): a new driver finds it in the module again
        cell._stop_reader()
        again = Cellular(sim.port(), power=sim.pwrkey, scale=SCALE)
        try:
            await again.start()
            await again.fetch_sms()
            assert [x[:2] for x in again.inbox] == [["+4930111", "before the cut"]]
        finally:
            again._stop_reader()

    drive(body)


def test_sms_error_from_network():
    async def body(cell, sim):
        await cell.start()
        await registered(cell)
        await raises(500, cell.send_sms("+4917", "x"))

    drive(body, sms_error=500)


def test_sms_in_from_folder_and_stored_before_start():
    state = tmpdir()

    async def body(cell, sim):
        sim.deliver("+4930123", "waiting since boot")
        await cell.start()  # AT+CMGL=4 finds it
        os.mkdir(state + "/sms-in")
        with open(state + "/sms-in/a.tmp", "wb") as f:  # still being written: left alone
            f.write(b"+49")
        with open(state + "/sms-in/one.txt", "wb") as f:
            f.write("+4917099\nStatus?\nzweite Zeile ö\n".encode())
        for _ in range(100):
            await asyncio.sleep(0.01)
            await cell.step()
            if len(cell.inbox) == 2:
                break
        assert [(x[0], x[1]) for x in cell.inbox] == [
            ("+4930123", "waiting since boot"),
            ("+4917099", "Status?\nzweite Zeile ö"),
        ]
        assert len(sim.store) == 2  # read, and kept in the module until the core has them
        for x in cell.inbox:
            cell.done(x[4])
        await cell.step()
        assert sim.store == {}  # now deleted there
        assert os.listdir(state + "/sms-in") == ["a.tmp"]

    drive(body, state=state)
    _rm(state)


# ------------------------------------------------------------------ the host's AT view
def cell_session(state=None, **knobs):
    board = add_cell(HostBoard(state_dir=state, uid=b"host"), scale=SCALE)
    for k in knobs:
        setattr(board.module, k, knobs[k])
    return board


async def started(s, reg=True):
    """board.start() as main.py calls it, then wait until the module is registered (reg) or
    at least answers."""
    s.board.start(s.modem.values)
    for _ in range(500):
        await asyncio.sleep(0.01)
        c = s.board.cell
        if (c.reg in (1, 5) and c.oper) or (not reg and c.alive and c.sim):
            return
    raise AssertionError("module not registered")


def host(body, board):
    async def go():
        async with Session(board) as s:
            assert await s.cmd(b"ATE0\r") == b"ATE0\r" + OK
            try:
                await body(s)
            finally:
                board.stop()
                board.cell._stop_reader()

    asyncio.run(go())


async def until_out(s, want, timeout=5):
    got = b""
    for _ in range(int(timeout * 100)):
        got += s.port.take()
        if want in got:
            return got
        await asyncio.sleep(0.01)
    raise AssertionError("%r not in %r" % (want, got))


async def registered_again(s, got):
    """What a command that turned the radio on answered (got) and what followed until the
    module registered, without the +CREG: 2 of its search (15 ms here): the link watch
    reports it when it looks during the search, which depends on timing."""
    if b"+CREG: 1" not in got:
        got += await until_out(s, b"\r\n+CREG: 1\r\n")
    return got.replace(b"\r\n+CREG: 2\r\n", b"")


def test_gsm_answers_come_from_the_module():
    async def body(s):
        await started(s, reg=False)
        assert await s.cmd(b"AT+CMEE=1\r") == OK
        assert await s.cmd(b"AT+CPIN?\r") == line(b"+CPIN: SIM PIN")
        assert await s.cmd(b"AT+CIMI\r") == b"\r\n+CME ERROR: 11\r\n"
        assert await s.cmd(b'AT+CPIN="1111"\r') == b"\r\n+CME ERROR: 16\r\n"
        assert await s.cmd(b'AT+CPIN="1234"\r') == OK
        assert await s.cmd(b"AT+CPIN?\r") == line(b"+CPIN: READY")
        assert await s.cmd(b"AT+CIMI\r") == line(b"001010123456789")
        assert await s.cmd(b"AT+CCID\r") == line(b'+CCID: "89882390000012345674"')
        for _ in range(300):
            await asyncio.sleep(0.01)
            if s.board.cell.oper:
                break
        assert await s.cmd(b"AT+CSQ\r") == line(b"+CSQ: 20,99")
        assert await s.cmd(b"AT+CREG?\r") == line(b"+CREG: 0,1")
        assert await s.cmd(b"AT+CGREG?\r") == line(b"+CGREG: 0,1")
        assert await s.cmd(b"AT+COPS?\r") == line(b'+COPS: 0,0,"Sim Mobile"')
        assert await s.cmd(b"AT+COPS=3,2\r") == OK
        assert await s.cmd(b"AT+COPS?\r") == line(b'+COPS: 0,2,"00101"')
        got = await s.cmd(b"AT+COPS=?\r")
        assert got == line(b'+COPS: (2,"Sim Mobile","Sim Mobile","00101"),,(0-4),(0-2)')
        assert await s.cmd(b'AT+COPS=1,0,"Sim Mobile"\r') == OK  # the network it is on
        assert await s.cmd(b'AT+COPS=1,0,"MTGW Wi-Fi"\r') == b"\r\n+CME ERROR: 30\r\n"

    host(body, cell_session(sim="SIM PIN"))


def test_creg_reports_follow_the_network():
    async def body(s):
        await started(s)
        assert await s.cmd(b"AT+CREG=1\r") == OK
        s.modem.link_poll_s = 0.02
        s.board.module.set_reg(5)  # roaming
        await until_out(s, b"\r\n+CREG: 5\r\n")
        s.board.module.set_reg(2)
        await until_out(s, b"\r\n+CREG: 2\r\n")
        s.board.module.set_reg(None)
        await until_out(s, b"\r\n+CREG: 1\r\n")

    host(body, cell_session())


def test_connectionstart_over_the_module_and_refusals():
    async def body(s):
        await started(s)
        assert await s.cmd(b'AT#APNSERV="bad.apn"\r') == OK
        assert await s.cmd(b"AT#CONNECTIONSTART\r") == b"\r\n#CME ERROR: 49155\r\n"
        assert await s.cmd(b'AT#APNSERV="m2m.example"\r') == OK
        got = await s.cmd(b"AT#CONNECTIONSTART\r")
        assert got.endswith(b"\r\n\r\nOk_Info_GprsActivation\r\n"), got
        assert s.board.link.via == "cell" and s.board.module.mode == "data"
        assert await s.cmd(b"AT+CSQ\r") == line(b"+CSQ: 20,99")  # from the last poll
        assert await s.cmd(b"AT#CONNECTIONSTOP\r") == OK
        assert s.board.module.mode == "cmd"
        s.board.module.set_reg(3)
        await asyncio.sleep(0.1)
        assert await s.cmd(b"AT#CONNECTIONSTART\r") == b"\r\n#CME ERROR: 35865\r\n"

    host(body, cell_session(apns=["m2m.example"]))


def test_cfun_and_cpof_switch_the_module_radio():
    async def body(s):
        await started(s)
        m = s.board.module
        s.modem.link_poll_s = 0.02
        assert await s.cmd(b"AT+CREG=1\r") == OK
        await until_out(s, b"\r\n+CREG: 1\r\n")  # the link watch's next round
        assert (await s.cmd(b"AT#CONNECTIONSTART\r")).endswith(b"Ok_Info_GprsActivation\r\n")
        assert m.mode == "data"
        # PPP down first, then the radio: AT+CFUN=0 on the module
        assert await s.cmd(b"AT+CFUN=0\r") == OK + b"\r\n+CREG: 0\r\n"
        assert m.mode == "cmd" and m.cfun == 0 and s.board.link.via is None
        assert await s.cmd(b"AT+CREG?\r") == line(b"+CREG: 1,0")
        await asyncio.sleep(0.2)  # the keeper polls: still off
        assert s.port.take() == b"" and m.cfun == 0
        got = await s.cmd(b"AT+CFUN=1\r")
        assert m.cfun == 1
        assert await registered_again(s, got) == OK + b"\r\n+CREG: 1\r\n"
        assert await s.cmd(b"ATE0\r") == b"ATE0\r" + OK  # the saved profile came back
        assert await s.cmd(b"AT+CPOF\r") == OK + b"\r\n+CREG: 0\r\n"
        assert m.cfun == 0
        got = await s.cmd(b"AT+COPS=0\r")
        assert m.cfun == 1
        assert await registered_again(s, got) == OK + b"\r\n+CREG: 1\r\n"
        assert await s.cmd(b"AT+COPS=2\r") == OK + b"\r\n+CREG: 0\r\n"
        assert m.cfun == 0
        got = await s.cmd(b"AT+CFUN=1,1\r")  # the modem restarts: the radio on again
        assert got.startswith(OK), got
        await until_out(s, b"\r\n+CREG: 1\r\n")
        assert m.cfun == 1 and s.board.resets == 1

    host(body, cell_session())


def test_sms_both_ways_through_the_folders():
    state = tmpdir()

    async def body(s):
        await started(s)
        for c in (b"AT+CMEE=1", b"AT+CMGF=1", b"AT+CNMI=2,1,0,0,0"):
            assert await s.cmd(c + b"\r") == OK
        assert await s.cmd(b'AT+CMGS="+491701234567"\r') == b"\r\n> "
        s.port.send(b"Pump 2 failed\x1a")
        await until_out(s, b"\r\n+CMGS: 0\r\n\r\nOK\r\n")
        with open(state + "/sms-out/0001.txt", "rb") as f:
            assert f.read() == b"+491701234567\nPump 2 failed"
        os.mkdir(state + "/sms-in")
        with open(state + "/sms-in/reply.txt", "wb") as f:
            f.write(b"+491701234567\nRESET\n")
        s.modem.link_poll_s = 0.02
        await until_out(s, b'\r\n+CMTI: "SM",1\r\n')
        got = await s.cmd(b"AT+CMGR=1\r")
        assert got.startswith(b'\r\n+CMGR: "REC UNREAD","+491701234567","'), got
        assert got.endswith(b'",\r\nRESET\r\n' + OK), got

    host(body, cell_session(state=state))
    _rm(state)


def test_received_sms_survive_a_power_cycle():
    state = tmpdir()

    async def first(s):
        await started(s)
        for c in (b"AT+CMGF=1", b"AT+CNMI=2,1,0,0,0"):
            assert await s.cmd(c + b"\r") == OK
        s.modem.link_poll_s = 0.02
        s.board.module.deliver("+4930111", "one")
        await until_out(s, b'\r\n+CMTI: "SM",1\r\n')
        s.board.module.deliver("+4930222", "two")
        await until_out(s, b'\r\n+CMTI: "SM",2\r\n')
        assert (await s.cmd(b"AT+CMGR=1\r")).endswith(b"\r\none\r\n" + OK)
        assert s.modem.sms["box"] == {}  # nothing of them kept in RAM
        assert sorted(os.listdir(state + "/sms")) == ["1.sms", "2.sms"]

    async def second(s):
        assert await s.cmd(b"AT+CMGF=1\r") == OK
        got = await s.cmd(b'AT+CMGL="ALL"\r')
        assert got == (
            b'\r\n+CMGL: 1,"REC READ","+4930111",\r\none'
            b'\r\n+CMGL: 2,"REC UNREAD","+4930222",\r\ntwo\r\n' + OK
        ), got
        assert await s.cmd(b'AT+CPMS="SM"\r') == line(b"+CPMS: 2,10,2,10,2,10")
        assert await s.cmd(b"AT+CMGD=1\r") == OK
        with open(state + "/sms/2.sms") as f:  # listed: REC READ on flash too
            assert f.read()[:2] == "[1"

    async def third(s):
        # a power cut between writing 3.sms.new and its rename (FAT): the new file counts
        with open(state + "/sms/3.sms.new", "w") as f:
            f.write('[0, "+4930333", 145, [26, 1, 2, 3, 4, 5, 0], "three", null]')
        with open(state + "/sms/4.sms.new", "w") as f:
            f.write('[0, "+49303')  # torn before the rename: nothing
        assert await s.cmd(b"AT+CMGF=1\r") == OK
        got = await s.cmd(b'AT+CMGL="REC UNREAD"\r')
        assert got == b'\r\n+CMGL: 3,"REC UNREAD","+4930333",\r\nthree\r\n' + OK, got
        assert await s.cmd(b"AT+CMGD=1,4\r") == OK
        assert os.listdir(state + "/sms") == []

    host(first, cell_session(state=state))
    host(second, cell_session(state=state))
    host(third, cell_session(state=state))
    _rm(state)


def test_sms_in_with_the_store_full_waits_in_the_module():
    async def body(s):
        await started(s)
        assert await s.cmd(b"AT+CNMI=2,1,0,0,0\r") == OK
        s.modem.link_poll_s = 0.02
        m = s.board.module
        for i in range(1, 11):  # SM holds 10
            m.deliver("+4930111", "n%d" % i)
            await until_out(s, b'\r\n+CMTI: "SM",%d\r\n' % i)
        m.deliver("+4930111", "eleventh")
        for _ in range(2000):  # the ten stored ones deleted in the module, the eleventh read
            await asyncio.sleep(0.01)
            if len(m.store) == 1 and s.board.cell._held and s.board.cell.inbox:
                break
        assert len(m.store) == 1 and s.board.cell.inbox  # kept by the module, not stored
        await asyncio.sleep(0.1)
        assert s.port.take() == b""
        assert await s.cmd(b"AT+CMGD=4\r") == OK
        await until_out(s, b'\r\n+CMTI: "SM",4\r\n')
        assert await s.cmd(b"AT+CMGF=1\r") == OK
        assert (await s.cmd(b"AT+CMGR=4\r")).endswith(b"\r\neleventh\r\n" + OK)

    host(body, cell_session())


def test_long_sms_in_joined_for_cmt_in_text_mode():
    text = "Alarm " + "0123456789" * 20  # 206 characters: two parts
    want = b"\r\n" + text.encode() + b"\r\n"

    async def body(s):
        await started(s)
        for c in (b"AT+CMGF=1", b"AT+CNMI=2,2,0,0,0"):
            assert await s.cmd(c + b"\r") == OK
        s.modem.link_poll_s = 0.02
        s.board.module.deliver("+4930111", text)
        got = await until_out(s, want)
        assert got.startswith(b'\r\n+CMT: "+4930111","') and got.count(b"+CMT:") == 1, got
        # PDU mode: an SMS-DELIVER holds one part: one +CMT each, with its UDH (ref 7, 2, seq)
        assert await s.cmd(b"AT+CMGF=0\r") == OK
        s.board.module.deliver("+4930111", text)
        got = await until_out(s, b"050003070201")
        if b"050003070202" not in got:
            got += await until_out(s, b"050003070202")
        assert got.count(b"+CMT: ,") == 2 and b"050003070201" in got and b"050003070202" in got
        assert s.modem.sms["box"] == {}  # +CMT: not stored

    host(body, cell_session())


def test_long_sms_in_stored_part_by_part():
    async def body(s):
        await started(s)
        assert await s.cmd(b"AT+CNMI=2,1,0,0,0\r") == OK
        s.modem.link_poll_s = 0.02
        s.board.module.deliver("+4930111", "x" * 200)
        await until_out(s, b'\r\n+CMTI: "SM",1\r\n\r\n+CMTI: "SM",2\r\n')
        got = await s.cmd(b"AT+CMGR=2\r")  # PDU mode: the part with its UDH
        assert got.startswith(b"\r\n+CMGR: 0,,") and b"050003070202" in got, got
        assert await s.cmd(b"AT+CMGF=1\r") == OK
        got = await s.cmd(b"AT+CMGR=2\r")  # text mode: the part's text (47 characters)
        assert got.endswith(b'",\r\n' + b"x" * 47 + b"\r\n" + OK), got

    host(body, cell_session())


def test_part_of_a_long_sms_goes_alone_after_its_wait():
    from modem import cell

    async def body(s):
        assert await s.cmd(b"AT+CMGF=1\r") == OK
        assert await s.cmd(b"AT+CNMI=2,2,0,0,0\r") == OK
        c = s.board.clock
        now = c.ticks_ms()
        inbox = s.board.cell.inbox
        scts = (26, 1, 2, 3, 4, 5, 0)
        inbox.append(["+4930111", "second ", scts, (9, 3, 2), 4, None])
        inbox.append(["+4930222", "other", scts, None, 5, None])
        cell.deliver(s.modem)  # part 2 of 3 waits; the other SMS passes it
        n = len(s.modem.out)
        assert len(inbox) == 1 and n
        inbox[0][5] = c.ticks_add(now, -59000)
        cell.deliver(s.modem)
        assert len(inbox) == 1 and len(s.modem.out) == n
        inbox[0][5] = c.ticks_add(now, -60000)  # waited long enough: it goes alone
        cell.deliver(s.modem)
        await s.modem.flush()
        assert inbox == []
        assert s.port.take() == b'\r\n+CMT: "+4930222","26/01/02,03:04:05+00"\r\nother\r\n' + (
            b'\r\n+CMT: "+4930111","26/01/02,03:04:05+00"\r\nsecond \r\n'
        )

    host(body, cell_session())


def test_netmode_is_stored_and_shown():
    async def body(s):
        assert await s.cmd(b"AT#NETMODE?\r") == line(b'#NETMODE: "AUTO"')
        assert await s.cmd(b'AT#NETMODE="CELL"\r') == OK
        assert await s.cmd(b"AT#NETMODE?\r") == line(b'#NETMODE: "CELL"')
        assert b'#NETMODE: "CELL"' in await s.cmd(b"AT#VALL\r")
        assert await s.cmd(b'AT#NETMODE="LORA"\r') == b"\r\n#CME ERROR: 34882\r\n"

    host(body, cell_session())


def test_netmode_wifi_first_falls_back_to_the_module():
    async def body(s):
        await started(s)
        s.board.network = False  # no Wi-Fi
        assert await s.cmd(b'AT#WIFISSID="yard"\r') == OK
        got = await s.cmd(b"AT#CONNECTIONSTART\r")
        assert got.endswith(b"Ok_Info_GprsActivation\r\n") and s.board.link.via == "cell"
        assert await s.cmd(b"AT#CONNECTIONSTOP\r") == OK
        s.board.network = True
        await s.cmd(b"AT#CONNECTIONSTART\r")
        assert s.board.link.via == "wifi" and s.board.module.mode == "cmd"
        assert await s.cmd(b"AT#CONNECTIONSTOP\r") == OK
        assert await s.cmd(b'AT#NETMODE="WIFI"\r') == OK
        s.board.network = False
        assert await s.cmd(b"AT#CONNECTIONSTART\r") == b"\r\n#CME ERROR: 35865\r\n"

    host(body, cell_session())


def test_dropped_call_is_dialled_again():
    async def body(s):
        await started(s)
        assert (await s.cmd(b"AT#CONNECTIONSTART\r")).endswith(b"Ok_Info_GprsActivation\r\n")
        m = s.board.module
        m.drop()
        for _ in range(300):
            await asyncio.sleep(0.01)
            if s.board.link.redials:
                break
        assert s.board.link.redials == 1 and m.mode == "data" and m.dials == 2
        assert s.board.cell.losses == 1

    host(body, cell_session())


def test_sms_during_a_session_is_fetched_at_the_ring():
    async def body(s):
        await started(s)
        for c in (b"AT+CMGF=1", b"AT+CNMI=2,1,0,0,0"):
            assert await s.cmd(c + b"\r") == OK
        assert (await s.cmd(b"AT#CONNECTIONSTART\r")).endswith(b"Ok_Info_GprsActivation\r\n")
        m = s.board.module
        assert m.cfgri == 1  # the driver asked for RI pulses
        s.modem.link_poll_s = 0.02
        m.deliver("+4930111", "ping")  # held by the module in data mode, RI pulses
        await until_out(s, b'\r\n+CMTI: "SM",1\r\n')
        c = s.board.cell
        assert c.rings == 1 and m.mode == "data" and c.data
        assert s.board.link.via == "cell"  # the session stayed up (+++, ATO)
        assert (await s.cmd(b"AT+CMGR=1\r")).endswith(b"\r\nping\r\n" + OK)
        # on flash now; the module deletes its copy at the next round in command mode
        assert len(m.store) == 1
        assert await s.cmd(b"AT#CONNECTIONSTOP\r") == OK
        for _ in range(100):
            await asyncio.sleep(0.01)
            if not m.store:
                break
        assert m.store == {}

    host(body, cell_session())


def test_sms_during_a_session_without_ri_is_polled():
    async def body(s):
        await started(s)
        c = s.board.cell
        s.board.module.ri = None  # no RI line wired
        c.sms_poll_ms = 10**9  # not due during this test
        assert await s.cmd(b"AT+CNMI=2,1,0,0,0\r") == OK
        assert (await s.cmd(b"AT#CONNECTIONSTART\r")).endswith(b"Ok_Info_GprsActivation\r\n")
        s.modem.link_poll_s = 0.02
        s.board.module.deliver("+4930111", "ping")
        await asyncio.sleep(0.2)
        assert s.board.module.held and not c.inbox  # no ring, no poll: the module keeps it
        c.sms_poll_ms = 20000  # 0.2 s at this scale
        await until_out(s, b'\r\n+CMTI: "SM",1\r\n')
        assert c.rings == 0 and s.board.module.mode == "data"
        c.sms_poll_ms = 0  # never: the SMS waits for the end of the call
        s.board.module.deliver("+4930111", "pong")
        await asyncio.sleep(0.5)
        assert s.port.take() == b"" and s.board.module.held
        assert await s.cmd(b"AT#CONNECTIONSTOP\r") == OK
        await until_out(s, b'\r\n+CMTI: "SM",2\r\n')

    host(body, cell_session())
