"""The setup and status pages (docs/portal.md): the AT# parameters from a phone's browser."""

import binascii
import gc
import hashlib

from .compat import asyncio, const
from .errors import ATError
from .web import HTTPError, escape, redirect, respond, same
from . import params, version

_EEPROM_WRITE = const(34824)
_BAD_VALUE = const(34882)
_SERVICE_RUNNING = const(37123)

_WRONG_PW_S = const(1)  # a wrong password answers after this pause (guessing gets slow)
_SCAN_CAP = const(20)  # networks listed
_AP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off a label
_AP_PW_LEN = const(10)

# What the setup page edits, in page order: (name, label). The values pass paramset.validate
# exactly as AT#<name>= does; SECRET ones are write-only (an empty field keeps the value).
WIFI = (("WIFISSID", "Network"), ("WIFIPW", "Wi-Fi password"))
MAIL = (
    ("SMTPSERV", "SMTP server"),
    ("SMTPPORT", "Port"),
    ("SMTPSEC", "Security"),
    ("SMTPUN", "User"),
    ("SMTPPW", "Password"),
    ("SENDERADDR", "Sender"),
    ("REC1", "First recipient"),
)
PAGE = (("WEBPW", "New page password"), ("WEBSTATUS", "Status pages on the network"))
_CHOICES = {
    "SMTPSEC": (("0", "none"), ("1", "STARTTLS"), ("2", "TLS")),
    "WEBSTATUS": (("0", "off"), ("1", "on (needs a page password)")),
}
# #CME codes a page can meet, in words (docs/commands.md has them all).
_WORDS = {
    _BAD_VALUE: "bad value",
    _SERVICE_RUNNING: "a service is running",
    _EEPROM_WRITE: "settings not written",
}


def ap_name(uid):
    """The setup access point's name: mtgw- and the last 3 bytes of the board id in hex."""
    return "mtgw-" + binascii.hexlify(uid[-3:]).decode().upper()


def ap_password(uid):
    """The setup access point's WPA2 password when SETUPPW is not set: 10 characters from a
    SHA-256 of the board id (tools/label.py prints it at flashing time; docs/portal.md says
    what that protects and what it does not)."""
    d = hashlib.sha256(b"mtgw-setup:" + uid).digest()
    return "".join([_AP_ALPHABET[d[i] % len(_AP_ALPHABET)] for i in range(_AP_PW_LEN)])


def why(code):
    return "%d: %s" % (code, _WORDS.get(code, "refused"))


_CSS = (
    "<style>body{font:16px sans-serif;margin:0 auto;max-width:30em;padding:0 .8em}"
    "h1{font-size:1.3em}h2{font-size:1.05em;margin:1.2em 0 .3em}label{display:block;"
    "margin:.5em 0 .1em}input,select{width:100%;box-sizing:border-box;font-size:1em;"
    "padding:.45em}button{font-size:1em;padding:.6em;margin:.6em .4em 0 0}"
    ".err{background:#fdd;padding:.5em}.ok{background:#dfd;padding:.5em}"
    "nav a{margin-right:1em}td{padding:.15em .6em .15em 0;vertical-align:top}"
    "pre{white-space:pre-wrap;font-size:.8em}small{color:#555}</style>"
)


class Portal:
    """The pages of one modem. setup: True in setup mode (the board's own access point, which
    is the gate for viewing); False on the joined network (basic auth with WEBPW)."""

    def __init__(self, modem, setup, ap=None):
        self.m = modem
        self.setup = setup
        self.ap = ap  # (name, address) of the setup access point, for the status page
        self.nets = None  # the last scan: [(ssid, rssi, secure)]
        self.mailing = False

    # ------------------------------------------------------------ dispatch
    async def handle(self, req, conn):
        try:
            path = req.path
            if path in ("/", "/generate_204", "/hotspot-detect.html", "/connecttest.txt"):
                return await redirect(conn, "/setup" if self.setup else "/status")
            page = _ROUTES.get(path)
            if page is None:
                raise HTTPError(404)
            if page[0] != req.method:
                raise HTTPError(405)
            if not self.setup and not self._viewer(req):
                if not self.m.values["WEBPW"] or not self.m.values["WEBSTATUS"]:
                    raise HTTPError(403, "status pages are off")
                return await respond(
                    conn,
                    401,
                    ("page password needed",),
                    "text/plain; charset=utf-8",
                    b'WWW-Authenticate: Basic realm="mtgw", charset="UTF-8"\r\n',
                )
            await page[1](self, req, conn)
        except HTTPError as e:
            await respond(conn, e.status, (e.text,), "text/plain; charset=utf-8")

    def _viewer(self, req):
        """Basic auth (RFC 7617) with WEBPW, any user name; only on the joined network."""
        v = self.m.values
        if not v["WEBPW"] or not v["WEBSTATUS"]:
            return False
        a = req.headers.get("authorization", "")
        if a[:6] != "Basic ":
            return False
        try:
            cred = binascii.a2b_base64(a[6:]).decode()
        except (ValueError, UnicodeError):
            return False
        return same(cred[cred.find(":") + 1 :], v["WEBPW"])

    def _may_change(self, form):
        """Every change carries the page password; without one set only setup mode changes."""
        pw = self.m.values["WEBPW"]
        if not pw:
            return self.setup
        return same(form.get("pw", ""), pw)

    # ------------------------------------------------------------ pages
    async def _status(self, req, conn):
        await respond(conn, 200, self._status_chunks())

    def _status_chunks(self):
        m = self.m
        b = m.board
        v = m.values
        yield _head("Status")
        rows = []
        if self.setup and self.ap:
            rows.append(("Setup access point", "%s at %s" % self.ap))
        link = b.link_available()
        rssi = b.rssi() if link else None
        rows.append(("Wi-Fi", (v["WIFISSID"] or "(not set)") + (" joined" if link else "")))
        rows.append(("Signal", "%d dBm" % rssi if rssi is not None else "none"))
        ip = " %s" % m.session[0] if m.session else ""
        rows.append(("IP session", m.state + ip))
        rows.append(("Last mail", last_mail(m.last_smtp)))
        outbox = getattr(m, "outbox", None)
        if outbox is not None:
            try:
                rows.append(("Outbox", "%d waiting" % len(outbox)))
            except TypeError:
                pass
        rows.append(("Firmware", version.REVISION))
        free = getattr(gc, "mem_free", None)
        rows.append(("Free heap", "%d bytes" % free() if free else "n/a (CPython)"))
        yield "<table>"
        for k, val in rows:
            yield "<tr><td>%s</td><td>%s</td></tr>" % (k, escape(val))
        yield "</table><h2>#SMTPLOG</h2><pre>"
        for step, code, text, ms in m.last_smtp:
            yield escape('#SMTPLOG: "%s",%d,"%s",%d\n' % (step, code, text[:80], ms))
        yield "</pre></body></html>"

    async def _setup_page(self, req, conn, note=None, bad=None, form=None):
        if self.nets is None or req.query.get("scan"):
            self.nets = await self._scan()
        await respond(conn, 200, self._setup_chunks(note, bad, form or {}))

    async def _scan(self):
        scan = getattr(self.m.board, "scan", None)
        if scan is None:
            return []
        try:
            nets = await scan()
        except OSError:
            return []
        return sorted(nets, key=_by_signal)[:_SCAN_CAP]

    def _setup_chunks(self, note, bad, form):
        v = self.m.values
        yield _head("Setup")
        if note:
            yield '<p class="%s" id="note">%s</p>' % ("err" if bad else "ok", escape(note))
        yield '<form method="post" action="/save"><h2>Wi-Fi</h2>'
        yield _field("WIFISSID", "Network", form.get("WIFISSID", v["WIFISSID"]), bad, "nets")
        yield '<datalist id="nets">'
        for net in self.nets or ():
            yield '<option value="%s">' % escape(net[0])
        yield "</datalist><small>"
        yield (
            ", ".join(
                [
                    "%s (%d dBm%s)" % (escape(s), r, "" if sec else ", open")
                    for s, r, sec in self.nets or ()
                ]
            )
            or "no networks found"
        )
        yield ' <a href="/setup?scan=1">scan again</a></small>'
        yield self._secret("WIFIPW", "Wi-Fi password", bad)
        yield "<h2>Mail</h2>"
        for name, label in MAIL:
            if name == "SMTPPW":
                yield self._secret(name, label, bad)
            elif name in _CHOICES:
                yield _select(name, label, form.get(name, str(v[name])), bad)
            else:
                yield _field(name, label, form.get(name, str(v[name])), bad)
        yield "<h2>This page</h2>"
        yield self._secret("WEBPW", "New page password", bad)
        yield _select(
            "WEBSTATUS",
            "Status pages on the network",
            form.get("WEBSTATUS", str(v["WEBSTATUS"])),
            bad,
        )
        if v["WEBPW"]:
            yield (
                '<label for="pw">Page password (needed to save)</label>'
                '<input type="password" id="pw" name="pw" autocomplete="current-password">'
            )
        yield (
            '<button type="submit" id="save">Save</button>'
            '<button type="submit" id="test" formaction="/test">Save and send a test mail'
            "</button></form></body></html>"
        )

    def _secret(self, name, label, bad):
        state = "set; empty keeps it" if self.m.values[name] else "not set"
        return (
            '<label for="%s">%s <small>(%s)</small></label>'
            '<input type="password" id="%s" name="%s" autocomplete="new-password"%s>'
            % (name, label, state, name, name, _mark(name, bad))
        )

    async def _save(self, req, conn, test=False):
        form = req.form()
        if not self._may_change(form):
            await asyncio.sleep(_WRONG_PW_S)
            self.m.board.log("web: wrong page password")
            return await respond(conn, 403, _message("Wrong page password", "Nothing changed."))
        try:
            changed = self.store(form)
        except _Refused as e:
            form.pop("pw", None)
            return await self._setup_page(
                req, conn, "%s: %s" % (e.name, why(e.code)), e.name, form
            )
        note = "Saved." if changed else "Nothing to change."
        if "WIFISSID" in changed or "WIFIPW" in changed:
            hook = getattr(self.m.board, "wifi_changed", None)
            if hook is not None:
                hook(self.m.values)
        if test:
            note += " " + await self.test_mail()
        await self._setup_page(req, conn, note, None, None)

    async def _test(self, req, conn):
        await self._save(req, conn, True)

    def store(self, form):
        """Validate every field of the form as AT#<name>= does, then store them in one save.
        Returns the names changed; raises _Refused(name, code) and stores nothing."""
        m = self.m
        if m.busy:  # S000333D p53: no parameter changes while a service runs (check_idle)
            raise _Refused("settings", _SERVICE_RUNNING)
        from . import paramset  # on use: the modem drops it after the command

        new = {}
        for name, _ in WIFI + MAIL + PAGE:
            if name not in form:
                continue
            p = params.get(name)
            text = form[name].strip()
            if p[5] & params.SECRET and not text:
                continue  # write-only: an empty field keeps the stored password
            try:
                value = paramset.validate(p, text)
            except ATError as e:
                raise _Refused(name, e.code) from None
            if value != m.values[name]:
                new[name] = value
        if new:
            at = dict(m.values.stored)  # as atcmds' _set_value: changed only once it is stored
            at.update(new)
            try:
                m.save("at", at)
            except ATError as e:
                raise _Refused("settings", e.code) from None
            m.values.stored = at
            m.board.log("web: stored %s" % ",".join(sorted(new)))  # names only, never values
        return list(new)

    async def test_mail(self):
        """One mail to REC1 with the stored settings, as AT#SENDMAIL sends one: the result
        in words. The host's AT# writes and mail answer 37123 meanwhile."""
        m = self.m
        if m.busy:
            return "Test mail not sent: " + why(_SERVICE_RUNNING)
        m.busy.add("web")
        up = None
        try:
            from . import mail, mailopen
            from .mailbody import BodyComposer

            v = m.values
            if m.session:
                ip = m.session[0]
            else:
                up = await m.board.net.up(v)
                ip = up[0]
            to = mailopen.addresses(v["REC1"])
            composer = BodyComposer(mailopen.compose_headers(m, to, [], "mtgw test mail"))
            client = await mail.open_smtp(m, mailopen.smtp_args(m, to, [], ip))
            await mail.send_body(
                m, client, composer, b"A test mail from the setup page of the modem.\r\n"
            )
            return "Test mail sent to %s." % v["REC1"]
        except ATError as e:
            return "Test mail not sent: #CME ERROR %s" % why(e.code)
        except Exception as e:  # noqa: BLE001 - a NetError from up(), a fault: in words
            code = getattr(e, "code", None)
            return "Test mail not sent: %s" % (why(code) if code else repr(e))
        finally:
            m.busy.discard("web")
            if up is not None and not m.session:
                await m.board.net.down()


class _Refused(Exception):
    def __init__(self, name, code):
        super().__init__(name, code)
        self.name = name
        self.code = code


def last_mail(trace):
    """The last SMTP exchange in words (modem.last_smtp)."""
    if not trace:
        return "none since power-up"
    for t in trace:
        if t[0] == "END" and t[1] == 250:
            return "delivered (250 %s)" % t[2][:60]
    step, code, text, _ = trace[-1]
    return "failed at %s: %d %s" % (step, code, text[:60])


def _by_signal(net):
    return -net[1]


def _head(title):
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
        'content="width=device-width,initial-scale=1"><title>mtgw %s</title>%s</head><body>'
        '<nav><a href="/status">Status</a><a href="/setup">Setup</a></nav><h1>%s</h1>'
        % (title, _CSS, title)
    )


def _message(title, text):
    return (_head(title), "<p>%s</p></body></html>" % escape(text))


def _mark(name, bad):
    return ' aria-invalid="true" class="err"' if name == bad else ""


def _field(name, label, value, bad, datalist=None):
    kind = ' inputmode="numeric"' if name == "SMTPPORT" else ""
    if datalist:
        kind += ' list="%s"' % datalist
    return '<label for="%s">%s</label><input id="%s" name="%s" value="%s"%s%s>' % (
        name,
        label,
        name,
        name,
        escape(value),
        kind,
        _mark(name, bad),
    )


def _select(name, label, value, bad):
    opts = "".join(
        [
            '<option value="%s"%s>%s</option>' % (k, " selected" if k == value else "", t)
            for k, t in _CHOICES[name]
        ]
    )
    return '<label for="%s">%s</label><select id="%s" name="%s"%s>%s</select>' % (
        name,
        label,
        name,
        name,
        _mark(name, bad),
        opts,
    )


_ROUTES = {
    "/status": ("GET", Portal._status),
    "/setup": ("GET", Portal._setup_page),
    "/save": ("POST", Portal._save),
    "/test": ("POST", Portal._test),
}


async def open_server(modem, setup, port, host=None, ap=None):
    """A web.Server for the pages of `modem`, listening (NetError when the port cannot be
    opened); run its serve() as a task, cancel it to stop."""
    from .web import Server

    server = Server(modem.board.net, Portal(modem, setup, ap).handle, port, host, modem.board.log)
    await server.open()
    modem.board.log("web: serving on port %d (%s mode)" % (port, "setup" if setup else "status"))
    return server


async def serve(modem, setup, port, host=None, ap=None):
    """The pages of `modem` until cancelled (setup mode or status mode)."""
    await (await open_server(modem, setup, port, host, ap)).serve()
