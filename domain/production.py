"""The manufacturing-order state machine (``mo-<id>``).

suggested -> confirmed -> in_progress -> completed, or cancelled (with a reason)
from any status before completed. Quantity and date may be edited while the
order is suggested or confirmed. A completed order yields the ``StockReceived``
lot of the product at the destination store (``produced_lot``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from domain.errors import AlreadyExists, IllegalTransition, InvalidValue, NotFound
from domain.events import (
    BatchCompleted,
    Event,
    ManufacturingOrderCancelled,
    ManufacturingOrderCompleted,
    ManufacturingOrderConfirmed,
    ManufacturingOrderEdited,
    ManufacturingOrderStarted,
    ManufacturingOrderSuggested,
    QualityCheckRecorded,
    StockReceived,
)
from domain.events.inventory import ItemKind
from domain.inventory import require_non_negative, require_positive
from domain.streams import production_lot_id


class OrderStatus(StrEnum):
    NEW = "new"  # nothing recorded yet
    SUGGESTED = "suggested"
    CONFIRMED = "confirmed"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


@dataclass
class OrderState:
    status: OrderStatus = OrderStatus.NEW
    order_id: str = ""
    sku: str = ""
    quantity: Decimal = Decimal(0)
    production_date: date | None = None
    producing_store_id: str = ""
    destination_store_id: str = ""
    completed: ManufacturingOrderCompleted | None = None
    batch_ids: list[str] = field(default_factory=list)
    version: int = 0

    def apply(self, event: Event) -> None:
        self.version += 1
        match event:
            case ManufacturingOrderSuggested():
                self.status = OrderStatus.SUGGESTED
                self.order_id, self.sku = event.order_id, event.sku
                self.quantity, self.production_date = event.quantity, event.production_date
                self.producing_store_id = event.producing_store_id
                self.destination_store_id = event.destination_store_id
            case ManufacturingOrderConfirmed():
                self.status = OrderStatus.CONFIRMED
            case ManufacturingOrderEdited():
                self.quantity, self.production_date = event.quantity, event.production_date
            case ManufacturingOrderStarted():
                self.status = OrderStatus.IN_PROGRESS
            case BatchCompleted():
                self.batch_ids.append(event.batch_id)
            case ManufacturingOrderCompleted():
                self.status, self.completed = OrderStatus.COMPLETED, event
            case ManufacturingOrderCancelled():
                self.status = OrderStatus.CANCELLED


def fold(events: Iterable[Event]) -> OrderState:
    state = OrderState()
    for event in events:
        state.apply(event)
    return state


def _require(state: OrderState, action: str, *allowed: OrderStatus) -> None:
    if state.status is OrderStatus.NEW:
        raise NotFound("order_id", "no such manufacturing order")
    if state.status not in allowed:
        raise IllegalTransition("status", state.status.value, action)


def suggest(state: OrderState, event: ManufacturingOrderSuggested) -> list[Event]:
    if state.status is not OrderStatus.NEW:
        raise AlreadyExists("order_id", f"order {event.order_id!r} already exists")
    require_positive("quantity", event.quantity)
    return [event]


def confirm(state: OrderState, *, by: str, at: datetime) -> list[Event]:
    _require(state, "confirm", OrderStatus.SUGGESTED)
    return [ManufacturingOrderConfirmed(occurred_at=at, order_id=state.order_id, confirmed_by=by)]


def edit(
    state: OrderState,
    *,
    quantity: Decimal | None,
    production_date: date | None,
    by: str,
    at: datetime,
) -> list[Event]:
    _require(state, "edit", OrderStatus.SUGGESTED, OrderStatus.CONFIRMED)
    new_quantity = state.quantity if quantity is None else quantity
    require_positive("quantity", new_quantity)
    new_date = production_date or state.production_date
    assert new_date is not None  # set by the suggestion
    if new_quantity == state.quantity and new_date == state.production_date:
        return []  # nothing changes, nothing is recorded
    return [
        ManufacturingOrderEdited(
            occurred_at=at,
            order_id=state.order_id,
            quantity=new_quantity,
            production_date=new_date,
            edited_by=by,
        )
    ]


def start(state: OrderState, *, by: str, at: datetime) -> list[Event]:
    _require(state, "start", OrderStatus.CONFIRMED)
    return [ManufacturingOrderStarted(occurred_at=at, order_id=state.order_id, started_by=by)]


def cancel(state: OrderState, *, reason: str, by: str, at: datetime) -> list[Event]:
    _require(state, "cancel", OrderStatus.SUGGESTED, OrderStatus.CONFIRMED, OrderStatus.IN_PROGRESS)
    if not reason.strip():
        raise InvalidValue("reason", "cancelling an order needs a reason")
    return [
        ManufacturingOrderCancelled(
            occurred_at=at, order_id=state.order_id, reason=reason, cancelled_by=by
        )
    ]


def complete(
    state: OrderState,
    *,
    quantity_produced: Decimal,
    shelf_life_days: int | None,
    at: datetime,
) -> list[Event]:
    _require(state, "complete", OrderStatus.IN_PROGRESS)
    require_non_negative("quantity_produced", quantity_produced)
    made_on = state.production_date or at.date()
    expires_on = None if shelf_life_days is None else made_on + timedelta(days=shelf_life_days)
    return [
        ManufacturingOrderCompleted(
            occurred_at=at,
            order_id=state.order_id,
            quantity_produced=quantity_produced,
            destination_store_id=state.destination_store_id,
            lot_id=production_lot_id(state.order_id),
            expires_on=expires_on,
        )
    ]


def produced_lot(state: OrderState, *, unit_cost: Decimal) -> StockReceived | None:
    """The product lot a completed order adds to ``stock-<destination>-<sku>`` (None if 0 made).

    Derived from the recorded completion, so a resent command re-creates the very
    same lot and the stock write can be re-driven safely after a crash.
    """
    done = state.completed
    if done is None or done.quantity_produced == 0:
        return None
    return StockReceived(
        occurred_at=done.occurred_at,
        store_id=done.destination_store_id,
        item_id=state.sku,
        item_kind=ItemKind.PRODUCT,
        lot_id=done.lot_id,
        quantity=done.quantity_produced,
        expires_on=done.expires_on,
        unit_cost=unit_cost,
        manufacturing_order_id=state.order_id,
    )


def record_quality_check(
    state: OrderState,
    *,
    batch_id: str | None,
    score: int,
    passed: bool,
    issues: tuple[str, ...],
    corrective_action: str | None,
    by: str,
    at: datetime,
) -> list[Event]:
    _require(state, "record a quality check", OrderStatus.IN_PROGRESS, OrderStatus.COMPLETED)
    if not 0 <= score <= 100:
        raise InvalidValue("score", f"must be between 0 and 100, got {score}")
    if batch_id is not None and batch_id not in state.batch_ids:
        raise NotFound("batch_id", f"batch {batch_id!r} is not part of this order")
    if not passed and not corrective_action:
        raise InvalidValue("corrective_action", "a failed check needs a corrective action")
    return [
        QualityCheckRecorded(
            occurred_at=at,
            order_id=state.order_id,
            batch_id=batch_id,
            score=score,
            passed=passed,
            issues=issues,
            corrective_action=corrective_action,
            checked_by=by,
        )
    ]
