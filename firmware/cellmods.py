"""Cellular modules as data: power-key timing, baud, commands and quirks (docs/cellular.md)."""

# One dict per module; cellular.Cellular reads nothing else about the hardware. Times in ms.
#   on_ms / off_ms   PWRKEY held low to switch the module on / off
#   boot_ms          from the end of the power-on pulse until the module may answer AT
#   off_wait_ms      after a power-off pulse until the module is off (a new pulse works)
#   sync_ms          how long "AT" is repeated until an OK before the module counts as dead
#   baud             the UART rate the module starts at (auto-baud modules: the first AT)
#   reg              registration queries, most specific first (LTE: +CEREG, then +CGREG)
#   init             sent once after every power-on, each must answer OK
#   sms_init         sent once the SIM is ready (SMS commands need it)
#   ri_init          sent when the board wires the RI line: the module pulses it on an SMS
#   pdp              the PDP context; {apn} is #APNSERV (27.007 10.1.1)
#   dial             enters PPP data mode ("CONNECT"); PPP does PAP/CHAP with #APNUN/#APNPW
#   attach_ms        AT+CGATT=1 may take this long (27.007 leaves it to the network)
#   sms_ms           AT+CMGS until +CMGS: <mr> (the network's answer)
#   guard_ms         silence before and after "+++" (V.250 S12; data mode -> command mode)
#   cmux             the 27.010 command (documented; not used: docs/cellular.md "CMUX")
#   ccid             the ICCID query and the prefix of its answer ("" = bare digits)
_COMMON = {
    "baud": 115200,
    "off_wait_ms": 2000,
    "sync_ms": 10000,
    "reg": ("+CEREG", "+CGREG"),
    "init": ("ATE0", "AT+CMEE=1", "AT+CEREG=1"),
    "sms_init": ("AT+CMGF=0", "AT+CNMI=2,1,0,0,0"),
    "ri_init": (),  # BG95, SARA-R4: RI pulses on an incoming SMS by default (UNVERIFIED)
    "pdp": 'AT+CGDCONT=1,"IP","{apn}"',
    "dial": "ATD*99***1#",
    "attach_ms": 75000,
    "sms_ms": 60000,
    "guard_ms": 1000,
    "cmux": "AT+CMUX=0,0,5,127",
}


def _module(**own):
    """A module: the common 3GPP behaviour, then what this one does its own way."""
    m = dict(_COMMON)
    m.update(own)
    return m


MODULES = {
    # SIMCom SIM7080G: SIM7080 Series Hardware Design V1.04 (PWRKEY >= 1 s on, >= 1.2 s off;
    # UART ready about 1.8 s after power-on), AT Command Manual V1.02 (+CEREG, +CCID bare).
    # AT+CFGRI=1: RI pulses for URCs (+CMTI) also in data mode (UNVERIFIED on a module).
    "SIM7080G": _module(
        on_ms=1100, off_ms=1300, boot_ms=2500, ccid=("AT+CCID", ""), ri_init=("AT+CFGRI=1",)
    ),
    # Quectel BG95: Hardware Design V1.x (PWRKEY 500-1000 ms on, 650-1500 ms off; 2.5 s boot).
    "BG95": _module(on_ms=700, off_ms=800, boot_ms=3000, ccid=("AT+QCCID", "+QCCID: ")),
    # u-blox SARA-R4: System Integration Manual (PWR_ON 0.15-3.2 s on, >= 1.5 s off; slow boot).
    "SARA-R4": _module(
        on_ms=1000,
        off_ms=1600,
        boot_ms=5000,
        off_wait_ms=5000,
        sync_ms=15000,
        reg=("+CEREG", "+CREG"),
        attach_ms=180000,
        cmux="AT+CMUX=0,0,,1500,50,3,90",
        ccid=("AT+CCID", "+CCID: "),
    ),
}
