"""Projector processes share partitions by lease and take over a dead one's share."""

from __future__ import annotations

import asyncio

import psycopg

from projections.leases import Leases


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
