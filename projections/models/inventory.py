"""inventory: book stock, lots, reservations and value per tenant x store x item.

The fold mirrors ``domain.stock.StockState`` event for event: the projection
never re-decides FIFO, it follows the ``allocations`` and ``shortfall`` every
stock event records. Book stock is what the lots hold minus the shortfall (a
sale the books did not know about), so it can be negative and is then flagged.

Every event is applied in order to the stock rows (loaded once per batch), and
each touched row is written back whole with one set-based statement. The
running sums (``lot_quantity``, ``shortfall``) are updated by each event in
turn, never as "new minus old" of a batch, so a history cut into batches any
way gives the very same numbers (including their decimal scale).

Lots are never read: a batch sums what it adds to or takes from each lot and
upserts that (``quantity = quantity + delta``; a new lot takes the expiry and
cost of the event that created it, an existing one keeps its own). The upsert
returns each lot's unit cost, and ``stock_value`` moves by delta x cost —
exact decimal arithmetic, so the same value and scale as event by event.

``reserved`` comes from :mod:`projections.models.reservations`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar

from domain.events import (
    DayClosed,
    DomainEvent,
    StockAdjusted,
    StockConsumed,
    StockExpired,
    StockReceived,
    StockReturned,
    StockTransferredIn,
    StockTransferredOut,
    UnknownItemSaleRecorded,
    WasteRecorded,
)
from domain.events.inventory import ConsumptionCause, ItemKind, LotAllocation
from projections.model import Decoded
from projections.models._sql import Conn, Row
from projections.models.inventory_rows import (
    LOTS,
    STOCK,
    STOCK_EVENTS,
    UNKNOWN_SALE,
    UNKNOWN_SALES,
    LotKey,
    LotMove,
    StockKey,
    StockRow,
)
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


class _Fold:
    """One batch of stock events applied to the rows it touches."""

    def __init__(self, stocks: Iterable[Row]) -> None:
        self.stocks: dict[StockKey, StockRow] = {
            (r[0], r[1], r[2]): StockRow(r[3], r[5], r[6], r[7], r[9], r[11], r[12]) for r in stocks
        }
        self.moves: dict[LotKey, LotMove] = {}
        #: what this batch adds to the unknown-sales rows (units, tickets, position, sold at)
        self.unknown: dict[StockKey, tuple[Decimal, int, int, datetime]] = {}
        self.rec: RecordedEvent | None = None

    def apply(self, rec: RecordedEvent, ev: DomainEvent) -> None:  # noqa: PLR0912, PLR0915 - one case per event
        self.rec = rec
        match ev:
            case StockConsumed():  # the most frequent: sales
                st = self._stock(rec, ev.store_id, ev.item_id, ev.occurred_at)
                if st.item_kind is None:
                    sold = ev.cause is ConsumptionCause.SALE
                    st.item_kind = (ItemKind.PRODUCT if sold else ItemKind.INGREDIENT).value
                self._take(st, (rec.tenant_id, ev.store_id, ev.item_id), ev.allocations)
                st.shortfall += ev.shortfall
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
            case WasteRecorded() | StockExpired():
                st = self._stock(rec, ev.store_id, ev.item_id, ev.occurred_at)
                self._take(st, (rec.tenant_id, ev.store_id, ev.item_id), ev.allocations)
            case DayClosed():
                self._close(rec, ev)
            case UnknownItemSaleRecorded():
                self._unknown(rec, ev)

            case StockAdjusted():
                st = self._stock(rec, ev.store_id, ev.item_id, ev.occurred_at)
                key = (rec.tenant_id, ev.store_id, ev.item_id)
                self._take(st, key, ev.allocations)
                if ev.surplus_lot_id is not None and ev.surplus_quantity > 0:
                    surplus = ev.surplus_quantity
                    self._put(st, key, ev.surplus_lot_id, surplus, origin="count_surplus")
                st.shortfall = ZERO

    def _unknown(self, rec: RecordedEvent, ev: UnknownItemSaleRecorded) -> None:
        key = (rec.tenant_id, ev.store_id, ev.item_id)
        units, tickets, _, _ = self.unknown.get(key, (ZERO, 0, 0, ev.occurred_at))
        self.unknown[key] = (units + ev.quantity, tickets + 1, rec.position, ev.occurred_at)

    def _close(self, rec: RecordedEvent, ev: DayClosed) -> None:
        """The count first (lots reduced or a surplus lot), then what each outcome took."""
        st = self._stock(rec, ev.store_id, ev.item_id, ev.occurred_at)
        key = (rec.tenant_id, ev.store_id, ev.item_id)
        self._take(st, key, ev.discrepancy_allocations)
        if ev.surplus_lot_id is not None and ev.surplus_quantity > 0:
            self._put(
                st, key, ev.surplus_lot_id, ev.surplus_quantity,
                expires_on=ev.surplus_expires_on, origin="count_surplus",
            )  # fmt: skip
        if not ev.automatic:
            st.shortfall = ZERO
        for outcome in ev.outcomes:
            self._take(st, key, outcome.allocations)

    def _stock(self, rec: RecordedEvent, store_id: str, item_id: str, at: datetime) -> StockRow:
        key = (rec.tenant_id, store_id, item_id)
        st = self.stocks.get(key)
        if st is None:
            st = self.stocks[key] = StockRow(None, ZERO, ZERO, ZERO, ZERO, 0, at)
        st.last_position, st.last_event_at = rec.position, at
        return st

    def _add(
        self,
        st: StockRow,
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
        st: StockRow,
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
        move = self._move(
            (*key, lot_id), st, expires_on=expires_on, cost=cost, origin=origin, origin_id=origin_id
        )
        move.delta += qty
        st.lot_quantity += qty

    def _take(self, st: StockRow, key: StockKey, allocations: Iterable[LotAllocation]) -> None:
        """From the lots named (a lot the books do not know: cost-less, going negative)."""
        for a in allocations:
            move = self._move((*key, a.lot_id), st, expires_on=None, cost=ZERO, origin="unknown")
            move.delta -= a.quantity
            st.lot_quantity -= a.quantity

    def _move(
        self,
        lot_key: LotKey,
        st: StockRow,
        *,
        expires_on: date | None,
        cost: Decimal,
        origin: str,
        origin_id: str | None = None,
    ) -> LotMove:
        move = self.moves.get(lot_key)
        if move is None:
            assert self.rec is not None
            position = self.rec.position
            move = LotMove(ZERO, expires_on, cost, position, st.last_event_at, origin, origin_id)
            self.moves[lot_key] = move
        return move


def _stock_keys(events: Sequence[Decoded]) -> set[StockKey]:
    """The stock rows a batch can touch, to load them in one query."""
    return {
        (rec.tenant_id, ev.store_id, ev.item_id)  # type: ignore[attr-defined]
        for rec, ev in events
        if rec.event_type in STOCK_EVENTS and rec.event_type != UNKNOWN_SALE
    }


class InventoryModel:
    name: ClassVar[str] = "inventory"
    tables: ClassVar[tuple[str, ...]] = (
        STOCK.name,
        LOTS.name,
        UNKNOWN_SALES.name,
        RECIPE_LINES.name,
        ORDERS.name,
        RESERVATIONS.name,
    )
    _handled: ClassVar[frozenset[str]] = STOCK_EVENTS | RESERVATION_EVENTS

    def handles(self, event_type: str) -> bool:
        return event_type in self._handled

    async def apply(self, conn: Conn, events: Sequence[Decoded], tables: Mapping[str, str]) -> None:
        fold = _Fold(await STOCK.fetch(conn, tables, _stock_keys(events)))
        reservations = await Reservations.load(conn, tables, events)
        for rec, ev in events:
            if rec.event_type in STOCK_EVENTS:
                fold.apply(rec, ev)
            else:
                reservations.apply(rec, ev)
        costs = await LOTS.upsert(
            conn,
            tables,
            ((*k, *m.row()) for k, m in fold.moves.items()),
            add=("quantity",),
            keep=LOTS.names[5:],  # a lot's expiry, cost and origin are set when it is created
            returning=("tenant_id", "store_id", "item_id", "lot_id", "unit_cost"),
        )
        for t, store, item, lot_id, unit_cost in costs:
            fold.stocks[(t, store, item)].value += (
                fold.moves[(t, store, item, lot_id)].delta * unit_cost
            )
        await STOCK.upsert(conn, tables, (st.row(k) for k, st in fold.stocks.items()))
        await UNKNOWN_SALES.upsert(
            conn,
            tables,
            ((*k, *v) for k, v in fold.unknown.items()),
            add=("units", "tickets"),
        )
        await reservations.write(conn, tables, STOCK)
