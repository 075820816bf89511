"""The relay waits for a new notification instead of re-reading while events are held back.

Events committed after an older, still running transaction stay invisible to
the gap-safe read (ADR 0002). Their NOTIFY has already arrived, so a relay
that only asked "is there a position above mine?" would re-read in a busy loop
until that transaction ends. It must read a handful of times at most, then
relay the events once the holder commits: at once when the commit notifies
(a projector's checkpoint move), within its idle timeout when it does not.
Once caught up, projector commits alone do not make it read.
"""

from __future__ import annotations

import asyncio

import psycopg

from streams.relay import Relay
from streams.relay_wake import CHECKPOINT_CHANNEL
from streams.store import EventStore
from tests.eventually import eventually
from tests.projections.counting import sale

#: The window over which a busy loop would show: hundreds of reads, not a handful.
OBSERVE_S = 1.0


async def _append(store: EventStore, first: int, n: int) -> None:
    for i in range(first, first + n):
        await store.append("north", f"sale-s0-T{i}", [sale("s0", f"T{i}")])


async def _hold(pg_url: str) -> psycopg.AsyncConnection[tuple[object, ...]]:
    """A connection in a transaction that holds a transaction id (as any writer does)."""
    holder = await psycopg.AsyncConnection.connect(pg_url)
    await holder.execute("SELECT pg_current_xact_id()")
    return holder


async def test_held_back_events_cause_no_busy_loop_and_are_relayed_after_the_holder(
    pg_store: EventStore, pg_url: str, nats_url: str
) -> None:
    stop = asyncio.Event()
    relay = Relay(pg_store, nats_url)
    task = asyncio.create_task(relay.run(stop))
    try:
        await _append(pg_store, 0, 1)
        await eventually(lambda: relay.stats.published == 1)

        holder = await _hold(pg_url)  # commits without notifying: the idle timeout covers it
        await _append(pg_store, 1, 5)
        reads = relay.stats.reads
        await asyncio.sleep(OBSERVE_S)  # an observation window, not a wait for a condition
        assert relay.stats.reads - reads <= 5
        assert relay.stats.published == 1
        await holder.commit()
        await holder.close()
        await eventually(lambda: relay.stats.published == 6, timeout=10)

        holder = await _hold(pg_url)  # a projector's commit notifies: that wakes the relay
        await _append(pg_store, 6, 3)
        await holder.execute(f"NOTIFY {CHECKPOINT_CHANNEL}, 'test 0 0'")
        await holder.commit()
        await holder.close()
        await eventually(lambda: relay.stats.published == 9, timeout=10)

        async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
            reads = relay.stats.reads  # caught up: projector commits are not worth a read
            for n in range(50):
                await conn.execute(f"NOTIFY {CHECKPOINT_CHANNEL}, 'test 0 {n}'")
            await asyncio.sleep(OBSERVE_S)  # an observation window, as above
            assert relay.stats.reads - reads <= 5
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
