"""Projector processes share partitions by lease and take over a dead one's share."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import nats
import psycopg
import pytest

from domain.streams import sale_stream
from projections.leases import Leases
from projections.runtime import Projector
from streams.jetstream import PARTITIONS, STREAM_NAME, partition_of
from streams.relay import Relay
from streams.store import EventStore
from tests.eventually import eventually
from tests.projections.counting import CREATE, UnitsSold, sale


async def test_partitions_are_shared_fairly_and_taken_over_after_expiry(pg_url: str) -> None:
    a = Leases("inventory", "proc-a", partitions=8, ttl=0.6)
    b = Leases("inventory", "proc-b", partitions=8, ttl=0.6)
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        assert await a.refresh(conn) == set(range(8))  # alone: everything
        assert await b.refresh(conn) == set()  # nothing free yet
        held_a = await a.refresh(conn)  # a sees a second owner and gives back its surplus
        held_b = await b.refresh(conn)
        assert len(held_a) == 4 and len(held_b) == 4 and not held_a & held_b
        async with asyncio.timeout(10):  # a dies: it stops renewing
            while len(held_b) < 8:
                await asyncio.sleep(0.1)
                held_b = await b.refresh(conn)
        assert held_b == set(range(8))


async def test_a_stopping_process_releases_its_partitions_at_once(pg_url: str) -> None:
    a = Leases("sales", "proc-a", partitions=8, ttl=30)
    b = Leases("sales", "proc-b", partitions=8, ttl=30)
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        await a.refresh(conn)
        await a.release(conn)
        assert await b.refresh(conn) == set(range(8))


async def test_a_surplus_is_given_back_only_after_its_workers_stopped(pg_url: str) -> None:
    a = Leases("waste", "proc-a", partitions=8, ttl=30)
    b = Leases("waste", "proc-b", partitions=8, ttl=30)
    seen: dict[str, object] = {}
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        assert await a.refresh(conn) == set(range(8))
        assert await b.refresh(conn) == set()  # b is known now: a's share drops to 4
        async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as other:

            async def stop_workers(surplus: set[int]) -> None:
                seen["surplus"] = surplus
                seen["b meanwhile"] = await b.refresh(other)  # still a's: nothing to take

            held_a = await a.refresh(conn, before_release=stop_workers)
        assert len(held_a) == 4
        assert seen == {"surplus": set(range(8)) - held_a, "b meanwhile": set()}
        assert await b.refresh(conn) == set(range(8)) - held_a  # given back now: b takes them


async def test_leases_stay_alive_while_a_balance_turn_is_stuck(
    pg_url: str, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Renewal does not wait for the turn that starts and stops workers: on a loaded
    machine that turn outlasted the leases and another process took them over."""
    original = Projector._balance
    turns = 0

    async def stuck_after_the_first(self: Projector, *args: Any) -> None:
        nonlocal turns
        turns += 1
        if turns > 1:
            await asyncio.Event().wait()  # e.g. a worker that takes long to stop
        await original(self, *args)

    monkeypatch.setattr(Projector, "_balance", stuck_after_the_first)
    projector = Projector(pg_url, nats_url, [UnitsSold()], lease_ttl=1.0)
    task = asyncio.create_task(projector.run(asyncio.Event()))
    try:

        async def held_and_stuck() -> bool:
            return turns > 1 and await _live(pg_url, projector.owner) == 8

        await eventually(held_and_stuck, timeout=30)
        deadline = time.monotonic() + 3.0  # three lease lifetimes with the turn stuck
        while time.monotonic() < deadline:
            assert await _live(pg_url, projector.owner) == 8
            await asyncio.sleep(0.1)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_leases_stay_alive_while_the_event_loop_is_starved(
    pg_url: str, nats_url: str
) -> None:
    """A long batch on a starved core holds the event loop for seconds: the heartbeat
    thread renews the leases meanwhile (an asyncio timer would fire only after it)."""
    projector = Projector(pg_url, nats_url, [UnitsSold()], lease_ttl=1.0)
    task = asyncio.create_task(projector.run(asyncio.Event()))
    try:
        await eventually(lambda: _live_now(pg_url, projector.owner) == 8, timeout=30)
        time.sleep(3.0)  # noqa: ASYNC251 (the stimulus: the loop held for three lease lifetimes)
        assert _live_now(pg_url, projector.owner) == 8
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _live_now(url: str, owner: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM projection_leases"
            " WHERE owner = %s AND partition >= 0 AND expires_at > now()",
            (owner,),
        ).fetchone()
    return int(row[0]) if row else 0


async def test_a_restarted_projector_keeps_the_consumers_standing_at_its_checkpoints(
    pg_url: str, nats_url: str
) -> None:
    """Creating a replicated consumer is what a cluster's meta layer does slowest: a clean
    restart (or hand-over) binds the consumers as they are instead of re-creating them."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(CREATE)
    async with await EventStore.open(pg_url) as store:
        await _sales(store, 0, 30)
        first = await _run_until(store, pg_url, nats_url, tickets=30)
        created = await _created(nats_url)
        assert len(created) == len({partition_of(t) for t in TENANTS})
        await _sales(store, 30, 30)
        second = await _run_until(store, pg_url, nats_url, tickets=60)
        assert await _created(nats_url) == created
    assert first.owner != second.owner
    assert sum(w.reuses for w in second._partition_workers.values()) == 8
    assert sum(w.repositions for w in second._partition_workers.values()) == 0


TENANTS = ("north", "south", "east")


async def _live(url: str, owner: str) -> int:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute(
            "SELECT count(*) FROM projection_leases"
            " WHERE owner = %s AND partition >= 0 AND expires_at > now()",
            (owner,),
        )
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def _sales(store: EventStore, start: int, n: int) -> None:
    for i in range(start, start + n):
        await store.append(TENANTS[i % 3], sale_stream("s1", str(i)), [sale("s1", f"T{i}")])


async def _run_until(store: EventStore, url: str, nats_url: str, tickets: int) -> Projector:
    """Relay and projector until the read model counts ``tickets``; then a clean stop."""
    stop = asyncio.Event()
    projector = Projector(url, nats_url, [UnitsSold()], lease_ttl=1.5)
    tasks = [
        asyncio.create_task(Relay(store, nats_url).run(stop)),
        asyncio.create_task(projector.run(stop)),
    ]

    async def counted() -> bool:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            cur = await conn.execute("SELECT coalesce(sum(tickets), 0) FROM rm_test_units")
            row = await cur.fetchone()
        return row is not None and int(row[0]) == tickets

    await eventually(counted, timeout=60)
    stop.set()
    await asyncio.gather(*tasks)
    return projector


async def _created(nats_url: str) -> dict[str, object]:
    """Creation time of each test_units consumer that has delivered something."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        out: dict[str, object] = {}
        for partition in range(PARTITIONS):
            name = f"proj_test_units_p{partition}"
            info = await js.consumer_info(STREAM_NAME, name)
            if info.delivered is not None and info.delivered.stream_seq > 0:
                out[name] = info.created
        return out
    finally:
        await nc.close()
