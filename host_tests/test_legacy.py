"""Replays of how legacy host programs drive the modem (docs/hosts.md), through the
simulator's real pseudo terminal: exact bytes, and the mail in the sink."""

import time

import serial  # pyserial (requirements.txt)

from test_sim import sim  # noqa: F401  (fixture)

OK = b"\r\nOK\r\n"


def read_until(p, end, limit_s=20):
    """What the modem writes up to and including `end` (an answer's last bytes). Waits for
    those bytes, however slow the machine, never for a guessed stretch of silence; whatever
    follows them shows in the next read."""
    got = b""
    deadline = time.monotonic() + limit_s
    p.timeout = 0.1
    while not got.endswith(end) and time.monotonic() < deadline:
        got += p.read(p.in_waiting or 1)
    return got


def test_blind_host_with_fixed_delays(sim):  # noqa: F811
    """A host that never reads answers: it sends each line after a fixed delay, ends lines with
    CR LF (one with LF CR), writes lower case, and sends the body blindly after AT#PUTMAIL,
    with bare-LF lines and an end marker split across writes."""
    s = sim()
    script = [
        b"ATE0\r\n",
        b"AT+CMEE=1\r\n",
        b"AT+WOPEN=1\r\n",
        b'at#smtpport="' + s.info["smtp-sink"].split(" ")[0].rsplit(":", 1)[1].encode() + b'"\r\n',
        b'AT#SENDERADDR="panel@example.com"\r\n',
        b'AT#SENDERNAME="Panel 12"\r\n',
        b'at#rec1="ops@example.com"\n\r',
        b'AT#CCREC1=""\r\n',
        b'AT#SUBJ1="ALARM zone 3"\r\n',
        b"at#connectionstart\r\n",
    ]
    with serial.Serial(s.info["serial"], 115200, timeout=1) as p:
        for line in script:
            p.write(line)
            time.sleep(0.05)
        head = read_until(p, b"\r\nOk_Info_GprsActivation\r\n")
        p.write(b"AT#PUTMAIL\r\n")
        time.sleep(0.5)
        p.write(b"Zone 3 open\nDoor 2 closed\n")
        time.sleep(0.3)
        p.write(b"\r\n.")
        time.sleep(0.3)
        p.write(b"\r\n")
        tail = read_until(p, OK)
        p.write(b"AT\r\n")
        last = read_until(p, OK)
    # ATE0's own line is echoed (echo was on when it arrived), then nothing is echoed
    want_head = b"ATE0\r" + OK + OK * 8
    assert head.startswith(want_head), head
    assert head.endswith(b"\r\n\r\nOk_Info_GprsActivation\r\n"), head
    assert tail == b"\r\nOk_Info_WaitingForData\r\n" + OK, tail
    assert last == OK
    line = s.readline(5)
    assert line.startswith("mail: "), line
    eml = open(line[len("mail: ") :], "rb").read()
    assert b"\r\nSubject: ALARM zone 3\r\n" in b"\r\n" + eml
    assert b'\r\nFrom: "Panel 12" <panel@example.com>\r\n' in b"\r\n" + eml
    assert eml.endswith(b"\r\n\r\nZone 3 open\r\nDoor 2 closed\r\n\r\n")


def test_power_up_sequence_hosts_send_first(sim):  # noqa: F811
    """AT+CFUN=1 then +WIND: 4, registration and attach reports, identity, signal, session."""
    from board import local_address
    from modem.basic import imei

    s = sim()
    with serial.Serial(s.info["serial"], 115200, timeout=1) as p:

        def ask(cmd, want):
            p.write(cmd)
            got = read_until(p, want)
            assert got == want, (cmd, got)

        ask(b"ATE0V1\r", b"ATE0V1\r" + OK)
        ask(b"AT+WIND=8\r", OK)
        ask(b"AT+CFUN=1\r", OK + b"\r\n+WIND: 4\r\n")
        ask(b"ATE0\r", b"ATE0\r" + OK)  # the restart brought echo back, as a reset does
        ask(b"AT+CPIN?\r", b"\r\n+CPIN: READY\r\n" + OK)
        ask(b"AT+CREG=1\r", OK)
        ask(b"AT+CGREG=1\r", OK)
        ask(b"AT+CGATT=1\r", OK + b"\r\n+CGREG: 1\r\n")
        ask(b'AT+CGDCONT=1,"IP","internet"\r', OK)
        ask(b"AT+CSQ\r", b"\r\n+CSQ: 23,99\r\n" + OK)
        ask(b"AT+CGSN\r", b"\r\n" + imei(b"host").encode() + b"\r\n" + OK)
        ask(b"AT#VSTATE\r", b'\r\n#STATE: "IDLE"\r\n' + OK)
        ip = local_address().encode()
        ask(b"AT#CONNECTIONSTART\r", b"\r\n" + ip + b"\r\n\r\nOk_Info_GprsActivation\r\n")
        ask(b"AT#CONNECTIONSTART\r", b"\r\n#CME ERROR: 35840\r\n")
        ask(b"AT#VSTATE\r", b'\r\n#STATE: "CONNECTED"\r\n' + OK)
        # a restart: the report modes are remembered and announce the registration again
        ask(
            b"AT+CFUN=1\r",
            OK + b"\r\n+WIND: 4\r\n\r\n+CREG: 1\r\n\r\n+CGREG: 1\r\n",
        )
        ask(b"ATE0\r", b"ATE0\r" + OK)
        ask(b"AT#VSTATE\r", b'\r\n#STATE: "IDLE"\r\n' + OK)  # the restart ended the session
