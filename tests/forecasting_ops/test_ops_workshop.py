"""End to end on the real stack: tickets -> sales read model -> models -> the nightly
publish -> one workshop order per product with its transfer plan -> the API and the CLI."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from decimal import Decimal

import polars as pl
import pytest
from litestar.testing import TestClient

from commands.handlers import handle
from commands.types import Command, CreateTenant, DefineProduct, OpenStore, RecordSale
from deploy.cli import main
from deploy.sample_data import ddop_frame
from domain.access import Actor
from domain.events.organisation import Role, StoreKind, TenantKind
from domain.events.sales import SaleLine, SaleSource
from forecasting.ops import registry
from projections.models import model_by_name
from projections.rebuild import rebuild
from read_api.app import create_app
from read_api.keys import create_api_key
from streams.store import EventStore

OWNER = Actor(user_id="olga", role=Role.OWNER)
OUTLETS = {"norte": 2, "sur": 3}  # store id -> ddop store of its real demand
DAYS = 42
BATCH, MINIMUM = 6, 24
PRICE = Decimal("1.10")


def _demand() -> dict[str, list[tuple[dt.date, int]]]:
    frame = ddop_frame().filter(pl.col("product") == 101)
    last: dt.date = frame["date"].max()  # type: ignore[assignment]
    frame = frame.filter(pl.col("date") > last - dt.timedelta(days=DAYS))
    return {
        store_id: [
            (d, int(u))
            for d, u in frame.filter(pl.col("store") == code)
            .sort("date")
            .select("date", "demand")
            .iter_rows()
            if u > 0
        ]
        for store_id, code in OUTLETS.items()
    }


async def _chain(url: str, tenant: str) -> dt.date:
    """The tenant, a central workshop and two outlets, six weeks of tickets; the sales model."""
    start = dt.datetime(2019, 1, 1, tzinfo=dt.UTC)
    commands: list[Command] = [CreateTenant(name="Forn", kind=TenantKind.CHAIN)]
    for store_id, kind in (
        ("obrador", StoreKind.CENTRAL),
        *((s, StoreKind.OUTLET) for s in OUTLETS),
    ):
        commands.append(
            OpenStore(
                store_id=store_id, name=store_id, kind=kind, timezone="Europe/Madrid",
                region="ES-MD", occurred_at=start,
            )
        )  # fmt: skip
    commands.append(
        DefineProduct(
            sku="barra", name="Barra", category="pan", price=Decimal("1.10"),
            unit_cost=Decimal("0.30"), shelf_life_days=1, batch_size=BATCH,
            minimum_batch=MINIMUM, occurred_at=start,
        )
    )  # fmt: skip
    last = dt.date(1990, 1, 1)
    for store_id, days in _demand().items():
        for day, units in days:
            at = dt.datetime.combine(day, dt.time(12), dt.UTC)
            commands.append(
                RecordSale(
                    store_id=store_id, pos_txn_id=f"t-{day:%Y%m%d}", sold_at=at, occurred_at=at,
                    source=SaleSource.IMPORT,
                    lines=(SaleLine(sku="barra", quantity=Decimal(units), unit_price=PRICE),),
                )
            )  # fmt: skip
            last = max(last, day)
    async with await EventStore.open(url) as store:
        for command in commands:
            await handle(command, store, tenant_id=tenant, actor=OWNER)
        await rebuild(store, model_by_name("sales"))
    return last


async def _project(url: str) -> None:
    async with await EventStore.open(url) as store:
        for name in ("production_orders", "workshop_orders"):
            await rebuild(store, model_by_name(name))


def test_tickets_become_one_workshop_order_with_transfers_in_the_api_and_the_cli(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_url)
    tenant = f"forn-{uuid.uuid4().hex[:8]}"
    last = asyncio.run(_chain(pg_url, tenant))
    declare = ["workshop", "declare", "--tenant", tenant, "--store", "obrador"]
    assert main([*declare, "--serves", "norte,nowhere"]) == 1
    assert "refused: serves[1]: no open store 'nowhere'" in capsys.readouterr().err
    assert main([*declare, "--serves", "norte,sur", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["changed"] is True

    for key in registry.list_series(pg_url, tenant):
        assert registry.train_and_register(pg_url, key, through=last) is not None
    day = last + dt.timedelta(days=1)
    assert main(["forecast", "publish", "--tenant", tenant, "--day", day.isoformat()]) == 0
    published = capsys.readouterr().out
    assert "norte/barra" in published and "baked by workshop obrador" in published
    assert f"workshop obrador/barra {day}: bake" in published
    asyncio.run(_project(pg_url))

    owner = create_api_key(pg_url, tenant, "owner", "owner")
    sur = create_api_key(pg_url, tenant, "store_manager", "sur", store_ids=["sur"])
    morning = dt.datetime.combine(day, dt.time(3), dt.UTC)  # 04:00 or 05:00 in Madrid
    with TestClient(app=create_app(pg_url, clock=lambda: morning)) as client:
        page = client.get("/v1/workshop-orders", headers={"Authorization": f"Bearer {owner}"})
        assert page.status_code == 200, page.text
        (order,) = page.json()["items"]
        assert order["workshop_id"] == "obrador" and order["production_date"] == day.isoformat()
        assert order["status"] == "suggested" and "pooled quantile" in order["reason"]
        quantity = Decimal(order["quantity"])
        assert quantity % BATCH == 0 and quantity >= MINIMUM
        transfers = {t["store_id"]: Decimal(t["quantity"]) for t in order["transfers"]}
        reserve = Decimal(order["reserve"])  # kept at the workshop for the midday top-up
        assert set(transfers) == {"norte", "sur"} and sum(transfers.values()) + reserve == quantity
        assert reserve == int(quantity * Decimal("0.2")) > 0
        # the production order itself is listed at the workshop, with the model versions
        orders = client.get(
            "/v1/production-orders", headers={"Authorization": f"Bearer {owner}"}
        ).json()["items"]
        assert [o["order_id"] for o in orders] == [order["order_id"]]
        assert order["order_id"].startswith(f"wplan-obrador-barra-{day:%Y%m%d}-m")
        # the workshop's dashboard lists it in what was planned overnight
        board = client.get(
            "/v1/dashboard",
            params={"store": "obrador"},
            headers={"Authorization": f"Bearer {owner}"},
        )
        (planned,) = board.json()["stores"][0]["overnight"]
        assert planned["order_id"] == order["order_id"]
        # a store manager of sur sees the order, with sur's transfer only
        mine = client.get("/v1/workshop-orders", headers={"Authorization": f"Bearer {sur}"})
        (seen,) = mine.json()["items"]
        assert seen["transfers"] == [
            {"store_id": "sur", "quantity": order["transfers"][1]["quantity"]}
        ]
        # bad input names the field
        unknown = client.post(
            "/v1/workshops",
            json={"store_id": "obrador", "serves": ["ghost"]},
            headers={"Authorization": f"Bearer {owner}"},
        )
        assert unknown.status_code == 404 and unknown.json()["errors"][0]["field"] == "serves[0]"
        zero = client.post(
            "/v1/products/batching",
            json={"sku": "barra", "batch_size": 0},
            headers={"Authorization": f"Bearer {owner}"},
        )
        assert zero.status_code == 422 and zero.json()["errors"][0]["field"] == "batch_size"

    assert main(["workshop", "orders", "--tenant", tenant, "--store", "sur", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["order_id"] == order["order_id"] and list(listed["transfers"]) == ["sur"]
