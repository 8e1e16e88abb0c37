"""Typed errors of every layer. Their #CME / +CMS ERROR codes are in modem.codes."""


class ATError(Exception):
    """A command failed; code None means plain ERROR, else '#CME ERROR: <code>'."""

    def __init__(self, code=None, plus=False, cms=False):
        super().__init__(code)
        self.code = code
        self.plus = plus  # True: GSM-level '+CME ERROR' (shown only with AT+CMEE>=1)
        self.cms = cms  # True: '+CMS ERROR' (SMS commands; shown only with AT+CMEE>=1)


class NetError(Exception):
    """A network step failed; code is the #CME ERROR code to report."""

    def __init__(self, code, text=""):
        super().__init__(code, text)
        self.code = code
        self.text = text


class SMTPError(NetError):
    """The SMTP server refused a step (reply is the server's code, 0 when none)."""

    def __init__(self, code, step, reply=0, text=""):
        super().__init__(code, text)
        self.step = step
        self.reply = reply


class PDUError(Exception):
    """An SMS PDU or text is malformed or cannot be coded (27.005 3.2.5: '+CMS ERROR: 304'
    in PDU mode)."""


def __getattr__(name):
    """`errors.SMTP_LOST`: a code from the table (modem.codes), for tests and tools. Firmware
    modules use private constants instead (docs/design.md, Memory)."""
    from .codes import get

    value = get(name)
    if value is None:
        raise AttributeError(name)
    return value
