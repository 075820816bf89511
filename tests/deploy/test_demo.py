"""The demo is a tenant like any other: loaded by the handlers, planned by the forecaster."""

from __future__ import annotations

from pathlib import Path

import pytest

from commands.importer.run import ImportOptions, import_sales
from commands.pos.devices import DeviceRegistry, register_device
from deploy.demo import (
    ACTOR,
    PRODUCTS,
    STORES,
    TENANT,
    load_demo,
    plan_day,
    real_sales,
    run_demo,
)
from domain.codec import decode_event
from domain.events import ForecastPublished, ManufacturingOrderSuggested
from domain.streams import forecast_stream, planned_order_id, production_order_stream
from streams.store import EventStore


@pytest.fixture
async def demo_url(pg_url: str) -> str:
    assert await run_demo(pg_url, check=False)
    return pg_url


async def test_loading_again_stores_nothing_and_check_passes_on_a_used_folder(
    demo_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert await run_demo(demo_url, check=True)
    out = capsys.readouterr().out
    assert " 0 appended now" in out and " 0 failed" in out
    assert "FAIL" not in out and out.count("  ok ") == 5


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
        orders = [
            decode_event(r.event_type, r.schema_version, r.payload)
            for r in await store.read_stream(
                TENANT,
                production_order_stream(planned_order_id("madrid-centro", "barra", plan_day())),
            )
        ]
        assert orders and isinstance(orders[0], ManufacturingOrderSuggested)
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
    assert not first.failed and first.appended == first.commands
    assert again.appended == 0 and again.already == again.commands
