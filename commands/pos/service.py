"""``obrador ingest``: the POS consumer process, until cancelled."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from commands.pos.devices import DeviceRegistry
from commands.pos.ingest import TicketProcessor, build_broker
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
    """Consume tickets until ``stop`` is set (or the task is cancelled); return the counters."""
    stop = stop or asyncio.Event()
    store = await EventStore.open(database_url)
    processor = TicketProcessor(store, DeviceRegistry(store.pool))
    broker = build_broker(nats_url, processor, batch_size=batch_size)
    try:
        await broker.start()
        if ready is not None:
            ready(processor)
        await stop.wait()
    finally:
        await broker.stop()
        await store.close()
    return processor
