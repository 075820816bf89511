"""One store × product of the demo, day by day, as a bakery and its scheduler record it.

Every morning the store receives its bake as a lot: the day's sales plus 10 %, less
what it still holds from the day before (croissants keep two days; bread one). In
the evening one ticket records the day's sales, taken FIFO from the lots. At 23:30
store-local the scheduler closes the day from the books (what expires that day is
wasted as ``unsold_end_of_day``, the rest carried) and at 00:05 it expires what is
left past its day — the same functions (``commands.day_close``) as the node's
scheduler, with the instant the scheduler would have used. So the books never pile
up: stock is what a baker would find on the shelves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from commands.types import (
    CloseDayFromBooks,
    Command,
    ExpireStock,
    ReceiveStock,
    RecordSale,
)
from domain.events.inventory import ItemKind
from domain.events.sales import Channel, SaleLine, SaleSource

TIMEZONE = "Europe/Madrid"
BAKED_AT, SOLD_AT = 5, 20  # UTC hours of the morning lot and the evening ticket
CLOSE_AT, EXPIRE_AT = time(23, 30), time(0, 5)  # store-local, as the scheduler's defaults
SPARE = Decimal("1.1")  # the bake covers the day's sales and 10 % more


@dataclass(frozen=True)
class DemoSale:
    day: date
    store: str
    product: str
    units: int


@dataclass(frozen=True)
class Product:
    sku: str
    price: Decimal
    cost: Decimal
    shelf_life_days: int


def utc(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def local(day: date, at: time) -> datetime:
    """A store-local wall time as an instant."""
    return datetime.combine(day, at, tzinfo=ZoneInfo(TIMEZONE)).astimezone(UTC)


def lot_id(sku: str, day: date) -> str:
    return f"{sku}-{day:%Y%m%d}"


def ticket_id(sku: str, day: date) -> str:
    return f"daily-{sku}-{day:%Y%m%d}"


def bakes(days: Sequence[DemoSale], shelf_life_days: int, short: frozenset[date]) -> list[int]:
    """Each morning's bake of one series: sales + 10 % less the usable stock (on the
    ``short`` days, the sales alone: the store sells out). Lots are followed as the
    handlers keep them: FIFO by expiry, what expires on the day wasted at the close."""
    lots: list[tuple[date, int]] = []  # (expires_on, units), first to expire first
    out: list[int] = []
    for sale in days:
        held = sum(units for _, units in lots)
        wanted = sale.units if sale.day in short else round(sale.units * SPARE)
        bake = max(0, wanted - held)
        out.append(bake)
        if bake:
            lots.append((sale.day + timedelta(days=shelf_life_days - 1), bake))
        need, left = sale.units, []
        for expires_on, units in lots:
            taken = min(units, need)
            need -= taken
            if units > taken and expires_on > sale.day:  # the close wastes the rest
                left.append((expires_on, units - taken))
        lots = left
    return out


def day_commands(store_id: str, product: Product, sale: DemoSale, bake: int) -> list[Command]:
    """The day of one store × product: bake, ticket, the close at 23:30, the expiry at 00:05."""
    sku = product.sku
    lot = lot_id(sku, sale.day)
    commands: list[Command] = []
    if bake > 0:
        commands.append(
            ReceiveStock(
                store_id=store_id,
                item_id=sku,
                item_kind=ItemKind.PRODUCT,
                lot_id=lot,
                quantity=Decimal(bake),
                expires_on=sale.day + timedelta(days=product.shelf_life_days - 1),
                unit_cost=product.cost,
                occurred_at=utc(sale.day, BAKED_AT),
                idempotency_key=f"demo-{store_id}-{lot}",
            )
        )
    if sale.units > 0:
        commands.append(
            RecordSale(
                store_id=store_id,
                pos_txn_id=ticket_id(sku, sale.day),
                sold_at=utc(sale.day, SOLD_AT),
                channel=Channel.COUNTER,
                source=SaleSource.IMPORT,
                lines=(SaleLine(sku=sku, quantity=Decimal(sale.units), unit_price=product.price),),
                occurred_at=utc(sale.day, SOLD_AT),
            )
        )
    next_day = sale.day + timedelta(days=1)
    commands += [
        CloseDayFromBooks(
            store_id=store_id,
            day=sale.day,
            item_ids=(sku,),
            occurred_at=local(sale.day, CLOSE_AT),
        ),
        ExpireStock(
            store_id=store_id,
            as_of=local(next_day, EXPIRE_AT),
            item_ids=(sku,),
            occurred_at=local(next_day, EXPIRE_AT),
        ),
    ]
    return commands
