"""A TCP proxy in front of nats-server that can break its clients' connections on purpose.

``poison()`` does what nats-server does on a payload violation: it sends
``-ERR 'Maximum Payload Violation'`` and closes, which makes nats-py close the
client for good (the failure that made FastStream's pull loop spin).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlparse


class NatsProxy:
    def __init__(self, upstream: str) -> None:
        parsed = urlparse(upstream)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 4222
        self.clients: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"nats://127.0.0.1:{port}"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        self.clients.append(writer)
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(_pipe(source, sink))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def poison(self) -> int:
        """Send every connected client a fatal protocol error and drop it; return how many."""
        victims, self.clients = self.clients, []
        for writer in victims:
            with contextlib.suppress(OSError):
                writer.write(b"-ERR 'Maximum Payload Violation'\r\n")
                await writer.drain()
                writer.close()
        return len(victims)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while chunk := await source.read(65536):
            sink.write(chunk)
            await sink.drain()
    except (OSError, asyncio.IncompleteReadError):
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.close()


@contextlib.asynccontextmanager
async def nats_proxy(upstream: str) -> AsyncIterator[NatsProxy]:
    proxy = NatsProxy(upstream)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()
