"""A small HTTP/1.1 server over the board's injected listener (RFC 9110, 9112): hard caps."""

from .compat import asyncio, const, wait_for
from .errors import NetError
from .params import digits

HEAD_CAP = const(1536)  # request line and headers; more answers 431 (RFC 6585 5)
BODY_CAP = const(2048)  # a form body; more answers 413 (RFC 9110 15.5.14)
CONN_CAP = const(4)  # connections served at once; a phone opens two or three, more wait
REQUEST_S = const(10)  # a whole request must arrive within this time (slow clients)
_READ = const(512)

REASONS = {
    200: "OK",
    303: "See Other",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
    503: "Service Unavailable",
}

# Every page: no caching of settings, no framing (clickjacking), no scripts at all.
_SAFE = (
    b"Cache-Control: no-store\r\nX-Frame-Options: DENY\r\nX-Content-Type-Options: nosniff\r\n"
    b"Referrer-Policy: no-referrer\r\nContent-Security-Policy: default-src 'none'; "
    b"style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'\r\n"
    b"Connection: close\r\n"
)


class HTTPError(Exception):
    """A request refused before it reached a page: status code and a short reason."""

    def __init__(self, status, text=""):
        super().__init__(status)
        self.status = status
        self.text = text or REASONS.get(status, "")


class Request:
    """One parsed request: method, path, query (dict), the few headers we use, body."""

    def __init__(self, method, path, query, headers, body, peer):
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.peer = peer

    def form(self):
        """The urlencoded body as a dict of str (UTF-8); HTTPError 400 when malformed."""
        return parse_qs(self.body)


def unquote_plus(raw):
    """Percent-decoding of application/x-www-form-urlencoded (bytes in, str out)."""
    raw = raw.replace(b"+", b" ")
    parts = raw.split(b"%")
    out = [parts[0]]
    for p in parts[1:]:
        h = p[:2]
        try:
            if len(h) != 2:
                raise ValueError
            out.append(bytes((int(h, 16),)) + p[2:])
        except ValueError:
            raise HTTPError(400, "bad percent escape") from None
    try:
        return b"".join(out).decode()
    except UnicodeError:
        raise HTTPError(400, "not UTF-8") from None


def parse_qs(data):
    out = {}
    for pair in data.split(b"&"):
        if not pair:
            continue
        k, _, v = pair.partition(b"=")
        out[unquote_plus(k)] = unquote_plus(v)
    return out


def escape(text):
    """Text for HTML content and quoted attributes: & < > " ' replaced."""
    text = str(text)
    for a, b in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#39;")):
        if a in text:
            text = text.replace(a, b)
    return text


def same(a, b):
    """Constant-time comparison of two strings (the time does not tell how much matched)."""
    a = a.encode() if isinstance(a, str) else a
    b = b.encode() if isinstance(b, str) else b
    diff = len(a) ^ len(b)
    for i in range(len(b)):  # a password of at most 64 bytes: not a data path
        diff |= (a[i % len(a)] if a else 0) ^ b[i]
    return diff == 0


async def read_request(conn, peer):
    """Read and parse one request from conn within the caps; raises HTTPError."""
    buf = b""
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            break
        if len(buf) > HEAD_CAP:
            raise HTTPError(431)
        data = await conn.read(_READ)
        if not data:
            raise HTTPError(400, "incomplete request")
        buf += data
    if end > HEAD_CAP:
        raise HTTPError(431)
    lines = buf[:end].split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[2][:7] != b"HTTP/1.":
        raise HTTPError(400, "bad request line")
    method = parts[0].decode()
    path, _, query = parts[1].partition(b"?")
    headers = {}
    for line in lines[1:]:
        k, sep, v = line.partition(b":")
        if not sep:
            raise HTTPError(400, "bad header")
        k = k.strip().lower()
        if k in (b"content-length", b"authorization", b"content-type", b"origin", b"host"):
            headers[k.decode()] = v.strip().decode()
    body = buf[end + 4 :]
    if method == "POST":
        n = headers.get("content-length")
        if n is None:
            raise HTTPError(411)
        if not digits(n) or len(n) > 6:
            raise HTTPError(400, "bad Content-Length")
        n = int(n)
        if n > BODY_CAP:
            raise HTTPError(413)
        while len(body) < n:
            data = await conn.read(min(_READ, n - len(body)))
            if not data:
                raise HTTPError(400, "incomplete body")
            body += data
        body = body[:n]
    else:
        body = b""
    return Request(method, unquote_plus(path), parse_qs(query), headers, body, peer)


async def respond(conn, status, chunks=(), ctype="text/html; charset=utf-8", extra=b""):
    """Status line, headers, then each chunk of the body (str or bytes) as it comes."""
    head = "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n" % (status, REASONS.get(status, ""), ctype)
    await conn.write(head.encode() + _SAFE + extra + b"\r\n")
    for c in chunks:
        if c:
            await conn.write(c.encode() if isinstance(c, str) else c)


async def redirect(conn, where):
    await respond(conn, 303, (), extra=b"Location: " + where.encode() + b"\r\n")


class Server:
    """Accepts connections on net.listen(port) and hands each request to
    `await handler(request, conn)`. At most CONN_CAP at once; each must send its request within
    REQUEST_S seconds. The caller runs `serve()` as a task and cancels it to stop."""

    def __init__(self, net, handler, port, host=None, log=None):
        self.net = net
        self.handler = handler
        self.port = port
        self.host = host
        self.log = log or _no_log
        self.listener = None
        self.active = 0
        self.served = 0

    async def open(self):
        self.listener = await self.net.listen(self.port, self.host, CONN_CAP)

    async def serve(self):
        if self.listener is None:
            await self.open()
        try:
            while True:
                while self.active >= CONN_CAP:  # the rest wait in the backlog
                    await asyncio.sleep(0.05)
                conn, peer = await self.listener.accept()
                self.active += 1
                asyncio.create_task(self._one(conn, peer))
        finally:
            self.listener.close()
            self.listener = None

    async def _one(self, conn, peer):
        try:
            try:
                req = await wait_for(read_request(conn, peer), REQUEST_S)
            except HTTPError as e:
                await respond(conn, e.status, (e.text,), "text/plain; charset=utf-8")
                return
            except asyncio.TimeoutError:
                return
            self.served += 1
            self.log("web: %s %s" % (req.method, req.path[:40]))  # never a query or a body
            await self.handler(req, conn)
        except NetError:
            pass  # the client went away
        except OSError:
            pass
        finally:
            self.active -= 1
            try:
                await conn.close()
            except (NetError, OSError):
                pass


def _no_log(msg):
    pass
