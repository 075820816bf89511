"""``GET /v1/projections/parked``: a tenant sees its own parked events, and only those."""

from __future__ import annotations

import psycopg
from litestar.testing import AsyncTestClient

from projections.apply import apply_with_checkpoint
from projections.models import SalesModel
from read_api.app import create_app
from read_api.keys import create_api_key
from streams.jetstream import partition_of
from streams.store import EventStore
from tests.projections.poison import sale, sales_poison

POISON = {p.name: p.event for p in sales_poison("e", "w", "T")}


async def test_parked_events_of_the_callers_tenant(pg_store: EventStore, pg_url: str) -> None:
    await pg_store.append("horno", "sale-e-1", [POISON["unit price 1E+999999"]])
    await pg_store.append("horno", "sale-e-2", [sale("e", "T2")])
    await pg_store.append("horno", "sale-e-3", [POISON["sold_at year 0001"]])
    await pg_store.append("rival", "sale-e-1", [POISON["quantity 1e308"]])
    model = SalesModel()
    events = await pg_store.read_all()
    async with await psycopg.AsyncConnection.connect(pg_url) as conn:
        for tenant in ("horno", "rival"):
            async with conn.transaction():
                mine = [e for e in events if e.tenant_id == tenant]
                await apply_with_checkpoint(conn, model, partition_of(tenant), mine)
    key = create_api_key(pg_url, "horno", "planner", "test")
    async with AsyncTestClient(app=create_app(pg_url)) as client:
        auth = {"Authorization": f"Bearer {key}"}
        page = (await client.get("/v1/projections/parked", headers=auth)).json()
        first = (await client.get("/v1/projections/parked?limit=1", headers=auth)).json()
        other = (await client.get("/v1/projections/parked?model=inventory", headers=auth)).json()
        bad = await client.get("/v1/projections/parked?after=-1", headers=auth)
        anonymous = await client.get("/v1/projections/parked")
    assert page["counts"] == {"sales": 2} and page["has_more"] is False
    assert [(i["stream_id"], i["event_type"]) for i in page["items"]] == [
        ("sale-e-1", "SaleRecorded"),
        ("sale-e-3", "SaleRecorded"),
    ]
    assert page["items"][0]["error_class"] == "UnappliableEvent"
    assert "lines[0].unit_price" in page["items"][0]["error"]
    assert first["has_more"] is True and len(first["items"]) == 1
    assert other["items"] == [] and other["counts"] == {"sales": 2}
    assert bad.status_code == 400 and anonymous.status_code == 401
