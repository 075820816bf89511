"""Events the write side used to accept and the projectors could not apply (issue 8, defect 2).

Each one is appended straight to the store, bypassing command validation: histories
written before the edges were closed still hold them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from domain.codec import encode_event
from domain.events import DomainEvent, SaleRecorded, StockConsumed, StockReceived, StoreOpened
from domain.events.inventory import ConsumptionCause, ItemKind, LotAllocation
from domain.events.organisation import StoreKind
from domain.events.sales import Channel, SaleLine
from streams.envelope import NewEvent

AT = datetime(2026, 11, 20, 8, tzinfo=UTC)
#: Half an hour before the end of year 9999 and after the start of year 1, in UTC.
LAST = datetime(9999, 12, 31, 23, 30, tzinfo=UTC)
FIRST = datetime(1, 1, 1, 0, 30, tzinfo=UTC)
#: A store east of UTC (its local year 9999 ends an hour before UTC's) and one west of it.
EAST, WEST = "Europe/Madrid", "America/New_York"


def new(event: DomainEvent) -> NewEvent:
    kind, version, payload = encode_event(event)
    return NewEvent(event_type=kind, schema_version=version, payload=payload)


def opened(store: str, timezone: str = EAST) -> NewEvent:
    return new(
        StoreOpened(
            occurred_at=AT,
            store_id=store,
            name=store,
            kind=StoreKind.SHOP,
            timezone=timezone,
            region="ES-MD",
        )
    )


def sale(
    store: str,
    txn: str,
    *,
    quantity: str = "2",
    price: str = "1.10",
    sold_at: datetime = AT,
    sku: str = "barra",
    lines: int = 1,
) -> NewEvent:
    line = SaleLine(sku=sku, quantity=Decimal(quantity), unit_price=Decimal(price))
    many = (line,) * lines  # the same product on every line: one daily row takes it all
    total = sum((x.amount for x in many), Decimal(0)) if _finite(quantity, price) else Decimal(0)
    return new(
        SaleRecorded(
            occurred_at=AT,
            store_id=store,
            pos_txn_id=txn,
            sold_at=sold_at,
            channel=Channel.COUNTER,
            lines=many,
            total=total,
        )
    )


def received(store: str, lot: str, *, quantity: str = "10", cost: str = "0.40") -> NewEvent:
    return new(
        StockReceived(
            occurred_at=AT,
            store_id=store,
            item_id="barra",
            item_kind=ItemKind.PRODUCT,
            lot_id=lot,
            quantity=Decimal(quantity),
            expires_on=date(2026, 11, 22),
            unit_cost=Decimal(cost),
        )
    )


def consumed(store: str, lot: str, *, quantity: str = "2", occurred_at: datetime = AT) -> NewEvent:
    q = Decimal(quantity)
    return new(
        StockConsumed(
            occurred_at=occurred_at,
            store_id=store,
            item_id="barra",
            quantity=q,
            allocations=(LotAllocation(lot_id=lot, quantity=q),),
            cause=ConsumptionCause.SALE,
            reference="sale-x",
        )
    )


def _finite(*values: str) -> bool:
    try:
        product = Decimal(1)
        for v in values:
            product *= Decimal(v)
        return product.is_finite() and abs(product.adjusted()) < 100
    except ArithmeticError:
        return False


@dataclass(frozen=True)
class Poison:
    """One poison value: a name for the test id, and the event carrying it."""

    name: str
    event: NewEvent


def sales_poison(east: str, west: str, txn: str) -> list[Poison]:
    """``east`` and ``west`` are stores opened with the ``EAST`` and ``WEST`` time zones."""
    store = east
    return [
        Poison("quantity 1E+999999", sale(store, txn, quantity="1E+999999")),
        Poison("quantity 1E-999999", sale(store, txn, quantity="1E-999999")),
        Poison("unit price 1E+999999", sale(store, txn, price="1E+999999")),
        Poison("unit price 1E-999999", sale(store, txn, price="1E-999999")),
        Poison("quantity 1e308", sale(store, txn, quantity="1e308")),
        Poison("sold_at year 9999", sale(store, txn, sold_at=LAST)),
        Poison("sold_at year 0001", sale(west, txn, sold_at=FIRST)),
    ]


def inventory_poison(store: str, lot: str) -> list[Poison]:
    return [
        Poison("consumed 1E+999999", consumed(store, lot, quantity="1E+999999")),
        Poison("consumed 1E-999999", consumed(store, lot, quantity="1E-999999")),
        Poison("received 1E+999999", received(store, lot + "x", quantity="1E+999999")),
        Poison("unit cost 1E-999999", received(store, lot + "x", cost="1E-999999")),
        Poison("unit cost 1e308", received(store, lot + "x", cost="1e308")),
        Poison("occurred_at year 9999", consumed(store, lot, occurred_at=LAST)),
        Poison("occurred_at year 0001", consumed(store, lot, occurred_at=FIRST)),
    ]
