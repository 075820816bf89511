"""Several partitions in one transaction: each keeps its own checkpoint, duplicates and gaps."""

from __future__ import annotations

from collections.abc import AsyncIterator

import psycopg
import pytest

from domain.streams import sale_stream
from projections.apply import Delivery, apply_partitions
from streams.envelope import RecordedEvent
from streams.jetstream import partition_of
from streams.store import EventStore
from tests.projections.counting import CREATE, UnitsSold, sale

NORTH, SOUTH = partition_of("north"), partition_of("south")


@pytest.fixture
async def store(pg_url: str) -> AsyncIterator[EventStore]:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(CREATE)
    s = await EventStore.open(pg_url)
    yield s
    await s.close()


async def by_tenant(store: EventStore, n: int) -> dict[str, list[RecordedEvent]]:
    for i in range(n):
        tenant = ("north", "south")[i % 2]
        await store.append(tenant, sale_stream("s0", str(i)), [sale("s0", f"T{i}")])
    out: dict[str, list[RecordedEvent]] = {"north": [], "south": []}
    for event in await store.read_all():
        out[event.tenant_id].append(event)
    return out


def chained(events: list[RecordedEvent]) -> list[Delivery]:
    """Deliveries as the relay sends them: each names its partition predecessor."""
    prev = 0
    out = []
    for event in events:
        out.append(Delivery(event, prev, 0))
        prev = event.position
    return out


def state(pg_url: str) -> tuple[int, dict[int, int]]:
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SELECT coalesce(sum(tickets), 0) FROM rm_test_units").fetchone()
        checkpoints = conn.execute(
            "SELECT partition, position FROM projection_checkpoints WHERE projection = 'test_units'"
        ).fetchall()
    return int(row[0]) if row else 0, {int(p): int(pos) for p, pos in checkpoints}


async def test_two_partitions_share_a_transaction_and_each_checkpoint_moves(
    store: EventStore, pg_url: str
) -> None:
    assert NORTH != SOUTH
    events = await by_tenant(store, 8)
    batches = {NORTH: chained(events["north"]), SOUTH: chained(events["south"])}
    async with await psycopg.AsyncConnection.connect(pg_url) as conn:
        for _ in range(2):  # the second delivery is a duplicate of the first: nothing changes
            async with conn.transaction():
                results = await apply_partitions(conn, UnitsSold(), batches)
    assert state(pg_url) == (
        8,
        {NORTH: events["north"][-1].position, SOUTH: events["south"][-1].position},
    )
    assert results[NORTH].processed == 4 and results[SOUTH].processed == 4
    assert not results[NORTH].gap and not results[SOUTH].gap


async def test_a_gap_in_one_partition_stops_only_that_partition(
    store: EventStore, pg_url: str
) -> None:
    events = await by_tenant(store, 8)
    north = chained(events["north"])
    batches = {NORTH: north[2:], SOUTH: chained(events["south"])}  # north's first two are missing
    async with await psycopg.AsyncConnection.connect(pg_url) as conn, conn.transaction():
        results = await apply_partitions(conn, UnitsSold(), batches)
    assert results[NORTH].gap and results[NORTH].processed == 0
    assert results[SOUTH].processed == 4 and not results[SOUTH].gap
    assert state(pg_url) == (4, {NORTH: 0, SOUTH: events["south"][-1].position})


async def test_a_failure_rolls_back_every_partition_of_the_transaction(
    store: EventStore, pg_url: str
) -> None:
    events = await by_tenant(store, 4)
    batches = {NORTH: chained(events["north"]), SOUTH: chained(events["south"])}

    async def apply_then_fail(conn: psycopg.AsyncConnection[tuple[object, ...]]) -> None:
        async with conn.transaction():
            await apply_partitions(conn, UnitsSold(), batches)
            raise RuntimeError("after the apply, before the commit")

    async with await psycopg.AsyncConnection.connect(pg_url) as conn:
        with pytest.raises(RuntimeError, match="after the apply"):
            await apply_then_fail(conn)
    assert state(pg_url) == (0, {})
