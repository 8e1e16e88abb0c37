"""The AT dialect of the simulated SIM7080G (simcell.py): what it answers to each command,
in the forms of SIMCom's AT Command Manual (27.007, 27.005 and its own). Portable: CPython
and the MicroPython unix port."""

try:
    import asyncio
except ImportError:  # pragma: no cover
    import uasyncio as asyncio

try:
    from time import ticks_diff, ticks_ms
except ImportError:  # CPython
    import time as _time

    def ticks_ms():
        return int(_time.monotonic() * 1000)

    def ticks_diff(a, b):
        return a - b


from modem.smspdu import PDUError, decode_submit


class SimCommands:
    """The command interpreter of simcell.SimModule (its state, its UART)."""

    def _ok(self, *lines):
        body = b"".join(b"\r\n" + x.encode() + b"\r\n" for x in lines)
        self._emit(body + b"\r\nOK\r\n")

    def _err(self, code, cms=False):
        if not self.cmee:
            self._emit(b"\r\nERROR\r\n")
        else:
            self._emit(b"\r\n+%s ERROR: %d\r\n" % (b"CMS" if cms else b"CME", code))

    async def _line(self, line):
        await asyncio.sleep(self._ms(20))
        u = line.upper()
        if not u.startswith("AT"):
            self._emit(b"\r\nERROR\r\n")
            return
        c = u[2:]
        if c in ("", "I", "+CGMM", "+CGMI", "+CGMR") or c[:1] in ("E", "Q", "V") and len(c) <= 2:
            if c[:1] == "E":
                self.echo = c[1:] == "1"
            info = {
                "I": ("SIMCOM_SIM7080G",),
                "+CGMM": ("SIMCOM_SIM7080G",),
                "+CGMI": ("SIMCOM INCORPORATED",),
                "+CGMR": ("Revision:1951B08SIM7080",),
            }.get(c, ())
            self._ok(*info)
        elif c.startswith("+CMEE="):
            self.cmee = int(c[6:] or 0)
            self._ok()
        elif c.startswith("+CPIN"):
            self._cpin(line[2:])
        elif c == "+CSQ":
            self._ok("+CSQ: %d,99" % (self.csq if self.stat() in (1, 2, 5) else 99))
        elif c[:6] in ("+CEREG", "+CGREG") or c[:5] == "+CREG":
            name = c[: c.find("?")] if "?" in c else c[: c.find("=")]
            if name not in self.creg_n:
                self._emit(b"\r\nERROR\r\n")
            elif c.endswith("?"):
                self._ok("%s: %d,%d" % (name, self.creg_n[name], self.stat()))
            else:
                self.creg_n[name] = int(c[len(name) + 1 :] or 0)
                self._ok()
        elif c.startswith("+COPS"):
            self._cops(c)
        elif c == "+CCID":
            if self.sim == "NOT INSERTED":
                return self._err(10)
            self._ok(self.iccid)
        elif c == "+CIMI":
            if self.sim != "READY":
                return self._err(10 if self.sim == "NOT INSERTED" else 11)
            self._ok(self.imsi)
        elif c.startswith("+CGDCONT="):
            parts = line[11:].split(",")
            self.apn = parts[2].strip('"') if len(parts) > 2 else ""
            self._ok()
        elif c.startswith("+CGATT"):
            if c.endswith("?"):
                return self._ok("+CGATT: %d" % (1 if self.attached else 0))
            await asyncio.sleep(self._ms(300))
            if self.stat() not in (1, 5):
                return self._err(30)  # no network service
            self.attached = True
            self._ok()
        elif c.startswith("D*99"):
            await self._dial()
        elif c == "O":
            if self.mode != "suspended":
                return self._emit(b"\r\nNO CARRIER\r\n")
            self.mode = "data"
            self._emit(b"\r\nCONNECT 150000000\r\n")
        elif c in ("H", "H0"):
            self.mode = "cmd"
            self._ok()
            self._release()
        elif c.startswith("+CFUN"):
            if c.endswith("?"):
                return self._ok("+CFUN: %d" % self.cfun)
            cfun = 1 if c[6:7] == "1" else 0
            if cfun and not self.cfun:
                self.on_at = ticks_ms()  # the radio searches again from now
            self.cfun = cfun
            self._ok()
        elif c.startswith("+CFGRI"):
            if c.endswith("?"):
                return self._ok("+CFGRI: %d" % self.cfgri)
            self.cfgri = 1 if c[7:8] == "1" else 0
            self._ok()
        elif c == "+CPOWD=1":
            self._ok()
            self._emit(b"\r\nNORMAL POWER DOWN\r\n")
            self.powered = False
        elif c[:5] in ("+CMGF", "+CNMI", "+CMGL", "+CMGR", "+CMGD", "+CMGS"):
            await self._sms(c)
        else:
            self._emit(b"\r\nERROR\r\n")

    def _cpin(self, rest):
        if rest.endswith("?"):
            if self.sim == "NOT INSERTED":
                return self._err(10)
            return self._ok("+CPIN: " + self.sim)
        pin = rest[6:].strip().strip('"')
        if self.sim == "NOT INSERTED":
            return self._err(10)
        if self.sim == "READY":
            return self._err(3)  # operation not allowed
        if pin != self.pin:
            return self._err(16)  # incorrect password
        self.sim = "READY"
        self.on_at = ticks_ms()  # registration starts now
        self._ok()
        self._emit(b"\r\n+CPIN: READY\r\n\r\nSMS Ready\r\n")

    def _cops(self, c):
        if c.endswith("?"):
            if self.stat() not in (1, 5):
                return self._ok("+COPS: 0")
            return self._ok(
                '+COPS: 0,%d,"%s",9' % (self.cops_format, self.operator[self.cops_format])
            )
        if c.startswith("+COPS=3,"):
            self.cops_format = int(c[8:])
            return self._ok()
        self._emit(b"\r\nERROR\r\n")

    async def _dial(self):
        await asyncio.sleep(self._ms(500))
        self.dials += 1
        if self.stat() not in (1, 5) or (self.apns is not None and self.apn not in self.apns):
            return self._emit(b"\r\nNO CARRIER\r\n")
        self.attached = True
        self.mode = "data"
        self._emit(b"\r\nCONNECT 150000000\r\n")

    # ------------------------------------------------------------ SMS (PDU mode)
    async def _sms(self, c):
        if self.sim != "READY":
            return self._err(310 if self.sim == "NOT INSERTED" else 311, cms=True)
        if c.startswith("+CMGF="):
            if c[6:] != "0":
                return self._err(303, cms=True)  # this simulation speaks PDU mode only
            return self._ok()
        if c.startswith("+CNMI="):
            v = c[6:].split(",")
            self.cnmi = [int(v[0] or 0), int(v[1] or 0) if len(v) > 1 else 0]
            return self._ok()
        if c.startswith("+CMGL"):
            lines = []
            for i in sorted(self.store):
                st, pdu = self.store[i]
                lines += ["+CMGL: %d,%d,,%d" % (i, st, len(pdu) // 2 - 1), pdu]
                self.store[i][0] = 1
            return self._ok(*lines)
        if c.startswith("+CMGR="):
            i = int(c[6:])
            if i not in self.store:
                return self._err(321, cms=True)
            st, pdu = self.store[i]
            self.store[i][0] = 1
            return self._ok("+CMGR: %d,,%d" % (st, len(pdu) // 2 - 1), pdu)
        if c.startswith("+CMGD="):
            self.store.pop(int(c[6:].split(",")[0]), None)
            return self._ok()
        if c.startswith("+CMGS="):
            await self._cmgs(int(c[6:]))
            return
        self._emit(b"\r\nERROR\r\n")

    async def _cmgs(self, length):
        self._emit(b"\r\n> ")
        raw = b""
        while True:
            raw += await self._next()
            if b"\x1b" in raw:
                return self._ok()  # ESC: nothing sent
            if b"\x1a" in raw:
                break
        i = raw.find(b"\x1a")
        self.inbuf = raw[i + 1 :] + self.inbuf
        hexpdu = raw[:i].strip()
        try:
            sub = decode_submit(hexpdu, length)
        except PDUError:
            return self._err(304, cms=True)
        await asyncio.sleep(self._ms(800))  # the network's answer
        if self.sms_error is not None:
            return self._err(self.sms_error, cms=True)
        if self.stat() not in (1, 5):
            return self._err(331, cms=True)  # no network service
        text = sub.text if sub.text is not None else sub.data.decode()
        if sub.concat is None:
            self._write_out(sub.da, text)
        else:
            ref, total, seq = sub.concat
            parts = self._partial.setdefault((sub.da, ref), {})
            parts[seq] = text
            if len(parts) == total:
                del self._partial[(sub.da, ref)]
                self._write_out(sub.da, "".join(parts[k] for k in sorted(parts)))
        self._mr = (getattr(self, "_mr", 0) + 1) & 255
        self._ok("+CMGS: %d" % self._mr)
