"""Expiry and the end of a store's day, decided on one item's stock.

Time is an input: the clock reading (``expire``) or the closed day
(``close_day``) comes with the command and is recorded in the event, so a
replay gives the same books. A lot with ``expires_on`` = D is sellable through
the end of D in the store's time zone and has expired on the store-local day
after.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import msgspec

from domain.errors import AlreadyExists, InvalidValue
from domain.events import DayClosed, Event, StockExpired
from domain.events.inventory import ClosedQuantity, CloseOutcome, LotAllocation
from domain.inventory import require_non_negative
from domain.stock import ZERO, StockState, allocate_fifo


def local_day(at: datetime, timezone: str) -> date:
    """The store-local calendar day of an instant."""
    return at.astimezone(ZoneInfo(timezone)).date()


def expire(
    state: StockState, *, store_id: str, item_id: str, day: date, at: datetime
) -> list[Event]:
    """Every lot whose expiry is before the store-local ``day`` leaves the books."""
    gone = tuple(
        LotAllocation(lot_id=lot.lot_id, quantity=lot.quantity) for lot in state.expired_by(day)
    )
    if not gone:
        return []
    return [
        StockExpired(
            occurred_at=at,
            store_id=store_id,
            item_id=item_id,
            day=day,
            allocations=gone,
            value=state.lot_cost(gone),
        )
    ]


@dataclass(frozen=True)
class Count:
    """What a baker reports at closing for one item (``counted`` defaults to the sum)."""

    waste: Decimal = ZERO
    donation: Decimal = ZERO
    markdown: Decimal = ZERO
    carried: Decimal = ZERO
    counted: Decimal | None = None

    def outcomes(self) -> list[tuple[CloseOutcome, Decimal]]:
        return [
            (CloseOutcome.WASTE, self.waste),
            (CloseOutcome.DONATION, self.donation),
            (CloseOutcome.MARKDOWN, self.markdown),
            (CloseOutcome.CARRIED, self.carried),
        ]

    def total(self) -> Decimal:
        return self.waste + self.donation + self.markdown + self.carried


def _scratch(state: StockState) -> StockState:
    """A copy of the lots and shortfall to decide several steps on."""
    lots = {k: replace(v) for k, v in state.lots.items()}
    return StockState(lots=lots, shortfall=state.shortfall, closed_days=set(state.closed_days))


def close_day(
    state: StockState,
    *,
    store_id: str,
    item_id: str,
    day: date,
    count: Count | None,
    at: datetime,
    surplus_lot_id: str,
    surplus_expires_on: date | None,
) -> list[Event]:
    """Expire what was gone before ``day``, then record the close (``count`` None: automatic)."""
    if day in state.closed_days:
        raise AlreadyExists("day", f"{item_id!r} in {store_id!r} is already closed for {day}")
    events = expire(state, store_id=store_id, item_id=item_id, day=day, at=at)
    books = _scratch(state)
    for event in events:
        books.apply(event)
    closed = (
        _automatic(books, store_id, item_id, day, at)
        if count is None
        else _counted(
            books,
            store_id=store_id,
            item_id=item_id,
            day=day,
            count=count,
            at=at,
            surplus_lot_id=surplus_lot_id,
            surplus_expires_on=surplus_expires_on,
        )
    )
    return [*events, closed]


def _automatic(
    books: StockState, store_id: str, item_id: str, day: date, at: datetime
) -> DayClosed:
    """From the books: what expires by the end of the day is wasted, the rest carried."""
    ending = tuple(
        LotAllocation(lot_id=lot.lot_id, quantity=lot.quantity)
        for lot in books.fifo_lots()
        if lot.expires_on is not None and lot.expires_on <= day
    )
    wasted = sum((a.quantity for a in ending), ZERO)
    carried = books.lot_quantity - wasted
    outcomes = []
    if wasted > 0:
        outcomes.append(
            ClosedQuantity(
                outcome=CloseOutcome.WASTE,
                quantity=wasted,
                allocations=ending,
                value=books.lot_cost(ending),
            )
        )
    if carried > 0:
        outcomes.append(ClosedQuantity(outcome=CloseOutcome.CARRIED, quantity=carried))
    return DayClosed(
        occurred_at=at,
        store_id=store_id,
        item_id=item_id,
        day=day,
        automatic=True,
        book_quantity=books.on_hand,
        counted_quantity=books.lot_quantity,
        outcomes=tuple(outcomes),
    )


def _counted(
    books: StockState,
    *,
    store_id: str,
    item_id: str,
    day: date,
    count: Count,
    at: datetime,
    surplus_lot_id: str,
    surplus_expires_on: date | None,
) -> DayClosed:
    for outcome, quantity in count.outcomes():
        require_non_negative(outcome.value, quantity)
    counted = count.total() if count.counted is None else count.counted
    require_non_negative("counted", counted)
    if count.total() != counted:
        raise InvalidValue(
            "counted",
            f"{item_id!r}: waste + donation + markdown + carried = {count.total()}, "
            f"counted {counted}",
        )
    book, held = books.on_hand, books.lot_quantity
    missing: tuple[LotAllocation, ...] = ()
    if counted < held:
        missing, _ = allocate_fifo(books, held - counted)
    missing_value = books.lot_cost(missing)
    surplus = max(counted - held, ZERO)
    if surplus > 0 and surplus_lot_id in books.lots:
        raise AlreadyExists("surplus_lot_id", f"lot {surplus_lot_id!r} already exists")
    draft = DayClosed(
        occurred_at=at,
        store_id=store_id,
        item_id=item_id,
        day=day,
        book_quantity=book,
        counted_quantity=counted,
        discrepancy=counted - book,
        discrepancy_allocations=missing,
        discrepancy_value=missing_value,
        surplus_lot_id=surplus_lot_id if surplus > 0 else None,
        surplus_quantity=surplus,
        surplus_expires_on=surplus_expires_on if surplus > 0 else None,
    )
    books.apply(draft)  # the lots now hold exactly what was counted
    outcomes = []
    for outcome, quantity in count.outcomes():
        if quantity == 0:
            continue
        if outcome is CloseOutcome.CARRIED:
            keeping = sum(
                (
                    lot.quantity
                    for lot in books.fifo_lots()
                    if lot.expires_on is None or lot.expires_on > day
                ),
                ZERO,
            )
            if quantity > keeping:
                raise InvalidValue(
                    "carried",
                    f"{item_id!r}: {quantity} carried over but only {keeping} keep past {day}",
                )
            outcomes.append(ClosedQuantity(outcome=outcome, quantity=quantity))
            continue
        taken, _ = allocate_fifo(books, quantity)
        value = books.lot_cost(taken)
        for a in taken:
            books.lots[a.lot_id].quantity -= a.quantity
        outcomes.append(
            ClosedQuantity(outcome=outcome, quantity=quantity, allocations=taken, value=value)
        )
    return msgspec.structs.replace(draft, outcomes=tuple(outcomes))
