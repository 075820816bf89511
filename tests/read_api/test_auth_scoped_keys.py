"""API keys of store-scoped roles: a store manager's or POS device's key acts in its stores only.

An isolation matrix like the tenants' one: every route a scoped key may try,
in its store and in another store of the same tenant (and another tenant's).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from http_kit import NORTH, OWNER, SOUTH, Tenants, bearer, scratch, tenants_on
from litestar import Litestar
from litestar.testing import AsyncTestClient

from commands.handlers import handle
from commands.types import OpenStore
from deploy.cli import main
from deploy.stack import StackUrls
from domain.events.organisation import StoreKind
from read_api.app import create_app
from read_api.keys import check_key_scope, create_api_key, unknown_stores
from streams.store import EventStore

Client = AsyncTestClient[Litestar]
MINE, OTHER = "norte-1", "norte-2"


@pytest.fixture(scope="module")
async def tenants(stack: StackUrls) -> AsyncIterator[Tenants]:
    for made in scratch(stack.database_url):
        tenants = await tenants_on(made.url)
        async with await EventStore.open(made.url, min_size=1, max_size=2) as store:
            command = OpenStore(
                store_id=OTHER,
                name=OTHER,
                kind=StoreKind.SHOP,
                timezone="Europe/Madrid",
                region="MD",
            )
            await handle(command, store, tenant_id=NORTH, actor=OWNER)
        yield tenants


@pytest.fixture(scope="module")
async def client(tenants: Tenants) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(tenants.url)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def manager(tenants: Tenants) -> dict[str, str]:
    return bearer(create_api_key(tenants.url, NORTH, "store_manager", "till office", [MINE]))


@pytest.fixture(scope="module")
def till(tenants: Tenants) -> dict[str, str]:
    return bearer(create_api_key(tenants.url, NORTH, "pos_device", "till 1", [MINE]))


def sale(store: str, ticket: str) -> dict[str, Any]:
    return {
        "store_id": store,
        "pos_txn_id": ticket,
        "sold_at": "2026-11-29T08:00:00Z",
        "lines": [{"sku": "barra", "quantity": "1", "unit_price": "1.20"}],
    }


def receipt(store: str, lot: str) -> dict[str, Any]:
    return {
        "store_id": store,
        "item_id": "harina",
        "item_kind": "ingredient",
        "lot_id": lot,
        "quantity": "10",
        "unit_cost": "0.80",
    }


async def test_a_scoped_key_says_who_it_is(client: Client, manager: dict[str, str]) -> None:
    me = (await client.get("/v1/auth/me", headers=manager)).json()
    assert (me["tenant_id"], me["role"], me["kind"], me["store_ids"]) == (
        NORTH,
        "store_manager",
        "key",
        [MINE],
    )


@pytest.mark.parametrize(("path", "body"), [("/v1/sales", sale), ("/v1/stock/receipts", receipt)])
async def test_a_store_manager_key_writes_in_its_store_only(
    client: Client, manager: dict[str, str], path: str, body: Any
) -> None:
    inside = await client.post(path, json=body(MINE, f"m-{path[-5:]}"), headers=manager)
    outside = await client.post(path, json=body(OTHER, f"o-{path[-5:]}"), headers=manager)
    assert (inside.status_code, outside.status_code) == (200, 403), (inside.text, outside.text)
    assert outside.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/v1/inventory", 200),
        (f"/v1/inventory?store={MINE}", 200),
        (f"/v1/inventory?store={OTHER}", 403),
        (f"/v1/inventory/{OTHER}/harina/lots", 403),
        (f"/v1/sales/daily?store={OTHER}", 403),
        ("/v1/projections/parked", 403),  # tenant-wide operations view
        ("/v1/users", 403),
    ],
)
async def test_a_store_manager_key_reads_its_store_only(
    client: Client, manager: dict[str, str], path: str, status: int
) -> None:
    answer = await client.get(path, headers=manager)
    assert answer.status_code == status, answer.text
    if status == 200:
        assert {row["store_id"] for row in answer.json()["items"]} <= {MINE}


async def test_a_pos_key_records_sales_in_its_store_and_nothing_else(
    client: Client, till: dict[str, str]
) -> None:
    answers = {
        "sale here": await client.post("/v1/sales", json=sale(MINE, "till-1"), headers=till),
        "sale there": await client.post("/v1/sales", json=sale(OTHER, "till-2"), headers=till),
        "receipt": await client.post(
            "/v1/stock/receipts", json=receipt(MINE, "till-lot"), headers=till
        ),
        "read": await client.get("/v1/inventory", headers=till),
    }
    assert {k: a.status_code for k, a in answers.items()} == {
        "sale here": 200,
        "sale there": 403,
        "receipt": 403,
        "read": 403,
    }


async def test_another_tenants_store_is_no_store_of_the_key(
    client: Client, tenants: Tenants, manager: dict[str, str]
) -> None:
    answer = await client.post("/v1/sales", json=sale("sur-1", "south-1"), headers=manager)
    assert answer.status_code == 403
    south_sales = await client.get("/v1/sales/daily?store=sur-1", headers=tenants.south)
    assert south_sales.json()["items"] == []


def test_scoped_roles_need_stores_and_others_refuse_them() -> None:
    with pytest.raises(ValueError, match="at least one store"):
        check_key_scope("store_manager", [])
    with pytest.raises(ValueError, match="whole tenant"):
        check_key_scope("planner", [MINE])
    with pytest.raises(ValueError, match="not an id"):
        check_key_scope("pos_device", ["a b"])
    assert check_key_scope("pos_device", [MINE, MINE]) == (MINE,)


async def test_stores_must_be_open_in_the_tenant(tenants: Tenants) -> None:
    assert await unknown_stores(tenants.url, NORTH, [MINE, OTHER]) == []
    assert await unknown_stores(tenants.url, NORTH, [MINE, "sur-1"]) == ["sur-1"]
    assert await unknown_stores(tenants.url, SOUTH, [MINE]) == [MINE]


def test_the_cli_makes_a_scoped_key_and_refuses_a_missing_store(
    tenants: Tenants, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", tenants.url)
    create = ["api-key", "create", "--tenant", NORTH, "--role", "store_manager"]
    assert main([*create, "--store", MINE, "--label", "office"]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("obrkey_") and f"stores {MINE}" in out.err
    assert main(create) == 2
    assert "at least one store" in capsys.readouterr().err
    assert main([*create, "--store", "sur-1"]) == 2
    assert "no open store sur-1" in capsys.readouterr().err
