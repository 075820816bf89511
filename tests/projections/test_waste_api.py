"""``GET /v1/waste`` reads the waste model of the caller's tenant only."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

from litestar.testing import AsyncTestClient
from stock_kit import START, Bakery

from commands.types import CloseDay, CloseLine, ReceiveStock
from domain.events.inventory import ItemKind
from read_api.app import create_app
from read_api.keys import create_api_key
from streams.store import EventStore

D = Decimal


async def test_waste_by_reason_for_the_callers_tenant_only(
    pg_store: EventStore, pg_url: str
) -> None:
    shops = [await Bakery(pg_store, f"forn-{uuid.uuid4().hex[:8]}").open() for _ in range(2)]
    for wasted, shop in zip((7, 3), shops, strict=True):
        await shop.run(
            ReceiveStock(
                store_id="sol", item_id="baguette", item_kind=ItemKind.PRODUCT, lot_id="l1",
                quantity=D(10), expires_on=date(2026, 3, 2), unit_cost=D("0.30"),
            )
        )  # fmt: skip
        line = CloseLine(item_id="baguette", waste=D(wasted), markdown=D(10 - wasted))
        close = CloseDay(store_id="sol", day=date(2026, 3, 2), lines=(line,))
        await shop.run(close, at=START + timedelta(hours=14))
        await shop.project(pg_url)
    key = create_api_key(pg_url, shops[0].tenant, "owner", "test")
    headers = {"Authorization": f"Bearer {key}"}
    async with AsyncTestClient(app=create_app(pg_url)) as client:
        response = await client.get("/v1/waste", params={"by": "reason"}, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json() == {
            "items": [
                {"reason": "unsold_end_of_day", "units": "7", "value": "2.10",
                 "unvalued_units": "0"}
            ],
            "has_more": False,
        }  # fmt: skip
        refused = await client.get("/v1/waste", params={"by": "colour"}, headers=headers)
        assert refused.status_code == 422
        assert "allowed: store_id, day, item_id, reason" in refused.text
