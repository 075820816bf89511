"""The dashboard: summary numbers, the health rule, and the HTML page for browsers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from litestar.testing import AsyncTestClient
from read_api_kit import NOW, Bakeries, Client

from deploy.demo import PRODUCTS, STORES, real_sales
from read_api.app import create_app
from read_api.page import render
from read_api.schemas import DashboardSummary


def by_store(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["store_id"]: s for s in summary["stores"]}


def units_and_revenue(store_id: str, day: date) -> tuple[Decimal, Decimal]:
    code = next(k for k, (sid, _) in STORES.items() if sid == store_id)
    units = revenue = Decimal(0)
    for sale in real_sales():
        if sale.store == code and sale.day == day:
            units += sale.units
            revenue += sale.units * PRODUCTS[sale.product][2]
    return units, revenue


async def test_a_whole_day_against_the_same_weekday_last_week(
    client: Client, demo: dict[str, str]
) -> None:
    response = await client.get("/v1/dashboard/summary?date=2019-04-30", headers=demo)
    assert response.status_code == 200
    stores = by_store(response.json())
    assert set(stores) == {"alcala", "madrid-centro", "madrid-norte"}
    for store_id, s in stores.items():
        assert (s["business_date"], s["compared_with"]) == ("2019-04-30", "2019-04-23")
        assert s["through_hour"] == 24 and s["timezone"] == "Europe/Madrid"
        today = units_and_revenue(store_id, date(2019, 4, 30))
        before = units_and_revenue(store_id, date(2019, 4, 23))
        assert (Decimal(s["units_today"]), Decimal(s["revenue_today"])) == today
        assert (Decimal(s["units_last_week"]), Decimal(s["revenue_last_week"])) == before


async def test_health_names_what_needs_a_person(client: Client, demo: dict[str, str]) -> None:
    summary = (await client.get("/v1/dashboard/summary", headers=demo)).json()
    stores = by_store(summary)
    assert summary["status"] == "red"  # the worst store
    centro, norte, alcala = stores["madrid-centro"], stores["madrid-norte"], stores["alcala"]
    assert centro["status"] == "red" and centro["negative_items"] == ["harina"]
    assert "below zero" in centro["reasons"][0]
    assert norte["status"] == "red" and norte["late_production_orders"] == 1
    assert alcala["status"] == "yellow" and alcala["orders_to_confirm"] == 1
    assert alcala["open_production_orders"] == 1


async def test_today_counts_only_the_hours_gone_by(client: Client, demo: dict[str, str]) -> None:
    # The clock says 10:00 UTC = 12:00 in Madrid; the demo's tickets are sold at 22:00.
    stores = by_store((await client.get("/v1/dashboard/summary", headers=demo)).json())
    for s in stores.values():
        assert (s["business_date"], s["through_hour"]) == ("2019-04-30", 13)
        assert Decimal(s["units_today"]) == Decimal(s["units_last_week"]) == 0


async def test_a_bad_date_is_a_400_naming_it(client: Client, demo: dict[str, str]) -> None:
    response = await client.get("/v1/dashboard/summary?date=30-04-2019", headers=demo)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "date"


class TestPage:
    async def test_without_a_cookie_it_asks_for_a_key(self, client: Client) -> None:
        response = await client.get("/")
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("text/html")
        assert "<form action=/login" in response.text

    async def test_an_unknown_key_does_not_sign_in(self, client: Client) -> None:
        response = await client.get("/login?key=obrkey_nope_nope", follow_redirects=False)
        assert response.status_code == 401
        assert "set-cookie" not in response.headers

    async def test_login_sets_an_http_only_cookie_and_shows_the_tenants_stores(
        self, bakeries: Bakeries
    ) -> None:
        async with AsyncTestClient(app=create_app(bakeries.url, clock=lambda: NOW)) as browser:
            login = await browser.get(f"/login?key={bakeries.demo_key}", follow_redirects=False)
            assert login.status_code == 303 and login.headers["location"] == "/"
            cookie = login.headers["set-cookie"].lower()
            assert "httponly" in cookie and "samesite=lax" in cookie
            page = await browser.get("/?date=2019-04-30")
            assert page.status_code == 200
            for store_id in ("madrid-centro", "madrid-norte", "alcala"):
                assert store_id in page.text
            assert "below zero on hand: harina" in page.text and "rival" not in page.text
            assert page.headers["cache-control"] == "no-store"
            signed_out = await browser.get("/logout")
            assert signed_out.status_code == 401  # back at the form

    async def test_the_rival_page_shows_only_the_rival(self, bakeries: Bakeries) -> None:
        async with AsyncTestClient(app=create_app(bakeries.url)) as browser:
            await browser.get(f"/login?key={bakeries.rival_key}")
            page = await browser.get("/")
            assert page.status_code == 200
            assert "rival-store" in page.text and "madrid" not in page.text

    async def test_the_page_escapes_what_it_shows(self) -> None:
        html = render(
            DashboardSummary(
                tenant_id="<script>", generated_at=datetime.now(UTC), status="green", stores=[]
            )
        )
        assert "<script>" not in html and "&lt;script&gt;" in html
