"""``obrador ingest``: the POS consumer process, until ``stop`` is set or it is cancelled."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable

from commands.pos.consumer import IngestConsumer
from commands.pos.devices import DeviceRegistry
from commands.pos.ingest import TicketProcessor
from streams.store import EventStore

log = logging.getLogger("obrador.pos")


async def serve_ingest(
    database_url: str,
    nats_url: str,
    *,
    stop: asyncio.Event | None = None,
    ready: Callable[[TicketProcessor], None] | None = None,
    batch_size: int = 64,
) -> TicketProcessor:
    """Consume tickets until ``stop`` is set; return the counters.

    ``ready`` is called once the streams and the durable consumer exist (a till
    can publish). Setting ``stop`` ends it within ``STOP_GRACE`` + a fetch.
    Without a ``stop`` of the caller's (``obrador ingest``), SIGTERM and SIGINT set it.
    """
    if stop is None:
        stop = asyncio.Event()
        _stop_on_signals(stop)
    store = await EventStore.open(database_url)
    processor = TicketProcessor(store, DeviceRegistry(store.pool))
    consumer = IngestConsumer(nats_url, processor, batch_size=batch_size)
    task = asyncio.create_task(consumer.run(stop))
    try:
        if ready is not None:
            connected = asyncio.create_task(consumer.connected.wait())
            await asyncio.wait({connected, task}, return_when=asyncio.FIRST_COMPLETED)
            connected.cancel()
            if consumer.connected.is_set():
                ready(processor)
        await task
    finally:
        stop.set()
        await asyncio.gather(task, return_exceptions=True)
        await store.close()
    return processor


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
