"""A store's day close through the handlers, and the waste read model it feeds."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

import psycopg
import pytest
from stock_kit import START, Bakery
from test_models_kit import rows

from commands.types import CloseDay, CloseDayFromBooks, CloseLine, ReceiveStock, RecordSale
from domain.errors import InvalidValue
from domain.events.inventory import ItemKind
from domain.events.sales import SaleLine
from projections.models.waste import waste_report
from streams.store import EventStore

D = Decimal
MONDAY = date(2026, 3, 2)
EVENING = START + timedelta(hours=15)


@pytest.fixture
async def bakery(pg_store: EventStore) -> Bakery:
    shop = await Bakery(pg_store, f"forn-{uuid.uuid4().hex[:8]}").open()
    for sku, qty, keeps in (("baguette", 50, 0), ("croissant", 20, 1)):
        await shop.run(
            ReceiveStock(
                store_id="sol",
                item_id=sku,
                item_kind=ItemKind.PRODUCT,
                lot_id=f"{sku}-0302",
                quantity=D(qty),
                expires_on=MONDAY + timedelta(days=keeps),
                unit_cost=D("0.32") if sku == "baguette" else D("0.45"),
            )
        )
    line = SaleLine(sku="baguette", quantity=D(38), unit_price=D("1.20"))
    await shop.run(RecordSale(store_id="sol", pos_txn_id="T-1", sold_at=EVENING, lines=(line,)))
    return shop


async def test_a_confirmed_close_feeds_waste_by_reason_in_units_and_euros(
    bakery: Bakery, pg_url: str
) -> None:
    # books: 12 baguettes; the baker counts 10 (2 missing): 7 thrown away, 3 to the food bank
    close = CloseDay(
        store_id="sol",
        day=MONDAY,
        lines=(
            CloseLine(item_id="baguette", waste=D(7), donation=D(3)),
            CloseLine(item_id="croissant", markdown=D(5), carried=D(15)),
        ),
    )
    await bakery.run(close, at=EVENING)
    await bakery.project(pg_url, batch=2)
    waste = await bakery.waste_rows(pg_url)
    assert [(w["item_id"], w["reason"], w["units"], w["value"]) for w in waste] == [
        ("baguette", "count_discrepancy", D(2), D("0.64")),
        ("baguette", "donated", D(3), D("0.96")),
        ("baguette", "unsold_end_of_day", D(7), D("2.24")),
    ]
    closes = await rows(
        pg_url,
        "SELECT item_id, automatic, book_quantity, counted_quantity, discrepancy, carried"
        " FROM rm_waste_closes WHERE tenant_id = %s ORDER BY item_id",
        bakery.tenant,
    )
    assert [tuple(c.values()) for c in closes] == [
        ("baguette", False, D(12), D(10), D(-2), D(0)),
        ("croissant", False, D(20), D(20), D(0), D(15)),
    ]
    row = await bakery.stock_row(pg_url, "sol", "croissant")
    assert row is not None and (row["on_hand"], row["stock_value"]) == (D(15), D("6.75"))
    async with await psycopg.AsyncConnection.connect(pg_url) as conn:
        by_reason = await waste_report(conn, bakery.tenant, by=("reason",))
    assert by_reason[0] == {
        "reason": "unsold_end_of_day", "units": D(7), "value": D("2.24"), "unvalued_units": D(0)
    }  # fmt: skip


async def test_a_refused_line_names_itself_and_closes_nothing(bakery: Bakery) -> None:
    close = CloseDay(
        store_id="sol",
        day=MONDAY,
        lines=(
            CloseLine(item_id="croissant", carried=D(20)),
            CloseLine(item_id="baguette", carried=D(12)),  # bread does not keep
        ),
    )
    with pytest.raises(InvalidValue, match="only 0 keep") as refused:
        await bakery.run(close, at=EVENING)
    assert refused.value.field == "lines[1].carried"
    log = await bakery.store.read_all(limit=10_000, tenant_id=bakery.tenant)
    assert "DayClosed" not in {r.event_type for r in log}


async def test_the_automatic_close_leaves_what_a_person_closed(bakery: Bakery, pg_url: str) -> None:
    line = CloseLine(item_id="croissant", carried=D(20))
    await bakery.run(CloseDay(store_id="sol", day=MONDAY, lines=(line,)), at=EVENING)
    auto = CloseDayFromBooks(store_id="sol", day=MONDAY, item_ids=("baguette", "croissant"))
    result = await bakery.run(auto, at=EVENING + timedelta(hours=2))
    assert [a.stream_id for a in result.appended] == ["stock-sol-baguette"]
    again = await bakery.run(auto, at=EVENING + timedelta(hours=3))
    assert again.appended == ()
    await bakery.project(pg_url)
    closes = await rows(
        pg_url,
        "SELECT item_id, automatic, waste, carried FROM rm_waste_closes WHERE tenant_id = %s"
        " ORDER BY item_id",
        bakery.tenant,
    )
    assert [tuple(c.values()) for c in closes] == [
        ("baguette", True, D(12), D(0)),
        ("croissant", False, D(0), D(20)),
    ]
