"""After a PostgreSQL restart the store's pooled connections are checked and replaced,
so the first read (and every later one) succeeds instead of failing once per connection."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from deploy.embedded.postgres import EmbeddedPostgres
from streams.envelope import NewEvent
from streams.pool_check import check_connection
from streams.store import EventStore
from tests.eventually import eventually

T = "bakery-restart"


async def test_the_first_read_after_a_postgres_restart_succeeds(
    postgres_to_restart: EmbeddedPostgres,
) -> None:
    store = await EventStore.open(postgres_to_restart.url, min_size=2, max_size=2)
    try:
        await store.append(T, "sale-1", [NewEvent(event_type="SaleRecorded", payload=b"{}")])
        # both pooled connections have been used and are back in the pool, idle
        for _ in range(4):
            assert len(await store.read_stream(T, "sale-1")) == 1
        postgres_to_restart.stop()
        postgres_to_restart.start()  # same port: the pool's connections are now all cut
        # every pooled connection is lent once: none of the reads may fail
        for _ in range(4):
            assert len(await store.read_stream(T, "sale-1")) == 1
        await store.append(T, "sale-1", [NewEvent(event_type="SaleRecorded", payload=b"{}")])
        assert await store.stream_version(T, "sale-1") == 2
    finally:
        await store.close()


async def test_the_check_costs_no_round_trip_on_a_healthy_connection_and_fails_a_cut_one(
    postgres_to_restart: EmbeddedPostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    pinged: list[object] = []
    real = AsyncConnectionPool.check_connection

    async def counting(conn: psycopg.AsyncConnection[Any]) -> None:
        pinged.append(conn)
        await real(conn)

    monkeypatch.setattr(AsyncConnectionPool, "check_connection", staticmethod(counting))
    async with await psycopg.AsyncConnection.connect(
        postgres_to_restart.url, autocommit=True
    ) as conn:
        await check_connection(conn)  # idle, nothing to read: no query sent
        assert pinged == []
        with psycopg.connect(postgres_to_restart.url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
        # the server said goodbye on the socket: the round-trip check runs and fails

        async def cut() -> bool:
            try:
                await check_connection(conn)
            except psycopg.OperationalError:
                return True
            return False

        await eventually(cut, timeout=10, every=0.05)
        assert pinged
