"""The dashboard: summary numbers, the health rule, and the HTML page for browsers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from litestar.testing import AsyncTestClient
from read_api_kit import NOW, Bakeries, Client

from deploy.demo import PRODUCTS, STORES, real_sales
from read_api.app import create_app
from read_api.dashboard_schemas import ActionQueue, Dashboard
from read_api.page_render import render_dashboard as render


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
    async def test_the_shell_asks_to_sign_in_and_loads_its_script(self, client: Client) -> None:
        response = await client.get("/")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert "<form id=login" in response.text and "name=password" in response.text
        assert "/static/dashboard.js" in response.text
        script = await client.get("/static/dashboard.js")
        assert script.status_code == 200 and "/v1/auth/login" in script.text
        style = await client.get("/static/dashboard.css")
        assert style.status_code == 200 and "@media" in style.text

    async def test_an_unknown_key_does_not_sign_in(self, client: Client) -> None:
        response = await client.get("/login?key=obrkey_nope_nope", follow_redirects=False)
        assert response.status_code == 401
        assert "unknown or revoked" in response.text

    async def test_a_key_link_hands_the_key_to_the_tab_not_the_server(
        self, bakeries: Bakeries
    ) -> None:
        async with AsyncTestClient(app=create_app(bakeries.url, clock=lambda: NOW)) as browser:
            login = await browser.get(f"/login?key={bakeries.demo_key}", follow_redirects=False)
            assert login.status_code == 303
            assert login.headers["location"] == f"/#key={bakeries.demo_key}"
            assert "set-cookie" not in login.headers

    async def test_the_fragment_shows_the_tenants_stores_behind_the_bearer(
        self, client: Client, demo: dict[str, str], rival: dict[str, str]
    ) -> None:
        assert (await client.get("/v1/dashboard/view")).status_code == 401
        page = await client.get("/v1/dashboard/view?date=2019-04-30", headers=demo)
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        for store_id in ("madrid-centro", "madrid-norte", "alcala"):
            assert store_id in page.text
        assert "below zero on hand: harina" in page.text and "rival" not in page.text
        other = await client.get("/v1/dashboard/view", headers=rival)
        assert "rival-store" in other.text and "madrid" not in other.text

    async def test_the_page_escapes_what_it_shows(self) -> None:
        html = render(
            Dashboard(
                tenant_id="<script>",
                scope="chain",
                generated_at=datetime.now(UTC),
                status="green",
                checks=[],
                action_queue=ActionQueue(
                    top=[], urgent=[], today=[], this_week=[],
                    acknowledged_alerts=0, snoozed_alerts=0,
                ),
                stores=[],
            )
        )  # fmt: skip
        assert "<script>" not in html and "&lt;script&gt;" in html
