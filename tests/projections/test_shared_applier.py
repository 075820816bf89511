"""The live applier's fast path (no savepoint, pipeline mode) parks what the careful one does.

A batch first runs without a savepoint — in psycopg's pipeline mode when small
(ADR 0019). When the model fails, in Python or in PostgreSQL, that transaction
rolls back and the batch runs again under a savepoint, event by event: only
the guilty event is parked, every other one is applied once, and the
checkpoint covers the whole batch.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from domain.streams import sale_stream
from projections.apply import Delivery
from projections.runtime import SharedApplier
from streams.jetstream import partition_of
from streams.store import EventStore
from tests.projections.counting import CREATE, UnitsSold, sale

NORTH = partition_of("north")


@pytest.fixture
async def store(pg_url: str) -> AsyncIterator[EventStore]:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(CREATE)
    s = await EventStore.open(pg_url)
    yield s
    await s.close()


async def _deliveries(store: EventStore, n: int) -> list[Delivery]:
    for i in range(n):
        await store.append("north", sale_stream("s0", f"T{i}"), [sale("s0", f"T{i}")])
    prev, out = 0, []
    for event in await store.read_all():
        out.append(Delivery(event, prev, 0))
        prev = event.position
    return out


def _state(pg_url: str) -> tuple[int, int, list[int]]:
    """(tickets applied, north's checkpoint, parked positions)."""
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SELECT coalesce(sum(tickets), 0) FROM rm_test_units").fetchone()
        checkpoint = conn.execute(
            "SELECT position FROM projection_checkpoints"
            " WHERE projection = 'test_units' AND partition = %s",
            (NORTH,),
        ).fetchone()
        parked = conn.execute(
            "SELECT position FROM parked_events WHERE projection = 'test_units' ORDER BY position"
        ).fetchall()
    return (
        int(row[0]) if row else 0,
        int(checkpoint[0]) if checkpoint else 0,
        [int(p) for (p,) in parked],
    )


@pytest.mark.parametrize(
    ("model", "pipeline_max"),
    [
        (UnitsSold(poison_txn="T3"), 64),  # Python error, pipelined
        (UnitsSold(sql_error_txn="T3"), 64),  # PostgreSQL error, pipelined
        (UnitsSold(sql_error_txn="T3"), 2),  # PostgreSQL error, too large for a pipeline
    ],
)
async def test_a_failing_event_is_parked_alone_and_the_rest_applied_once(
    store: EventStore, pg_url: str, model: UnitsSold, pipeline_max: int
) -> None:
    deliveries = await _deliveries(store, 6)
    pool: AsyncConnectionPool[psycopg.AsyncConnection[tuple[Any, ...]]] = AsyncConnectionPool(
        pg_url, min_size=1, max_size=2, open=False
    )
    await pool.open(wait=True)
    try:
        applier = SharedApplier(pool, model, pipeline_max=pipeline_max)
        result = await applier.apply(NORTH, deliveries)
        again = await applier.apply(NORTH, deliveries)  # redelivered: nothing changes
    finally:
        await pool.close()
    guilty = deliveries[3].event.position
    assert [p.position for p in result.parked] == [guilty]
    assert result.processed == 6 and not result.gap
    assert again.processed == 6 and not again.parked
    assert _state(pg_url) == (5, deliveries[-1].event.position, [guilty])


async def test_a_clean_small_batch_is_applied_on_the_fast_path(
    store: EventStore, pg_url: str
) -> None:
    deliveries = await _deliveries(store, 4)
    pool: AsyncConnectionPool[psycopg.AsyncConnection[tuple[Any, ...]]] = AsyncConnectionPool(
        pg_url, min_size=1, max_size=1, open=False
    )
    await pool.open(wait=True)
    try:
        result = await SharedApplier(pool, UnitsSold()).apply(NORTH, deliveries)
    finally:
        await pool.close()
    assert result.processed == 4 and not result.parked
    assert _state(pg_url) == (4, deliveries[-1].event.position, [])
