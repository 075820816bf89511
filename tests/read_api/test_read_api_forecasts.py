"""Published forecasts reach the read API: event → forecasts read model → /v1/forecasts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from litestar.testing import AsyncTestClient

from domain.codec import encode_event
from domain.events.forecasting import ForecastPoint, ForecastPublished
from projections.apply import decode_for
from projections.models import model_by_name
from read_api.app import create_app
from read_api.keys import create_api_key
from streams.envelope import NewEvent
from streams.store import EventStore

DAY = date(2026, 11, 23)


def published(forecast_id: str, store: str, sku: str, means: list[int], at_hour: int) -> NewEvent:
    event = ForecastPublished(
        occurred_at=datetime(2026, 11, 22, at_hour, tzinfo=UTC),
        forecast_id=forecast_id,
        store_id=store,
        sku=sku,
        model="obrador",
        model_version="v3",
        interval_level=0.8,
        points=tuple(
            ForecastPoint(
                day=DAY + timedelta(days=i),
                mean=Decimal(m),
                lower=Decimal(m) * Decimal("0.8"),
                upper=Decimal(m) * Decimal("1.2"),
            )
            for i, m in enumerate(means)
        ),
    )
    kind, version, payload = encode_event(event)
    return NewEvent(event_type=kind, schema_version=version, payload=payload)


async def test_latest_forecast_per_day_is_served_to_its_tenant_only(pg_url: str) -> None:
    url = pg_url
    store = await EventStore.open(url)
    try:
        await store.append(
            "horno",
            "forecast-centro-barra",
            [published("f-1", "centro", "barra", [100, 110, 120], at_hour=4)],
        )
        await store.append(
            "horno",
            "forecast-centro-barra",  # next night: re-forecasts day 2-3
            [published("f-2", "centro", "barra", [90, 95, 97], at_hour=5)],
        )
        await store.append(
            "rival", "forecast-x-barra", [published("r-1", "x", "barra", [5], at_hour=4)]
        )
        model = model_by_name("forecasts")
        events = await store.read_all()
        async with store.pool.connection() as conn, conn.transaction():
            await model.apply(conn, decode_for(model, events), {t: t for t in model.tables})
    finally:
        await store.close()
    key = create_api_key(url, "horno", "planner", "test")
    async with AsyncTestClient(app=create_app(url)) as client:
        response = await client.get(
            "/v1/forecasts",
            params={"store": "centro", "from": DAY.isoformat()},
            headers={"Authorization": f"Bearer {key}"},
        )
        unauthorised = await client.get("/v1/forecasts")
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [(i["day"], i["mean"], i["forecast_id"]) for i in items] == [
        ("2026-11-23", "90", "f-2"),  # the second publication replaced the first
        ("2026-11-24", "95", "f-2"),
        ("2026-11-25", "97", "f-2"),
    ]
    assert {i["store_id"] for i in items} == {"centro"}  # the rival's forecast never shows
    assert items[0]["lower"] == "72.0" and items[0]["interval_level"] == 0.8
    assert unauthorised.status_code == 401
