"""AT#GETMAIL (S000333D ch.3 p21, p50): the first mail of the POP3 box to the host, then DELE."""

from .compat import const
from .errors import ATError, NetError
from .pop3 import open_session
from .tlsconf import TLSConfig

_NO_LINK = const(35867)
_SERVICE_RUNNING = const(37123)

_SECURITY = ("NONE", "STLS", "TLS")  # POP3SEC 0, 1, 2


class BodyOnly:
    """POP3HEADERMODE=0: drop the header block, up to and including the first empty line
    (RFC 5322 2.1), whatever the chunking. At most 2 bytes are held between calls."""

    def __init__(self):
        self._tail = b"\n"  # a message that starts with an empty line has an empty header
        self._body = False

    def feed(self, data):
        if self._body:
            return data
        buf = self._tail + data
        i = buf.find(b"\n\r\n")
        k = 3
        j = buf.find(b"\n\n")  # bare LF line ends, should a server pass them through
        if j >= 0 and (i < 0 or j < i):
            i, k = j, 2
        if i < 0:
            self._tail = buf[-2:]
            return b""
        self._body = True
        self._tail = b""
        return buf[i + k :]


class Stuffer:
    """The serial side of the transfer: every line that starts with "." gets a second "."
    (the RFC 1939 / RFC 5321 4.5.2 convention), so CR LF . CR LF appears only at the end.

    lf tells whether the byte before the mail was a LF (ATV1: Ok_Info_Mail CR LF); with ATV0
    (3073 CR) an empty mail still ends with the whole CR LF . CR LF."""

    def __init__(self, lf=True):
        self._bol = True  # the first byte of the mail starts a line
        self._lf = lf

    def feed(self, data):
        if not data:
            return b""
        data = data.replace(b"\n.", b"\n..")
        if self._bol and data[:1] == b".":
            data = b"." + data
        self._bol = self._lf = data[-1:] == b"\n"
        return data

    def end(self):
        """The end marker: the CR LF of a complete last line is the marker's CR LF."""
        return b".\r\n" if self._lf else b"\r\n.\r\n"


async def _getmail(m, form, args):
    if not m.session:
        raise ATError(_NO_LINK)
    if m.busy:
        raise ATError(_SERVICE_RUNNING)
    v = m.values
    security = _SECURITY[v["POP3SEC"]]
    tls = TLSConfig(v["POP3SERV"], verify=bool(v["POP3VERIFY"]), cafile=m.board.cafile())
    m.board.log("pop3: %s:%d %s" % (v["POP3SERV"], v["POP3PORT"], security))
    m.busy.add("pop3")  # nothing may change the parameters while the session runs
    try:
        try:
            client = await open_session(
                m.board.net,
                v["POP3SERV"],
                v["POP3PORT"],
                security,
                tls,
                v["POP3UN"],
                v["POP3PW"],
                v["POP3TIMEOUT"],
            )
        except NetError as e:
            m.board.log("pop3: failed with %d" % e.code)
            raise ATError(e.code) from None
        try:
            return await _fetch(m, client)
        finally:
            await client.close()  # without QUIT when QUIT was not reached: nothing is deleted
    finally:
        m.busy.discard("pop3")


async def _fetch(m, client):
    try:
        count = (await client.stat())[0]
        if count:
            await client.retr(1)
    except NetError as e:
        m.board.log("pop3: failed with %d" % e.code)
        await client.bye()
        raise ATError(e.code) from None
    if not count:
        await client.bye()
        m.code("Ok_Info_NoMail", final=False)
        return []
    # S000333D p50: from here the modem streams the mail and always ends it with CR LF . CR LF;
    # an error comes after that marker.
    m.code("Ok_Info_Mail", final=False)
    out = Stuffer(lf=bool(m.profile["V"]))
    skip = None if m.values["POP3HEADERMODE"] else BodyOnly()

    async def sink(piece):
        if skip is not None:
            piece = skip.feed(piece)
        if piece:
            m.out.append(out.feed(piece))
            await m.flush()  # paced by the serial port: nothing accumulates

    err = None
    try:
        await client.read_message(sink)
    except NetError as e:
        err = e.code
    m.out.append(out.end())
    await m.flush()
    if err is None:
        # The host has the whole mail: mark it deleted; QUIT's +OK commits (RFC 1939 6).
        # Any failure before that +OK leaves the mail on the server for the next AT#GETMAIL.
        try:
            await client.dele(1)
            await client.quit()
        except NetError as e:
            err = e.code
    if err is not None:
        m.board.log("pop3: failed with %d" % err)
        raise ATError(err)
    return []


HANDLERS = {"#GETMAIL": _getmail}
