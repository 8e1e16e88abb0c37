"""SMS PDU codec: published vectors, every DCS/VPF/address form, malformed PDUs, a fuzz loop.

Portable test module: it runs under pytest and under MicroPython (tools/mp_tests.py).
Vectors name the public document they were printed in; hand-assembled ones follow the
3GPP TS 23.040 / 23.038 field layout byte by byte and say so.
"""

from modem import smspdu
from modem.smspdu import DATA8, GSM7, UCS2, PDUError
from test_mailbody import Rand

# ---------------------------------------------------------------- published vectors

# SMS-SUBMIT "hellohello" to +46708251358, VP relative AA (4 days): the classic example of
# "SMS and the PDU format" (dreamfabric.com; mirrored by many SMS tutorials).
HELLO = "0011000B916407281553F80000AA0AE8329BFD4697D9EC37"
# Nordic Semiconductor nRF91 AT command reference, +CMGS example (SMSC +448888888). The
# document's prose says "Testing a SMS messaging over LTE"; the hex holds lower case.
NORDIC = (
    "069144888888F811000C9153481032547600000B20D4F29C9E769F4161"
    "D0BC3D07B5CBF379F89C769F416F7B590E62D3CB"
)
# Wavecom WMO1 GSM modem user guide, AT+CMGS=14 example: a TPDU without the SMSC part.
WAVECOM = "01F60691214365000004C9E9340B"
# Neoway N11 AT command manual: UCS2 "hello" to 13421839693 (national), with and without SMSC.
NEOWAY = "0891683108705505F001000B813124819396F300080A00680065006C006C006F"
NEOWAY0 = "0001000B813124819396F300080A00680065006C006C006F"
# "SMS PDU mode, data format and length calculation" (9cbs.com): 7-bit "hello" and a class 2
# 8-bit "hello" (DCS F6) with SMSC +491710760000, both AT+CMGS=17.
HELLO7 = "0011000781214356F70000AA05E8329BFD06"
HELLO8 = "079194710167000011000781214365F700F6AA0568656C6C6F"
# Visual Studio Magazine 2004-09 "Getting started" Table 2: PID 0x20, MR E5, VP AD.
VSM = "0691566948959911E50A9156692904562000AD0CC939E8FA7693CB72739D0D"

# SMS-DELIVER "Hello, world!" from +79642161111, time zone +32 quarter hours: the example of
# the node-pdu README; the vectors below marked node-pdu are from its published parser tests.
NP = "07919730071111F1000B919746121611F1"  # SMSC part, first octet 00, TP-OA
NP_UDH = "07919730071111F1400B919746121611F1"  # the same with TP-UDHI
DELIVER_HW = NP + "0000811170021222230DC8329BFD6681EE6F399B1C02"
DELIVER_NEG_TZ = NP + "00008111700212222B0DC8329BFD6681EE6F399B1C02"  # -32 quarter hours
DELIVER_EXT1 = NP + "0000811170021222230A1B5E583C2697CD1B1F"  # "[abcdef]", 10 septets
DELIVER_EXT2 = NP + "000081117002122223081B14BD3CA76F52"  # "{test}", 8 septets
DELIVER_FLASH = NP + "0010811170021222231054747A0E4ACF416190991D9EA343"  # DCS 10: class 0
DELIVER_RU = NP + "00088111800212222318041F04400438043204350442002C0020043C043804400021"
DELIVER_C16 = NP_UDH + "0000811170021222230E06080412340201C8329BFD6601"  # 1234 2/1 "Hello,"
DELIVER_C8 = NP_UDH + "0000100161916223230D0500032E020190E175DD1D06"  # 2E 2/1 "Hakuna"
DELIVER_EMS = NP_UDH + (  # EMS text formatting IEs (0A), no concatenation
    "00008111701222322342140A030004100A030606200A030E09400A031C0D80C2379BCC0225E961767ACC025"
    "5DDE4B29C9D76974161371934A5CBD3EB321D2D7FD7CF6817"
)
DELIVER_TELFORT = (
    "07911326060032F0000DD0D432DBFC96D30100001121313121114012D7327BFC6E9741F437885A669BDF723A"
)
SUBMIT_999 = "000100039199F9000005C8329BFD06"  # node-pdu: "Hello" to +999
# dreamfabric "SMS and the PDU format": SMS-DELIVER "hellohello", sender type C8.
DELIVER_DF = "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37"
# Nokia developer forum thread "how to send UCS character": UCS2 DELIVER of two Arabic letters.
DELIVER_UCS2 = "07910201956905F0040B910201014160F3000820219130521580040628062A"
# diafaan.com sample quoted in futomi/node-sms-pdu issue 1: alphanumeric sender "diafaan".
DELIVER_ALNUM = "0791448720003023240DD0E474D81C0EBB010000111011315214000BE474D81C0EBB5DE3771B"
# asterisk-chan-dongle (bg111) issue 91: alphanumeric sender "HOSTER.RU" (16 semi-octets).
DELIVER_HOSTER = (
    "07919720990610F00410D0C8E7945A94BAA4550000218051710140235550E953C82C3641C51828ED"
    "A697E5E6F0B83C0705E7F4B23C3D5FB784E5323BED2E83623057CC1573D1404369929A1C0699A06B"
    "990C0AD6CFA0580D149BE960395D0D066A4E9720192C2603"
)
# python-gsmmodem issue 17: 7-bit DELIVER with UDH 050003C30101 (one fill bit).
DELIVER_UDH = (
    "0591721891F1400781721881F800003160526104848059050003C30101916536FB1DCABEEB2074D85E06"
    "4941B19CAB060319A5C522289C96D3D3ED32286C0FA7D96131BBEC024941B19CAB0603DDD36C36A88C87"
    "A7E565D0DB0D82C55EB0DB4B068BCD5C20"
)
# asterisk-chan-dongle (wdoekes) issue 13: parts 1 and 3 of a 3-part 7-bit message of "1"s.
DELIVER_P1 = "07913306000000F0440B913306000000F0000061011022113380A0050003CB0301" + (
    "62B1582C168BC5" * 19 + "62"
)
DELIVER_P3 = (
    "07913306000000F0640B913306000000F00000610110221153803105000"
    "3CB030362B1582C168BC562B1582C168BC562B1582C168BC562B1582C168BC562B1582C168BC56231"
)
# xlab/at pull request 14: UCS2 with a 16-bit reference concatenation IE (0804 0A32 03 03),
# and UCS2 from the alphanumeric sender "Zolotoy585" (18 semi-octets).
DELIVER_16 = (
    "07919731899699F3440B919781455534F20008811151906461215B0608040A32030304380442044C0020"
    "043F0435044004350432043E043400200441043E002004410447043504420430002004320430044804"
    "350433043E0020043D043E043C0435044004300020002A003100310035002A00310023"
)
DELIVER_ZOL = (
    "07919731899699F32412D0DA37FB4D7FE76BB81A0008811141901161218A04230020042204150411042F"
    "00200031003300340039003904310021041C0415041D042F04190020043D043000200417041E041B04"
    "1E0422041E00200434043E002000350030002500210421043A04380434043A043800200434043E0020"
    "0037003000250021000A003500380035007A006F006C006F0074006F0079002E00720075002F006E00760031"
)

SUBMITS = (HELLO, NORDIC, WAVECOM, NEOWAY, NEOWAY0, HELLO7, HELLO8, VSM, SUBMIT_999)
DELIVERS = (
    DELIVER_HW,
    DELIVER_NEG_TZ,
    DELIVER_EXT1,
    DELIVER_EXT2,
    DELIVER_FLASH,
    DELIVER_RU,
    DELIVER_C16,
    DELIVER_C8,
    DELIVER_EMS,
    DELIVER_TELFORT,
    DELIVER_DF,
    DELIVER_UCS2,
    DELIVER_ALNUM,
    DELIVER_HOSTER,
    DELIVER_UDH,
    DELIVER_P1,
    DELIVER_P3,
    DELIVER_16,
    DELIVER_ZOL,
)


def tpdu_len(hexpdu):
    """AT+CMGS=<length>: the octets after the SMSC part."""
    return len(hexpdu) // 2 - 1 - int(hexpdu[:2], 16)


def raises(fn, *args):
    try:
        fn(*args)
    except PDUError:
        return True
    return False


def submit(body, smsc="00"):
    """decode_submit of a hand-assembled TPDU (hex) behind an SMSC part."""
    return smspdu.decode_submit(smsc + body, len(body) // 2)


# ---------------------------------------------------------------- alphabet

# 23.038 6.2.1 as printed in the Multi-Tech S000371B / Siemens TC35 AT manuals.
SPOT = {
    0x00: "@",
    0x01: "£",
    0x02: "$",
    0x03: "¥",
    0x09: "Ç",
    0x0A: "\n",
    0x0D: "\r",
    0x10: "Δ",
    0x11: "_",
    0x1A: "Ξ",
    0x1C: "Æ",
    0x1F: "É",
    0x20: " ",
    0x24: "¤",
    0x40: "¡",
    0x5B: "Ä",
    0x5F: "§",
    0x60: "¿",
    0x7B: "ä",
    0x7F: "à",
}
# 23.038 6.2.1.1 extension table (after ESC 0x1B).
EXT = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}


def test_default_alphabet_spot_codes():
    for code, ch in SPOT.items():
        assert smspdu.gsm_to_text(bytes((code,))) == ch, code
        assert smspdu.text_to_gsm(ch) == bytes((code,)), code
    assert smspdu.gsm_to_text(b"AZaz09") == "AZaz09"


def test_default_alphabet_round_trip_every_code():
    codes = bytes([c for c in range(128) if c != 0x1B])
    text = smspdu.gsm_to_text(codes)
    assert len(text) == 127
    assert smspdu.text_to_gsm(text) == codes


def test_extension_table_both_ways():
    for code, ch in EXT.items():
        assert smspdu.text_to_gsm(ch) == bytes((0x1B, code)), ch
        assert smspdu.gsm_to_text(bytes((0x1B, code))) == ch, code
    s = smspdu.text_to_gsm("€[]{}~\\^|")
    assert len(s) == 18
    assert smspdu.gsm_to_text(s) == "€[]{}~\\^|"


def test_extension_characters_published():
    assert smspdu.decode_deliver(DELIVER_EXT1).text == "[abcdef]"
    assert smspdu.decode_deliver(DELIVER_EXT2).text == "{test}"
    m = smspdu.decode_deliver(DELIVER_EXT1)
    assert len(m.data) == 10 and m.data[:2] == b"\x1b\x3c"


def test_unknown_extension_codes():
    # 23.038 6.2.1.1: a code the extension table lacks shows the default alphabet's character;
    # ESC ESC is reserved for a further table and shows a space; so does a final lone ESC.
    assert smspdu.gsm_to_text(b"\x1bA") == "A"
    assert smspdu.gsm_to_text(b"\x1b\x0d") == "\r"  # CR2
    assert smspdu.gsm_to_text(b"\x1b\x00x") == "@x"
    assert smspdu.gsm_to_text(b"a\x1b\x1bb") == "a b"
    assert smspdu.gsm_to_text(b"ab\x1b") == "ab "
    assert raises(smspdu.gsm_to_text, b"a\x80")


def test_text_without_gsm_code_raises():
    for text in ("ç", "`", "\t", "\x1b", "😀", "Привет", "a\u00a0b"):
        assert raises(smspdu.text_to_gsm, text), text
    assert smspdu.text_to_gsm("") == b""


# ---------------------------------------------------------------- septet packing


def test_pack7_published():
    assert smspdu.pack7(b"hellohello").hex().upper() == "E8329BFD4697D9EC37"
    assert smspdu.pack7(b"hello").hex().upper() == "E8329BFD06"
    assert smspdu.pack7(b"ISSY").hex().upper() == "C9E9340B"  # Wavecom WMO1 guide
    assert smspdu.unpack7(bytes.fromhex("C8329BFD06"), 5) == b"Hello"
    assert smspdu.pack7(b"") == b""


def test_pack7_fill_bits_published():
    # python-gsmmodem issue 17: a 6-octet UDH leaves 1 fill bit before the first septet.
    ud = bytes.fromhex(DELIVER_UDH[-2 * 78 :])  # TP-UDL 0x59: 89 septets in 78 octets
    body = ud[6:]
    septets = smspdu.unpack7(body, 0x59 - 7, 1)
    assert septets.startswith(b"Hello!You have R 19.50")
    packed = smspdu.pack7(septets, 1)
    # this sender set its fill bit (bit 0 of the first octet); ours are zero, a reader skips them
    assert (packed[0] | 1, packed[1:]) == (body[0], body[1:])


def test_pack7_unpack7_every_fill_and_length():
    rnd = Rand(11)
    for fill in range(7):
        for n in range(0, 24):
            s = bytes([rnd.randrange(128) for _ in range(n)])
            packed = smspdu.pack7(s, fill)
            assert len(packed) == (fill + 7 * n + 7) // 8
            if n:
                assert packed[0] & ((1 << fill) - 1) == 0  # the fill bits are zero
            assert smspdu.unpack7(packed, n, fill) == s
    assert raises(smspdu.unpack7, b"\x00", 2)
    assert raises(smspdu.unpack7, b"\x00" * 7, 8, 1)
    assert raises(smspdu.pack7, b"\x80")


def test_trailing_at_sign_is_kept():
    # 23.038 6.1.2.3.1: seven spare bits look like an '@'. SMS carries TP-UDL in septets, so
    # the count decides: "abcdef@" (7 septets in 7 octets) keeps one '@', "abcdefg@" its '@'.
    # The encoder leaves spare bits zero (6.1.2.1.1); a sender's CR padding is ignored.
    for text in ("abcdef@", "abcdefg@", "@", "@@@@@@@", "@@@@@@@@"):
        hexpdu, n = smspdu.encode_submit("123", text)
        m = smspdu.decode_submit(hexpdu, n)
        assert m.text == text, text
        assert hexpdu[:20] == "000100038121F30000%02X" % len(text)  # TP-UDL in septets
    assert smspdu.pack7(smspdu.text_to_gsm("abcdef@"))[-1] == 0x00
    padded = smspdu.pack7(smspdu.text_to_gsm("abcdef@\r"))  # 8 septets: CR fills the 7 spare bits
    m = submit("0100038121F3000007" + padded.hex())
    assert m.text == "abcdef@"


# ---------------------------------------------------------------- SMS-SUBMIT decoding


def test_decode_submit_published():
    m = smspdu.decode_submit(HELLO, 23)
    assert (m.smsc, m.first, m.mr, m.da, m.toa) == ("", 0x11, 0, "+46708251358", 0x91)
    assert (m.pid, m.dcs, m.alphabet, m.msg_class, m.vp) == (0, 0, GSM7, None, 0xAA)
    assert (m.srr, m.udh, m.concat, m.text, m.data) == (
        False,
        None,
        None,
        "hellohello",
        b"hellohello",
    )
    m = smspdu.decode_submit(NORDIC.lower(), 42)
    assert (m.smsc, m.da, m.vp) == ("+448888888", "+358401234567", 0x0B)
    assert m.text == "Testing a sms messaging over lte"
    m = smspdu.decode_submit(NEOWAY.encode(), 23)
    assert (m.smsc, m.da, m.toa, m.vp, m.alphabet, m.text) == (
        "+8613800755500",
        "13421839693",
        0x81,
        None,
        UCS2,
        "hello",
    )
    assert smspdu.decode_submit(NEOWAY0, 23).text == "hello"
    m = smspdu.decode_submit(HELLO7, 17)
    assert (m.da, m.text) == ("1234657", "hello")
    m = smspdu.decode_submit(HELLO8, 17)
    assert (m.smsc, m.dcs, m.alphabet, m.msg_class) == ("+491710760000", 0xF6, DATA8, 2)
    assert (m.data, m.text) == (b"hello", None)
    m = smspdu.decode_submit(VSM, 24)
    assert (m.smsc, m.mr, m.da, m.pid, m.vp, m.text) == (
        "+6596845999",
        0xE5,
        "+6596924065",
        0x20,
        0xAD,
        "Is Wonderful",
    )
    for h in SUBMITS:
        if h != WAVECOM:
            assert smspdu.decode_submit(h, tpdu_len(h)).first & 3 == 1


def test_submit_without_smsc_part():
    # Wavecom WMO1 guide: AT+CMGS=14 followed by 14 octets, no SMSC length octet.
    m = smspdu.decode_submit(WAVECOM, 14)
    assert (m.smsc, m.mr, m.da, m.vp, m.text) == ("", 0xF6, "+123456", None, "ISSY")
    assert smspdu.decode_submit("00" + WAVECOM, 14).text == "ISSY"


# TP-UD for each alphabet: published "hello" user data (9cbs 7-bit and 8-bit, Neoway UCS2).
UD = {GSM7: "05E8329BFD06", DATA8: "0568656C6C6F", UCS2: "0A00680065006C006C006F"}


def test_every_dcs_branch():
    # 23.038 ch.4: (TP-DCS, alphabet, message class)
    cases = [
        (0x00, GSM7, None),
        (0x04, DATA8, None),
        (0x08, UCS2, None),
        (0x0C, GSM7, None),  # reserved alphabet: read as GSM 7 bit
        (0x10, GSM7, 0),
        (0x11, GSM7, 1),
        (0x12, GSM7, 2),
        (0x13, GSM7, 3),
        (0x15, DATA8, 1),
        (0x1A, UCS2, 2),
        (0x40, GSM7, None),  # 01xx: marked for automatic deletion, same bits
        (0x44, DATA8, None),
        (0x5B, UCS2, 3),
        (0x52, GSM7, 2),
        (0x80, GSM7, None),  # 1000-1011 reserved groups
        (0xB7, GSM7, None),
        (0xC0, GSM7, None),  # message waiting, discard
        (0xD8, GSM7, None),  # message waiting, store
        (0xE0, UCS2, None),  # message waiting, store, UCS2
        (0xEB, UCS2, None),
        (0xF0, GSM7, 0),  # 1111: flash message
        (0xF3, GSM7, 3),
        (0xF6, DATA8, 2),
        (0xF8, GSM7, 0),  # bit 3 reserved
        (0xFD, DATA8, 1),
    ]
    for dcs, alphabet, cls in cases:
        m = submit("0100038121F300%02X" % dcs + UD[alphabet])
        assert (m.dcs, m.alphabet, m.msg_class) == (dcs, alphabet, cls), hex(dcs)
        if alphabet == DATA8:
            assert (m.text, m.data) == (None, b"hello"), hex(dcs)
        else:
            assert m.text == "hello", hex(dcs)
    for dcs in (0x20, 0x24, 0x28, 0x30, 0x3F, 0x60, 0x7F):  # bit 5: compressed
        assert raises(submit, "0100038121F300%02X" % dcs + UD[GSM7]), hex(dcs)


def test_every_validity_period_form():
    base = "038121F30000"
    m = submit("01" + "00" + base + UD[GSM7])  # VPF 00: none
    assert m.vp is None
    m = submit("11" + "00" + base + "A7" + UD[GSM7])  # 10: relative, 24 hours
    assert m.vp == 0xA7
    enhanced = "42010000000000"  # 9.2.3.12.3: single shot, relative in seconds (1 s)
    m = submit("09" + "00" + base + enhanced + UD[GSM7])  # 01: enhanced, 7 octets
    assert m.vp == bytes.fromhex(enhanced) and m.first >> 3 & 3 == 1
    absolute = "42502141000023"  # 24-05-12 14:00:00, +32 quarter hours
    m = submit("19" + "00" + base + absolute + UD[GSM7])  # 11: absolute, 7 octets
    assert m.vp == bytes.fromhex(absolute)
    assert smspdu.decode_scts(m.vp) == (24, 5, 12, 14, 0, 0, 32)
    assert m.text == "hello"
    # too few octets for the form: the user data length would be read from inside it
    assert raises(submit, "19" + "00" + base + "4250214100")
    assert raises(submit, "19" + "00" + base + "42502141")
    assert raises(submit, "09" + "00" + base + "420100")
    assert raises(submit, "11" + "00" + base)
    assert raises(submit, "19" + "00" + base + "4A502141000023" + UD[GSM7])  # not BCD


def test_addresses():
    # (TP-DA hex, decoded, type): odd and even digit counts, F filler, * and #, types.
    cases = [
        ("0B916407281553F8", "+46708251358", 0x91),
        ("0A817080523185", "0708251358", 0x81),  # dreamfabric's national form
        ("0AA17080523185", "0708251358", 0xA1),
        ("04C82143", "1234", 0xC8),
        ("0081", "", 0x81),
        ("0181F1", "1", 0x81),
        ("04811A2B", "*1#2", 0x81),  # 23.040 9.1.2.3: 1010 *, 1011 #
        ("0DD0E474D81C0EBB01", "diafaan", 0xD0),  # diafaan sample
        ("10D0C8E7945A94BAA455", "HOSTER.RU", 0xD0),  # chan-dongle issue 91
        ("14D1" + smspdu.pack7(b"ABCDEFGHIJK").hex(), "ABCDEFGHIJK", 0xD1),
    ]
    for da, text, toa in cases:
        m = submit("1100" + da + "0000AA" + UD[GSM7])
        assert (m.da, m.toa, m.text) == (text, toa, "hello"), da
    for da in (
        "0B91640728155308",  # odd count, filler not F
        "0A91F407281553",  # F inside the digits
        "1591" + "11" * 11,  # 21 digits
    ):
        assert raises(submit, "1100" + da + "0000AA" + UD[GSM7]), da


def test_ucs2_surrogate_pair_and_lone_surrogates():
    # UTF-16 (Unicode ch. 3.9): U+1F600 is D83D DE00; U+00E9 is 00E9.
    m = submit("0100038121F30008" + "08D83DDE0000E90041")
    assert m.text == "😀éA"
    assert submit("0100038121F30008" + "04D83D0041").text == "\ufffdA"
    assert submit("0100038121F30008" + "04DE00D83D").text == "\ufffd\ufffd"
    assert raises(submit, "0100038121F30008" + "03D83D00")  # odd octet count


def test_user_data_header_concatenation():
    m = smspdu.decode_deliver(DELIVER_UDH)
    assert m.udh == bytes.fromhex("050003C30101") and m.concat == (0xC3, 1, 1)
    assert m.text == (
        "Hello!You have R 19.50 FREE airtime available. R 19.50 will expire on 01/07/2013. "
    )
    m = smspdu.decode_deliver(DELIVER_P1)
    assert (m.concat, m.text) == ((0xCB, 3, 1), "1" * 153)
    m = smspdu.decode_deliver(DELIVER_P3)
    assert (m.first, m.concat, m.text) == (0x64, (0xCB, 3, 3), "1" * 42)
    m = smspdu.decode_deliver(DELIVER_C16)
    assert (m.concat, m.text) == ((0x1234, 2, 1), "Hello,")
    m = smspdu.decode_deliver(DELIVER_C8)  # 6-octet UDH: one fill bit
    assert (m.concat, m.text) == ((0x2E, 2, 1), "Hakuna")
    m = smspdu.decode_deliver(DELIVER_EMS)  # other IEs are skipped
    assert (m.concat, m.text) == (None, "Bold, Italic, Underline and Strikethrough.")
    assert m.udh[:3] == b"\x14\x0a\x03"
    m = smspdu.decode_deliver(DELIVER_16)
    assert m.concat == (0x0A32, 3, 3) and m.alphabet == UCS2
    assert m.text.endswith("*115*1#") and m.text.startswith("ить перевод")
    # hand-assembled (23.040 9.2.3.24): port IE 05 skipped, then the 16-bit reference IE;
    # 12 header octets + 1 fill bit = 14 septets before "hi"
    udh = "0C05040B840B84080412340302"  # 13 octets + 1 fill bit = 15 septets, then "hi"
    ud = udh + smspdu.pack7(b"hi", 1).hex()
    m = submit("4100038121F30000" + "11" + ud)
    assert (m.concat, m.text, m.udh.hex().upper()) == ((0x1234, 3, 2), "hi", udh)
    # a concatenation IE with 0 parts or a sequence past the total is ignored (9.2.3.24.1)
    for ie in ("00030A0000", "00030A0203", "00030A0200"):
        m = submit(
            "4100038121F30004"
            + "%02X" % (len(ie) // 2 + 3)
            + "%02X" % (len(ie) // 2)
            + ie
            + "4142"
        )
        assert m.concat is None and m.data == b"AB", ie
    # the last of repeated IEs counts (9.2.3.24)
    m = submit("4100038121F30004" + "0D" + "0A" + "0003010201" + "0003070302" + "4142")
    assert m.concat == (7, 3, 2)


def test_decode_deliver_published():
    m = smspdu.decode_deliver(DELIVER_HW)
    assert (m.smsc, m.first, m.oa, m.toa, m.pid, m.dcs) == (
        "+79037011111",
        0,
        "+79642161111",
        0x91,
        0,
        0,
    )
    assert (m.scts, m.text) == ((18, 11, 7, 20, 21, 22, 32), "Hello, world!")
    m = smspdu.decode_deliver(DELIVER_DF)
    assert (m.smsc, m.oa, m.toa, m.text) == ("+27381000015", "27838890001", 0xC8, "hellohello")
    assert m.scts == (99, 3, 29, 15, 16, 59, 8)
    m = smspdu.decode_deliver(DELIVER_UCS2)
    assert (m.oa, m.alphabet, m.text, m.scts) == (
        "+20101014063",
        UCS2,
        "\u0628\u062a",
        (2, 12, 19, 3, 25, 51, 8),
    )
    m = smspdu.decode_deliver(DELIVER_ALNUM)
    assert (m.smsc, m.oa, m.toa, m.text) == ("+447802000332", "diafaan", 0xD0, "diafaan.com")
    m = smspdu.decode_deliver(DELIVER_HOSTER)
    assert m.oa == "HOSTER.RU" and m.text.startswith("PROBLEM E1 interfaces")
    m = smspdu.decode_deliver(DELIVER_ZOL)
    assert m.oa == "Zolotoy585" and m.text.endswith("585zolotoy.ru/nv1")
    m = smspdu.decode_deliver(DELIVER_TELFORT)
    assert (m.smsc, m.oa, m.text) == ("+31626000230", "Telfort", "Welcome to Telfort")
    assert m.scts == (11, 12, 13, 13, 12, 11, 4)
    assert smspdu.decode_deliver(DELIVER_NEG_TZ).scts == (18, 11, 7, 20, 21, 22, -32)
    m = smspdu.decode_deliver(DELIVER_FLASH)
    assert (m.dcs, m.msg_class, m.text) == (0x10, 0, "This is a flash!")
    m = smspdu.decode_deliver(DELIVER_RU)
    assert (m.alphabet, m.text) == (UCS2, "Привет, мир!")
    m = smspdu.decode_submit(SUBMIT_999, 14)
    assert (m.da, m.toa, m.text) == ("+999", 0x91, "Hello")
    m = smspdu.decode_submit(SUBMIT_999.replace("0391", "0381"), 14)
    assert (m.da, m.toa) == ("999", 0x81)


def test_scts_sign_and_range():
    # 23.040 9.2.3.11: quarter hours, sign in bit 3 of the first (low) semi-octet.
    assert smspdu.encode_scts((99, 3, 29, 15, 16, 59, 8)).hex().upper() == "99309251619580"
    assert smspdu.encode_scts((24, 1, 2, 3, 4, 5, -8))[6] == 0x88
    assert smspdu.encode_scts((24, 1, 2, 3, 4, 5, -20))[6] == 0x0A
    assert smspdu.decode_scts(bytes.fromhex("4210200300000A")) == (24, 1, 2, 30, 0, 0, -20)
    assert raises(smspdu.encode_scts, (24, 1, 2, 3, 4, 5, 80))
    assert raises(smspdu.encode_scts, (124, 1, 2, 3, 4, 5, 0))
    assert raises(smspdu.encode_scts, (24, 1, 2, 3, 4, 5))
    assert raises(smspdu.decode_scts, bytes.fromhex("A2102003000000"))
    assert raises(smspdu.decode_scts, bytes.fromhex("421020030000"))


# ---------------------------------------------------------------- encoding


def test_encode_submit_published():
    assert smspdu.encode_submit("+46708251358", "hellohello", vp=0xAA) == (HELLO, 23)
    assert smspdu.encode_submit("+123456", "ISSY", mr=0xF6) == ("00" + WAVECOM, 14)
    assert smspdu.encode_submit("13421839693", "hello", smsc="+8613800755500", alphabet=UCS2) == (
        NEOWAY,
        23,
    )
    assert smspdu.encode_submit(
        "1234567", b"hello", smsc="+491710760000", vp=0xAA, alphabet=DATA8
    ) == (
        HELLO8[:34] + "04" + HELLO8[36:],  # DCS 04: 8 bit without a class
        17,
    )
    assert smspdu.encode_submit(
        "+358401234567", "Testing a sms messaging over lte", smsc="+448888888", vp=0x0B
    ) == (
        NORDIC,
        42,
    )


def test_encode_deliver_published():
    scts = (2, 12, 19, 3, 25, 51, 8)
    assert smspdu.encode_deliver("+20101014063", "\u0628\u062a", scts, smsc="+20105996500") == (
        DELIVER_UCS2
    )
    h = smspdu.encode_deliver(
        "diafaan", "diafaan.com", (11, 1, 11, 13, 25, 41, 0), "+447802000332"
    )
    assert h == DELIVER_ALNUM[:16] + "04" + DELIVER_ALNUM[18:]  # ours: TP-MMS only, no SRI
    assert raises(smspdu.encode_deliver, "ABCDEFGHIJKL", "x", (0, 1, 1, 0, 0, 0, 0))  # 12 chars


def test_encode_forms_round_trip():
    scts = (24, 5, 21, 14, 0, 0, -12)
    for vp, vpf in ((None, 0), (167, 2), (scts, 3), (b"\x01\xa7\x00\x00\x00\x00\x00", 1)):
        h, n = smspdu.encode_submit("+4917012345678", "vp", vp=vp, mr=7)
        m = smspdu.decode_submit(h, n)
        assert (m.first >> 3 & 3, m.mr, m.text) == (vpf, 7, "vp")
        assert m.vp == (smspdu.encode_scts(scts) if vpf == 3 else vp)
    assert raises(smspdu.encode_submit, "1", "x", 0, "", b"\x01\x02")
    h, n = smspdu.encode_submit("1", "x", udh=b"\x05\x00\x03\x2a\x02\x01")
    m = smspdu.decode_submit(h, n)
    assert (m.first, m.concat, m.text) == (0x41, (42, 2, 1), "x")
    assert raises(smspdu.encode_submit, "1", "x", 0, "", None, None, b"\x06\x00\x03\x2a\x02\x01")
    assert raises(smspdu.encode_submit, "1", "x", 0, "Alpha")  # SMSC must be digits


def test_round_trip_random_texts():
    rnd = Rand(2024)
    gsm = smspdu.gsm_to_text(bytes([c for c in range(128) if c != 0x1B])) + "€[]{}~\\^|\f"
    other = "абвгдежзийκλμνξ中文字😀🎉\u00a0ç`"
    for k in range(150):
        pool = gsm if k % 3 else gsm + other
        text = "".join([rnd.choice(pool) for _ in range(rnd.randrange(60 if k % 3 else 30))])
        expect = GSM7 if not [c for c in text if c not in gsm] else UCS2
        udh = None if k % 4 else bytes((5, 0, 3, k, 2, 1))
        h, length = smspdu.encode_submit("+%d" % (k * 7919), text, mr=k, udh=udh)
        m = smspdu.decode_submit(h, length)
        assert (m.text, m.mr, m.da) == (text, k, "+%d" % (k * 7919)), (k, text)
        assert m.alphabet == expect
        d = smspdu.decode_deliver(
            smspdu.encode_deliver("12345", text, (k % 100, 1, 1, 0, 0, 0, 0), udh=udh)
        )
        assert (d.text, d.concat) == (text, None if udh is None else (k, 2, 1))


def test_measure_and_fits():
    assert smspdu.measure("a" * 160) == (GSM7, 160, 160) and smspdu.fits("a" * 160)
    assert not smspdu.fits("a" * 161)
    assert smspdu.measure("€" * 80) == (GSM7, 160, 160) and not smspdu.fits("€" * 81)
    assert smspdu.measure("ж" * 70) == (UCS2, 70, 70) and not smspdu.fits("ж" * 71)
    assert smspdu.measure("😀" * 35) == (UCS2, 70, 70) and not smspdu.fits("😀" * 36)
    assert smspdu.measure(b"\x00" * 140, DATA8) == (DATA8, 140, 140)
    assert smspdu.measure("abc", UCS2) == (UCS2, 3, 70)
    assert raises(smspdu.measure, "ж", GSM7)
    smspdu.encode_submit("1", "€" * 80)
    assert raises(smspdu.encode_submit, "1", "€" * 80 + "a")
    assert raises(smspdu.encode_submit, "1", "ж" * 71)
    smspdu.encode_submit("1", "a" * 153, udh=b"\x05\x00\x03\x01\x02\x01")  # 153 after a UDH
    assert raises(
        smspdu.encode_submit, "1", "a" * 154, 0, "", None, None, b"\x05\x00\x03\x01\x02\x01"
    )


# ---------------------------------------------------------------- malformed input

BODY = HELLO[2:]  # the TPDU of HELLO, 23 octets


def test_malformed_pdus_raise_pdu_error():
    bad = [
        (HELLO[:-1], 23),  # odd hex count
        (HELLO[:-2] + "3G", 23),  # not hex
        (HELLO[:-2] + " 7", 23),
        ("  " + HELLO[2:], 23),  # MicroPython's unhexlify skips this
        (HELLO[:-2] + "é7", 23),
        ("", 0),
        ("00", 0),
        (HELLO, 24),  # length mismatch both ways
        (HELLO, 22),
        (HELLO, 0),
        ("0011000B916407281553F80000AA0BE8329BFD4697D9EC37", 23),  # UDL 11 > 9 octets
        ("0011000B916407281553F80000AA0AE8329BFD4697D9EC3700", 24),  # octet past UDL
        ("0011000B916407281553F80000AA0AE8329BFD4697D9EC", 22),  # short data
        ("0011000B916407281553F80000AA", 13),  # no UDL
        ("0051000B916407281553F80000AA02" + "0500", None),  # UDHL 5 > UDL 2 (7-bit)
        ("0051000B916407281553F80004AA03" + "050003", None),  # UDHL 5 > UDL 3 (8-bit)
        ("0051000B916407281553F80004AA05" + "0400030A0B", None),  # UDH IE past the header
        ("0051000B916407281553F80000AA01" + "00", None),  # header septets past UDL
        ("0010000B916407281553F80000AA0AE8329BFD4697D9EC37", 23),  # MTI 00 (DELIVER)
        ("0012000B916407281553F80000AA0AE8329BFD4697D9EC37", 23),  # MTI 10
        ("0013000B916407281553F80000AA0AE8329BFD4697D9EC37", 23),  # MTI 11 reserved
        ("0011000B916407281553F80020AA0AE8329BFD4697D9EC37", 23),  # compressed
        ("0011000B9164072815", 8),  # truncated address
        ("0011000B", 3),
        ("0019000B916407281553F8000042502141", 16),  # absolute VP, too few octets
        ("0C9144888888F8111111111111" + BODY, 23),  # SMSC length 12
        ("069144888888", 0),  # truncated SMSC
        ("0691448888F8F8" + BODY, 23),  # F inside the SMSC digits
        ("0011000B916407281553F80000AAA1" + "00" * 141, None),  # UDL 161 septets
        ("0011000B916407281553F80004AA8D" + "00" * 141, None),  # 141 octets of 8 bit
        ("00" + "11" * 200, 199),  # longer than any SMS-SUBMIT
    ]
    for hexpdu, length in bad:
        length = tpdu_len(hexpdu) if length is None else length
        assert raises(smspdu.decode_submit, hexpdu, length), (hexpdu, length)
    for hexpdu in ("", "00", "0004", DELIVER_HW[:-2], DELIVER_HW + "00", "00" + HELLO[2:]):
        assert raises(smspdu.decode_deliver, hexpdu), hexpdu


def test_fuzz_only_pdu_error_escapes():
    rnd = Rand(99)
    seeds = [bytes.fromhex(h) for h in SUBMITS + DELIVERS]
    udh = b"\x06\x08\x04\x01\x02\x02\x01"
    for vp in (None, 5, (1, 2, 3, 4, 5, 6, -7), b"\x01" * 7):  # every VPF, a UDH, alphanumeric
        h, _ = smspdu.encode_submit("Alpha1", "hi € ж", vp=vp, udh=udh, smsc="+123")
        seeds.append(bytes.fromhex(h))
    seeds.append(bytes.fromhex(smspdu.encode_deliver("+1", "x€", (1, 2, 3, 4, 5, 6, 7), udh=udh)))
    ok = 0
    for _ in range(2000):
        b = bytearray(rnd.choice(seeds))
        for _k in range(1 + rnd.randrange(4)):
            op = rnd.randrange(5)
            i = rnd.randrange(len(b) + 1)
            if op == 0 and b:
                b[i % len(b)] = rnd.randrange(256)
            elif op == 1:
                b = b[:i]
            elif op == 2:
                b[i:i] = bytes((rnd.randrange(256),))
            elif op == 3 and b:
                b[i % len(b)] ^= 1 << rnd.randrange(8)
            else:
                b = bytearray([rnd.randrange(256) for _ in range(rnd.randrange(40))])
        h = bytes(b).hex()
        n = len(b) - 1 - (b[0] if b else 0) + rnd.randrange(3) - 1
        for fn, args in ((smspdu.decode_submit, (h, n)), (smspdu.decode_deliver, (h,))):
            try:
                fn(*args)
                ok += 1
            except PDUError:
                pass
    assert ok > 50  # the mutations do not all fail at the first octet
