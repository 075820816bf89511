"""The demo is a tenant like any other: loaded by the handlers, planned by the forecaster."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from commands.importer.run import ImportOptions, import_sales
from commands.pos.devices import DeviceRegistry, register_device
from deploy.demo import (
    ACTOR,
    PRODUCTS,
    STORES,
    TENANT,
    last_day,
    load_demo,
    plan_day,
    real_sales,
)
from domain.codec import decode_event
from domain.events import ForecastPublished, ManufacturingOrderSuggested
from domain.events.workshops import WorkshopTransfersPlanned
from domain.streams import (
    forecast_stream,
    planned_order_id,
    production_order_stream,
    workshop_order_id,
)
from projections.models import model_by_name
from projections.rebuild import rebuild
from read_api.app import create_app
from read_api.keys import create_api_key
from streams.store import EventStore
from tests.deploy.node_run import CheckedDemo


@pytest.fixture(scope="module")
def demo_url(checked_demo: CheckedDemo) -> str:
    """The loaded and planned demo the deploy tests share (the tests below only add to it;
    ``obrador demo --check`` loading it again on a used database is tests/deploy/test_cli.py's)."""
    assert checked_demo.first.returncode == 0, checked_demo.first.stdout
    return checked_demo.url


@pytest.fixture(scope="module")
async def demo_store(demo_url: str) -> AsyncIterator[EventStore]:
    store = await EventStore.open(demo_url)
    try:
        yield store
    finally:
        await store.close()


async def test_the_handlers_know_the_demo_stores_for_a_till_and_an_import(
    demo_url: str, tmp_path: Path
) -> None:
    store = await EventStore.open(demo_url)
    try:
        token = await register_device(
            store,
            DeviceRegistry(store.pool),
            tenant_id=TENANT,
            store_id="alcala",
            device_id="till-1",
            actor=ACTOR,
        )
        assert token
        path = tmp_path / "ventas.csv"
        path.write_text(
            "date,time,store,product,quantity,price,ticket\n"
            f"{plan_day()},09:15,alcala,barra,2,1.10,T-1\n"
            f"{plan_day()},09:20,madrid-norte,croissant,1,1.60,T-1\n"
        )
        result = await import_sales(
            store,
            path,
            ImportOptions(
                tenant_id=TENANT, progress=False, workers=1, report=tmp_path / "report.csv"
            ),
        )
        assert not result.aborted and result.error_rows == 0 and result.written == 2
    finally:
        await store.close()


async def test_the_demo_has_planned_the_day_after_its_last_sales(demo_url: str) -> None:
    store = await EventStore.open(demo_url)
    try:
        for store_id, _ in STORES.values():
            for sku, *_ in PRODUCTS.values():
                published = [
                    decode_event(r.event_type, r.schema_version, r.payload)
                    for r in await store.read_stream(TENANT, forecast_stream(store_id, sku))
                ]
                assert [type(e) for e in published] == [ForecastPublished], (store_id, sku)
                assert published[0].points[0].day == plan_day()  # type: ignore[attr-defined]
        # Alcalá bakes its own (the plan id names the model version) …
        (own,) = await store.stream_ids(
            TENANT, prefix=production_order_stream(planned_order_id("alcala", "barra", plan_day()))
        )
        # … and Madrid Centro bakes for both Madrid stores: one order with a transfer plan
        (central,) = await store.stream_ids(
            TENANT,
            prefix=production_order_stream(
                workshop_order_id("madrid-centro", "barra", plan_day(), "")
            ),
        )
        for stream_id in (own, central):
            orders = [
                decode_event(r.event_type, r.schema_version, r.payload)
                for r in await store.read_stream(TENANT, stream_id)
            ]
            assert orders and isinstance(orders[0], ManufacturingOrderSuggested)
        plan = orders[1]
        assert isinstance(plan, WorkshopTransfersPlanned)
        assert {t.store_id for t in plan.transfers} <= {"madrid-centro", "madrid-norte"}
        assert sum(t.quantity for t in plan.transfers) + plan.reserve == plan.quantity
    finally:
        await store.close()


async def test_a_load_reports_what_it_wrote(pg_url: str) -> None:
    sales = real_sales()[:9]  # the first day of the three stores
    store = await EventStore.open(pg_url)
    try:
        first = await load_demo(store, sales)
        again = await load_demo(store, sales)
    finally:
        await store.close()
    assert not first.failed and first.appended + first.idle == first.commands
    assert first.appended >= 9 * 2  # the bakes and tickets (closes of empty books write nothing)
    assert again.appended == 0 and again.already + again.idle == again.commands


async def test_the_books_do_not_pile_up_and_the_week_wastes_a_tenth(
    demo_url: str, demo_store: EventStore
) -> None:
    import psycopg

    for name in ("inventory", "waste"):
        await rebuild(demo_store, model_by_name(name))
    async with await psycopg.AsyncConnection.connect(demo_url) as conn:
        cur = await conn.execute(
            "SELECT store_id, item_id, on_hand, shortfall FROM rm_inventory_stock"
            " WHERE tenant_id = %s",
            (TENANT,),
        )
        books = {(r[0], r[1]): (r[2], r[3]) for r in await cur.fetchall()}
        cur = await conn.execute(
            "SELECT sum(units) FROM rm_waste_daily WHERE tenant_id = %s", (TENANT,)
        )
        (wasted,) = await cur.fetchone() or (None,)
    sold = sum(s.units for s in real_sales())
    # bread is wasted at the close: nothing of it is left after the last day
    assert all(books[(store_id, "barra")] == (0, 0) for store_id, _ in STORES.values())
    # pastries keep a day: at most the last day's spare is carried, never weeks of it
    last = {(s.store, s.product): s.units for s in real_sales() if s.day == last_day()}
    for (store_code, product_code), units in last.items():
        sku = PRODUCTS[product_code][0]
        on_hand, shortfall = books[(STORES[store_code][0], sku)]
        assert shortfall == 0 and 0 <= on_hand <= max(1, round(units * Decimal("0.1"))) + 1
    assert books[("madrid-norte", "croissant")] == (0, 0)  # the last day's short bake sold out
    assert 0.03 * sold < float(wasted) < 0.15 * sold


async def test_the_morning_after_shows_a_stockout_an_expiring_lot_and_a_plan_to_confirm(
    demo_url: str, demo_store: EventStore
) -> None:
    await rebuild(demo_store, model_by_name("alerts"))
    key = create_api_key(demo_url, TENANT, "owner", "alerts test")
    async with AsyncTestClient(app=create_app(demo_url)) as client:
        response = await client.get(
            "/v1/alerts?limit=200", headers={"Authorization": f"Bearer {key}"}
        )
    assert response.status_code == 200, response.text
    alerts = response.json()["items"]
    open_by_type: dict[str, list[dict[str, str]]] = {}
    for alert in alerts:
        open_by_type.setdefault(alert["type"], []).append(alert["related"])
    print({kind: len(found) for kind, found in open_by_type.items()})
    assert [(a["store_id"], a["item_id"]) for a in open_by_type["stockout"]] == [
        ("madrid-norte", "croissant")
    ]
    assert {a["item_id"] for a in open_by_type["lot_expiring"]} <= {"croissant", "napolitana"}
    assert open_by_type["plan_unconfirmed"]
    assert set(open_by_type) <= {"stockout", "lot_expiring", "plan_unconfirmed", "shortage_risk"}
