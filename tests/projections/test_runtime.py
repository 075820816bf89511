"""Relay → JetStream → projector, exactly-once effects, poison events, rebuild and verify,
against real PostgreSQL and a real nats-server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import nats
import psycopg
import pytest

from domain.streams import sale_stream
from projections.apply import apply_with_checkpoint
from projections.rebuild import rebuild, verify
from projections.runtime import Projector
from streams.envelope import NewEvent
from streams.jetstream import STREAM_NAME, partition_of
from streams.relay import Relay
from streams.store import EventStore
from tests.eventually import eventually
from tests.projections.counting import CREATE, UnitsSold, sale

TENANTS = ["north", "south", "east"]


@pytest.fixture
async def store(pg_url: str) -> AsyncIterator[EventStore]:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(CREATE)
    s = await EventStore.open(pg_url)
    yield s
    await s.close()


async def load(store: EventStore, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        tenant = TENANTS[i % 3]
        await store.append(tenant, sale_stream(f"s{i % 2}", str(i)), [sale(f"s{i % 2}", f"T{i}")])


def units(pg_url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(pg_url) as conn:
        return conn.execute(
            "SELECT tenant_id, store_id, sku, units, tickets FROM rm_test_units ORDER BY 1, 2, 3"
        ).fetchall()


def total_tickets(pg_url: str) -> int:
    return sum(int(str(r[4])) for r in units(pg_url))


async def run_pipeline(
    store: EventStore, pg_url: str, nats_url: str, model: UnitsSold
) -> tuple[asyncio.Event, list[asyncio.Task[None]], Projector]:
    stop = asyncio.Event()
    projector = Projector(pg_url, nats_url, [model], lease_ttl=1.5)
    tasks = [
        asyncio.create_task(Relay(store, nats_url).run(stop)),
        asyncio.create_task(projector.run(stop)),
    ]
    return stop, tasks, projector


class TestPipeline:
    async def test_every_event_reaches_the_read_model_once(
        self, store: EventStore, pg_url: str, nats_url: str
    ) -> None:
        await load(store, 150)
        stop, tasks, _ = await run_pipeline(store, pg_url, nats_url, UnitsSold())
        await load(store, 150, start=150)  # live appends while running
        await eventually(lambda: total_tickets(pg_url) == 300)
        stop.set()
        await asyncio.gather(*tasks)
        assert sum(int(str(r[3])) for r in units(pg_url)) == 600
        assert {r[0] for r in units(pg_url)} == set(TENANTS)

    async def test_relay_restart_neither_skips_nor_duplicates(
        self, store: EventStore, nats_url: str
    ) -> None:
        for cycle in range(3):  # stop the relay right after its first batch, three times
            await load(store, 100, start=cycle * 100)
            stop = asyncio.Event()
            relay = Relay(store, nats_url, batch=30)
            task = asyncio.create_task(relay.run(stop))
            await eventually(lambda r=relay: r.stats.position > 0)
            stop.set()
            await task
        stop = asyncio.Event()
        task = asyncio.create_task(Relay(store, nats_url).run(stop))
        nc = await nats.connect(nats_url)
        js = nc.jetstream()

        async def all_there() -> bool:
            return bool((await js.stream_info(STREAM_NAME)).state.messages == 300)

        await eventually(all_there)
        stop.set()
        await task
        positions = []
        for seq in range(1, 301):
            msg = await js.get_msg(STREAM_NAME, seq=seq)
            positions.append(int((msg.headers or {})["Obrador-Position"]))
        await nc.close()
        assert positions == sorted(set(positions))
        assert positions == [e.position for e in await store.read_all(limit=1000)]


class TestExactlyOnce:
    async def test_redelivered_batch_changes_nothing(self, store: EventStore, pg_url: str) -> None:
        await load(store, 9)
        events = [
            e
            for e in await store.read_all()
            if partition_of(e.tenant_id) == partition_of("north") and e.tenant_id == "north"
        ]
        model = UnitsSold()
        async with await psycopg.AsyncConnection.connect(pg_url) as conn:
            for _ in range(3):  # the same batch delivered three times
                async with conn.transaction():
                    await apply_with_checkpoint(conn, model, partition_of("north"), events)
        assert total_tickets(pg_url) == 3

    async def test_poison_event_is_parked_and_its_partition_goes_on(
        self, store: EventStore, pg_url: str, nats_url: str
    ) -> None:
        await load(store, 30)
        stop, tasks, _ = await run_pipeline(store, pg_url, nats_url, UnitsSold("T4"))
        await eventually(lambda: total_tickets(pg_url) == 29)  # all but T4, every tenant
        await load(store, 6, start=30)  # the partition is still running
        await eventually(lambda: total_tickets(pg_url) == 35)
        stop.set()
        await asyncio.gather(*tasks)
        with psycopg.connect(pg_url) as conn:
            parked = conn.execute(
                "SELECT position, partition, tenant_id, stream_id, error_class, error"
                " FROM parked_events WHERE projection = 'test_units'"
            ).fetchall()
            expected = conn.execute(
                "SELECT position FROM events WHERE stream_id = 'sale-s0-4'"
            ).fetchone()
        assert expected is not None
        assert parked == [
            (
                expected[0],
                partition_of(TENANTS[4 % 3]),
                TENANTS[4 % 3],
                "sale-s0-4",
                "ValueError",
                "cannot project ticket T4",
            )
        ]

    async def test_a_failing_batch_parks_only_the_guilty_event_once(
        self, store: EventStore, pg_url: str
    ) -> None:
        await load(store, 9)
        events = [e for e in await store.read_all() if e.tenant_id == "north"]
        model = UnitsSold(sql_error_txn="T3")  # PostgreSQL refuses a statement mid-batch
        async with await psycopg.AsyncConnection.connect(pg_url) as conn:
            for _ in range(3):  # delivered three times: parked once, applied once
                async with conn.transaction():
                    result = await apply_with_checkpoint(conn, model, partition_of("north"), events)
        assert total_tickets(pg_url) == 2  # T0 and T6 of north's three
        with psycopg.connect(pg_url) as conn:
            parked = conn.execute(
                "SELECT stream_id, error_class FROM parked_events WHERE projection = 'test_units'"
            ).fetchall()
            checkpoint = conn.execute(
                "SELECT position FROM projection_checkpoints WHERE projection = 'test_units'"
            ).fetchone()
        assert parked == [("sale-s1-3", "DivisionByZero")]
        assert checkpoint == (events[-1].position,) and result.position == events[-1].position

    async def test_a_lost_connection_is_retried_never_parked(
        self, store: EventStore, pg_url: str, nats_url: str
    ) -> None:
        await load(store, 30)
        model = UnitsSold(disconnect_txn="T4", disconnects=2)
        stop, tasks, _ = await run_pipeline(store, pg_url, nats_url, model)
        await eventually(lambda: total_tickets(pg_url) == 30)
        stop.set()
        await asyncio.gather(*tasks)
        assert model.disconnects == 0  # the server did close it twice
        with psycopg.connect(pg_url) as conn:
            assert conn.execute("SELECT count(*) FROM parked_events").fetchone() == (0,)

    async def test_an_event_from_newer_code_holds_its_partition_until_upgraded(
        self, store: EventStore, pg_url: str, nats_url: str
    ) -> None:
        await load(store, 30)
        newer = NewEvent(event_type="SaleRecorded", schema_version=99, payload=b"{}")
        await store.append("north", "sale-s0-new", [newer])
        stop, tasks, _ = await run_pipeline(store, pg_url, nats_url, UnitsSold())
        held = partition_of("north")

        def waiting() -> bool:
            with psycopg.connect(pg_url) as conn:
                row = conn.execute(
                    "SELECT state, error FROM projection_status"
                    " WHERE projection = 'test_units' AND partition = %s",
                    (held,),
                ).fetchone()
            return row is not None and row[0] == "retrying" and "upgrade" in str(row[1])

        others = {t for t in TENANTS if partition_of(t) != held}
        await eventually(waiting)
        await eventually(lambda: others <= {r[0] for r in units(pg_url)})
        stop.set()
        await asyncio.gather(*tasks)
        with psycopg.connect(pg_url) as conn:
            assert conn.execute("SELECT count(*) FROM parked_events").fetchone() == (0,)


class TestRebuild:
    async def test_rebuild_equals_the_live_model_and_verify_agrees(
        self, store: EventStore, pg_url: str, nats_url: str
    ) -> None:
        await load(store, 120)
        stop, tasks, _ = await run_pipeline(store, pg_url, nats_url, UnitsSold())
        await eventually(lambda: total_tickets(pg_url) == 120)
        live = units(pg_url)
        assert all(v == (0, 0) for v in (await verify(store, UnitsSold())).values())
        result = await rebuild(store, UnitsSold())
        assert units(pg_url) == live and result.events == 120
        await load(store, 30, start=120)  # the live projector goes on after the swap
        await eventually(lambda: total_tickets(pg_url) == 150)
        stop.set()
        await asyncio.gather(*tasks)
        assert all(v == (0, 0) for v in (await verify(store, UnitsSold())).values())

    async def test_rebuilding_a_fixed_model_applies_what_it_had_parked(
        self, store: EventStore, pg_url: str, nats_url: str
    ) -> None:
        await load(store, 30)
        stop, tasks, _ = await run_pipeline(store, pg_url, nats_url, UnitsSold("T4"))
        await eventually(lambda: total_tickets(pg_url) == 29)
        stop.set()
        await asyncio.gather(*tasks)
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(  # another model's parked event: a rebuild of this one leaves it
                "INSERT INTO parked_events (projection, position, partition, tenant_id,"
                " stream_id, event_type, error_class, error)"
                " VALUES ('other', 1, 0, 'north', 's', 'SaleRecorded', 'E', 'e')"
            )
        result = await rebuild(store, UnitsSold())  # the bug is fixed
        assert result.parked == 0 and total_tickets(pg_url) == 30
        with psycopg.connect(pg_url) as conn:
            left = conn.execute("SELECT projection FROM parked_events").fetchall()
        assert left == [("other",)]
        assert all(v == (0, 0) for v in (await verify(store, UnitsSold())).values())

    async def test_readers_see_the_old_copy_until_the_swap(
        self, store: EventStore, pg_url: str
    ) -> None:
        await load(store, 60)
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("INSERT INTO rm_test_units VALUES ('old', 'x', 'y', 1, 1)")
        seen_during: list[int] = []

        def during(count: int, position: int) -> None:
            seen_during.append(len(units(pg_url)))

        await rebuild(store, UnitsSold(), progress=during)
        assert seen_during and all(n == 1 for n in seen_during)  # the old copy, untouched
        assert ("old", "x", "y") not in {r[:3] for r in units(pg_url)}
        assert total_tickets(pg_url) == 60

    async def test_verify_reports_a_tampered_read_model(
        self, store: EventStore, pg_url: str
    ) -> None:
        await load(store, 12)
        await rebuild(store, UnitsSold())
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("UPDATE rm_test_units SET units = units + 1 WHERE tenant_id = 'north'")
        diff = await verify(store, UnitsSold())
        assert diff["rm_test_units"][0] > 0 and diff["rm_test_units"][1] > 0
