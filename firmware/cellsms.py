"""SMS through a cellular module (docs/cellular.md, docs/sms.md): AT+CMGS in PDU mode, long
texts as concatenated parts, received SMS read and deleted, and fetched during a data call at
the module's RI pulse or by a poll. A part of the driver (cellular.Cellular)."""

from modem.errors import NetError
from cellat import _fields, _int


def split_sms(text):
    """[(text, concat (ref, total, seq) or None)]: one SMS, or parts of at most 153 GSM
    septets / 67 UCS2 units each (23.040 9.2.3.24.1: a 6-octet UDH per part)."""
    from modem.smspdu import fits, measure

    if fits(text):
        return [(text, None)]
    alphabet = measure(text)[0]
    limit = 153 if alphabet == 0 else 67
    chunks = []
    cur = ""
    for ch in text:
        if cur and measure(cur + ch, alphabet)[1] > limit:
            chunks.append(cur)
            cur = ""
        cur += ch
    chunks.append(cur)
    return [(c, (0, len(chunks), i + 1)) for i, c in enumerate(chunks)]


class CellSMS:
    """The SMS half of cellular.Cellular (its stream, lock and data-mode escape)."""

    async def send_sms(self, number, text, part=None):
        """AT+CMGS in PDU mode (27.005 3.5.1), each part of a long text; -> the last <mr>.
        In data mode the call is suspended meanwhile (+++, ATO: docs/cellular.md)."""
        from modem.smspdu import encode_submit

        parts = split_sms(text) if part is None else [(text, part)]
        mr = 0
        async with self._lock:
            own = self.data and not self.suspended
            if own:
                await self._escape()
            try:
                for chunk, concat in parts:
                    udh = None
                    if concat is not None:
                        udh = bytes((5, 0, 3, concat[0] & 255, concat[1], concat[2]))
                    hexpdu, n = encode_submit(number, chunk, udh=udh)
                    lines = await self._command("AT+CMGS=%d" % n, self.q["sms_ms"], hexpdu)
                    for line in lines:
                        if line[:6] == b"+CMGS:":
                            mr = _int(_fields(line)[0])
            finally:
                if own and self.data:
                    await self._resume()
        return mr

    async def _list_sms(self):
        """SMS the module stored while nobody listened (27.005 3.4.2 AT+CMGL=4)."""
        async with self._lock:
            await self._list()

    async def _list(self):
        for line in await self._command("AT+CMGL=4", 10000):
            if line[:6] == b"+CMGL:":
                i = _int(_fields(line)[0], -1)
                if i not in self._sms and i not in self._held:
                    self._sms.append(i)

    async def fetch_sms(self):
        """Read each announced SMS into inbox; it stays in the module until the core has it
        (done()), so that a power cut in between loses nothing (docs/sms.md)."""
        async with self._lock:
            await self._fetch()

    async def _fetch(self):
        from modem.smspdu import PDUError, decode_deliver

        while self._sms:
            i = self._sms.pop(0)
            if i < 0 or i in self._held:
                continue
            try:
                lines = await self._command("AT+CMGR=%d" % i, 10000)
            except NetError as e:
                if e.code == 321:  # 27.005 3.2.5 invalid index: announced twice, gone already
                    continue
                raise
            pdu = lines[-1] if len(lines) >= 2 else b""
            try:
                d = decode_deliver(pdu)
                text = d.text if d.text is not None else d.data.decode()
                self.inbox.append([d.oa, text, d.scts, d.concat, i, None])
                self._held.append(i)
                continue
            except (PDUError, UnicodeError, ValueError):
                self.log("module: SMS %d unreadable, deleted" % i)
            await self._command("AT+CMGD=%d" % i, 5000)

    def done(self, i):
        """The core stored (or passed on) the SMS the module holds at index i: the keeper
        deletes it there (AT+CMGD) at its next round in command mode."""
        if i in self._held and i not in self._done:
            self._done.append(i)

    async def _purge(self):
        while self._done:
            i = self._done[0]
            try:
                await self._command("AT+CMGD=%d" % i, 5000)
            except NetError as e:
                if e.code != 321:  # 27.005 3.2.5 invalid index: gone already
                    raise
            self._done.pop(0)
            self._held.remove(i)

    def ring(self):
        """The module's RI line fell (an SMS or another URC waits): the board's pin interrupt
        or the simulated module calls this; the keeper fetches the SMS within _RING_MS."""
        self._ring = True
        self.rings += 1

    async def sms_in_call(self):
        """Data mode: leave the call (+++), take the SMS the module holds (its held +CMTI and
        AT+CMGL=4), read and delete them, ATO (docs/cellular.md: about 2 s of guard times)."""
        async with self._lock:
            if not self.data or self.suspended:
                return
            self._in_call_ms = 0
            await self._escape()
            try:
                await self._purge()
                await self._list()
                await self._fetch()
                self._ring = bool(self._sms)  # the held +CMTI rang too: they are read now
            finally:
                if self.data:
                    await self._resume()
