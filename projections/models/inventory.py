"""inventory: book stock, lots, reservations and value per tenant x store x item.

The fold mirrors ``domain.stock.StockState`` event for event: the projection
never re-decides FIFO, it follows the ``allocations`` and ``shortfall`` every
stock event records. Book stock is what the lots hold minus the shortfall (a
sale the books did not know about), so it can be negative and is then flagged.

Every event is applied in order to rows loaded once per batch, and each touched
row is written back whole with one set-based statement per table. The running
sums (``lot_quantity``, ``shortfall``, ``stock_value``) are updated by each
event in turn, never as "new minus old" of a batch, so a history cut into
batches any way gives the very same numbers (including their decimal scale).

``reserved`` comes from :mod:`projections.models.reservations`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar

from domain.events import (
    DomainEvent,
    StockAdjusted,
    StockConsumed,
    StockReceived,
    StockReturned,
    StockTransferredIn,
    StockTransferredOut,
    WasteRecorded,
)
from domain.events.inventory import ConsumptionCause, ItemKind, LotAllocation
from projections.model import Decoded
from projections.models._sql import Conn, Row, spec
from projections.models.reservations import (
    ORDERS,
    RECIPE_LINES,
    RESERVATION_EVENTS,
    RESERVATIONS,
    Reservations,
)
from streams.envelope import RecordedEvent

ZERO = Decimal(0)
#: Lot that takes back returned stock whose original shortfall a receipt already absorbed.
UNLOTTED = "unlotted"

STOCK = spec(
    "rm_inventory_stock",
    3,
    "tenant_id text",
    "store_id text",
    "item_id text",
    "item_kind text",
    "on_hand numeric",
    "lot_quantity numeric",
    "shortfall numeric",
    "reserved numeric",
    "available numeric",
    "stock_value numeric",
    "negative boolean",
    "last_position bigint",
    "last_event_at timestamptz",
)
LOTS = spec(
    "rm_inventory_lots",
    4,
    "tenant_id text",
    "store_id text",
    "item_id text",
    "lot_id text",
    "quantity numeric",
    "expires_on date",
    "unit_cost numeric",
    "received_position bigint",
    "received_at timestamptz",
    "origin text",
    "origin_id text",
)

STOCK_EVENTS = frozenset(
    {
        "StockReceived",
        "StockConsumed",
        "StockReturned",
        "StockTransferredOut",
        "StockTransferredIn",
        "StockAdjusted",
        "WasteRecorded",
    }
)

StockKey = tuple[str, str, str]  # tenant, store, item
LotKey = tuple[str, str, str, str]  # tenant, store, item, lot


@dataclass(slots=True)
class _Stock:
    item_kind: str | None
    lot_quantity: Decimal
    shortfall: Decimal
    reserved: Decimal
    value: Decimal
    last_position: int
    last_event_at: datetime

    def row(self, key: StockKey) -> Row:
        on_hand = self.lot_quantity - self.shortfall
        available = on_hand - self.reserved
        return (
            *key,
            self.item_kind,
            on_hand,
            self.lot_quantity,
            self.shortfall,
            self.reserved,
            available,
            self.value,
            on_hand < 0,
            self.last_position,
            self.last_event_at,
        )


@dataclass(slots=True)
class _Lot:
    quantity: Decimal
    expires_on: date | None
    unit_cost: Decimal
    received_position: int
    received_at: datetime
    origin: str
    origin_id: str | None


class _Fold:
    """One batch of stock events applied to the rows it touches."""

    def __init__(self, stocks: Iterable[Row], lots: Iterable[Row]) -> None:
        self.stocks: dict[StockKey, _Stock] = {
            (r[0], r[1], r[2]): _Stock(r[3], r[5], r[6], r[7], r[9], r[11], r[12]) for r in stocks
        }
        self.lots: dict[LotKey, _Lot] = {(r[0], r[1], r[2], r[3]): _Lot(*r[4:]) for r in lots}
        self.stored_lots = set(self.lots)  # the rest are new: inserted, not upserted
        self.touched_lots: set[LotKey] = set()
        self.rec: RecordedEvent | None = None

    def apply(self, rec: RecordedEvent, ev: DomainEvent) -> None:  # noqa: PLR0912
        self.rec = rec
        match ev:
            case StockReceived():
                st = self._stock(rec, ev.store_id, ev.item_id, ev.occurred_at)
                st.item_kind = ev.item_kind.value
                if ev.purchase_order_id is not None:
                    origin, origin_id = "purchase_order", ev.purchase_order_id
                elif ev.manufacturing_order_id is not None:
                    origin, origin_id = "manufacturing_order", ev.manufacturing_order_id
                else:
                    origin, origin_id = "receipt", None
                key = (rec.tenant_id, ev.store_id, ev.item_id)
                self._add(
                    st, key, ev.lot_id, ev.quantity,
                    expires_on=ev.expires_on, cost=ev.unit_cost, origin=origin, origin_id=origin_id,
                )  # fmt: skip
            case StockTransferredIn():
                st = self._stock(rec, ev.store_id, ev.item_id, ev.occurred_at)
                st.item_kind = ev.item_kind.value
                key = (rec.tenant_id, ev.store_id, ev.item_id)
                for moved in ev.lots:
                    self._add(
                        st, key, moved.lot_id, moved.quantity, expires_on=moved.expires_on,
                        cost=moved.unit_cost, origin="transfer", origin_id=ev.transfer_id,
                    )  # fmt: skip
            case StockConsumed():
                st = self._stock(rec, ev.store_id, ev.item_id, ev.occurred_at)
                if st.item_kind is None:
                    sold = ev.cause is ConsumptionCause.SALE
                    st.item_kind = (ItemKind.PRODUCT if sold else ItemKind.INGREDIENT).value
                self._take(st, (rec.tenant_id, ev.store_id, ev.item_id), ev.allocations)
                st.shortfall += ev.shortfall
            case StockReturned():  # shortfall first, then each lot (which may settle more)
                st = self._stock(rec, ev.store_id, ev.item_id, ev.occurred_at)
                key = (rec.tenant_id, ev.store_id, ev.item_id)
                settled = min(st.shortfall, ev.shortfall)
                st.shortfall -= settled
                if ev.shortfall > settled:  # a receipt had already absorbed it
                    extra = ev.shortfall - settled
                    self._put(st, key, UNLOTTED, extra, origin="return", origin_id=ev.reference)
                for a in ev.allocations:
                    self._add(
                        st, key, a.lot_id, a.quantity,
                        expires_on=None, cost=ZERO, origin="return", origin_id=ev.reference,
                    )  # fmt: skip
            case StockTransferredOut():
                st = self._stock(rec, ev.store_id, ev.item_id, ev.occurred_at)
                taken = [LotAllocation(lot_id=m.lot_id, quantity=m.quantity) for m in ev.lots]
                self._take(st, (rec.tenant_id, ev.store_id, ev.item_id), taken)
            case WasteRecorded():
                st = self._stock(rec, ev.store_id, ev.item_id, ev.occurred_at)
                self._take(st, (rec.tenant_id, ev.store_id, ev.item_id), ev.allocations)
            case StockAdjusted():
                st = self._stock(rec, ev.store_id, ev.item_id, ev.occurred_at)
                key = (rec.tenant_id, ev.store_id, ev.item_id)
                self._take(st, key, ev.allocations)
                if ev.surplus_lot_id is not None and ev.surplus_quantity > 0:
                    surplus = ev.surplus_quantity
                    self._put(st, key, ev.surplus_lot_id, surplus, origin="count_surplus")
                st.shortfall = ZERO

    def _stock(self, rec: RecordedEvent, store_id: str, item_id: str, at: datetime) -> _Stock:
        key = (rec.tenant_id, store_id, item_id)
        st = self.stocks.get(key)
        if st is None:
            st = self.stocks[key] = _Stock(None, ZERO, ZERO, ZERO, ZERO, 0, at)
        st.last_position, st.last_event_at = rec.position, at
        return st

    def _add(
        self,
        st: _Stock,
        key: StockKey,
        lot_id: str,
        qty: Decimal,
        *,
        expires_on: date | None,
        cost: Decimal,
        origin: str,
        origin_id: str | None,
    ) -> None:
        """A receipt first settles any shortfall; the rest goes into the lot."""
        absorbed = min(st.shortfall, qty)
        st.shortfall -= absorbed
        self._put(
            st, key, lot_id, qty - absorbed,
            expires_on=expires_on, cost=cost, origin=origin, origin_id=origin_id,
        )  # fmt: skip

    def _put(
        self,
        st: _Stock,
        key: StockKey,
        lot_id: str,
        qty: Decimal,
        *,
        expires_on: date | None = None,
        cost: Decimal = ZERO,
        origin: str,
        origin_id: str | None = None,
    ) -> None:
        """Into an existing lot (keeping its expiry and cost) or a new one."""
        lot_key = (*key, lot_id)
        lot = self.lots.get(lot_key)
        if lot is None:
            assert self.rec is not None
            lot = self.lots[lot_key] = _Lot(
                ZERO, expires_on, cost, self.rec.position, st.last_event_at, origin, origin_id
            )
        lot.quantity += qty
        st.lot_quantity += qty
        st.value += qty * lot.unit_cost
        self.touched_lots.add(lot_key)

    def _take(self, st: _Stock, key: StockKey, allocations: Iterable[LotAllocation]) -> None:
        for a in allocations:
            lot_key = (*key, a.lot_id)
            lot = self.lots.get(lot_key)
            if lot is None:  # not in the books (should not happen): a cost-less lot goes negative
                self._put(st, key, a.lot_id, ZERO, origin="unknown")
                lot = self.lots[lot_key]
            lot.quantity -= a.quantity
            st.lot_quantity -= a.quantity
            st.value -= a.quantity * lot.unit_cost
            self.touched_lots.add(lot_key)


def _keys(events: Sequence[Decoded]) -> tuple[set[StockKey], set[LotKey]]:
    """The stock rows and lots a batch can touch, to load them in one query each."""
    stocks: set[StockKey] = set()
    lots: set[LotKey] = set()
    for rec, ev in events:
        if rec.event_type not in STOCK_EVENTS:
            continue
        key = (rec.tenant_id, ev.store_id, ev.item_id)  # type: ignore[attr-defined]
        stocks.add(key)
        ids: list[str] = []
        match ev:
            case StockReceived():
                ids.append(ev.lot_id)
            case StockTransferredIn() | StockTransferredOut():
                ids.extend(m.lot_id for m in ev.lots)
            case StockConsumed() | WasteRecorded():
                ids.extend(a.lot_id for a in ev.allocations)
            case StockReturned():
                ids.extend(a.lot_id for a in ev.allocations)
                ids.append(UNLOTTED)
            case StockAdjusted():
                ids.extend(a.lot_id for a in ev.allocations)
                if ev.surplus_lot_id is not None:
                    ids.append(ev.surplus_lot_id)
        lots.update((*key, lot_id) for lot_id in ids)
    return stocks, lots


class InventoryModel:
    name: ClassVar[str] = "inventory"
    tables: ClassVar[tuple[str, ...]] = (
        STOCK.name,
        LOTS.name,
        RECIPE_LINES.name,
        ORDERS.name,
        RESERVATIONS.name,
    )
    _handled: ClassVar[frozenset[str]] = STOCK_EVENTS | RESERVATION_EVENTS

    def handles(self, event_type: str) -> bool:
        return event_type in self._handled

    async def apply(self, conn: Conn, events: Sequence[Decoded], tables: Mapping[str, str]) -> None:
        stock_keys, lot_keys = _keys(events)
        fold = _Fold(
            await STOCK.fetch(conn, tables, stock_keys),
            await LOTS.fetch(conn, tables, lot_keys),
        )
        reservations = await Reservations.load(conn, tables, events)
        for rec, ev in events:
            if rec.event_type in STOCK_EVENTS:
                fold.apply(rec, ev)
            else:
                reservations.apply(rec, ev)
        await STOCK.upsert(conn, tables, (st.row(k) for k, st in fold.stocks.items()))
        # A stored lot only ever changes its quantity; a new one is inserted whole.
        stored = fold.stored_lots
        await LOTS.update(
            conn,
            tables,
            ("quantity",),
            ((*k, fold.lots[k].quantity) for k in fold.touched_lots if k in stored),
        )
        await LOTS.insert(
            conn,
            tables,
            ((*k, *_lot_row(fold.lots[k])) for k in fold.touched_lots if k not in stored),
        )
        await reservations.write(conn, tables, STOCK)


def _lot_row(lot: _Lot) -> Row:
    return (
        lot.quantity,
        lot.expires_on,
        lot.unit_cost,
        lot.received_position,
        lot.received_at,
        lot.origin,
        lot.origin_id,
    )
