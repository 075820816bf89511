"""Commands over HTTP against the real stack: write, resend, refuse, conflict, isolation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from http_kit import NORTH, Tenants, problem_fields, scratch, tenants_on
from litestar import Litestar
from litestar.testing import AsyncTestClient

from deploy.stack import StackUrls
from read_api.app import create_app
from streams.store import EventStore

Client = AsyncTestClient[Litestar]

PRODUCT = {
    "sku": "barra",
    "name": "Barra",
    "category": "pan",
    "price": "1.20",
    "unit_cost": "0.35",
    "shelf_life_days": 1,
}


def receipt(lot: str, quantity: str = "40") -> dict[str, Any]:
    return {
        "store_id": "norte-1",
        "item_id": "harina",
        "item_kind": "ingredient",
        "lot_id": lot,
        "quantity": quantity,
        "unit_cost": "0.80",
    }


@pytest.fixture(scope="module")
async def tenants(stack: StackUrls) -> AsyncIterator[Tenants]:
    for made in scratch(stack.database_url):
        yield await tenants_on(made.url)


@pytest.fixture(scope="module")
async def client(tenants: Tenants) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(tenants.url)) as test_client:
        yield test_client


async def test_a_command_writes_its_events_and_answers_their_global_positions(
    client: Client, tenants: Tenants
) -> None:
    answer = await client.post("/v1/stock/receipts", json=receipt("lot-a"), headers=tenants.north)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["command"] == "ReceiveStock" and body["duplicate"] is False
    [written] = body["streams"]
    assert written["stream_id"] == "stock-norte-1-harina"
    assert written["event_types"] == ["StockReceived"]
    async with await EventStore.open(tenants.url, min_size=1, max_size=1) as store:
        [event] = await store.read_stream(NORTH, "stock-norte-1-harina")
    assert written["first_position"] == written["last_position"] == event.position
    assert body["position"] == event.position
    assert event.actor is not None and event.actor.startswith("user:")


async def test_a_resend_with_the_same_idempotency_key_gets_the_first_answer_and_writes_nothing(
    client: Client, tenants: Tenants
) -> None:
    headers = {**tenants.north, "Idempotency-Key": "receipt-lot-b"}
    first = await client.post("/v1/stock/receipts", json=receipt("lot-b"), headers=headers)
    again = await client.post("/v1/stock/receipts", json=receipt("lot-b"), headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    async with await EventStore.open(tenants.url, min_size=1, max_size=1) as store:
        events = await store.read_stream(NORTH, "stock-norte-1-harina")
    assert [e.position for e in events].count(first.json()["position"]) == 1
    assert sum(1 for e in events if b"lot-b" in e.payload) == 1


async def test_the_same_key_on_another_request_is_refused_naming_the_header(
    client: Client, tenants: Tenants
) -> None:
    headers = {**tenants.north, "Idempotency-Key": "receipt-lot-c"}
    assert (
        await client.post("/v1/stock/receipts", json=receipt("lot-c"), headers=headers)
    ).status_code == 200
    other = await client.post("/v1/stock/receipts", json=receipt("lot-c", "41"), headers=headers)
    assert other.status_code == 422
    assert other.headers["content-type"].startswith("application/problem+json")
    assert problem_fields(other.json()) == ["Idempotency-Key"]


async def test_a_key_is_per_tenant(client: Client, tenants: Tenants) -> None:
    """The south owner's same key is its own: it neither replays nor is refused."""
    key = {"Idempotency-Key": "shared-key"}
    north = await client.post("/v1/products", json=PRODUCT, headers={**tenants.north, **key})
    south = await client.post("/v1/products", json=PRODUCT, headers={**tenants.south, **key})
    assert north.status_code == south.status_code == 200, south.text
    assert "Idempotent-Replayed" not in south.headers
    assert north.json()["position"] != south.json()["position"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**PRODUCT, "sku": "pan-x", "price": "-1"}, "price"),
        ({**PRODUCT, "sku": "pan-y", "price": "abc"}, "price"),
        ({k: v for k, v in PRODUCT.items() if k != "name"}, "name"),
        ({**PRODUCT, "colour": "golden"}, "colour"),
        ({**PRODUCT, "sku": "pan z!"}, "sku"),
    ],
)
async def test_a_bad_body_is_a_422_naming_the_field(
    client: Client, tenants: Tenants, body: dict[str, Any], field: str
) -> None:
    answer = await client.post("/v1/products", json=body, headers=tenants.north)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert problem_fields(answer.json()) == [field]


async def test_a_nested_bad_value_is_named_by_its_path(client: Client, tenants: Tenants) -> None:
    sale = {
        "store_id": "norte-1",
        "pos_txn_id": "t-1",
        "sold_at": "2026-11-29T08:00:00Z",
        "lines": [{"sku": "barra", "quantity": "1", "unit_price": "1.2"}, {"sku": "barra"}],
    }
    answer = await client.post("/v1/sales", json=sale, headers=tenants.north)
    assert answer.status_code == 422, answer.text
    assert problem_fields(answer.json()) == ["lines[1].quantity"]


async def test_a_version_conflict_is_a_409_naming_the_current_version(
    client: Client, tenants: Tenants
) -> None:
    order = {
        "order_id": "mo-1",
        "sku": "barra",
        "quantity": "50",
        "production_date": "2026-11-30",
        "producing_store_id": "norte-1",
        "destination_store_id": "norte-1",
    }
    made = await client.post("/v1/production-orders/suggest", json=order, headers=tenants.north)
    assert made.status_code == 200, made.text
    version = made.json()["streams"][0]["last_version"]
    stale = {"order_id": "mo-1", "quantity": "60", "expected_version": version + 3}
    answer = await client.post("/v1/production-orders/edit", json=stale, headers=tenants.north)
    assert answer.status_code == 409, answer.text
    assert answer.json()["current_version"] == version
    fresh = {**stale, "expected_version": version}
    assert (
        await client.post("/v1/production-orders/edit", json=fresh, headers=tenants.north)
    ).status_code == 200


async def test_another_tenants_ids_are_404_as_if_they_did_not_exist(
    client: Client, tenants: Tenants
) -> None:
    order = {
        "order_id": "mo-north-only",
        "sku": "barra",
        "quantity": "5",
        "production_date": "2026-11-30",
        "producing_store_id": "norte-1",
        "destination_store_id": "norte-1",
    }
    assert (
        await client.post("/v1/production-orders/suggest", json=order, headers=tenants.north)
    ).status_code == 200
    theirs = await client.post(
        "/v1/production-orders/confirm", json={"order_id": "mo-north-only"}, headers=tenants.south
    )
    nobodys = await client.post(
        "/v1/production-orders/confirm", json={"order_id": "mo-nobody"}, headers=tenants.south
    )
    assert theirs.status_code == nobodys.status_code == 404
    assert theirs.json()["detail"] == nobodys.json()["detail"]
    assert "north" not in theirs.text


async def test_an_auditor_cannot_write_and_no_key_is_401(client: Client, tenants: Tenants) -> None:
    audit = await client.post(
        "/v1/stock/receipts", json=receipt("lot-z"), headers=tenants.north_auditor
    )
    assert audit.status_code == 403
    anonymous = await client.post("/v1/stock/receipts", json=receipt("lot-z"))
    assert anonymous.status_code == 401


async def test_the_tenant_is_never_taken_from_the_body(client: Client, tenants: Tenants) -> None:
    answer = await client.post(
        "/v1/products", json={**PRODUCT, "sku": "t1", "tenant_id": "south"}, headers=tenants.north
    )
    assert answer.status_code == 422
    assert problem_fields(answer.json()) == ["tenant_id"]


async def test_every_command_route_is_in_the_openapi_document_with_its_body_schema(
    client: Client,
) -> None:
    from read_api.commands_http import ROUTES

    doc = (await client.get("/schema/openapi.json")).json()
    for route in ROUTES:
        operation = doc["paths"][f"/v1{route.path}"]["post"]
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith(f"/{route.command.__name__}")
        assert {"200", "409", "422", "401", "403"} <= set(operation["responses"])


NORTH_ONLY: list[tuple[str, dict[str, Any]]] = [
    (
        "/v1/suppliers",
        {"supplier_id": "harinera", "name": "Harinera", "lead_time_days": 2},
    ),
    (
        "/v1/equipment",
        {
            "equipment_id": "horno-1",
            "store_id": "norte-1",
            "name": "Horno",
            "kind": "oven",
            "maintenance_interval_days": 30,
        },
    ),
    (
        "/v1/sales",
        {
            "store_id": "norte-1",
            "pos_txn_id": "ticket-9",
            "sold_at": "2026-11-29T08:00:00Z",
            "lines": [{"sku": "barra", "quantity": "1", "unit_price": "1.20"}],
        },
    ),
]
#: (route, body on a north id, the same body on an id nobody has)
ACTING_ON_IDS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "/v1/suppliers/prices",
        {"supplier_id": "harinera", "prices": []},
        {"supplier_id": "nobody", "prices": []},
    ),
    (
        "/v1/equipment/temperatures",
        {"equipment_id": "horno-1", "celsius": "4"},
        {"equipment_id": "nobody", "celsius": "4"},
    ),
    (
        "/v1/sales/void",
        {"store_id": "norte-1", "pos_txn_id": "ticket-9", "reason": "x"},
        {"store_id": "norte-1", "pos_txn_id": "nobody", "reason": "x"},
    ),
    (
        "/v1/production-orders/cancel",
        {"order_id": "mo-north-only", "reason": "x"},
        {"order_id": "nobody", "reason": "x"},
    ),
]


@pytest.mark.parametrize(("route", "theirs", "nobodys"), ACTING_ON_IDS)
async def test_isolation_matrix_another_tenants_ids_answer_like_ids_nobody_has(
    client: Client,
    tenants: Tenants,
    route: str,
    theirs: dict[str, Any],
    nobodys: dict[str, Any],
) -> None:
    for path, body in NORTH_ONLY:
        once = {**tenants.north, "Idempotency-Key": f"setup{path.replace('/', '-')}"}
        made = await client.post(path, json=body, headers=once)  # a resend replays: 200
        assert made.status_code == 200, made.text
    async with await EventStore.open(tenants.url, min_size=1, max_size=1) as store:
        before = await store.read_all(tenant_id="south-bakery", limit=1000)
    on_theirs = await client.post(route, json=theirs, headers=tenants.south)
    on_nobodys = await client.post(route, json=nobodys, headers=tenants.south)
    assert on_theirs.status_code == on_nobodys.status_code, (on_theirs.text, on_nobodys.text)
    assert on_theirs.status_code in {403, 404, 409, 422}
    assert "north" not in on_theirs.text.lower()
    async with await EventStore.open(tenants.url, min_size=1, max_size=1) as store:
        after = await store.read_all(tenant_id="south-bakery", limit=1000)
    assert after == before  # the refusals wrote nothing
