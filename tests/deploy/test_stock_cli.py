"""`obrador stock close-day|expire` as a store manager or the scheduler types them."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from commands.types import ReceiveStock
from deploy.cli import main
from domain.events.inventory import ItemKind
from streams.store import EventStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "projections"))
from stock_kit import START, Bakery

MONDAY = date(2026, 3, 2)


async def _bakery(pg_url: str) -> str:
    async with await EventStore.open(pg_url) as store:
        bakery = await Bakery(store, f"forn-{uuid.uuid4().hex[:8]}").open()
        for sku, keeps in (("baguette", 0), ("croissant", 1)):
            await bakery.run(
                ReceiveStock(
                    store_id="sol", item_id=sku, item_kind=ItemKind.PRODUCT, lot_id=f"{sku}-1",
                    quantity=Decimal(12), expires_on=MONDAY + timedelta(days=keeps),
                    unit_cost=Decimal("0.40"),
                )
            )  # fmt: skip
        await bakery.project(pg_url)
        return bakery.tenant


def test_close_day_confirmed_then_automatic_for_the_rest(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_url)
    tenant = asyncio.run(_bakery(pg_url))
    base = ["stock", "close-day", "--tenant", tenant, "--store", "sol", "--day", "2026-03-02"]
    assert main([*base, "--line", "baguette:waste=8,donation=4", "--json"]) == 0
    confirmed = json.loads(capsys.readouterr().out)
    assert confirmed == {"day": "2026-03-02", "kind": "confirmed", "closed": ["stock-sol-baguette"]}
    assert main([*base, "--auto"]) == 0
    assert "automatic close of sol for 2026-03-02: 1 item(s) closed" in capsys.readouterr().out
    assert main([*base, "--line", "baguette:waste=1"]) == 1
    assert "already closed" in capsys.readouterr().err
    assert main([*base, "--line", "baguette:thrown=1"]) == 2
    assert "'thrown' is not one of" in capsys.readouterr().err


def test_expire_takes_what_expired_by_the_clock(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_url)
    tenant = asyncio.run(_bakery(pg_url))
    tick = (START + timedelta(days=1, hours=1)).strftime("%Y-%m-%dT%H:%M:%S")  # Tuesday 07:00
    args = ["stock", "expire", "--tenant", tenant, "--store", "sol", "--at", tick, "--json"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out) == {"expired": ["stock-sol-baguette"]}
