"""Tenant isolation: a key sees its own tenant's rows and nothing of any other."""

from __future__ import annotations

from read_api_kit import Client

DEMO_STORES = {"madrid-centro", "madrid-norte", "alcala"}


async def test_the_rival_sees_only_its_own_store(client: Client, rival: dict[str, str]) -> None:
    stock = (await client.get("/v1/inventory", headers=rival)).json()["items"]
    assert [(r["store_id"], r["item_id"]) for r in stock] == [("rival-store", "barra")]
    sales = (await client.get("/v1/sales/daily", headers=rival)).json()["items"]
    assert [(r["store_id"], r["sku"], r["units"]) for r in sales] == [("rival-store", "barra", "2")]
    for path in ("/v1/production-orders", "/v1/purchase-orders"):
        assert (await client.get(path, headers=rival)).json()["items"] == []
    summary = (await client.get("/v1/dashboard/summary", headers=rival)).json()
    assert summary["tenant_id"] == "rival-bakery"
    assert [s["store_id"] for s in summary["stores"]] == ["rival-store"]


async def test_filters_naming_another_tenants_ids_find_nothing(
    client: Client, rival: dict[str, str]
) -> None:
    for path in (
        "/v1/inventory?store=madrid-centro",
        "/v1/sales/daily?store=madrid-centro&sku=barra",
        "/v1/production-orders?store=madrid-norte",
        "/v1/production-orders?sku=barra",
    ):
        response = await client.get(path, headers=rival)
        assert response.status_code == 200 and response.json()["items"] == [], path


async def test_another_tenants_lots_are_not_found(
    client: Client, demo: dict[str, str], rival: dict[str, str]
) -> None:
    for store in DEMO_STORES:
        response = await client.get(f"/v1/inventory/{store}/barra/lots", headers=rival)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
    response = await client.get("/v1/inventory/rival-store/barra/lots", headers=demo)
    assert response.status_code == 404
    mine = (await client.get("/v1/inventory/rival-store/barra/lots", headers=rival)).json()
    assert [lot["lot_id"] for lot in mine["lots"]] == ["rival-lot-1"]


async def test_the_demo_tenant_never_sees_the_rival(client: Client, demo: dict[str, str]) -> None:
    for path in ("/v1/inventory", "/v1/sales/daily?limit=5000", "/v1/dashboard/summary"):
        assert "rival" not in (await client.get(path, headers=demo)).text, path
