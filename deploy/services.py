"""Long-running processes: the relay and the projectors, alone or together (``obrador up``)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from projections.model import ReadModel
from projections.runtime import Projector
from streams.relay import Relay
from streams.store import EventStore


async def serve(
    database_url: str,
    nats_url: str,
    *,
    relay: bool = True,
    models: Sequence[ReadModel] = (),
    ready: Callable[[], None] | None = None,
    extra: Sequence[Callable[[asyncio.Event], Coroutine[Any, Any, None]]] = (),
) -> None:
    """Run until SIGINT/SIGTERM; every component stops cleanly before returning."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    store = await EventStore.open(database_url)
    tasks: list[asyncio.Task[None]] = []
    try:
        if relay:
            tasks.append(asyncio.create_task(Relay(store, nats_url).run(stop)))
        if models:
            tasks.append(asyncio.create_task(Projector(database_url, nats_url, models).run(stop)))
        tasks.extend(asyncio.create_task(component(stop)) for component in extra)
        if ready is not None:
            ready()
        waiter = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        for task in done:
            if task is not waiter and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await store.close()
