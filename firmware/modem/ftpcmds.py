"""AT#FTPGET and AT#FTPPUT (S000333D ch.4 p28-29, App. B p73, p75) and the #FTPLOG diagnostic.

docs/ftp.md states every byte on the serial line and each decision.
"""

from .datamode import ETX, Decoder, encode
from .compat import const
from .errors import ATError, NetError
from .ftp import NVT, FTPClient, retr_code, stor_code
from .tlsconf import TLSConfig

_NO_LINK = const(35867)
_SERVICE_RUNNING = const(37123)
_SERIAL_TIMEOUT = const(37980)
_NOT_CONFIGURED = const(38050)
_FTP_NO_FILE = const(38064)


def _ready(m, name_key):
    """A session, no other service, a server and a file name; returns our address."""
    if not m.session:
        raise ATError(_NO_LINK)
    if m.busy:
        raise ATError(_SERVICE_RUNNING)
    v = m.values
    if not v["FTPSERV"] or not v[name_key]:
        raise ATError(_NOT_CONFIGURED)
    return m.session[0]


async def _open(m, ip, path, step, line, fail):
    """Log in and start the transfer up to the server's 150; returns the client. Failures
    before data mode are plain #CME errors (the connection is closed)."""
    v = m.values
    sec = v["FTPSEC"]
    tls = None
    if sec:
        tls = TLSConfig(v["FTPSERV"], verify=bool(v["FTPVERIFY"]), cafile=m.board.cafile())
    m.last_ftp = []
    client = FTPClient(m.board.net, v["FTPTIMEOUT"], m.last_ftp, m.board.clock)
    m.board.log("ftp: %s:%d sec %d" % (v["FTPSERV"], v["FTPPORT"], sec))
    try:
        await client.login(v["FTPSERV"], v["FTPPORT"], sec, tls, v["FTPUN"], v["FTPPW"])
        await client.prepare(v["FTPTYPE"], path, _FTP_NO_FILE)
        await client.open_data(step, line, v["FTPMODE"] == 1, ip, fail)
    except NetError as e:
        m.board.log("ftp: failed with %d" % e.code)
        await client.close()
        raise ATError(e.code) from None
    except BaseException:
        await client.close()
        raise
    return client


async def _ftpget(m, form, args):
    v = m.values
    ip = _ready(m, "FTPGETFILENAME")
    name = v["FTPGETFILENAME"].encode()
    m.busy.add("ftp")
    try:
        client = await _open(m, ip, v["FTPGETPATH"], "RETR", b"RETR " + name, retr_code)
        nvt = NVT() if v["FTPTYPE"] == "A" else None
        await m.begin_data()
        m.code("Ok_Info_DataBegin", final=False)  # [READ p28, p73]
        await m.flush()
        port = m.port
        err = None
        try:
            while True:
                data = await client.read()
                if not data:
                    break
                if nvt is not None:  # a server that sends LF alone (vsftpd) still gives CR LF
                    data = nvt.feed(data)
                # Awaited before the next read: a host that does not read holds the server.
                await port.write(encode(data))
            await client.finish(False)
        except NetError as e:
            err = e.code
        m.out.append(ETX)  # the end of the file [READ p73]; an error follows it
        if err is None:
            await client.quit()
        await client.close()
        if err is not None:
            raise ATError(err)
        return []
    finally:
        m.busy.discard("ftp")


async def _ftpput(m, form, args):
    v = m.values
    ip = _ready(m, "FTPPUTFILENAME")
    name = v["FTPPUTFILENAME"].encode()
    m.busy.add("ftp")
    try:
        client = await _open(m, ip, v["FTPPUTPATH"], "STOR", b"STOR " + name, stor_code)
        try:
            err = await _upload(m, client, NVT() if v["FTPTYPE"] == "A" else None)
            if err is None:
                await client.quit()
            else:
                await client.abort(name)
        finally:
            await client.close()
        if err is not None:
            raise ATError(err)
        return []
    finally:
        m.busy.discard("ftp")


async def _upload(m, client, nvt):
    """Host bytes -> data connection up to the bare ETX (echoed) [READ p29, p75]. Returns
    None once the server confirmed the file (226/250), else the #CME code. After a network
    failure the host's bytes are still read up to the ETX, so none is taken for commands."""
    await m.begin_data()
    m.code("Ok_Info_WaitingForData", final=False)
    await m.flush()
    dec = Decoder()
    failed = None
    timeout = m.values["DATATIMEOUT"]
    while True:
        try:
            data = await m.read_serial(timeout)
        except ATError:
            return failed or _SERIAL_TIMEOUT
        if not data:
            return failed or _SERIAL_TIMEOUT
        payload, rest = dec.feed(data)
        if payload and failed is None:
            if nvt is not None:
                payload = nvt.feed(payload)
            try:
                # Returns once the data connection took the bytes: until then no serial
                # byte is read (the host is held off by the port's flow control).
                await client.write(payload)
            except NetError as e:
                failed = e.code
        if rest is not None:
            m.unread(rest)  # after the ETX: command mode's bytes
            m.out.append(ETX)  # the ETX is echoed [READ p75]
            await m.flush()
            break
    if failed is not None:
        return failed
    try:
        await client.finish(True)
    except NetError as e:
        return e.code
    return None


async def _ftplog(m, form, args):
    # Each step of the last FTP exchange, as #SMTPLOG shows SMTP's: never a password.
    return [
        '#FTPLOG: "%s",%d,"%s",%d' % (step, code, text.replace('"', "'")[:80], ms)
        for step, code, text, ms in m.last_ftp
    ]


HANDLERS = {"#FTPGET": _ftpget, "#FTPPUT": _ftpput, "#FTPLOG": _ftplog}
