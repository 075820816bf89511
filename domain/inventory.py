"""Decisions on stock: each takes the folded ``StockState`` and returns the events to append.

A consumption for a sale never fails for lack of stock (the sale happened);
waste, transfers and production consumption are refused when the lots do not
hold enough, because those are instructions, not reports.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from domain.errors import AlreadyExists, InsufficientStock, InvalidValue, NotFound
from domain.events import (
    StockAdjusted,
    StockConsumed,
    StockReceived,
    StockReturned,
    StockTransferredIn,
    StockTransferredOut,
    UnknownItemSaleRecorded,
    WasteRecorded,
)
from domain.events.inventory import (
    ConsumptionCause,
    ItemKind,
    LotAllocation,
    TransferredLot,
    WasteReason,
)
from domain.stock import ZERO, StockState, allocate_fifo


def require_positive(field: str, value: Decimal) -> None:
    if not value.is_finite() or value <= 0:
        raise InvalidValue(field, f"must be greater than 0, got {value}")


def require_non_negative(field: str, value: Decimal) -> None:
    if not value.is_finite() or value < 0:
        raise InvalidValue(field, f"must be 0 or more, got {value}")


def receive(
    state: StockState,
    *,
    store_id: str,
    item_id: str,
    item_kind: ItemKind,
    lot_id: str,
    quantity: Decimal,
    expires_on: date | None,
    unit_cost: Decimal,
    at: datetime,
    purchase_order_id: str | None = None,
    manufacturing_order_id: str | None = None,
) -> StockReceived:
    require_positive("quantity", quantity)
    require_non_negative("unit_cost", unit_cost)
    if lot_id in state.lots:
        raise AlreadyExists("lot_id", f"lot {lot_id!r} was already received for {item_id!r}")
    return StockReceived(
        occurred_at=at,
        store_id=store_id,
        item_id=item_id,
        item_kind=item_kind,
        lot_id=lot_id,
        quantity=quantity,
        expires_on=expires_on,
        unit_cost=unit_cost,
        purchase_order_id=purchase_order_id,
        manufacturing_order_id=manufacturing_order_id,
    )


def consume(
    state: StockState,
    *,
    store_id: str,
    item_id: str,
    quantity: Decimal,
    cause: ConsumptionCause,
    reference: str,
    at: datetime,
) -> StockConsumed:
    """FIFO by expiry; a sale records any uncovered quantity as shortfall, production refuses."""
    require_positive("quantity", quantity)
    allocations, uncovered = allocate_fifo(state, quantity)
    if uncovered > 0 and cause is not ConsumptionCause.SALE:
        held = quantity - uncovered
        raise InsufficientStock(
            "quantity", f"{item_id!r} in {store_id!r}: asked {quantity}, lots hold {held}"
        )
    return StockConsumed(
        occurred_at=at,
        store_id=store_id,
        item_id=item_id,
        quantity=quantity,
        allocations=allocations,
        shortfall=uncovered,
        cause=cause,
        reference=reference,
    )


def give_back(
    state: StockState, *, store_id: str, item_id: str, reference: str, at: datetime
) -> StockReturned:
    """Undo the consumption recorded under ``reference`` (a voided sale)."""
    consumed = state.consumptions.get(reference)
    if consumed is None:
        raise NotFound("reference", f"no consumption of {item_id!r} recorded for {reference!r}")
    if reference in state.returned:
        raise AlreadyExists("reference", f"{reference!r} was already given back")
    return StockReturned(
        occurred_at=at,
        store_id=store_id,
        item_id=item_id,
        allocations=consumed.allocations,
        shortfall=consumed.shortfall,
        reference=reference,
    )


def _take_exactly(
    state: StockState, field: str, quantity: Decimal, lot_id: str | None
) -> tuple[LotAllocation, ...]:
    """Allocate ``quantity`` from one named lot or FIFO, refusing to take more than is held."""
    if lot_id is not None:
        lot = state.lots.get(lot_id)
        if lot is None:
            raise NotFound("lot_id", f"lot {lot_id!r} is not in this stock")
        if lot.quantity < quantity:
            raise InsufficientStock(field, f"lot {lot_id!r} holds {lot.quantity}, asked {quantity}")
        return (LotAllocation(lot_id=lot_id, quantity=quantity),)
    allocations, uncovered = allocate_fifo(state, quantity)
    if uncovered > 0:
        raise InsufficientStock(field, f"lots hold {quantity - uncovered}, asked {quantity}")
    return allocations


def waste(
    state: StockState,
    *,
    store_id: str,
    item_id: str,
    quantity: Decimal,
    reason: WasteReason,
    at: datetime,
    lot_id: str | None = None,
    note: str | None = None,
    day: date | None = None,
) -> WasteRecorded:
    """``day``: the store-local day it happened (the waste read model counts it there)."""
    require_positive("quantity", quantity)
    allocations = _take_exactly(state, "quantity", quantity, lot_id)
    return WasteRecorded(
        occurred_at=at,
        store_id=store_id,
        item_id=item_id,
        quantity=quantity,
        reason=reason,
        allocations=allocations,
        note=note,
        value=state.lot_cost(allocations),
        day=day,
    )


def sold_unknown(
    state: StockState,
    *,
    store_id: str,
    item_id: str,
    quantity: Decimal,
    reference: str,
    at: datetime,
) -> list[UnknownItemSaleRecorded]:
    """A sale of an item the catalogue does not know: noted once, the lots left alone."""
    require_positive("quantity", quantity)
    if reference in state.unknown_sold:
        return []
    return [
        UnknownItemSaleRecorded(
            occurred_at=at,
            store_id=store_id,
            item_id=item_id,
            quantity=quantity,
            reference=reference,
        )
    ]


def adjust(
    state: StockState,
    *,
    store_id: str,
    item_id: str,
    counted_quantity: Decimal,
    reason: str,
    at: datetime,
    surplus_lot_id: str,
) -> StockAdjusted:
    """Make the lots hold exactly what was counted: reduce FIFO, or add a surplus lot."""
    require_non_negative("counted_quantity", counted_quantity)
    if not reason.strip():
        raise InvalidValue("reason", "a count adjustment needs a reason")
    held = state.lot_quantity
    allocations: tuple[LotAllocation, ...] = ()
    if counted_quantity < held:
        allocations, _ = allocate_fifo(state, held - counted_quantity)
    surplus = max(counted_quantity - held, ZERO)
    if surplus > 0 and surplus_lot_id in state.lots:
        raise AlreadyExists("surplus_lot_id", f"lot {surplus_lot_id!r} already exists")
    return StockAdjusted(
        occurred_at=at,
        store_id=store_id,
        item_id=item_id,
        counted_quantity=counted_quantity,
        book_quantity=state.on_hand,
        delta=counted_quantity - state.on_hand,
        reason=reason,
        allocations=allocations,
        surplus_lot_id=surplus_lot_id if surplus > 0 else None,
        surplus_quantity=surplus,
    )


def transfer(
    source: StockState,
    *,
    transfer_id: str,
    from_store_id: str,
    to_store_id: str,
    item_id: str,
    item_kind: ItemKind,
    quantity: Decimal,
    at: datetime,
) -> tuple[StockTransferredOut, StockTransferredIn]:
    """Lots leave ``from_store_id`` FIFO and arrive at ``to_store_id`` with expiry and cost."""
    require_positive("quantity", quantity)
    if from_store_id == to_store_id:
        raise InvalidValue("to_store_id", "a transfer needs two different stores")
    allocations = _take_exactly(source, "quantity", quantity, None)
    lots = tuple(
        TransferredLot(
            lot_id=a.lot_id,
            quantity=a.quantity,
            expires_on=source.lots[a.lot_id].expires_on,
            unit_cost=source.lots[a.lot_id].unit_cost,
        )
        for a in allocations
    )
    out = StockTransferredOut(
        occurred_at=at,
        transfer_id=transfer_id,
        store_id=from_store_id,
        to_store_id=to_store_id,
        item_id=item_id,
        lots=lots,
    )
    arrived = StockTransferredIn(
        occurred_at=at,
        transfer_id=transfer_id,
        store_id=to_store_id,
        from_store_id=from_store_id,
        item_id=item_id,
        item_kind=item_kind,
        lots=lots,
    )
    return out, arrived
