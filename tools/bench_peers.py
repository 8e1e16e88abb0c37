"""Loopback peers for the benchmarks (CPython, one thread): a minimal SMTP server that counts
DATA instead of parsing it (aiosmtpd reads line by line and would be the slowest part), a TCP
sink and a TCP source. Fakes for figures only: the tests use real servers."""

import asyncio
import threading


async def _smtp(reader, writer):
    writer.write(b"220 bench ESMTP\r\n")
    while True:
        line = await reader.readline()
        if not line:
            break
        cmd = line.strip().upper()
        if cmd[:4] in (b"EHLO", b"HELO"):
            writer.write(b"250-bench\r\n250-8BITMIME\r\n250 SIZE 104857600\r\n")
        elif cmd == b"DATA":
            writer.write(b"354 go ahead\r\n")
            await writer.drain()
            tail = b""
            while True:
                chunk = await reader.read(1 << 16)
                if not chunk:
                    return
                tail = (tail + chunk)[-5:]
                if tail == b"\r\n.\r\n":
                    break
            writer.write(b"250 queued\r\n")
        elif cmd == b"QUIT":
            writer.write(b"221 bye\r\n")
            await writer.drain()
            break
        else:
            writer.write(b"250 ok\r\n")
        await writer.drain()
    writer.close()


async def _sink(reader, writer):
    while await reader.read(1 << 16):
        pass
    writer.close()


class Peers:
    """Start with Peers(source_bytes); .smtp, .sink, .source are the ports."""

    def __init__(self, source_bytes=1 << 20, block=b"x" * 4096):
        self.source_bytes = source_bytes
        self.block = block
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait(10)

    async def _source(self, reader, writer):
        left = self.source_bytes
        while left > 0:
            part = self.block[: min(left, len(self.block))]
            writer.write(part)
            left -= len(part)
            await writer.drain()
        writer.close()

    def _run(self, ready):
        asyncio.set_event_loop(self.loop)

        async def start():
            servers = []
            for handler in (_smtp, _sink, self._source):
                servers.append(await asyncio.start_server(handler, "127.0.0.1", 0))
            return servers

        self.servers = self.loop.run_until_complete(start())
        self.smtp, self.sink, self.source = [s.sockets[0].getsockname()[1] for s in self.servers]
        ready.set()
        self.loop.run_forever()

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
