"""Loopback FTP servers for the FTP tests: pyftpdlib in a thread and vsftpd as a process.

pyftpdlib: user USER/PASSWORD may read and write under its root, READER/READER_PW may only
read; `tls` is None, "explicit" (AUTH TLS) or "implicit" (TLS from the first byte).
vsftpd (Debian package, tools/install_ftp.sh): its own instance with a generated config,
anonymous only (any other login is refused with 530), downloads from the root, uploads into
`up/` only (`ro/` is not writable); started as root, skipped locally without it.
"""

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pytest

HOST = "127.0.0.1"
USER = "panel"
PASSWORD = "ftp-Pa55word"
READER = "reader"
READER_PW = "read-0nly"
VSFTPD = "/usr/sbin/vsftpd"


def free_port():
    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cert_files(directory):
    """A throw-away CA and a certificate for localhost / 127.0.0.1 (trustme): returns
    (cafile for the modem, key + chain PEM for the server)."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    cafile = os.path.join(str(directory), "ca.pem")
    chain = os.path.join(str(directory), "server.pem")
    ca.cert_pem.write_to_path(cafile)
    cert.private_key_and_cert_chain_pem.write_to_path(chain)
    return cafile, chain


@contextlib.contextmanager
def pyftpd(root, tls=None, certfile=None, handler_attrs=None):
    """pyftpdlib serving root on 127.0.0.1; yields the port."""
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import FTPServer

    auth = DummyAuthorizer()
    auth.add_user(USER, PASSWORD, str(root), perm="elradfmw")
    auth.add_user(READER, READER_PW, str(root), perm="elr")
    if tls:
        from pyftpdlib.handlers import TLS_FTPHandler

        base = TLS_FTPHandler
    else:
        base = FTPHandler
    attrs = {"authorizer": auth, "banner": "pyftpdlib ready", "timeout": 60}
    if tls:
        attrs.update(certfile=certfile, ssl_context=None)
    if tls == "implicit":
        attrs["handle"] = _implicit_handle
    attrs.update(handler_attrs or {})
    handler = type("Handler", (base,), attrs)
    server = FTPServer((HOST, 0), handler)
    port = server.socket.getsockname()[1]
    t = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.05}, daemon=True)
    t.start()
    try:
        yield port
    finally:
        server.close_all()
        t.join(5)


def _implicit_handle(self):
    """Implicit FTPS (port-990 style): the TLS handshake before the greeting."""
    from pyftpdlib.handlers import FTPHandler

    self.secure_connection(self.ssl_context)
    FTPHandler.handle(self)  # the banner, now over TLS


# ---------------------------------------------------------------- vsftpd
def vsftpd_available():
    if not os.path.exists(VSFTPD):
        return "vsftpd missing (tools/install_ftp.sh)"
    if os.geteuid() != 0:
        return "vsftpd needs root"
    return None


def need_vsftpd():
    why = vsftpd_available()
    if why:
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)


_CONF = """listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port={port}
background=NO
anonymous_enable=YES
local_enable=NO
no_anon_password=YES
anon_root={root}
write_enable=YES
anon_upload_enable=YES
anon_mkdir_write_enable=NO
anon_other_write_enable=YES
anon_umask=022
ftp_username=ftp
secure_chroot_dir={empty}
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
port_enable=YES
connect_from_port_20=NO
pasv_enable=YES
vsftpd_log_file={log}
xferlog_enable=YES
dual_log_enable=YES
"""

_SSL = """ssl_enable=YES
allow_anon_ssl=YES
force_anon_logins_ssl=YES
force_anon_data_ssl=YES
require_ssl_reuse=NO
ssl_ciphers=HIGH
rsa_cert_file={cert}
rsa_private_key_file={cert}
implicit_ssl={implicit}
"""


@contextlib.contextmanager
def vsftpd(tls=None, certfile=None):
    """Yields (port, root): root holds the files to fetch; up/ takes uploads."""
    need_vsftpd()
    base = tempfile.mkdtemp(prefix="mtgw-vsftpd-")
    root = os.path.join(base, "root")
    empty = os.path.join(base, "empty")
    for d in (root, empty, os.path.join(root, "up"), os.path.join(root, "ro")):
        os.makedirs(d)
    os.chmod(base, 0o755)
    os.chmod(root, 0o755)  # vsftpd refuses a chroot the anonymous user may write to
    owner = pwd.getpwnam("ftp")  # the anonymous user (the Debian package creates it)
    os.chown(os.path.join(root, "up"), owner.pw_uid, owner.pw_gid)
    port = free_port()
    conf = _CONF.format(port=port, root=root, empty=empty, log=os.path.join(base, "log"))
    if tls:
        conf += _SSL.format(cert=certfile, implicit="YES" if tls == "implicit" else "NO")
    path = os.path.join(base, "vsftpd.conf")
    with open(path, "w") as f:
        f.write(conf)
    os.chmod(path, 0o600)  # vsftpd wants its config owned by root, not writable by others
    err = open(os.path.join(base, "stderr"), "wb")
    p = subprocess.Popen([VSFTPD, path], stdin=subprocess.DEVNULL, stdout=err, stderr=err)
    try:
        for _ in range(200):
            if p.poll() is not None:
                raise RuntimeError("vsftpd ended: " + open(os.path.join(base, "stderr")).read())
            try:
                socket.create_connection((HOST, port), 0.2).close()
                break
            except OSError:
                time.sleep(0.02)
        yield port, root
    finally:
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        err.close()
        shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------- a fake, for faults only
class FaultFTP:
    """A minimal FTP server for faults real servers do not produce on demand.

    fault: "cut" (RETR: part of the file, then the control connection drops without a
    reply), "426" (RETR: part of the file, then 426), "full" (STOR: takes the data, then
    552), "stor-cut" (STOR: takes 1000 bytes, then 426 and both connections close),
    "silent" (no greeting at all).
    """

    def __init__(self, fault, size=200000):
        self.fault = fault
        self.size = size
        self.got = bytearray()

    async def __aenter__(self):
        import asyncio

        self.server = await asyncio.start_server(self._client, HOST, 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc):
        self.server.close()

    async def _client(self, r, w):
        import asyncio

        if self.fault == "silent":
            await asyncio.sleep(30)
            w.close()
            return
        w.write(b"220 fault server\r\n")
        data_srv = None
        conns = asyncio.Queue()
        try:
            while True:
                line = await r.readline()
                if not line:
                    break
                cmd = line.strip().split(b" ")[0].upper()
                if cmd == b"USER":
                    w.write(b"331 password please\r\n")
                elif cmd == b"PASS":
                    w.write(b"230 logged in\r\n")
                elif cmd in (b"TYPE", b"QUIT", b"DELE", b"ABOR"):
                    w.write(b"221 bye\r\n" if cmd == b"QUIT" else b"200 ok\r\n")
                elif cmd == b"PASV":

                    async def on_data(dr, dw):
                        await conns.put((dr, dw))

                    data_srv = await asyncio.start_server(on_data, HOST, 0)
                    p = data_srv.sockets[0].getsockname()[1]
                    w.write(
                        b"227 Entering Passive Mode (127,0,0,1,%d,%d).\r\n" % (p >> 8, p & 255)
                    )
                elif cmd == b"RETR":
                    dr, dw = await conns.get()
                    w.write(b"150 here it comes\r\n")
                    dw.write(b"\x55" * (self.size // 2))
                    await dw.drain()
                    dw.close()
                    if self.fault == "cut":
                        w.transport.abort()
                        return
                    w.write(b"426 Connection closed; transfer aborted.\r\n")
                elif cmd == b"STOR":
                    dr, dw = await conns.get()
                    w.write(b"150 send it\r\n")
                    if self.fault == "stor-cut":
                        self.got += await dr.readexactly(1000)
                        w.write(b"426 Connection closed; transfer aborted.\r\n")
                        await w.drain()
                        dw.transport.abort()
                        w.transport.abort()
                        return
                    self.got += await dr.read()
                    dw.close()
                    w.write(b"552 Requested file action aborted. Exceeded storage allocation.\r\n")
                else:
                    w.write(b"502 not here\r\n")
                await w.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            if data_srv is not None:
                data_srv.close()
            w.close()
