"""A poison event is parked and the partition goes on: live projector, rebuild and verify agree.

Every poison value of issue 8 (defect 2) is appended straight to the store, as
histories written before the edges were closed still hold them, next to good
events of the same tenant and of another tenant on the same partition. Real
PostgreSQL, real nats-server, the real relay and projector.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence

import psycopg
import pytest

from projections.apply import apply_with_checkpoint
from projections.model import ReadModel
from projections.models import InventoryModel, SalesModel
from projections.parking import SchemaTooNew
from projections.rebuild import check, rebuild
from projections.runtime import Projector
from projections.status import parked_counts, parked_events, read_status
from streams.envelope import NewEvent
from streams.jetstream import partition_of
from streams.relay import Relay
from streams.store import EventStore
from tests.eventually import eventually
from tests.projections.poison import (
    WEST,
    Poison,
    consumed,
    inventory_poison,
    opened,
    received,
    sale,
    sales_poison,
)

TENANT = "north"
#: Another tenant whose events travel in the same partition as TENANT's.
NEIGHBOUR = next(
    t for t in (f"t{i}" for i in itertools.count()) if partition_of(t) == partition_of(TENANT)
)
SALES = {p.name: p for p in sales_poison("e", "w", "T2")}
STOCK = {p.name: p for p in inventory_poison("e", "L1")}


def rows(pg_url: str, query: str, *params: object) -> list[tuple[object, ...]]:
    with psycopg.connect(pg_url) as conn:
        return conn.execute(query, params).fetchall()


def parked(pg_url: str, model: str) -> list[tuple[object, ...]]:
    return rows(
        pg_url,
        "SELECT position, partition, tenant_id, stream_id, event_type, error_class, error"
        " FROM parked_events WHERE projection = %s ORDER BY position",
        model,
    )


async def position_of(store: EventStore, stream: str) -> int:
    events = await store.read_stream(TENANT, stream)
    return events[0].position


async def run_live(
    store: EventStore, pg_url: str, nats_url: str, model: ReadModel, done: object
) -> None:
    """Relay and projector until ``done()`` holds (awaitable or not), then stop them."""
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(Relay(store, nats_url).run(stop)),
        asyncio.create_task(Projector(pg_url, nats_url, [model], lease_ttl=1.5).run(stop)),
    ]
    try:
        await eventually(done)  # type: ignore[arg-type]
    finally:
        stop.set()
        await asyncio.gather(*tasks)


async def append(store: EventStore, tenant: str, stream: str, *events: NewEvent) -> None:
    await store.append(tenant, stream, list(events))


async def assert_rebuild_agrees(
    store: EventStore, pg_url: str, model: ReadModel, tables: Sequence[str], poisoned: int
) -> None:
    """verify sees the live model equal to a rebuild and lists the parked event; a
    rebuild parks the same one and leaves the same rows."""
    report = await check(store, model)
    assert report.identical, report.differences
    assert [p[0] for p in report.parked] == [poisoned]
    before = {t: sorted(rows(pg_url, f"TABLE {t}"), key=repr) for t in tables}
    parked_before = parked(pg_url, model.name)
    result = await rebuild(store, model)
    assert result.parked == 1
    assert parked(pg_url, model.name) == parked_before
    assert {t: sorted(rows(pg_url, f"TABLE {t}"), key=repr) for t in tables} == before


class TestSalesProjector:
    @pytest.mark.parametrize("name", list(SALES))
    async def test_parks_the_poison_ticket_and_goes_on(
        self, name: str, pg_store: EventStore, pg_url: str, nats_url: str
    ) -> None:
        poison: Poison = SALES[name]
        await append(pg_store, TENANT, "store-e", opened("e"))
        await append(pg_store, TENANT, "store-w", opened("w", WEST))
        await append(pg_store, TENANT, "sale-e-T1", sale("e", "T1"))
        await append(pg_store, TENANT, "sale-x-T2", poison.event)
        await append(pg_store, NEIGHBOUR, "store-e", opened("e"))
        await append(pg_store, NEIGHBOUR, "sale-e-N1", sale("e", "N1"))
        await append(pg_store, TENANT, "sale-e-T3", sale("e", "T3"))
        poisoned = await position_of(pg_store, "sale-x-T2")

        def tickets() -> set[tuple[object, ...]]:
            return set(rows(pg_url, "SELECT tenant_id, pos_txn_id FROM rm_sales_tickets"))

        expected = {(TENANT, "T1"), (TENANT, "T3"), (NEIGHBOUR, "N1")}
        await run_live(pg_store, pg_url, nats_url, SalesModel(), lambda: tickets() == expected)

        [row] = parked(pg_url, "sales")
        assert row[:5] == (poisoned, partition_of(TENANT), TENANT, "sale-x-T2", "SaleRecorded")
        assert row[5] and row[6]  # the error's class and message
        daily = rows(
            pg_url, "SELECT tenant_id, units::text, revenue::text, tickets FROM rm_sales_daily"
        )
        assert set(daily) == {(NEIGHBOUR, "2", "2.20", 1), (TENANT, "4", "4.40", 2)}
        [(state,)] = rows(
            pg_url,
            "SELECT state FROM projection_status WHERE projection = 'sales' AND partition = %s",
            partition_of(TENANT),
        )
        assert state == "running"
        await assert_rebuild_agrees(pg_store, pg_url, SalesModel(), SalesModel.tables, poisoned)


class TestInventoryProjector:
    @pytest.mark.parametrize("name", list(STOCK))
    async def test_parks_the_poison_stock_event_and_goes_on(
        self, name: str, pg_store: EventStore, pg_url: str, nats_url: str
    ) -> None:
        poison: Poison = STOCK[name]
        await append(pg_store, TENANT, "stock-1", received("e", "L1", quantity="10"))
        await append(pg_store, TENANT, "stock-2", poison.event)
        await append(pg_store, NEIGHBOUR, "stock-1", received("e", "L1", quantity="5"))
        await append(pg_store, TENANT, "stock-3", consumed("e", "L1", quantity="2"))
        poisoned = await position_of(pg_store, "stock-2")

        def on_hand() -> set[tuple[object, ...]]:
            return {
                (t, str(q))
                for t, q in rows(pg_url, "SELECT tenant_id, on_hand FROM rm_inventory_stock")
            }

        expected = {(TENANT, "8"), (NEIGHBOUR, "5")}
        await run_live(pg_store, pg_url, nats_url, InventoryModel(), lambda: on_hand() == expected)

        [row] = parked(pg_url, "inventory")
        assert row[:3] == (poisoned, partition_of(TENANT), TENANT)
        await assert_rebuild_agrees(
            pg_store, pg_url, InventoryModel(), InventoryModel.tables, poisoned
        )


async def apply_all(store: EventStore, pg_url: str, model: ReadModel) -> None:
    events = await store.read_all()
    async with await psycopg.AsyncConnection.connect(pg_url) as conn, conn.transaction():
        await apply_with_checkpoint(conn, model, partition_of(TENANT), events)


class TestWhatIsParked:
    async def test_a_payload_that_does_not_decode_is_parked(
        self, pg_store: EventStore, pg_url: str
    ) -> None:
        await append(pg_store, TENANT, "sale-e-T1", sale("e", "T1"))
        garbled = NewEvent(event_type="SaleRecorded", schema_version=1, payload=b'{"lines": 3}')
        await append(pg_store, TENANT, "sale-e-T2", garbled)
        await append(pg_store, TENANT, "sale-e-T3", sale("e", "T3"))
        await apply_all(pg_store, pg_url, SalesModel())
        [row] = parked(pg_url, "sales")
        assert row[3:6] == ("sale-e-T2", "SaleRecorded", "EventCodecError")
        assert len(rows(pg_url, "SELECT 1 FROM rm_sales_tickets")) == 2

    async def test_an_event_from_newer_code_waits_for_an_upgrade_and_is_not_parked(
        self, pg_store: EventStore, pg_url: str
    ) -> None:
        await append(pg_store, TENANT, "sale-e-T1", sale("e", "T1"))
        newer = NewEvent(event_type="SaleRecorded", schema_version=99, payload=b"{}")
        await append(pg_store, TENANT, "sale-e-T2", newer)
        with pytest.raises(SchemaTooNew, match="upgrade"):
            await apply_all(pg_store, pg_url, SalesModel())
        assert parked(pg_url, "sales") == []
        assert rows(pg_url, "SELECT position FROM projection_checkpoints") == []


class TestStatus:
    async def test_status_counts_parked_events_per_partition_and_lists_a_tenants(
        self, pg_store: EventStore, pg_url: str
    ) -> None:
        await append(pg_store, TENANT, "sale-e-T1", SALES["quantity 1E+999999"].event)
        await append(pg_store, TENANT, "sale-e-T2", sale("e", "T2"))
        await append(pg_store, TENANT, "sale-e-T3", SALES["sold_at year 9999"].event)
        await append(pg_store, NEIGHBOUR, "sale-e-N1", sale("e", "N1"))
        await apply_all(pg_store, pg_url, SalesModel())
        async with await psycopg.AsyncConnection.connect(pg_url) as conn:
            [status] = [s for s in await read_status(conn) if s.projection == "sales"]
            mine = await parked_events(conn, TENANT)
            theirs = await parked_events(conn, NEIGHBOUR)
            counts = await parked_counts(conn, TENANT)
            after_first = await parked_events(conn, TENANT, after=mine[0].position)
        assert status.parked == 2 and status.partition == partition_of(TENANT)
        assert status.first_parked_position == mine[0].position
        assert status.first_parked_error is not None
        assert status.first_parked_error.startswith("UnappliableEvent: lines[0].quantity")
        assert [(p.stream_id, p.projection) for p in mine] == [
            ("sale-e-T1", "sales"),
            ("sale-e-T3", "sales"),
        ]
        assert "year 9999" in mine[1].error
        assert theirs == [] and counts == {"sales": 2}
        assert [p.stream_id for p in after_first] == ["sale-e-T3"]
