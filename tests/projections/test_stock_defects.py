"""The three defects of issue 10, through the real handlers, store and read models.

1. Expired lots never left the books (the demo showed 4,725 baguettes on hand).
2. After one POS sale ``on_hand`` (126) disagreed with its lots (128) and the
   value stayed the same: the demo had filed its receipts outside the item's
   stock stream, so the sale found no lots and the projection counted lots the
   domain never saw.
3. A sale of a product the catalogue did not know drove stock to -1.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
from stock_kit import START, Bakery
from test_models_kit import rows

from commands.types import ExpireStock, ReceiveStock, RecordSale, RecordWaste
from domain.codec import encode_event
from domain.errors import NotFound
from domain.events import StockReceived
from domain.events.inventory import ItemKind, WasteReason
from domain.events.sales import SaleLine
from domain.streams import stock_stream
from projections.invariants import inventory_breaches
from projections.models.inventory_queries import unknown_sales
from streams.envelope import NewEvent
from streams.store import EventStore

D = Decimal
MONDAY = date(2026, 3, 2)


@pytest.fixture
async def bakery(pg_store: EventStore) -> Bakery:
    return await Bakery(pg_store, f"forn-{uuid.uuid4().hex[:8]}").open()


def receipt(qty: int, lot: str = "b-0302", expires: date = MONDAY) -> ReceiveStock:
    return ReceiveStock(
        store_id="sol",
        item_id="baguette",
        item_kind=ItemKind.PRODUCT,
        lot_id=lot,
        quantity=D(qty),
        expires_on=expires,
        unit_cost=D("0.32"),
    )


def sale(txn: str, sku: str = "baguette", qty: int = 2) -> RecordSale:
    return RecordSale(
        store_id="sol",
        pos_txn_id=txn,
        sold_at=START + timedelta(hours=3),
        lines=(SaleLine(sku=sku, quantity=D(qty), unit_price=D("1.20")),),
    )


async def test_an_expired_lot_leaves_the_books_as_waste(bakery: Bakery, pg_url: str) -> None:
    await bakery.run(receipt(40))
    await bakery.run(sale("T-1", qty=30))
    # 23:30 UTC on Monday is already Tuesday 00:30 in Madrid: Monday's bread has expired
    tick = datetime.fromisoformat("2026-03-02T23:30:00+00:00")
    await bakery.run(ExpireStock(store_id="sol", as_of=tick, item_ids=("baguette",)), at=tick)
    await bakery.project(pg_url)
    row = await bakery.stock_row(pg_url, "sol", "baguette")
    assert row is not None
    assert (row["on_hand"], row["stock_value"]) == (0, 0)
    waste = await bakery.waste_rows(pg_url)
    assert [(w["reason"], w["units"], w["value"]) for w in waste] == [("expired", D(10), D("3.20"))]
    assert waste[0]["day"] == date(2026, 3, 3)


async def test_a_lot_is_sellable_until_the_end_of_its_day_in_the_store_time_zone(
    bakery: Bakery, pg_url: str
) -> None:
    await bakery.run(receipt(10))
    tick = datetime.fromisoformat("2026-03-02T22:30:00+00:00")  # 23:30 in Madrid, still Monday
    result = await bakery.run(ExpireStock(store_id="sol", as_of=tick, item_ids=("baguette",)))
    assert result.appended == ()
    await bakery.project(pg_url)
    row = await bakery.stock_row(pg_url, "sol", "baguette")
    assert row is not None and row["on_hand"] == 10


async def test_a_pos_sale_takes_from_the_lots_and_the_value(bakery: Bakery, pg_url: str) -> None:
    await bakery.run(receipt(128))
    await bakery.run(sale("T-1", qty=2))
    await bakery.project(pg_url, batch=1)
    row = await bakery.stock_row(pg_url, "sol", "baguette")
    assert row is not None
    assert (row["on_hand"], row["lot_quantity"], row["shortfall"]) == (126, 126, 0)
    assert (await bakery.lot_sum(pg_url, "sol", "baguette")) == (126, D("40.32"))
    assert row["stock_value"] == D("40.32")


async def test_books_made_outside_the_stock_stream_are_reported_as_not_adding_up(
    bakery: Bakery, pg_url: str, pg_store: EventStore
) -> None:
    """What the old demo did (a receipt in a stream of its own): the sale through the
    domain found no lots, so the books show a shortfall next to full lots — and the
    invariant check behind ``obrador projections verify inventory`` names it."""
    stray = StockReceived(
        occurred_at=START,
        store_id="sol",
        item_id="baguette",
        item_kind=ItemKind.PRODUCT,
        lot_id="baguette-20260302",
        quantity=D(128),
        expires_on=MONDAY,
        unit_cost=D("0.32"),
    )
    kind, version, payload = encode_event(stray)
    await pg_store.append(
        bakery.tenant,
        stock_stream("sol", "baguette-baguette-20260302"),
        [NewEvent(event_type=kind, schema_version=version, payload=payload)],
    )
    await bakery.run(sale("T-1", qty=2))
    await bakery.project(pg_url)
    row = await bakery.stock_row(pg_url, "sol", "baguette")
    assert row is not None
    assert (row["on_hand"], row["lot_quantity"], row["shortfall"]) == (126, 128, 2)
    async with await psycopg.AsyncConnection.connect(pg_url) as conn:
        (breach,) = await inventory_breaches(conn, tenant_id=bakery.tenant)
    assert breach.rule == "shortfall only when no lot holds stock"
    assert (breach.item_id, breach.detail) == ("baguette", "shortfall 2 with lots 128")


async def test_a_sale_of_an_unknown_product_is_recorded_but_kept_out_of_stock(
    bakery: Bakery, pg_url: str
) -> None:
    result = await bakery.run(sale("T-9", sku="pan-de-higo", qty=1))
    assert result.appended[0].event_types == ("SaleRecorded",)
    assert result.appended[1].event_types == ("UnknownItemSaleRecorded",)
    again = await bakery.run(sale("T-9", sku="pan-de-higo", qty=1))
    assert again.duplicate
    await bakery.project(pg_url)
    assert await bakery.stock_row(pg_url, "sol", "pan-de-higo") is None
    unknown = await rows(
        pg_url,
        "SELECT item_id, units, tickets FROM rm_inventory_unknown_sales WHERE tenant_id = %s",
        bakery.tenant,
    )
    assert unknown == [{"item_id": "pan-de-higo", "units": 1, "tickets": 1}]
    async with await psycopg.AsyncConnection.connect(pg_url) as conn:
        assert await unknown_sales(conn, bakery.tenant) == [("sol", "pan-de-higo", 1, 1)]


class TestUnknownNames:
    async def test_a_store_that_does_not_exist(self, bakery: Bakery) -> None:
        with pytest.raises(NotFound, match="no store 'atocha'") as refused:
            await bakery.run(
                RecordWaste(
                    store_id="atocha", item_id="baguette", quantity=D(1), reason=WasteReason.DAMAGED
                )
            )
        assert refused.value.field == "store_id"

    async def test_an_item_that_does_not_exist(self, bakery: Bakery) -> None:
        with pytest.raises(NotFound, match="neither a product nor an ingredient") as refused:
            await bakery.run(
                ReceiveStock(
                    store_id="sol",
                    item_id="pan-de-higo",
                    item_kind=ItemKind.PRODUCT,
                    lot_id="l1",
                    quantity=D(1),
                    unit_cost=D(1),
                )
            )
        assert refused.value.field == "item_id"

    async def test_a_tenant_that_does_not_exist(self, pg_store: EventStore) -> None:
        ghost = Bakery(pg_store, "nobody")
        with pytest.raises(NotFound, match="tenant 'nobody' does not exist"):
            await ghost.run(receipt(1))
