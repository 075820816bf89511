"""Sales of a product the catalogue did not know, before and after it is defined.

They are never taken from the lots, not even once the product is defined: no lot of
it could be on the books when it sold (every stock command naming an unknown item is
refused), so taking them later would only make a shortfall that the first real
receipt absorbs — the first day's real stock would read low by units that came from
shelves the books never saw. They stay counted (``rm_inventory_unknown_sales``,
``obrador pos status`` marks the ones defined since: count the shelf), and the stock
of the product starts at its first receipt (docs/read-models.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from stock_kit import MODELS, START, Bakery
from test_models_kit import wipe

from commands.types import DefineProduct, ReceiveStock, RecordSale
from deploy.stack import StackUrls
from domain.events.inventory import ItemKind
from domain.events.sales import SaleLine
from streams.store import EventStore

D = Decimal
FIG = "pan-de-higo"


def sale(txn: str, qty: int) -> RecordSale:
    return RecordSale(
        store_id="sol",
        pos_txn_id=txn,
        sold_at=START + timedelta(hours=3),
        lines=(SaleLine(sku=FIG, quantity=D(qty), unit_price=D("2.50")),),
    )


def pos_status(pg_url: str, nats_url: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "deploy.cli", "pos", "status", "--json"],
        env={**os.environ, "DATABASE_URL": pg_url, "NATS_URL": nats_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, object] = json.loads(done.stdout)["unknown_item_sales"]
    return report


@pytest.fixture
async def bakery(pg_store: EventStore) -> Bakery:
    return await Bakery(pg_store, f"forn-{uuid.uuid4().hex[:8]}").open()


async def test_stock_starts_at_the_first_receipt_and_pos_status_counts_the_unknown(
    bakery: Bakery, pg_url: str, stack: StackUrls
) -> None:
    await bakery.run(sale("T-1", 3))
    await bakery.project(pg_url)
    key = f"{bakery.tenant}/sol/{FIG}"
    before = pos_status(pg_url, stack.nats_url)
    assert (D(str(before["units"])), before["tickets"]) == (3, 1)
    assert before["by_store_and_item"] == {  # type: ignore[comparison-overlap]
        key: {"units": "3", "tickets": 1, "defined_since": False}
    }

    await bakery.run(
        DefineProduct(
            sku=FIG,
            name="Pan de higo",
            category="bread",
            price=D("2.50"),
            unit_cost=D("0.90"),
            shelf_life_days=2,
        )
    )
    await bakery.run(
        ReceiveStock(
            store_id="sol",
            item_id=FIG,
            item_kind=ItemKind.PRODUCT,
            lot_id="higo-1",
            quantity=D(10),
            expires_on=date(2026, 3, 3),
            unit_cost=D("0.90"),
        )
    )
    resent = await bakery.run(sale("T-1", 3))  # the till sends the old ticket again
    assert resent.duplicate
    await bakery.run(sale("T-2", 2))  # known now: taken FIFO from the lot
    await wipe(pg_url, MODELS)  # project the whole log again, from scratch
    await bakery.project(pg_url)
    row = await bakery.stock_row(pg_url, "sol", FIG)
    assert row is not None
    assert (row["on_hand"], row["shortfall"], row["stock_value"]) == (8, 0, D("7.20"))
    after = pos_status(pg_url, stack.nats_url)
    assert after["by_store_and_item"] == {  # type: ignore[comparison-overlap]
        key: {"units": "3", "tickets": 1, "defined_since": True}
    }
