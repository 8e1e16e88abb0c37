"""A real mail system on loopback for host tests: isolated Postfix + Dovecot instances.

``start_mta()`` starts, under a fresh directory in /tmp:

* Postfix (``postfix -c DIR``, own config, queue and data directories) with
  - ``smtp_port``: SMTP with STARTTLS; AUTH PLAIN/LOGIN (via Dovecot SASL) offered only after
    STARTTLS; mail to ``address`` accepted only from authenticated clients (``require_auth``),
    relaying anywhere else is refused ("Relay access denied"), nothing ever leaves the host;
  - ``smtps_port``: the same with implicit TLS (port-465 style);
  and delivery by Postfix's virtual(8) agent into ``maildir`` (owned by ``nobody``).
* Dovecot (``dovecot -F -c FILE``, own base_dir/state_dir) with
  - ``pop3_port``: POP3, plaintext login allowed, STLS offered;
  - ``pop3s_port``: POP3 with implicit TLS;
  - the SASL auth socket that Postfix uses; one passwd-file user (``user``/``password``).

Both servers present a certificate for ``localhost``, ``127.0.0.1`` and ``mail.<domain>``
signed by a throw-away CA (``cafile``). Everything listens on 127.0.0.1 only. Needs root and
the packages from ``tools/install_mta.sh``.

Pytest: the session-scoped fixture ``mta`` and the function-scoped ``clean_mta`` (the same
object, with the mailbox and the Postfix queue emptied first). Make them visible with
``from mta import clean_mta_fixture, mta_fixture  # noqa: F401`` in conftest.py or a test
module; however many modules do so, the session shares one instance.
"""

from __future__ import annotations

import atexit
import contextlib
import grp
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

POSTFIX = "/usr/sbin/postfix"
POSTSUPER = "/usr/sbin/postsuper"
DOVECOT = "/usr/sbin/dovecot"
HOST = "127.0.0.1"
MAIL_USER = "nobody"  # owner of the virtual mailbox; Postfix and Dovecot both refuse root
MAIL_GROUP = "nogroup"


class MTAUnavailable(RuntimeError):
    """The machine lacks what the MTA needs (packages, root); not a failure of the MTA."""


@dataclass(frozen=True)
class Mail:
    path: Path
    data: bytes


@dataclass
class MTA:
    host: str
    smtp_port: int
    smtps_port: int
    pop3_port: int
    pop3s_port: int
    user: str
    password: str
    address: str
    domain: str
    cafile: str
    maildir: Path
    root: Path
    keep: bool = False
    _dovecot: subprocess.Popen | None = field(default=None, repr=False)
    _postfix_pid: int | None = field(default=None, repr=False)

    @property
    def postfix_config(self) -> Path:
        return self.root / "postfix"

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts only the test CA and checks the host name."""
        return ssl.create_default_context(cafile=self.cafile)

    def messages(self) -> list[Mail]:
        """Mails now in the mailbox (new/ and cur/), oldest first."""
        found = []
        for sub in ("new", "cur"):
            with contextlib.suppress(FileNotFoundError):
                found.extend(p for p in (self.maildir / sub).iterdir() if p.is_file())
        mails = []
        for p in found:
            try:
                mails.append((p.stat().st_mtime_ns, p.name, Mail(p, p.read_bytes())))
            except FileNotFoundError:  # moved new/ -> cur/ by Dovecot meanwhile, or expunged
                continue
        return [m for _, _, m in sorted(mails, key=lambda t: (t[0], t[1]))]

    def wait_for_mail(self, count: int = 1, timeout: float = 10.0) -> list[Mail]:
        """Wait until the mailbox holds at least ``count`` mails; return them all."""
        deadline = time.monotonic() + timeout
        while True:
            mails = self.messages()
            if len(mails) >= count:
                return mails
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{len(mails)} of {count} mails in {self.maildir} after {timeout}s; "
                    f"postfix log tail:\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def clear(self) -> None:
        """Empty the mailbox and drop anything still in the Postfix queue."""
        subprocess.run(
            [POSTSUPER, "-c", str(self.postfix_config), "-d", "ALL"],
            capture_output=True,
            check=False,
        )
        for sub in ("new", "cur", "tmp"):
            with contextlib.suppress(FileNotFoundError):
                for p in (self.maildir / sub).iterdir():
                    with contextlib.suppress(FileNotFoundError):
                        p.unlink()

    def log_tail(self, lines: int = 30) -> str:
        out = []
        for name in ("postfix.log", "dovecot.log"):
            with contextlib.suppress(FileNotFoundError):
                text = (self.root / name).read_text(errors="replace").splitlines()
                out.append(f"--- {name}\n" + "\n".join(text[-lines:]))
        return "\n".join(out)

    def stop(self) -> None:
        """Stop both servers (idempotent), make sure no process is left, remove the files."""
        if self._postfix_pid is not None:
            # What "postfix stop" does, minus its one-second polling: the master ends its
            # children and exits on SIGTERM.
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._postfix_pid, signal.SIGTERM)
            _wait_gone(self._postfix_pid, 10)
            self._postfix_pid = None
        # Postfix children carry MAIL_CONFIG in their environment: end any straggler of ours.
        for pid in _pids_with_env(f"MAIL_CONFIG={self.postfix_config}"):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self._dovecot is not None:
            if self._dovecot.poll() is None:
                self._dovecot.terminate()
                try:
                    self._dovecot.wait(10)
                except subprocess.TimeoutExpired:
                    self._dovecot.kill()
                    self._dovecot.wait(10)
            self._dovecot = None
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> MTA:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie that its reaper has not collected counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _wait_gone(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _pids_with_env(entry: str) -> list[int]:
    needle = entry.encode() + b"\0"
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            env = (d / "environ").read_bytes()
        except OSError:
            continue
        if (b"\0" + env).find(b"\0" + needle) >= 0:
            pids.append(int(d.name))
    return pids


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind((HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _wait_port(
    port: int, deadline: float, banner: bytes, tls: ssl.SSLContext | None = None
) -> None:
    """Wait until the server on ``port`` greets with ``banner`` (after a TLS handshake)."""
    while True:
        try:
            with socket.create_connection((HOST, port), timeout=2) as raw:
                with (
                    tls.wrap_socket(raw, server_hostname="localhost")
                    if tls
                    else contextlib.nullcontext(raw)
                ) as s:
                    if s.recv(200).startswith(banner):
                        return
        except OSError:  # includes ssl.SSLError
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"no {banner!r} greeting on {HOST}:{port}")
        time.sleep(0.05)


def check_available() -> None:
    """Raise MTAUnavailable with the reason when this machine cannot run the MTA."""
    missing = [p for p in (POSTFIX, POSTSUPER, DOVECOT) if not os.access(p, os.X_OK)]
    if missing:
        raise MTAUnavailable(f"{', '.join(missing)} not installed: run tools/install_mta.sh")
    if os.geteuid() != 0:
        raise MTAUnavailable("the Postfix/Dovecot test instances need root")
    for name in ("postfix", "dovecot", "dovenull", MAIL_USER):
        try:
            pwd.getpwnam(name)
        except KeyError:
            raise MTAUnavailable(f"no system user {name!r}: run tools/install_mta.sh") from None
    try:
        import trustme  # noqa: F401
    except ImportError:
        raise MTAUnavailable("python package trustme missing (pip install trustme)") from None


def _write_certs(tls: Path, domain: str) -> tuple[Path, Path]:
    import trustme

    ca = trustme.CA(organization_name="MTA test CA")
    cert = ca.issue_cert("localhost", HOST, f"mail.{domain}")
    cafile = tls / "ca.pem"
    chain = tls / "server.pem"  # key first, then the certificate chain
    ca.cert_pem.write_to_path(str(cafile))
    cert.private_key_and_cert_chain_pem.write_to_path(str(chain))
    chain.chmod(0o600)
    return cafile, chain


def _postfix_config(root: Path, m: MTA, chain: Path, require_auth: bool) -> tuple[str, str]:
    uid = pwd.getpwnam(MAIL_USER).pw_uid
    gid = grp.getgrnam(MAIL_GROUP).gr_gid
    if require_auth:
        recipient_restrictions = "reject_unauth_destination, permit_sasl_authenticated, reject"
    else:
        recipient_restrictions = "reject_unauth_destination, permit"
    main_cf = f"""\
compatibility_level = 3.6
queue_directory = {root}/spool
data_directory = {root}/data
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-test
maillog_file = {root}/postfix.log
maillog_file_prefixes = {root}
inet_interfaces = {HOST}
inet_protocols = ipv4
myhostname = mail.{m.domain}
mydomain = {m.domain}
myorigin = $myhostname
mydestination =
mynetworks = {HOST}/32
local_recipient_maps =
local_transport = error:5.1.1 local delivery is disabled in the test MTA
default_transport = error:5.7.1 outbound mail is disabled in the test MTA
relay_domains =
relayhost =
alias_maps =
alias_database =
biff = no
in_flow_delay = 0
delay_warning_time = 0
smtpd_peername_lookup = no
smtpd_banner = $myhostname ESMTP test MTA
virtual_mailbox_domains = {m.domain}
virtual_mailbox_base = {root}/vmail
virtual_mailbox_maps = inline:{{ {m.address}={m.domain}/{m.user}/ }}
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
virtual_minimum_uid = 1
smtpd_tls_security_level = may
smtpd_tls_chain_files = {chain}
smtpd_tls_auth_only = yes
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions = {recipient_restrictions}
"""
    services = [
        ("pickup", "unix", "n", "-", "n", "60", "1", "pickup"),
        ("cleanup", "unix", "n", "-", "n", "-", "0", "cleanup"),
        ("qmgr", "unix", "n", "-", "n", "300", "1", "qmgr"),
        ("tlsmgr", "unix", "-", "-", "n", "1000?", "1", "tlsmgr"),
        ("rewrite", "unix", "-", "-", "n", "-", "-", "trivial-rewrite"),
        ("bounce", "unix", "-", "-", "n", "-", "0", "bounce"),
        ("defer", "unix", "-", "-", "n", "-", "0", "bounce"),
        ("trace", "unix", "-", "-", "n", "-", "0", "bounce"),
        ("verify", "unix", "-", "-", "n", "-", "1", "verify"),
        ("flush", "unix", "n", "-", "n", "1000?", "0", "flush"),
        ("proxymap", "unix", "-", "-", "n", "-", "-", "proxymap"),
        ("proxywrite", "unix", "-", "-", "n", "-", "1", "proxymap"),
        ("smtp", "unix", "-", "-", "n", "-", "-", "smtp"),
        ("relay", "unix", "-", "-", "n", "-", "-", "smtp"),
        ("showq", "unix", "n", "-", "n", "-", "-", "showq"),
        ("error", "unix", "-", "-", "n", "-", "-", "error"),
        ("retry", "unix", "-", "-", "n", "-", "-", "error"),
        ("discard", "unix", "-", "-", "n", "-", "-", "discard"),
        ("local", "unix", "-", "n", "n", "-", "-", "local"),
        ("virtual", "unix", "-", "n", "n", "-", "-", "virtual"),
        ("anvil", "unix", "-", "-", "n", "-", "1", "anvil"),
        ("scache", "unix", "-", "-", "n", "-", "1", "scache"),
        ("postlog", "unix-dgram", "n", "-", "n", "-", "1", "postlogd"),
    ]
    master_cf = [
        f"{HOST}:{m.smtp_port} inet n - n - - smtpd",
        f"{HOST}:{m.smtps_port} inet n - n - - smtpd",
        "  -o syslog_name=postfix-test/smtps",
        "  -o smtpd_tls_wrappermode=yes",
        "  -o smtpd_tls_security_level=encrypt",
    ]
    master_cf += [" ".join(s) for s in services]
    return main_cf, "\n".join(master_cf) + "\n"


def _dovecot_config(root: Path, m: MTA, chain: Path, instance: str) -> str:
    dh_file = Path("/usr/share/dovecot/dh.pem")
    dh = f"ssl_dh = <{dh_file}\n" if dh_file.exists() else ""
    d = root / "dovecot"
    return f"""\
instance_name = {instance}
base_dir = {d}/run
state_dir = {d}/state
log_path = {root}/dovecot.log
protocols = pop3
listen = {HOST}
ssl = yes
ssl_cert = <{chain}
ssl_key = <{chain}
{dh}ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:{m.maildir}
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid={MAIL_USER} gid={MAIL_GROUP} home={m.maildir}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = {HOST}
    port = {m.pop3_port}
  }}
  inet_listener pop3s {{
    address = {HOST}
    port = {m.pop3s_port}
    ssl = yes
  }}
}}
service anvil {{
  # No auth penalty (growing delays after failed logins from an IP): tests fail on purpose.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service auth {{
  unix_listener {root}/spool/private/auth {{
    mode = 0660
    user = postfix
    group = postfix
  }}
}}
"""


def start_mta(
    base_dir: str | os.PathLike | None = None,
    *,
    user: str = "alarm",
    password: str = "s3cret-Pass",
    domain: str = "test.example",
    require_auth: bool = True,
    keep: bool = False,
    timeout: float = 30.0,
) -> MTA:
    """Start Postfix + Dovecot on free loopback ports; returns a started ``MTA``.

    ``base_dir`` must be a directory every user can traverse (default: /tmp). The instance
    lives in a new subdirectory of it, removed by ``stop()`` unless ``keep``.
    Raises MTAUnavailable when the machine lacks packages or root, RuntimeError when the
    servers fail to come up.
    """
    check_available()
    started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="mta-", dir=base_dir)).resolve()
    root.chmod(0o755)  # the postfix, dovecot and nobody users must traverse it
    smtp, smtps, pop3, pop3s = _free_ports(4)
    maildir = root / "vmail" / domain / user
    for sub in ("tls", "postfix", "spool", "data", "dovecot/run", "dovecot/state"):
        (root / sub).mkdir(parents=True)
    os.chown(root / "data", pwd.getpwnam("postfix").pw_uid, -1)
    uid, gid = pwd.getpwnam(MAIL_USER).pw_uid, grp.getgrnam(MAIL_GROUP).gr_gid
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for p in (root / "vmail", root / "vmail" / domain, maildir, *maildir.iterdir()):
        os.chown(p, uid, gid)
        p.chmod(0o700 if p.is_relative_to(maildir) else 0o755)
    (root / "tls").chmod(0o700)
    cafile, chain = _write_certs(root / "tls", domain)

    m = MTA(
        host=HOST,
        smtp_port=smtp,
        smtps_port=smtps,
        pop3_port=pop3,
        pop3s_port=pop3s,
        user=user,
        password=password,
        address=f"{user}@{domain}",
        domain=domain,
        cafile=str(cafile),
        maildir=maildir,
        root=root,
        keep=keep,
    )
    main_cf, master_cf = _postfix_config(root, m, chain, require_auth)
    (root / "postfix" / "main.cf").write_text(main_cf)
    (root / "postfix" / "master.cf").write_text(master_cf)
    # Postfix waits (in 0.3 s steps, up to ~2 s) for a main.cf modified in the last second or so
    # to settle: date the files back.
    past = time.time() - 60
    for name in ("main.cf", "master.cf"):
        os.utime(root / "postfix" / name, (past, past))
    passwd = root / "dovecot" / "passwd"
    passwd.write_text(f"{user}:{{PLAIN}}{password}::::::\n")
    passwd.chmod(0o600)
    os.chown(passwd, pwd.getpwnam("dovecot").pw_uid, -1)  # read by Dovecot's auth process
    conf = root / "dovecot" / "dovecot.conf"
    conf.write_text(_dovecot_config(root, m, chain, root.name))

    try:
        r = subprocess.run(
            [POSTFIX, "-c", str(root / "postfix"), "start"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if r.returncode != 0:
            raise RuntimeError(f"postfix start failed ({r.returncode}):\n{r.stdout}{r.stderr}")
        m._postfix_pid = int((root / "spool" / "pid" / "master.pid").read_text().split()[0])
        with open(root / "dovecot" / "stderr.log", "wb") as err:
            m._dovecot = subprocess.Popen(
                [DOVECOT, "-F", "-c", str(conf)], stdin=subprocess.DEVNULL, stdout=err, stderr=err
            )
        deadline = started + timeout
        tls = m.ssl_context()
        _wait_port(smtp, deadline, b"220 ")
        _wait_port(smtps, deadline, b"220 ", tls)
        _wait_port(pop3, deadline, b"+OK")
        _wait_port(pop3s, deadline, b"+OK", tls)
        while not (root / "spool" / "private" / "auth").exists():
            if m._dovecot.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("dovecot did not create the SASL auth socket")
            time.sleep(0.05)
    except BaseException as exc:
        detail = m.log_tail()
        with contextlib.suppress(FileNotFoundError):
            detail += "\n--- dovecot stderr\n" + (root / "dovecot" / "stderr.log").read_text()
        m.stop()
        if isinstance(exc, Exception):
            raise RuntimeError(f"test MTA failed to start: {exc}\n{detail}") from exc
        raise
    atexit.register(m.stop)  # in case the caller never stops it; stop() is idempotent
    return m


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"test MTA unavailable in CI: {reason}", pytrace=False)
    pytest.skip(f"test MTA unavailable: {reason}")


# One instance per process, however many modules import the fixture (each import makes its
# own session-scoped FixtureDef): reference-counted, stopped when the last user is done.
_shared: MTA | None = None
_users = 0


def smtp_settings(mta, port=None, sec=1):
    """The AT lines that point the modem's SMTP client at this instance (STARTTLS, SASL)."""
    return [
        b'AT#SMTPSERV="localhost"',
        b"AT#SMTPPORT=%d" % (mta.smtp_port if port is None else port),
        b"AT#SMTPSEC=%d" % sec,
        b'AT#SMTPUN="%s"' % mta.user.encode(),
        b'AT#SMTPPW="%s"' % mta.password.encode(),
    ]


@pytest.fixture(scope="session", name="mta")
def mta_fixture():
    """A running Postfix + Dovecot for the whole session (see module docstring)."""
    global _shared, _users
    if _shared is None:
        try:
            _shared = start_mta()
        except MTAUnavailable as exc:
            _unavailable(str(exc))
    _users += 1
    try:
        yield _shared
    finally:
        _users -= 1
        if _users == 0 and _shared is not None:
            _shared.stop()
            _shared = None


@pytest.fixture(name="clean_mta")
def clean_mta_fixture(mta):
    """The session's MTA with an empty mailbox and queue."""
    mta.clear()
    return mta
