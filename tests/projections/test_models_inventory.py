"""inventory read model: lots in FIFO order, book stock that can go negative, value, reservations.

Stock events are made by the domain's own decisions (``domain.inventory``) on a
folded ``StockState``, so allocations and shortfalls are the ones the write
side records; the projection must follow them and agree with the domain fold.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from test_models_kit import Log, one, project, rows

from domain import inventory
from domain.events import (
    DomainEvent,
    StockConsumed,
)
from domain.events.inventory import ConsumptionCause, ItemKind, LotAllocation, WasteReason
from domain.stock import StockState
from domain.streams import sale_stream, stock_stream
from projections.models import InventoryModel, model_by_name

T = "forn-sant-joan"
AT = datetime(2026, 3, 2, 5, 30, tzinfo=UTC)
D = Decimal
MODEL = InventoryModel()


class Books:
    """Domain stock states per (tenant, store, item); every decision is logged and folded."""

    def __init__(self, log: Log, tenant: str = T) -> None:
        self.log, self.tenant = log, tenant
        self.states: dict[tuple[str, str], StockState] = {}

    def state(self, store: str, item: str) -> StockState:
        return self.states.setdefault((store, item), StockState())

    def emit(self, store: str, item: str, event: DomainEvent) -> DomainEvent:
        self.state(store, item).apply(event)  # type: ignore[arg-type]
        self.log.add(self.tenant, stock_stream(store, item), event)
        return event

    def receive(  # noqa: PLR0917 - reads like a delivery note
        self,
        store: str,
        item: str,
        lot: str,
        qty: str,
        cost: str,
        expires: date | None = None,
        *,
        kind: ItemKind = ItemKind.INGREDIENT,
    ) -> None:
        event = inventory.receive(
            self.state(store, item),
            store_id=store,
            item_id=item,
            item_kind=kind,
            lot_id=lot,
            quantity=D(qty),
            expires_on=expires,
            unit_cost=D(cost),
            at=AT,
        )
        self.emit(store, item, event)

    def sell(self, store: str, item: str, qty: str, ticket: str) -> None:
        event = inventory.consume(
            self.state(store, item),
            store_id=store,
            item_id=item,
            quantity=D(qty),
            cause=ConsumptionCause.SALE,
            reference=sale_stream(store, ticket),
            at=AT,
        )
        self.emit(store, item, event)

    def void(self, store: str, item: str, ticket: str) -> None:
        ref = sale_stream(store, ticket)
        event = inventory.give_back(
            self.state(store, item), store_id=store, item_id=item, reference=ref, at=AT
        )
        self.emit(store, item, event)


async def stock_row(pg_url: str, store: str, item: str, tenant: str = T) -> dict[str, object]:
    return await one(
        pg_url,
        "SELECT * FROM rm_inventory_stock WHERE tenant_id = %s AND store_id = %s AND item_id = %s",
        tenant,
        store,
        item,
    )


async def fifo_lots(pg_url: str, store: str, item: str) -> list[tuple[str, Decimal]]:
    found = await rows(
        pg_url,
        "SELECT lot_id, quantity FROM rm_inventory_lots"
        " WHERE tenant_id = %s AND store_id = %s AND item_id = %s AND quantity > 0"
        " ORDER BY expires_on NULLS LAST, received_position",
        T,
        store,
        item,
    )
    return [(r["lot_id"], r["quantity"]) for r in found]


def test_registry_names_the_model() -> None:
    assert model_by_name("inventory") is not None
    assert MODEL.handles("StockReceived") and MODEL.handles("ManufacturingOrderConfirmed")
    assert not MODEL.handles("SaleRecorded")
    with pytest.raises(KeyError, match="inventory"):
        model_by_name("nope")


async def test_receipts_give_lots_in_fifo_order_and_stock_value(pg_url: str) -> None:
    log = Log()
    books = Books(log)
    books.receive("central", "flour", "F-0301", "25", "0.80", date(2026, 3, 20))
    books.receive("central", "flour", "F-0302", "10", "0.85", date(2026, 3, 10))
    books.receive("central", "flour", "F-0303", "5", "0.90")  # no expiry: last
    await project(pg_url, MODEL, log.events)

    row = await stock_row(pg_url, "central", "flour")
    assert row["on_hand"] == D(40) and row["available"] == D(40) and row["reserved"] == 0
    assert row["stock_value"] == D("33.00")  # 25 x 0.80 + 10 x 0.85 + 5 x 0.90
    assert row["item_kind"] == "ingredient" and row["negative"] is False
    assert row["last_position"] == 3
    assert await fifo_lots(pg_url, "central", "flour") == [
        ("F-0302", D(10)),
        ("F-0301", D(25)),
        ("F-0303", D(5)),
    ]


async def test_consumption_takes_the_lots_the_event_names(pg_url: str) -> None:
    log = Log()
    books = Books(log)
    books.receive("central", "flour", "F-0301", "25", "0.80", date(2026, 3, 20))
    books.receive("central", "flour", "F-0302", "10", "0.85", date(2026, 3, 10))
    books.sell("central", "flour", "12", "T1")  # FIFO: all of F-0302, 2 of F-0301
    # A consumption recorded against a later lot is followed as recorded, not re-decided.
    log.add(
        T,
        "stock-central-flour",
        StockConsumed(
            occurred_at=AT,
            store_id="central",
            item_id="flour",
            quantity=D(3),
            allocations=(LotAllocation(lot_id="F-0301", quantity=D(3)),),
            cause=ConsumptionCause.PRODUCTION,
            reference="mo-7/b1",
        ),
    )
    await project(pg_url, MODEL, log.events)

    row = await stock_row(pg_url, "central", "flour")
    assert row["on_hand"] == D(20) and row["shortfall"] == 0
    assert row["stock_value"] == D("16.00")  # 20 x 0.80 left
    assert await fifo_lots(pg_url, "central", "flour") == [("F-0301", D(20))]
    emptied = await one(pg_url, "SELECT * FROM rm_inventory_lots WHERE lot_id = 'F-0302'")
    assert emptied["quantity"] == 0 and emptied["expires_on"] == date(2026, 3, 10)


async def test_a_sale_beyond_book_stock_goes_negative_until_a_receipt_settles_it(
    pg_url: str,
) -> None:
    log = Log()
    books = Books(log)
    product = ItemKind.PRODUCT
    books.receive("born", "baguette", "mo-41", "20", "0.35", date(2026, 3, 3), kind=product)
    books.sell("born", "baguette", "26", "T100")
    await project(pg_url, MODEL, log.events)
    row = await stock_row(pg_url, "born", "baguette")
    assert row["on_hand"] == D(-6) and row["shortfall"] == D(6) and row["negative"] is True
    assert row["lot_quantity"] == 0 and row["stock_value"] == D("0.00")
    flagged = await rows(pg_url, "SELECT item_id FROM rm_inventory_stock WHERE negative")
    assert flagged == [{"item_id": "baguette"}]

    start = len(log.events)
    books.receive("born", "baguette", "mo-42", "30", "0.35", date(2026, 3, 4), kind=product)
    await project(pg_url, MODEL, log.events[start:])
    row = await stock_row(pg_url, "born", "baguette")
    assert row["on_hand"] == D(24) and row["shortfall"] == 0 and row["negative"] is False
    assert await fifo_lots(pg_url, "born", "baguette") == [("mo-42", D(24))]

    start = len(log.events)
    books.void("born", "baguette", "T100")  # 20 back to mo-41, the settled 6 to "unlotted"
    await project(pg_url, MODEL, log.events[start:])
    row = await stock_row(pg_url, "born", "baguette")
    domain = books.state("born", "baguette")
    assert row["on_hand"] == domain.on_hand == D(50)
    assert await fifo_lots(pg_url, "born", "baguette") == [
        ("mo-41", D(20)),
        ("mo-42", D(24)),
        ("unlotted", D(6)),
    ]
    assert row["stock_value"] == D("15.40")  # 44 x 0.35 + 6 x 0 (no known cost)


async def test_transfer_waste_and_counts(pg_url: str) -> None:
    log = Log()
    books = Books(log)
    product = ItemKind.PRODUCT
    books.receive("central", "croissant", "C-1", "60", "0.42", date(2026, 3, 3), kind=product)
    books.receive("central", "croissant", "C-2", "40", "0.40", date(2026, 3, 4), kind=product)
    out, arrived = inventory.transfer(
        books.state("central", "croissant"),
        transfer_id="TR-9",
        from_store_id="central",
        to_store_id="born",
        item_id="croissant",
        item_kind=product,
        quantity=D(70),
        at=AT,
    )
    books.emit("central", "croissant", out)
    books.emit("born", "croissant", arrived)
    books.emit(
        "born",
        "croissant",
        inventory.waste(
            books.state("born", "croissant"),
            store_id="born",
            item_id="croissant",
            quantity=D(5),
            reason=WasteReason.UNSOLD_END_OF_DAY,
            at=AT,
        ),
    )
    for store, counted, surplus in (("born", "60", "CNT-1"), ("central", "35", "CNT-2")):
        books.emit(
            store,
            "croissant",
            inventory.adjust(
                books.state(store, "croissant"),
                store_id=store,
                item_id="croissant",
                counted_quantity=D(counted),
                reason="evening count",
                at=AT,
                surplus_lot_id=surplus,
            ),
        )
    await project(pg_url, MODEL, log.events)

    # Transfer FIFO: C-1 60 + C-2 10 leave; waste 5 and a count of 60 (book 65) take C-1.
    born = await stock_row(pg_url, "born", "croissant")
    assert born["on_hand"] == D(60) == books.state("born", "croissant").on_hand
    assert born["item_kind"] == "product" and born["stock_value"] == D("25.00")
    lots = await rows(
        pg_url,
        "SELECT lot_id, quantity, expires_on, unit_cost, origin, origin_id FROM rm_inventory_lots"
        " WHERE store_id = 'born' AND quantity > 0"
        " ORDER BY expires_on NULLS LAST, received_position",
    )
    assert [(r["lot_id"], r["quantity"], r["expires_on"], r["unit_cost"]) for r in lots] == [
        ("C-1", D(50), date(2026, 3, 3), D("0.42")),
        ("C-2", D(10), date(2026, 3, 4), D("0.40")),
    ]
    assert {(r["origin"], r["origin_id"]) for r in lots} == {("transfer", "TR-9")}
    central = await stock_row(pg_url, "central", "croissant")
    assert central["on_hand"] == D(35) == books.state("central", "croissant").on_hand
    assert central["stock_value"] == D("12.00")  # 30 x 0.40 + the counted surplus at no cost
    extra = await one(pg_url, "SELECT * FROM rm_inventory_lots WHERE lot_id = 'CNT-2'")
    assert extra["quantity"] == D(5) and extra["origin"] == "count_surplus"
    assert extra["expires_on"] is None


async def test_lots_remember_where_they_came_from(pg_url: str) -> None:
    log = Log()
    common = {"quantity": D(40), "expires_on": date(2026, 3, 4), "unit_cost": D("0.35"), "at": AT}
    for lot_id, origin in (("mo-MO-9", {"manufacturing_order_id": "MO-9"}), ("PO-3-b", {})):
        event = inventory.receive(
            StockState(),
            store_id="central",
            item_id="baguette",
            item_kind=ItemKind.PRODUCT,
            lot_id=lot_id,
            **common,  # type: ignore[arg-type]
            **origin,  # type: ignore[arg-type]
        )
        log.add(T, "stock-central-baguette", event)
    flour = inventory.receive(
        StockState(),
        store_id="central",
        item_id="flour",
        item_kind=ItemKind.INGREDIENT,
        lot_id="D1-flour",
        purchase_order_id="PO-1",
        **common,  # type: ignore[arg-type]
    )
    log.add(T, "stock-central-flour", flour)
    # A consumption from a lot the books never saw: shown as a cost-less lot gone negative.
    log.add(
        T,
        "stock-central-flour",
        StockConsumed(
            occurred_at=AT,
            store_id="central",
            item_id="flour",
            quantity=D(2),
            allocations=(LotAllocation(lot_id="ghost", quantity=D(2)),),
            cause=ConsumptionCause.PRODUCTION,
            reference="mo-MO-9/B1",
        ),
    )
    await project(pg_url, MODEL, log.events)
    found = await rows(
        pg_url,
        "SELECT lot_id, quantity, origin, origin_id, unit_cost FROM rm_inventory_lots ORDER BY 1",
    )
    assert [(r["lot_id"], r["origin"], r["origin_id"]) for r in found] == [
        ("D1-flour", "purchase_order", "PO-1"),
        ("PO-3-b", "receipt", None),
        ("ghost", "unknown", None),
        ("mo-MO-9", "manufacturing_order", "MO-9"),
    ]
    assert found[2]["quantity"] == D(-2) and found[2]["unit_cost"] == 0
    flour_row = await stock_row(pg_url, "central", "flour")
    assert flour_row["on_hand"] == D(38) and flour_row["stock_value"] == D("14.00")
