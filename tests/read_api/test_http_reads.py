"""Read-your-writes (``min_position``), ``/health`` and ``/ready`` against the real stack."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator

import psycopg
import pytest
from http_kit import NORTH, SOUTH, Tenants, problem_fields, scratch, tenants_on
from litestar import Litestar
from litestar.testing import AsyncTestClient

from deploy.stack import StackUrls
from projections.apply import apply_with_checkpoint
from projections.models.inventory import InventoryModel
from read_api import consistency
from read_api.app import create_app
from streams.jetstream import partition_of
from streams.store import EventStore

Client = AsyncTestClient[Litestar]


@pytest.fixture(scope="module")
async def tenants(stack: StackUrls) -> AsyncIterator[Tenants]:
    for made in scratch(stack.database_url):
        yield await tenants_on(made.url)


@pytest.fixture(scope="module")
async def client(tenants: Tenants) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(tenants.url)) as test_client:
        yield test_client


async def project_inventory(url: str, tenant: str) -> None:
    """What the inventory projector does for ``tenant``'s partition: rows + checkpoint, one tx."""
    async with await EventStore.open(url, min_size=1, max_size=1) as store:
        events = await store.read_all(tenant_id=tenant, limit=10_000)
    async with await psycopg.AsyncConnection.connect(url) as conn, conn.transaction():
        await apply_with_checkpoint(conn, InventoryModel(), partition_of(tenant), events)


async def receive(client: Client, tenants: Tenants, lot: str) -> int:
    body = {
        "store_id": "norte-1",
        "item_id": "azucar",
        "item_kind": "ingredient",
        "lot_id": lot,
        "quantity": "10",
        "unit_cost": "1.00",
    }
    answer = await client.post("/v1/stock/receipts", json=body, headers=tenants.north)
    assert answer.status_code == 200, answer.text
    position: int = answer.json()["position"]
    return position


async def test_a_read_with_min_position_waits_for_the_projector_and_sees_the_write(
    client: Client, tenants: Tenants
) -> None:
    position = await receive(client, tenants, "lot-1")
    plain = await client.get("/v1/inventory?store=norte-1", headers=tenants.north)
    assert plain.status_code == 200 and plain.json()["items"] == []  # not projected yet

    def projector_later() -> None:  # its own thread: the test client blocks this loop
        time.sleep(0.4)
        asyncio.run(project_inventory(tenants.url, NORTH))

    started = time.monotonic()
    later = threading.Thread(target=projector_later)
    later.start()
    waited = await client.get(
        f"/v1/inventory?store=norte-1&min_position={position}", headers=tenants.north
    )
    later.join()
    assert waited.status_code == 200, waited.text
    assert time.monotonic() - started >= 0.4
    assert [r["item_id"] for r in waited.json()["items"]] == ["azucar"]


async def test_a_read_the_projector_does_not_reach_in_time_is_a_503_with_retry_after(
    client: Client, tenants: Tenants, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consistency, "MAX_WAIT_SECONDS", 0.3)
    position = await receive(client, tenants, "lot-2")
    answer = await client.get(f"/v1/inventory?min_position={position}", headers=tenants.north)
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1"
    assert answer.headers["content-type"].startswith("application/problem+json")
    # Once projected, the same read answers at once.
    await project_inventory(tenants.url, NORTH)
    again = await client.get(f"/v1/inventory?min_position={position}", headers=tenants.north)
    assert again.status_code == 200


async def test_min_position_past_the_tenants_newest_event_is_a_422_and_garbage_a_400(
    client: Client, tenants: Tenants
) -> None:
    position = await receive(client, tenants, "lot-3")
    past = await client.get(f"/v1/inventory?min_position={position + 1}", headers=tenants.south)
    # The south tenant's newest event is older: a position of north's names nothing of south's.
    assert past.status_code == 422
    assert problem_fields(past.json()) == ["min_position"]
    bad = await client.get("/v1/inventory?min_position=soon", headers=tenants.north)
    assert bad.status_code == 400
    assert problem_fields(bad.json()) == ["min_position"]


async def test_min_position_is_in_the_openapi_document_of_every_read(client: Client) -> None:
    doc = (await client.get("/schema/openapi.json")).json()
    reads = [
        (path, item["get"])
        for path, item in doc["paths"].items()
        if "get" in item
        and path.startswith("/v1/")
        and path != "/v1/history"
        and not path.startswith("/v1/schemas/")  # the event types' schemas: no read model
    ]
    assert reads
    for _, operation in reads:
        assert "min_position" in [p["name"] for p in operation["parameters"]]


async def test_health_is_live_and_ready_names_what_is_wrong(
    client: Client, tenants: Tenants, stack: StackUrls
) -> None:
    assert (await client.get("/health")).status_code == 200
    # No projector has checkpointed the south tenant's events (nor anyone's): not ready.
    async with await psycopg.AsyncConnection.connect(tenants.url, autocommit=True) as conn:
        await conn.execute("DELETE FROM projection_checkpoints")
    answer = await client.get("/ready")
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "5"
    assert any("projector" in r for r in answer.json()["reasons"])

    app = create_app(tenants.url, nats_url=stack.nats_url, max_lag_seconds=3600)
    async with AsyncTestClient(app=app) as ready_client:
        for tenant in (NORTH, SOUTH):
            await project_inventory(tenants.url, tenant)
        lagging = await ready_client.get("/ready")
        assert lagging.status_code == 503  # the other read models have no checkpoint yet
        async with await psycopg.AsyncConnection.connect(tenants.url, autocommit=True) as conn:
            await conn.execute(
                "INSERT INTO projection_checkpoints (projection, partition, position)"
                " SELECT m, p, (SELECT max(position) FROM events)"
                " FROM unnest(%s::text[]) AS m, generate_series(0, 63) AS p"
                " ON CONFLICT (projection, partition) DO UPDATE SET position = EXCLUDED.position",
                (list(consistency._ALL),),
            )
        ready = await ready_client.get("/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json()["nats"] == "ok"

    dead_nats = create_app(tenants.url, nats_url="nats://127.0.0.1:1", max_lag_seconds=3600)
    async with AsyncTestClient(app=dead_nats) as dead_client:
        answer = await dead_client.get("/ready")
        assert answer.status_code == 503
        assert answer.json()["reasons"] == ["nats: unreachable"]
