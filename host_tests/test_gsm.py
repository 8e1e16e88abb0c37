"""The GSM half: Wavecom and vendor commands, SMS settings and the SMS store, exact bytes
(portable test module: it runs under pytest and under MicroPython, tools/mp_tests.py)."""

from harness import Session, run

OK = b"\r\nOK\r\n"
ERR = b"\r\nERROR\r\n"
PROMPT = b"\r\n> "


def cme(n):
    return b"\r\n#CME ERROR: %d\r\n" % n


def cms(n):
    return b"\r\n+CMS ERROR: %d\r\n" % n


def line(text):
    return b"\r\n" + text + b"\r\n" + OK


def steps(pairs, board=None, echo=False, **kw):
    """Run (input, expected output) pairs through one modem (echo off unless echo=True)."""

    async def go():
        async with Session(board, **kw) as s:
            if not echo:
                assert await s.cmd(b"ATE0\r") == b"ATE0\r" + OK
            for i, (data, want) in enumerate(pairs):
                got = await s.cmd(data)
                assert got == want, "step %d %r: got %r want %r" % (i, data, got, want)
            return s

    return run(go())


# ------------------------------------------------------------------ what GSM hosts send first
def test_gsm_init_sequence_of_an_alarm_panel():
    # The commands SMS alarm panels and trackers send at power-up, each with its answer.
    steps(
        [
            (b"AT+CMEE=1\r", OK),
            (b"AT+KSLEEP=2\r", OK),
            (b"AT+CLIP=1\r", OK),
            (b"AT+CLIR=0\r", OK),
            (b"AT+CRC=1\r", OK),
            (b"AT+CPIN?\r", line(b"+CPIN: READY")),
            (b"AT+CSQ\r", line(b"+CSQ: 23,99")),
            (b"AT+CREG?\r", line(b"+CREG: 0,1")),
            (b"AT+COPS?\r", line(b'+COPS: 0,0,"MTGW Wi-Fi"')),
            (b"AT+CIMI\r", line(b"001014045975621")),
            (b"AT+CCID\r", line(b'+CCID: "89001247257892968125"')),
            (b"AT+CCED=0,1\r", line(b"+CCED: 001,01,1092,93b8,29,43,43,,,0,,,0")),
            (b"AT+CMGF=1\r", OK),
            (b"AT+CSMP=17,167,0,0\r", OK),
            (b"AT+CSCA?\r", line(b'+CSCA: "",129')),
            (b"AT+CNMI=2,2,0,0,0\r", OK),
            (b'AT+CPMS="SM","SM","SM"\r', line(b"+CPMS: 0,10,0,10,0,10")),
            (b"AT+CSAS\r", OK),
            (b"AT#OUTPORT=0\r", OK),
            (b"AT#UDPDLEMODE=1\r", OK),
            (b"ATD+4917012345;\r", b"\r\nNO CARRIER\r\n"),
            (b"AT\r", OK),
        ]
    )


def test_identity_is_stable_and_well_formed():
    s = steps([(b"AT+CIMI\r", line(b"001014045975621"))])
    s2 = steps([(b"AT+CIMI\r", line(b"001014045975621"))])
    assert s is not s2
    # Another board id, other numbers of the same form (ICCID: 20 digits, Luhn-valid).
    steps(
        [
            (b"AT+CIMI\r", line(b"001018130228128")),
            (b"AT+CCID\r", line(b'+CCID: "89001417811692049314"')),
            (b"AT+CGSN\r", line(b"351851176108406")),
        ],
        uid=b"other",
    )
    for number in (b"89001417811692049314", b"89001247257892968125", b"351851176108406"):
        total = 0
        for i, c in enumerate(reversed(number)):
            v = c - 48
            if i % 2:
                v = v * 2 - (9 if v > 4 else 0)
            total += v
        assert total % 10 == 0, number


def test_test_forms_and_bad_values():
    steps(
        [
            (b"AT+KSLEEP=?\r", line(b"+KSLEEP: (0-2)")),
            (b"AT+KSLEEP=3\r", ERR),
            (b"AT+KSLEEP=1,0,10\r", OK),
            (b"AT+KSLEEP?\r", line(b"+KSLEEP: 1")),
            (b"AT+CLIP=?\r", line(b"+CLIP: (0-1)")),
            (b"AT+CLIP=2\r", ERR),
            (b"AT+CLIR=?\r", line(b"+CLIR: (0-2)")),
            (b"AT+CRC=?\r", line(b"+CRC: (0-1)")),
            (b"AT+CFUN=?\r", line(b"+CFUN: (0,1),(0,1)")),
            (b"AT+CFUN=2\r", ERR),
            (b"AT+COPS=?\r", line(b'+COPS: (2,"MTGW Wi-Fi","MTGW","00101"),,(0-4),(0-2)')),
            (b"AT+COPS=3,2\r", OK),
            (b"AT+COPS?\r", line(b'+COPS: 0,2,"00101"')),
            (b'AT+COPS=1,2,"00101"\r', OK),
            (b'AT+COPS=1,2,"20801"\r', ERR),
            (b"AT+CMEE=1\r", OK),
            (b'AT+COPS=1,2,"20801"\r', b"\r\n+CME ERROR: 30\r\n"),
            (b"AT+CCED=3\r", ERR),
            (b"AT+CCED=0,8\r", line(b"+CSQ: 23,99")),
            (b"AT#RESET=?\r", line(b"#RESET: (0-1)")),
            (b"AT#RESET=2\r", cme(34882)),
            (b"AT#OUTPORT=65536\r", cme(34882)),
            (b"AT#UDPDLEMODE=2\r", cme(34882)),
            (b"AT\r", OK),
        ]
    )


def test_call_settings_survive_power_off():
    board = Session().board
    steps(
        [
            (b"AT+CLIP=1\r", OK),
            (b"AT+CLIR=2\r", OK),
            (b"AT+CRC=1\r", OK),
            (b"AT+KSLEEP=0\r", OK),
            (b"AT#OUTPORT=4100\r", OK),
        ],
        board,
    )
    steps(
        [
            (b"AT+CLIP?\r", line(b"+CLIP: 1,2")),
            (b"AT+CLIR?\r", line(b"+CLIR: 2,2")),
            (b"AT+CRC?\r", line(b"+CRC: 1")),
            (b"AT+KSLEEP?\r", line(b"+KSLEEP: 0")),
            (b"AT#OUTPORT?\r", line(b"#OUTPORT: 4100")),
        ],
        board,
    )


# ------------------------------------------------------------------ power
def test_cpof_stops_the_stack_and_cfun_brings_it_back():
    steps(
        [
            (b"AT+CREG=1\r", OK),
            (b"AT+CMEE=1\r", OK),
            (b"AT+CPOF=1\r", OK + b"\r\n+CREG: 0\r\n"),
            (b"AT\r", OK),
            (b"AT+CFUN?\r", line(b"+CFUN: 0")),
            (b"AT+CSQ\r", line(b"+CSQ: 99,99")),
            (b"AT+CREG?\r", line(b"+CREG: 1,0")),
            (b"AT+COPS?\r", line(b"+COPS: 0")),
            (b"AT#VSTATE\r", b'\r\n#STATE: "IDLE"\r\n#NO SERVICE\r\n' + OK),
            (b"AT#CONNECTIONSTART\r", cme(35865)),
            (b"AT+CGATT=1\r", cme(35865)),
            (b"AT+CCED=0,1\r", line(b"+CCED: 0,0,0000,0000,0,0,0,,,0,,,0")),
            (b'AT#SMSMAIL="sms@example.com"\r', OK),
            (b"AT+CMGF=1\r", OK),
            (b'AT+CMGS="+4917012345"\r', PROMPT),
            (b"alarm\x1a", cms(331)),
            # AT+CFUN=1 restarts the stack: the saved profile (echo on) and the reports
            (b"AT+CFUN=1\r", OK + b"\r\n+CREG: 1\r\n"),
            (b"AT+CSQ\r", b"AT+CSQ\r" + line(b"+CSQ: 23,99")),
            (b"ATE0\r", b"ATE0\r" + OK),
            (b"AT+CPOF\r", OK + b"\r\n+CREG: 0\r\n"),
            (b"AT+COPS=0\r", OK + b"\r\n+CREG: 1\r\n"),
            (b"AT+COPS=2\r", OK + b"\r\n+CREG: 0\r\n"),
            (b"AT+CFUN=1,0\r", OK + b"\r\n+CREG: 1\r\n"),
        ]
    )


def _ip():
    return b"\r\n" + Session().board.address().encode() + b"\r\n"


def _restart(cmd):
    s = steps(
        [
            (b"AT+CREG=1\r", OK),
            (b"AT+WIND=8\r", OK),
            (b"AT#SMTPPORT=2525\r", OK),
            (b"AT#CONNECTIONSTART\r", _ip() + b"\r\nOk_Info_GprsActivation\r\n"),
            (b"AT+CMGF=1\r", OK),  # an SMS setting not saved with AT+CSAS: gone after reset
            (b"AT&W\r", OK),  # echo off saved: the restarted modem keeps it
            (cmd + b"\r", OK + b"\r\n+WIND: 4\r\n\r\n+CREG: 1\r\n"),
            (b"AT#VSTATE\r", b'\r\n#STATE: "IDLE"\r\n' + OK),
            (b"AT#SMTPPORT?\r", line(b"#SMTPPORT: 2525")),
            (b"AT+CMGF?\r", line(b"+CMGF: 0")),
            (b"AT\r", OK),
        ]
    )
    assert s.board.resets == 1


def test_cfun_1_1_restarts_the_modem():
    _restart(b"AT+CFUN=1,1")


def test_vendor_reset_restarts_the_modem():
    _restart(b"AT#RESET=0")


# ------------------------------------------------------------------ SMS settings
def test_sms_settings_defaults_and_forms():
    steps(
        [
            (b"AT+CMGF?\r", line(b"+CMGF: 0")),
            (b"AT+CMGF=?\r", line(b"+CMGF: (0-1)")),
            (b"AT+CMGF=2\r", ERR),
            (b"AT+CSMP?\r", line(b"+CSMP: 17,167,0,0")),
            (b"AT+CSMP=17,11\r", OK),
            (b"AT+CSMP?\r", line(b"+CSMP: 17,11,0,0")),
            (b"AT+CSMP=256\r", ERR),
            (b"AT+CNMI?\r", line(b"+CNMI: 0,1,0,0,0")),
            (b"AT+CNMI=?\r", line(b"+CNMI: (0-2),(0-3),(0,2),(0-1),(0-1)")),
            (b"AT+CNMI=2,1\r", OK),
            (b"AT+CNMI?\r", line(b"+CNMI: 2,1,0,0,0")),
            (b"AT+CNMI=2,1,1\r", ERR),
            (b'AT+CSCA="+491710760000",145\r', OK),
            (b"AT+CSCA?\r", line(b'+CSCA: "+491710760000",145')),
            (b'AT+CSCA="0171x"\r', ERR),
            (b"AT+CSDH?\r", line(b"+CSDH: 0")),
            (b"AT+CSCS?\r", line(b'+CSCS: "PCCP437"')),
            (b"AT+CSCS=?\r", line(b'+CSCS: ("GSM","PCCP437","IRA","8859-1","UCS2")')),
            (b'AT+CSCS="UTF-8"\r', ERR),
            (b'AT+CSCS="gsm"\r', OK),
            (b"AT+CSCS?\r", line(b'+CSCS: "GSM"')),
            (b"AT+CSMS?\r", line(b"+CSMS: 0,1,1,1")),
            (b"AT+CSMS=1\r", line(b"+CSMS: 1,1,1")),
            (b"AT+CPMS?\r", line(b'+CPMS: "SM",0,10,"SM",0,10,"SM",0,10')),
            (b"AT+CPMS=?\r", line(b'+CPMS: (("SM","ME","BM","SR"),("SM","ME"),("SM","ME"))')),
            (b'AT+CPMS="ME"\r', line(b"+CPMS: 0,99,0,10,0,10")),
            (b"AT+CPMS?\r", line(b'+CPMS: "ME",0,99,"SM",0,10,"SM",0,10')),
            (b'AT+CPMS="AM"\r', ERR),
            (b"AT+CMEE=1\r", OK),
            (b'AT+CPMS="AM"\r', cms(302)),
            (b'AT+CPMS="SM","SR"\r', cms(302)),
        ]
    )


def test_csas_saves_and_cres_restores_across_power_off():
    board = Session().board
    steps(
        [
            (b"AT+CMGF=1\r", OK),
            (b'AT+CSCA="+491710760000"\r', OK),
            (b"AT+CNMI=2,2,0,0,0\r", OK),
            (b'AT+CPMS="ME"\r', line(b"+CPMS: 0,99,0,10,0,10")),
            (b"AT+CSAS\r", OK),
            (b"AT+CMGF=0\r", OK),
            (b'AT+CSCA=""\r', OK),
            (b"AT+CRES\r", OK),
            (b"AT+CMGF?\r", line(b"+CMGF: 1")),
            (b"AT+CSCA?\r", line(b'+CSCA: "+491710760000",145')),
            (b"AT+CMGF=0\r", OK),  # not saved: power-up brings back the saved 1
        ],
        board,
    )
    steps(
        [
            (b"AT+CMGF?\r", line(b"+CMGF: 1")),
            (b"AT+CNMI?\r", line(b"+CNMI: 2,2,0,0,0")),
            (b"AT+CPMS?\r", line(b'+CPMS: "SM",0,10,"SM",0,10,"SM",0,10')),  # SM at power-up
        ],
        board,
    )


# ------------------------------------------------------------------ AT+CMGS without sending
def test_cmgs_prompt_cancel_and_refusals():
    steps(
        [
            (b"AT+CMGF=1\r", OK),
            (b'AT+CMGS="+4917012345"\r', PROMPT),
            (b"never sent\x1b", OK),  # ESC cancels
            (b'AT+CMGS="+4917012345"\r', PROMPT),
            (b"alarm\x1a", ERR),  # #SMSMAIL empty, and +CMEE=0: plain ERROR (S000293I p10)
            (b"AT+CMEE=1\r", OK),
            (b'AT+CMGS="+4917012345"\r', PROMPT),
            (b"alarm\x1a", cms(331)),
            (b'AT+CMGS="+49 170"\r', cms(305)),
            (b'AT+CMGS="+4917012345",300\r', cms(305)),
            (b"AT+CMGS=\r", cms(305)),
            (b"AT+CMGF=0\r", OK),
            (b"AT+CMGS=6\r", cms(304)),  # shorter than any SMS-SUBMIT
            (b"AT+CMGS=165\r", cms(304)),
            (b"AT+CMGS=x\r", cms(304)),
            (b'AT#SMSMAIL="{number}@sms.example.net"\r', OK),
            (b"AT+CMGS=23\r", PROMPT),
            (b"0011000B916407281553F80000AA0AE8329BFD4697D9EC\x1a", cms(304)),  # one short
            (b"AT+CMGS=23\r", PROMPT),
            (b"0011000B916407281553F80000AA0AE8329BFD4697D9ECZZ\x1a", cms(304)),
            (b"AT\r", OK),
        ]
    )


def test_cmgs_text_mode_lines_and_echo():
    # Echo on: the text is echoed, each CR answered with a new prompt (27.005 3.5.1).
    steps(
        [
            (b"AT+CMEE=1\r", b"AT+CMEE=1\r" + OK),
            (b"AT+CMGF=1\r", b"AT+CMGF=1\r" + OK),
            (b'AT+CMGS="112"\r\n', b'AT+CMGS="112"\r' + PROMPT),
            (b"line 1\rline 2", b"line 1" + PROMPT + b"line 2"),
            (b"\x1a", cms(331)),
        ],
        echo=True,
    )


def test_gsm_charset_refuses_bytes_over_7f():
    # found by tools/fuzz.py: this raised out of the handler (a fault) instead of answering
    steps(
        [
            (b"AT+CMEE=1\r", OK),
            (b"AT+CMGF=1\r", OK),
            (b'AT+CSCS="GSM"\r', OK),
            (b'AT+CMGS="112"\r', PROMPT),
            (b"\x9b\xe2\x1a", cms(305)),
            (b"AT\r", OK),
        ]
    )


def test_smsmail_refuses_what_is_not_one_address():
    steps(
        [
            (b'AT#SMSMAIL="a@b.c, d@e.f"\r', cme(34882)),
            (b'AT#SMSMAIL="<a@b.c>"\r', cme(34882)),
            (b'AT#SMSMAIL="nobody"\r', cme(34882)),
            (b'AT#SMSMAIL="{number}@sms.example.net"\r', OK),
            (b'AT#SMSMAIL=""\r', OK),
        ]
    )


# ------------------------------------------------------------------ the store (for a radio)
def _with_received(pairs, cnmi=(0, 1), mode=0):
    """Two received SMS put in the store as a radio would, then the pairs."""

    async def go():
        from modem import sms

        async with Session() as s:
            assert await s.cmd(b"ATE0\r") == b"ATE0\r" + OK
            assert await s.cmd(b"AT+CNMI=%d,%d\r" % cnmi) == OK
            assert await s.cmd(b"AT+CMGF=%d\r" % mode) == OK
            urc = sms.receive(s.modem, "+4917012345", "Door 3 open", (26, 11, 30, 8, 15, 0, 4))
            urc += sms.receive(s.modem, "0301234", "Grüße €", (26, 11, 30, 9, 0, 5, -8))
            for i, (data, want) in enumerate(pairs):
                if i == 0:
                    assert urc == want, (urc, want)
                    continue
                got = await s.cmd(data)
                assert got == want, "step %d %r: got %r want %r" % (i, data, got, want)

    run(go())


def test_received_sms_listed_read_and_deleted_in_text_mode():
    _with_received(
        [
            (None, ['+CMTI: "SM",1', '+CMTI: "SM",2']),
            (b"AT+CMGF=1\r", OK),
            (
                b'AT+CMGL="ALL"\r',
                b'\r\n+CMGL: 1,"REC UNREAD","+4917012345",\r\nDoor 3 open\r\n'
                b'+CMGL: 2,"REC UNREAD","0301234",\r\nGr\x81\xe1e ?\r\n' + OK,
            ),
            (b'AT+CMGL="REC UNREAD"\r', OK),  # listed: read now
            (b'AT+CSCS="8859-1"\r', OK),
            (
                b"AT+CMGR=2\r",
                b'\r\n+CMGR: "REC READ","0301234","26/11/30,09:00:05-08",\r\nGr\xfc\xdfe ?\r\n'
                + OK,
            ),
            (b'AT+CSCS="UCS2"\r', OK),
            (b"AT+CSDH=1\r", OK),
            (
                b"AT+CMGR=1\r",
                b'\r\n+CMGR: "REC READ","+4917012345","26/11/30,08:15:00+04",'
                b'145,4,0,0,"",129,11\r\n'
                b"0044006F006F0072002000330020006F00700065006E\r\n" + OK,
            ),
            (b"AT+CMGR=3\r", OK),  # an empty location
            (b"AT+CMGR=11\r", ERR),
            (b"AT+CMEE=1\r", OK),
            (b"AT+CMGR=11\r", cms(321)),
            (b"AT+CMGR=0\r", cms(321)),
            (b"AT+CMGD=1\r", OK),
            (b"AT+CMGD=1\r", OK),
            (b"AT+CMGD=1,4\r", OK),
            (b'AT+CMGL="ALL"\r', OK),
        ]
    )


def test_received_sms_in_pdu_mode():
    _with_received(
        [
            (None, ['+CMTI: "SM",1', '+CMTI: "SM",2']),
            (
                b"AT+CMGL=4\r",
                b"\r\n+CMGL: 1,0,,28\r\n00040A9194711032540000621103805100400BC4F75B0E9A81"
                b"DEF0B21B\r\n+CMGL: 2,0,,24\r\n00040781301032F40000621103900050880847B9DF53"
                b"066DCA\r\n" + OK,
            ),
        ]
    )


def test_cnmi_mt_2_passes_sms_on_at_once():
    _with_received(
        [
            (
                None,
                [
                    '+CMT: "+4917012345","26/11/30,08:15:00+04"',
                    b"Door 3 open",
                    '+CMT: "0301234","26/11/30,09:00:05-08"',
                    b"Gr\x81\xe1e ?",
                ],
            ),
        ],
        cnmi=(2, 2),
        mode=1,
    )


class _Clock:
    """A clock the test moves by hand (ticks_ms semantics)."""

    def __init__(self):
        self.t = 0

    def ticks_ms(self):
        return self.t

    def ticks_diff(self, a, b):
        return a - b

    def ticks_add(self, a, d):
        return a + d


def test_cced_automatic_reports_every_5_s():
    import asyncio

    async def go():
        async with Session() as s:
            clock = _Clock()
            s.board.clock = clock
            s.modem.link_poll_s = 0.01
            assert await s.cmd(b"ATE0\r") == b"ATE0\r" + OK
            assert await s.cmd(b"AT+CCED=1,1\r") == OK
            report = b"\r\n+CCED: 001,01,1092,93b8,29,43,43,,,0,,,0\r\n"
            await asyncio.sleep(0.1)
            assert s.port.take() == report  # the first at once
            clock.t += 4999
            await asyncio.sleep(0.1)
            assert s.port.take() == b""
            clock.t += 1
            await asyncio.sleep(0.1)
            assert s.port.take() == report
            assert await s.cmd(b"AT+CCED=2\r") == OK
            clock.t += 10000
            await asyncio.sleep(0.1)
            assert s.port.take() == b""

    run(go())
