"""Stock of one item in one store: lots with expiry, consumed first-expiring-first.

``StockState`` is a fold of one ``stock-<store>-<item>`` stream. ``shortfall`` is
what was consumed with no lot to take it from (a sale the books did not
expect); book stock is the lots minus the shortfall, so it can go negative. The
next receipt absorbs the shortfall first, and a count clears it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from domain.events import (
    DayClosed,
    Event,
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
from domain.events.inventory import LotAllocation

ZERO = Decimal(0)
#: Lot that takes back returned stock whose original lot was already absorbed.
UNLOTTED = "unlotted"


@dataclass
class Lot:
    lot_id: str
    quantity: Decimal
    expires_on: date | None
    unit_cost: Decimal
    sequence: int  # arrival order, the tie-break between equal expiries


@dataclass
class StockState:
    lots: dict[str, Lot] = field(default_factory=dict)
    shortfall: Decimal = ZERO
    #: reference (sale stream, batch) -> what its consumption took, for voids.
    consumptions: dict[str, StockConsumed] = field(default_factory=dict)
    returned: set[str] = field(default_factory=set)
    transfers_out: dict[str, StockTransferredOut] = field(default_factory=dict)
    transfers_in: set[str] = field(default_factory=set)
    #: store-local days already closed, and what sales of the item while unknown took.
    closed_days: set[date] = field(default_factory=set)
    unknown_sold: dict[str, Decimal] = field(default_factory=dict)
    version: int = 0

    @property
    def lot_quantity(self) -> Decimal:
        return sum((lot.quantity for lot in self.lots.values()), ZERO)

    @property
    def on_hand(self) -> Decimal:
        """Book stock; negative when sales outran what the books knew about."""
        return self.lot_quantity - self.shortfall

    @property
    def value(self) -> Decimal:
        return sum((lot.quantity * lot.unit_cost for lot in self.lots.values()), ZERO)

    def lot_cost(self, allocations: Iterable[LotAllocation]) -> Decimal:
        """What the allocated quantities cost, at their lots' unit cost."""
        return sum((a.quantity * self.lots[a.lot_id].unit_cost for a in allocations), ZERO)

    def expired_by(self, day: date) -> list[Lot]:
        """Lots holding something whose expiry is before ``day`` (gone by the start of it)."""
        return [
            lot for lot in self.fifo_lots() if lot.expires_on is not None and lot.expires_on < day
        ]

    def fifo_lots(self) -> list[Lot]:
        """Lots holding something, first to expire first (no expiry last), then by arrival."""
        held = [lot for lot in self.lots.values() if lot.quantity > 0]
        return sorted(held, key=lambda lot: (lot.expires_on or date.max, lot.sequence))

    def apply(self, event: Event) -> None:
        self.version += 1
        match event:
            case StockReceived():
                self._add(event.lot_id, event.quantity, event.expires_on, event.unit_cost)
            case StockTransferredIn():
                for moved in event.lots:
                    self._add(moved.lot_id, moved.quantity, moved.expires_on, moved.unit_cost)
                self.transfers_in.add(event.transfer_id)
            case StockConsumed():
                self._take(event.allocations)
                self.shortfall += event.shortfall
                self.consumptions[event.reference] = event
            case StockReturned():
                self._give_back(event)
                self.returned.add(event.reference)
            case StockTransferredOut():
                self._take(LotAllocation(lot_id=m.lot_id, quantity=m.quantity) for m in event.lots)
                self.transfers_out[event.transfer_id] = event
            case WasteRecorded() | StockExpired():
                self._take(event.allocations)
            case DayClosed():
                self._close(event)
            case UnknownItemSaleRecorded():
                self.unknown_sold[event.reference] = event.quantity
            case StockAdjusted():
                self._take(event.allocations)
                if event.surplus_lot_id is not None and event.surplus_quantity > 0:
                    self._put(event.surplus_lot_id, event.surplus_quantity, None, ZERO)
                self.shortfall = ZERO
            case _:
                self.version -= 1  # not a stock event: ignore it entirely

    def _close(self, event: DayClosed) -> None:
        self.closed_days.add(event.day)
        self._take(event.discrepancy_allocations)
        if event.surplus_lot_id is not None and event.surplus_quantity > 0:
            self._put(event.surplus_lot_id, event.surplus_quantity, event.surplus_expires_on, ZERO)
        if not event.automatic:
            self.shortfall = ZERO  # a count settles what the books could not explain
        for outcome in event.outcomes:
            self._take(outcome.allocations)

    def _add(self, lot_id: str, qty: Decimal, expires_on: date | None, cost: Decimal) -> None:
        absorbed = min(self.shortfall, qty)
        self.shortfall -= absorbed
        self._put(lot_id, qty - absorbed, expires_on, cost)

    def _put(self, lot_id: str, qty: Decimal, expires_on: date | None, cost: Decimal) -> None:
        lot = self.lots.get(lot_id)
        if lot is None:
            self.lots[lot_id] = Lot(lot_id, qty, expires_on, cost, len(self.lots))
        else:
            lot.quantity += qty

    def _take(self, allocations: Iterable[LotAllocation]) -> None:
        for allocation in allocations:
            self.lots[allocation.lot_id].quantity -= allocation.quantity

    def _give_back(self, event: StockReturned) -> None:
        settled = min(self.shortfall, event.shortfall)
        self.shortfall -= settled
        if event.shortfall > settled:  # a receipt had already absorbed it
            self._put(UNLOTTED, event.shortfall - settled, None, ZERO)
        for allocation in event.allocations:  # back to its lot, after settling a shortfall
            self._add(allocation.lot_id, allocation.quantity, None, ZERO)


def fold(events: Iterable[Event]) -> StockState:
    state = StockState()
    for event in events:
        state.apply(event)
    return state


def allocate_fifo(
    state: StockState, quantity: Decimal
) -> tuple[tuple[LotAllocation, ...], Decimal]:
    """Take ``quantity`` from the lots first to expire; return the allocations and what is left."""
    allocations: list[LotAllocation] = []
    remaining = quantity
    for lot in state.fifo_lots():
        if remaining <= 0:
            break
        take = min(lot.quantity, remaining)
        allocations.append(LotAllocation(lot_id=lot.lot_id, quantity=take))
        remaining -= take
    return tuple(allocations), remaining
