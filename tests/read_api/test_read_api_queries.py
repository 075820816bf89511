"""The JSON read endpoints: what they return, how they filter, how they refuse."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from read_api_kit import Client

from deploy.demo import PRODUCTS, STORES, real_sales

PROBLEM = "application/problem+json"


class TestInventory:
    async def test_lists_every_store_and_item_of_the_tenant(
        self, client: Client, demo: dict[str, str]
    ) -> None:
        body = (await client.get("/v1/inventory", headers=demo)).json()
        keys = {(row["store_id"], row["item_id"]) for row in body["items"]}
        expected = {(s, p[0]) for s, _ in STORES.values() for p in PRODUCTS.values()}
        assert keys == expected | {("madrid-centro", "harina")}
        assert body["has_more"] is False
        flour = next(r for r in body["items"] if r["item_id"] == "harina")
        assert flour["negative"] is True
        assert Decimal(flour["on_hand"]) == Decimal(flour["available"]) == -5
        for row in body["items"]:
            assert set(row) >= {"on_hand", "reserved", "available", "stock_value", "negative"}

    async def test_filters_by_store_and_pages_with_limit(
        self, client: Client, demo: dict[str, str]
    ) -> None:
        body = (await client.get("/v1/inventory?store=alcala", headers=demo)).json()
        assert {r["store_id"] for r in body["items"]} == {"alcala"}
        assert len(body["items"]) == 3
        cut = (await client.get("/v1/inventory?limit=2", headers=demo)).json()
        assert len(cut["items"]) == 2 and cut["has_more"] is True

    async def test_lots_come_in_fifo_order(self, client: Client, demo: dict[str, str]) -> None:
        response = await client.get("/v1/inventory/madrid-centro/croissant/lots", headers=demo)
        assert response.status_code == 200
        body = response.json()
        assert (body["store_id"], body["item_id"]) == ("madrid-centro", "croissant")
        expiries = [lot["expires_on"] for lot in body["lots"]]
        # the closes wasted or carried the spare; what is left is in expiry order
        assert expiries and expiries == sorted(expiries)
        assert all(Decimal(lot["quantity"]) > 0 for lot in body["lots"])
        assert sum(Decimal(lot["quantity"]) for lot in body["lots"]) == Decimal(body["on_hand"])

    async def test_an_unknown_item_is_a_404_problem(
        self, client: Client, demo: dict[str, str]
    ) -> None:
        response = await client.get("/v1/inventory/madrid-centro/pan-de-oro/lots", headers=demo)
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM
        assert "pan-de-oro" in response.json()["detail"]


class TestDailySales:
    async def test_filters_by_store_product_and_dates(
        self, client: Client, demo: dict[str, str]
    ) -> None:
        first, last = date(2019, 4, 10), date(2019, 4, 16)
        expected = {
            s.day.isoformat(): s.units
            for s in real_sales()
            if s.store == "2" and s.product == "101" and first <= s.day <= last and s.units
        }
        response = await client.get(
            f"/v1/sales/daily?store=madrid-centro&sku=barra&from={first}&to={last}", headers=demo
        )
        assert response.status_code == 200
        items = response.json()["items"]
        assert {r["sales_date"]: int(Decimal(r["units"])) for r in items} == expected
        for row in items:
            assert (row["store_id"], row["sku"]) == ("madrid-centro", "barra")
            assert Decimal(row["revenue"]) == Decimal(row["units"]) * Decimal("1.10")
            assert row["tickets"] == 1

    async def test_without_filters_every_store_and_day_is_there(
        self, client: Client, demo: dict[str, str]
    ) -> None:
        body = (await client.get("/v1/sales/daily?limit=5000", headers=demo)).json()
        assert len(body["items"]) == sum(1 for s in real_sales() if s.units)
        dates = [r["sales_date"] for r in body["items"]]
        assert dates == sorted(dates)

    @pytest.mark.parametrize(
        ("query", "field"),
        [("from=yesterday", "from"), ("to=2019-02-30", "to"), ("limit=0", "limit")],
    )
    async def test_a_malformed_parameter_is_a_400_naming_it(
        self, client: Client, demo: dict[str, str], query: str, field: str
    ) -> None:
        response = await client.get(f"/v1/sales/daily?{query}", headers=demo)
        assert response.status_code == 400
        assert response.headers["content-type"] == PROBLEM
        body = response.json()
        assert body["status"] == 400 and body["title"] == "Bad Request"
        [error] = body["errors"]
        assert error["field"] == field and error["source"] == "query" and error["reason"]

    async def test_from_after_to_is_a_422(self, client: Client, demo: dict[str, str]) -> None:
        response = await client.get("/v1/sales/daily?from=2019-04-20&to=2019-04-10", headers=demo)
        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["errors"] == [
            {"field": "from", "source": "query", "reason": "2019-04-20 is after to=2019-04-10"}
        ]


class TestOrders:
    async def test_production_orders_filter_by_status_store_and_product(
        self, client: Client, demo: dict[str, str]
    ) -> None:
        async def ids(query: str) -> list[str]:
            response = await client.get(f"/v1/production-orders?{query}", headers=demo)
            assert response.status_code == 200
            return [o["order_id"] for o in response.json()["items"]]

        assert await ids("") == ["mo-today", "mo-late"]  # latest production date first
        assert await ids("status=confirmed") == ["mo-late"]
        assert await ids("status=suggested&store=alcala") == ["mo-today"]
        assert await ids("store=madrid-centro") == ["mo-today"]  # its destination
        assert await ids("sku=barra") == ["mo-late"]
        assert await ids("status=completed") == []

    async def test_an_unknown_status_is_a_400(self, client: Client, demo: dict[str, str]) -> None:
        response = await client.get("/v1/production-orders?status=baking", headers=demo)
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "status"

    async def test_purchase_orders_with_supplier_and_overdue(
        self, client: Client, demo: dict[str, str]
    ) -> None:
        body = (await client.get("/v1/purchase-orders?status=draft", headers=demo)).json()
        [order] = body["items"]
        assert order["po_id"] == "po-1" and order["supplier_name"] == "Harinas del Sur"
        assert Decimal(order["ordered_value"]) == Decimal(45)
        assert order["overdue"] is True  # expected in 2019, still a draft
        empty = (await client.get("/v1/purchase-orders?status=received", headers=demo)).json()
        assert empty == {"items": [], "has_more": False}


async def test_an_unknown_route_is_a_404_problem(client: Client, demo: dict[str, str]) -> None:
    response = await client.get("/v1/ovens", headers=demo)
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
