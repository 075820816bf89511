"""``GET /v1/dashboard``: health checklist, action queue, timeline, overnight plan, insights."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import pytest
from dashboard_kit import ISLAND, NOW, STORE, TENANT, bake_day
from http_kit import Scratch, bearer, scratch
from litestar import Litestar
from litestar.testing import AsyncTestClient

from deploy.stack import StackUrls
from domain.events.organisation import Role
from read_api.app import create_app
from read_api.keys import create_api_key
from read_api.users import create_user
from streams.store import EventStore

Client = AsyncTestClient[Litestar]


@pytest.fixture(scope="module")
def day_db(stack: StackUrls) -> Iterator[Scratch]:
    yield from scratch(stack.database_url)


@pytest.fixture(scope="module")
async def day(day_db: Scratch) -> AsyncIterator[tuple[Client, dict[str, str]]]:
    await bake_day(day_db.url)
    key = bearer(create_api_key(day_db.url, TENANT, "owner", "dash test"))
    async with AsyncTestClient(app=create_app(day_db.url, clock=lambda: NOW)) as client:
        yield client, key


async def _dashboard(day: tuple[Client, dict[str, str]], **params: str) -> dict[str, Any]:
    client, key = day
    response = await client.get("/v1/dashboard", params=params, headers=key)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_health_checklist_says_what_set_the_colour(day: Any) -> None:
    body = await _dashboard(day)
    checks = {c["check"]: c for c in body["checks"]}
    assert body["scope"] == "chain"
    assert [(s["store_id"], s["business_date"]) for s in body["stores"]] == [
        (STORE, "2026-03-02"),
        (ISLAND, "2026-03-02"),
    ]
    island = body["stores"][1]
    assert island["status"] == "green" and island["timezone"] == "Atlantic/Canary"
    assert island["insights"]["sales"]["through_hour"] == 5  # 04:30 in the Canaries
    # a suggested order for today is unconfirmed; nothing is below zero
    assert checks["plan_confirmed"]["status"] == "yellow"
    assert "centro: 1 suggested order(s)" in checks["plan_confirmed"]["detail"]
    assert checks["stock_below_zero"]["status"] == "green"
    assert set(checks) >= {"production_on_schedule", "stock_reserved", "sales_pace", "alerts"}
    assert body["status"] in {"yellow", "red"}
    assert body["status"] == max(
        (c["status"] for c in body["checks"]), key=["green", "yellow", "red"].index
    )


async def test_the_action_queue_puts_today_first_with_buttons(day: Any) -> None:
    queue = (await _dashboard(day))["action_queue"]
    assert len(queue["top"]) <= 5
    urgent = {i["ref_id"]: i for i in queue["urgent"]}
    plan = urgent["plan-barra"]  # today's suggested order: one item, its alert merged in
    assert plan["kind"] == "production_order"
    assert [c["label"] for c in plan["commands"]][:2] == ["Confirm", "Set quantity"]
    assert plan["commands"][0] == {
        "label": "Confirm",
        "path": "/v1/production-orders/confirm",
        "body": {"order_id": "plan-barra"},
        "input": None,
    }
    assert "40 barra" in plan["title"] and plan["consequence"]
    every = [i["ref_id"] for g in ("urgent", "today", "this_week") for i in queue[g]]
    assert every.count("plan-barra") == 1
    assert queue["top"][0]["group"] == "urgent"
    today = {i["ref_id"]: i for i in queue["today"]}
    assert today["mo-croissant"]["score"] == 60  # tomorrow's plan: confirm it today
    assert "45.00 €" in today["mo-croissant"]["consequence"]  # 30 x 1.50
    assert "PO-draft" in {i["ref_id"] for g in ("urgent", "today") for i in queue[g]}
    low = [i for g in ("urgent", "today", "this_week") for i in queue[g] if i["kind"] == "alert"]
    assert any(i["commands"][0]["path"] == "/v1/alerts/acknowledge" for i in low)
    ranks = [(i["group"], -i["score"]) for g in ("urgent", "today", "this_week") for i in queue[g]]
    assert ranks == sorted(
        ranks, key=lambda r: (["urgent", "today", "this_week"].index(r[0]), r[1])
    )


async def test_timeline_overnight_plan_and_insights(day: Any) -> None:
    (centro,) = (await _dashboard(day, store=STORE))["stores"]
    assert centro["business_date"] == "2026-03-02" and centro["timezone"] == "Europe/Madrid"
    timeline = {t["order_id"]: t for t in centro["timeline"]}
    assert set(timeline) == {"plan-barra", "mo-baking"}
    assert timeline["mo-baking"]["status"] == "in_progress" and not timeline["mo-baking"]["late"]
    assert timeline["plan-barra"]["planned_start"] == "2026-03-02T04:00:00Z"  # 05:00 Madrid
    (plan,) = centro["overnight"]
    assert plan["order_id"] == "plan-barra" and Decimal(plan["forecast_mean"]) == 45
    assert plan["production_date"] == "2026-03-02"  # tomorrow's croissants were no forecast's
    assert (
        plan["summary"]
        == "planned 40 barra for centro today: forecast 45 (80 % 36–55), 8 usable in stock"
    )
    assert "quantile" in plan["reason"]
    insights = centro["insights"]
    sales = insights["sales"]
    assert Decimal(sales["today"]["units"]) == 3 and sales["through_hour"] == 6
    assert [Decimal(d["units"]) for d in sales["same_weekday"]] == [11, 12, 13, 14]
    assert Decimal(sales["average_revenue"]) == Decimal("18.75")  # 12.5 units x 1.50
    assert Decimal(sales["change_pct"]) == Decimal("-76.0")
    waste = insights["waste"]
    assert waste["week_start"] == "2026-03-02"
    assert (Decimal(waste["units_this_week"]), Decimal(waste["value_this_week"])) == (5, 2)
    assert (Decimal(waste["units_last_week"]), Decimal(waste["value_last_week"])) == (7, D("2.8"))
    # 8 barras x 0.30 + 47 croissants x 0.40 (100 received, 53 sold)
    assert Decimal(insights["stock_value"]) == D("21.2")
    assert [d["po_id"] for d in insights["deliveries_due"]] == ["PO-due"]


D = Decimal


async def test_the_openapi_document_types_it(day: Any) -> None:
    client, _ = day
    schema = (await client.get("/schema/openapi.json")).json()
    operation = schema["paths"]["/v1/dashboard"]["get"]
    assert operation["operationId"] == "getDashboard"
    assert {p["name"] for p in operation["parameters"]} >= {"store", "date"}
    assert "Dashboard" in schema["components"]["schemas"]
    assert "QueueItem" in schema["components"]["schemas"]


async def test_another_tenant_sees_none_of_it(day: Any, day_db: Scratch) -> None:
    client, _ = day
    rival = bearer(create_api_key(day_db.url, "rival-dash", "owner", "rival"))
    body = (await client.get("/v1/dashboard", headers=rival)).json()
    assert body["stores"] == [] and body["action_queue"]["urgent"] == []
    assert body["status"] == "green"


async def test_a_store_manager_sees_their_store_only(day: Any, day_db: Scratch) -> None:
    client, _ = day
    store = await EventStore.open(day_db.url)
    try:
        await create_user(
            store, store.pool, tenant_id=TENANT, email="ana@horno.example", name="Ana",
            role=Role.STORE_MANAGER, store_ids=(ISLAND,), password="a long enough secret",
        )  # fmt: skip
    finally:
        await store.close()
    login = await client.post(
        "/v1/auth/login", json={"email": "ana@horno.example", "password": "a long enough secret"}
    )
    ana = bearer(login.json()["access_token"])
    mine = (await client.get("/v1/dashboard", headers=ana)).json()
    assert [s["store_id"] for s in mine["stores"]] == [ISLAND]
    queue = mine["action_queue"]
    assert queue["urgent"] == queue["today"] == queue["this_week"] == []  # centro's are not hers
    other = await client.get("/v1/dashboard", params={"store": STORE}, headers=ana)
    assert other.status_code == 403


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"store": "a b"}, "store"),
        ({"date": "2026-02-30"}, "date"),
        ({"date": "0001-01-01"}, "date"),
    ],
)
async def test_bad_parameters_are_400s_naming_them(
    day: Any, params: dict[str, str], field: str
) -> None:
    client, key = day
    response = await client.get("/v1/dashboard", params=params, headers=key)
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == field
