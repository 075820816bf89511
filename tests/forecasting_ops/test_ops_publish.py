"""The publish job on the real stack: ForecastPublished events and suggested orders."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

import psycopg
from prometheus_client import REGISTRY

from commands.handlers import handle
from commands.types import ConfirmManufacturingOrder, DefineProduct
from domain.access import Actor
from domain.codec import decode_event
from domain.events import (
    ForecastPublished,
    ManufacturingOrderCancelled,
    ManufacturingOrderSuggested,
)
from domain.events.organisation import Role
from domain.streams import forecast_stream, production_order_stream
from forecasting.api import forecast, train_series
from forecasting.ops import jobs, registry
from forecasting.ops.publish import _quantiles, publish_series
from forecasting.ops.registry import SeriesKey
from forecasting.plan import Economics, newsvendor_quantity
from forecasting.series import panel_from_series_frame
from streams.store import EventStore

OWNER = Actor(user_id="owner", role=Role.OWNER)


async def _events(store: EventStore, stream: str) -> list[object]:
    return [
        decode_event(r.event_type, r.schema_version, r.payload)
        for r in await store.read_stream("ddop", stream)
    ]


async def test_publish_job_appends_forecasts_and_orders(
    pg_url: str,
    pg_store: EventStore,
    load_sales: Callable[[list[tuple[int, int]]], list[SeriesKey]],
) -> None:
    bread, other = load_sales([(2, 101), (2, 109)])
    for key in (bread, other):
        assert registry.train_and_register(pg_url, key) is not None
    end: dt.date = registry.load_series(pg_url, bread)["date"][-1]
    day = end + dt.timedelta(days=1)  # the run day: history through `end`
    # catalogue economics for one product (ratio 0.75); the other uses the default (0.65)
    await handle(
        DefineProduct(
            sku=bread.sku,
            name="Bread",
            category="bread",
            price=Decimal("2.00"),
            unit_cost=Decimal("0.50"),
            shelf_life_days=2,
        ),
        pg_store,
        tenant_id="ddop",
        actor=OWNER,
    )
    # usable stock: a lot still good on the production day; an expired lot does not count
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for lot, qty, expires in (("good", 20, day + dt.timedelta(days=1)), ("old", 50, end)):
            conn.execute(
                "INSERT INTO rm_inventory_lots (tenant_id, store_id, item_id, lot_id, quantity,"
                " expires_on, unit_cost, received_position, received_at, origin)"
                " VALUES ('ddop', %s, %s, %s, %s, %s, 0.5, 1, now(), 'receipt')",
                (bread.store_id, bread.sku, lot, qty, expires),
            )

    # the scheduled job itself (run in a thread, as the scheduler's executor does)
    jobs.configure(pg_url, None)
    runs = {"job": "publish", "outcome": "ok"}
    before = REGISTRY.get_sample_value("obrador_forecast_jobs_total", runs) or 0.0
    count = await asyncio.to_thread(jobs.publish_job, "ddop", "Europe/Berlin", day.isoformat())
    assert count == 2
    assert REGISTRY.get_sample_value("obrador_forecast_jobs_total", runs) == before + 1

    for key in (bread, other):
        (fc,) = await _events(pg_store, forecast_stream(key.store_id, key.sku))
        assert isinstance(fc, ForecastPublished)
        assert fc.forecast_id == f"{key.store_id}-{key.sku}-{day:%Y%m%d}-v1"
        assert [p.day for p in fc.points] == [day + dt.timedelta(days=i) for i in range(28)]
        assert all(p.lower <= p.mean <= p.upper for p in fc.points)
        assert fc.model == "obrador" and fc.model_version == "1" and fc.interval_level == 0.8

    # the plan: newsvendor quantile of the first day's forecast minus usable stock
    found = registry.promoted(pg_url, bread)
    assert found is not None
    model = replace(found[1], panel=panel_from_series_frame(registry.load_series(pg_url, bread)))
    first = forecast(model, 28).row(0, named=True)
    expected = newsvendor_quantity(_quantiles(first), Economics(2.0, 0.5, 0.5), 20.0)
    (mo,) = await _events(pg_store, f"mo-plan-{bread.store_id}-{bread.sku}-{day:%Y%m%d}-v1")
    assert isinstance(mo, ManufacturingOrderSuggested)
    assert mo.quantity == Decimal(expected.quantity) > 0
    assert mo.production_date == day and mo.forecast_id == f"s2-p101-{day:%Y%m%d}-v1"
    assert "critical ratio 0.75" in mo.reason and "usable stock 20.0" in mo.reason
    assert "80% interval" in mo.reason and "obrador v1" in mo.reason
    (mo2,) = await _events(pg_store, f"mo-plan-{other.store_id}-{other.sku}-{day:%Y%m%d}-v1")
    assert isinstance(mo2, ManufacturingOrderSuggested)
    assert "critical ratio 0.65" in mo2.reason and "default economics" in mo2.reason

    # idempotent per day: running the job again appends nothing
    head = await pg_store.head_position()
    assert await asyncio.to_thread(jobs.publish_job, "ddop", "Europe/Berlin", day.isoformat())
    assert await pg_store.head_position() == head
    # a store in another zone is not this job's
    assert await asyncio.to_thread(jobs.publish_job, "ddop", "Europe/Madrid", day.isoformat()) == 0


async def test_republishing_a_day_after_a_rollback_appends_the_rolled_back_version(
    pg_url: str,
    pg_store: EventStore,
    load_sales: Callable[[list[tuple[int, int]]], list[SeriesKey]],
) -> None:
    (key,) = load_sales([(2, 109)])
    frame = registry.load_series(pg_url, key)
    end: dt.date = frame["date"][-1]
    day = end + dt.timedelta(days=1)
    # two versions (a short history: the cheap weekday-mean model, enough for the ids)
    model = train_series(frame.tail(100))
    for _ in range(2):
        registry.register(pg_url, key, model, {}, train_start=frame["date"][-100], train_end=end)
    registry.promote(pg_url, key, 2)
    econ = Economics(2.0, 0.5, 0.5)
    first = await publish_series(pg_store, pg_url, key, day, economics=econ)
    assert first is not None and first.forecast_appended and first.model_version == 2
    assert registry.rollback(pg_url, key).version == 1
    again = await publish_series(pg_store, pg_url, key, day, economics=econ)
    assert again is not None and again.forecast_appended and again.model_version == 1
    events = await _events(pg_store, forecast_stream(key.store_id, key.sku))
    ids = [e.forecast_id for e in events if isinstance(e, ForecastPublished)]
    assert ids == [f"s2-p109-{day:%Y%m%d}-v2", f"s2-p109-{day:%Y%m%d}-v1"]
    # the day's order is suggested again, by the version now promoted; the earlier
    # suggestion is withdrawn, naming its successor
    assert first.order_id == f"plan-s2-p109-{day:%Y%m%d}-v2" and first.order_appended
    assert again.order_id == f"plan-s2-p109-{day:%Y%m%d}-v1" and again.order_appended
    old = await _events(pg_store, production_order_stream(first.order_id))
    assert [type(e) for e in old] == [ManufacturingOrderSuggested, ManufacturingOrderCancelled]
    assert old[-1].reason == f"superseded by plan {again.order_id}"  # type: ignore[attr-defined]
    (new,) = await _events(pg_store, production_order_stream(again.order_id))
    assert isinstance(new, ManufacturingOrderSuggested) and new.forecast_id == ids[1]
    # the same version the same day is still idempotent
    head = await pg_store.head_position()
    third = await publish_series(pg_store, pg_url, key, day, economics=econ)
    assert third is not None and not third.forecast_appended and not third.order_appended
    assert await pg_store.head_position() == head
    # promoted again, v2's plan (withdrawn) does not come back: the day keeps v1's
    registry.promote(pg_url, key, 2)
    fourth = await publish_series(pg_store, pg_url, key, day, economics=econ)
    assert fourth is not None and fourth.order_id is None
    assert f"{first.order_id} was withdrawn before" in fourth.reason
    (still,) = await _events(pg_store, production_order_stream(again.order_id))
    assert isinstance(still, ManufacturingOrderSuggested)  # v1's plan stands
    # once a person confirmed the day's order, a new model's plan suggests nothing new
    await handle(
        ConfirmManufacturingOrder(order_id=again.order_id),
        pg_store,
        tenant_id="ddop",
        actor=OWNER,
    )
    registry.register(pg_url, key, model, {}, train_start=frame["date"][-100], train_end=end)
    registry.promote(pg_url, key, 3)
    fifth = await publish_series(pg_store, pg_url, key, day, economics=econ)
    assert fifth is not None and fifth.model_version == 3 and fifth.order_id is None
    assert f"{again.order_id} already in hand" in fifth.reason
