"""Cursor pagination of the read-model lists: a walk of small pages equals one big read,
repeats and skips nothing while rows arrive, and refuses a foreign cursor or a huge limit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta
from typing import Any

import psycopg
import pytest
from http_kit import NORTH, SOUTH, Tenants, scratch, tenants_on
from litestar import Litestar
from litestar.testing import AsyncTestClient

from deploy.stack import StackUrls
from read_api.app import create_app
from read_api.paging import MAX_LIMIT
from read_api.ratelimit import RateLimits

Client = AsyncTestClient[Litestar]
DAY = date(2026, 3, 2)
STORES = ("norte-1", "norte-2", "norte-3")


def _stock(tenant: str, store: str, item: str) -> tuple[Any, ...]:
    return (tenant, store, item, 5, 5, 0, 0, 5, 4, False, 1, "2026-03-02T08:00:00Z")


async def seed(url: str) -> None:
    """Rows straight into the read models (the projectors' output), two tenants."""
    async with (
        await psycopg.AsyncConnection.connect(url, autocommit=True) as conn,
        conn.cursor() as cur,
    ):
        await cur.executemany(
            "INSERT INTO rm_inventory_stock (tenant_id, store_id, item_id, item_kind,"
            " on_hand, lot_quantity, shortfall, reserved, available, stock_value, negative,"
            " last_position, last_event_at) VALUES"
            " (%s, %s, %s, 'product', %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                _stock(t, s, f"item-{i:02}")
                for t in (NORTH, SOUTH)
                for s in STORES
                for i in range(0, 40, 2)
            ],
        )
        await cur.executemany(
            "INSERT INTO rm_sales_daily VALUES (%s, %s, %s, %s, 3, 4.5, 2)",
            [
                (NORTH, s, f"sku-{k}", DAY + timedelta(days=d))
                for s in STORES
                for k in range(4)
                for d in range(6)
            ],
        )
        await cur.executemany(
            "INSERT INTO rm_production_orders (tenant_id, order_id, sku, quantity,"
            " production_date, expected_completion, producing_store_id,"
            " destination_store_id, status, reason, created_at, batches, batch_yield,"
            " quality_checks, quality_failures, edits, last_position, updated_at)"
            " VALUES (%s, %s, 'barra', 10, %s, %s, 'norte-1', 'norte-2', 'suggested', 'plan',"
            " now(), 0, 1, 0, 0, 0, 1, now())",
            [
                (NORTH, f"mo-{i:02}", DAY + timedelta(days=i % 4), DAY + timedelta(days=i % 4))
                for i in range(23)
            ],
        )
        await cur.executemany(
            "INSERT INTO rm_inventory_lots (tenant_id, store_id, item_id, lot_id, quantity,"
            " expires_on, unit_cost, received_position, received_at, origin)"
            " VALUES (%s, 'norte-1', 'item-00', %s, 1, %s, 0.5, %s, now(), 'receipt')",
            [
                (
                    NORTH,
                    f"lot-{i:02}",
                    None if i % 3 == 0 else DAY + timedelta(days=i % 5),
                    i % 7,
                )
                for i in range(19)
            ],
        )
        await cur.executemany(
            "INSERT INTO rm_waste_daily VALUES (%s, %s, %s, %s, %s, %s, %s, 0)",
            [
                (NORTH, s, DAY + timedelta(days=d), f"item-{i}", "expired", 1 + i % 2, i % 3)
                for s in STORES
                for d in range(3)
                for i in range(4)
            ],
        )


@pytest.fixture(scope="module")
async def tenants(stack: StackUrls) -> AsyncIterator[Tenants]:
    for made in scratch(stack.database_url):
        made_tenants = await tenants_on(made.url)
        await seed(made.url)
        yield made_tenants


@pytest.fixture(scope="module")
async def client(tenants: Tenants) -> AsyncIterator[Client]:
    app = create_app(tenants.url, rate_limits=RateLimits.off())
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


async def walk(
    client: Client,
    url: str,
    headers: dict[str, str],
    rows: str = "items",
    between: Callable[[int], Any] | None = None,
) -> list[dict[str, Any]]:
    """Every row of ``url`` following ``next`` page by page (``between`` runs after each)."""
    found: list[dict[str, Any]] = []
    pages = 0
    while True:
        answer = await client.get(url, headers=headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        found += body[rows]
        pages += 1
        if between is not None:
            await between(pages)
        if not body["has_more"]:
            assert "next" not in body and "next_cursor" not in body
            return found
        assert body["next"].startswith(url.split("?", maxsplit=1)[0] + "?")
        assert f"cursor={body['next_cursor']}" in body["next"]
        url = body["next"]


LISTS = [
    ("/v1/inventory", "items", ("store_id", "item_id")),
    ("/v1/inventory?store=norte-2", "items", ("store_id", "item_id")),
    ("/v1/sales/daily?from=2026-03-03&sku=sku-1", "items", ("store_id", "sku", "sales_date")),
    ("/v1/sales/daily", "items", ("store_id", "sku", "sales_date")),
    ("/v1/production-orders", "items", ("order_id",)),
    ("/v1/inventory/norte-1/item-00/lots", "lots", ("lot_id",)),
    ("/v1/waste", "items", ("store_id", "day", "item_id", "reason")),
    ("/v1/waste?by=store_id,item_id", "items", ("store_id", "item_id")),
]


@pytest.mark.parametrize(("url", "rows", "key"), LISTS)
async def test_a_walk_of_small_pages_equals_one_big_read(
    client: Client, tenants: Tenants, url: str, rows: str, key: tuple[str, ...]
) -> None:
    whole = (await client.get(url, headers=tenants.north)).json()
    assert whole["has_more"] is False and len(whole[rows]) > 7
    joiner = "&" if "?" in url else "?"
    pages = await walk(client, f"{url}{joiner}limit=4", tenants.north, rows)
    assert pages == whole[rows]
    assert len({tuple(r[k] for k in key) for r in pages}) == len(pages)


async def test_rows_arriving_during_a_walk_are_neither_repeated_nor_skipping_others(
    client: Client, tenants: Tenants
) -> None:
    before = (await client.get("/v1/inventory?limit=5000", headers=tenants.north)).json()["items"]
    added: list[tuple[str, str]] = []

    async def arrive(page: int) -> None:
        # after each page: one row that sorts first (already passed) and one that sorts last
        early, late = ("norte-0", f"early-{page:02}"), ("norte-9", f"late-{page:02}")
        async with await psycopg.AsyncConnection.connect(tenants.url, autocommit=True) as conn:
            for store, item in (early, late):
                await conn.execute(
                    "INSERT INTO rm_inventory_stock (tenant_id, store_id, item_id, item_kind,"
                    " on_hand, lot_quantity, shortfall, reserved, available, stock_value,"
                    " negative, last_position, last_event_at) VALUES"
                    " (%s, %s, %s, 'product', %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    _stock(NORTH, store, item),
                )
                added.append((store, item))

    try:
        seen = await walk(client, "/v1/inventory?limit=9", tenants.north, between=arrive)
        keys = [(r["store_id"], r["item_id"]) for r in seen]
        assert len(keys) == len(set(keys))  # nothing twice
        assert {(r["store_id"], r["item_id"]) for r in before} <= set(keys)  # nothing skipped
        assert all(store == "norte-9" for store, _ in set(keys) & set(added))  # only later ones
        assert sum(1 for store, _ in set(keys) & set(added) if store == "norte-9") >= 6
    finally:
        async with await psycopg.AsyncConnection.connect(tenants.url, autocommit=True) as conn:
            await conn.execute(
                "DELETE FROM rm_inventory_stock WHERE store_id IN ('norte-0', 'norte-9')"
            )


async def test_a_limit_above_the_maximum_is_a_422_naming_limit(
    client: Client, tenants: Tenants
) -> None:
    for url in ("/v1/inventory", "/v1/waste", "/v1/alerts", "/v1/sales/daily"):
        most = 1000 if url == "/v1/alerts" else MAX_LIMIT
        answer = await client.get(f"{url}?limit={most + 1}", headers=tenants.north)
        assert answer.status_code == 422, (url, answer.text)
        assert answer.json()["errors"][0]["field"] == "limit"
        assert (await client.get(f"{url}?limit={most}", headers=tenants.north)).status_code == 200


async def test_a_cursor_is_refused_with_other_filters_another_list_or_garbled(
    client: Client, tenants: Tenants
) -> None:
    first = (await client.get("/v1/inventory?limit=3", headers=tenants.north)).json()
    cursor = first["next_cursor"]
    for url in (
        f"/v1/inventory?limit=3&store=norte-1&cursor={cursor}",  # other filters
        f"/v1/sales/daily?cursor={cursor}",  # another list
        f"/v1/inventory?cursor={cursor[:-4]}",  # cut short
        "/v1/inventory?cursor=bm90LWEtY3Vyc29y",  # base64 of something else
    ):
        answer = await client.get(url, headers=tenants.north)
        assert answer.status_code == 422, (url, answer.text)
        assert answer.json()["errors"][0]["field"] == "cursor"
    # a cursor names a place in the list, not a tenant: another tenant walks its own rows
    south = await client.get(f"/v1/inventory?limit=3&cursor={cursor}", headers=tenants.south)
    assert south.status_code == 200
    assert {r["store_id"] for r in south.json()["items"]} <= set(STORES)
    assert all(r["item_id"].startswith("item-") for r in south.json()["items"])


async def test_the_openapi_document_states_cursor_limit_and_filters(client: Client) -> None:
    doc = (await client.get("/schema/openapi.json")).json()
    for path in (
        "/v1/inventory",
        "/v1/sales/daily",
        "/v1/forecasts",
        "/v1/production-orders",
        "/v1/purchase-orders",
        "/v1/waste",
        "/v1/alerts",
        "/v1/inventory/{store}/{item}/lots",
    ):
        params = {p["name"]: p for p in doc["paths"][path]["get"]["parameters"]}
        assert {"cursor", "limit"} <= set(params), path
        assert params["limit"]["schema"]["maximum"] in (MAX_LIMIT, 1000)
        assert params["cursor"]["schema"]["pattern"]
