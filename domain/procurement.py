"""Purchase orders (``po-<id>``): draft -> approved -> sent -> partially received -> received.

Cancellation is allowed until the order is fully received. A delivery is
compared line by line with what is still outstanding; over-deliveries, items
never ordered and cost differences are recorded as discrepancies, not refused
(the goods are on the dock either way).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from domain.errors import AlreadyExists, IllegalTransition, InvalidValue, NotFound
from domain.events import (
    Event,
    PurchaseOrderApproved,
    PurchaseOrderCancelled,
    PurchaseOrderDrafted,
    PurchaseOrderReceived,
    PurchaseOrderSent,
)
from domain.events.procurement import Discrepancy, ReceivedLine

ZERO = Decimal(0)


class PurchaseStatus(StrEnum):
    NEW = "new"
    DRAFT = "draft"
    APPROVED = "approved"
    SENT = "sent"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    CANCELLED = "cancelled"


@dataclass
class PurchaseState:
    status: PurchaseStatus = PurchaseStatus.NEW
    order: PurchaseOrderDrafted | None = None
    received: dict[str, Decimal] = field(default_factory=dict)  # item -> quantity
    delivery_ids: set[str] = field(default_factory=set)
    version: int = 0

    def outstanding(self) -> dict[str, Decimal]:
        ordered: dict[str, Decimal] = {}
        for line in self.order.lines if self.order else ():
            ordered[line.item_id] = ordered.get(line.item_id, ZERO) + line.quantity
        return {item: qty - self.received.get(item, ZERO) for item, qty in ordered.items()}

    def apply(self, event: Event) -> None:
        self.version += 1
        match event:
            case PurchaseOrderDrafted():
                self.status, self.order = PurchaseStatus.DRAFT, event
            case PurchaseOrderApproved():
                self.status = PurchaseStatus.APPROVED
            case PurchaseOrderSent():
                self.status = PurchaseStatus.SENT
            case PurchaseOrderReceived():
                self.delivery_ids.add(event.delivery_id)
                for line in event.lines:
                    self.received[line.item_id] = (
                        self.received.get(line.item_id, ZERO) + line.quantity
                    )
                done = event.complete
                self.status = PurchaseStatus.RECEIVED if done else PurchaseStatus.PARTIALLY_RECEIVED
            case PurchaseOrderCancelled():
                self.status = PurchaseStatus.CANCELLED


def fold(events: Iterable[Event]) -> PurchaseState:
    state = PurchaseState()
    for event in events:
        state.apply(event)
    return state


def _require(state: PurchaseState, action: str, *allowed: PurchaseStatus) -> PurchaseOrderDrafted:
    if state.order is None:
        raise NotFound("po_id", "no such purchase order")
    if state.status not in allowed:
        raise IllegalTransition("status", state.status.value, action)
    return state.order


def draft(state: PurchaseState, event: PurchaseOrderDrafted) -> list[Event]:
    if state.order is not None:
        raise AlreadyExists("po_id", f"purchase order {event.po_id!r} already exists")
    if not event.lines:
        raise InvalidValue("lines", "a purchase order needs at least one line")
    for index, line in enumerate(event.lines):
        if line.quantity <= 0:
            raise InvalidValue(f"lines[{index}].quantity", "must be greater than 0")
    return [event]


def approve(state: PurchaseState, *, by: str, at: datetime) -> list[Event]:
    order = _require(state, "approve", PurchaseStatus.DRAFT)
    if by == order.drafted_by:
        raise InvalidValue("actor", "the person who drafted an order cannot approve it")
    return [PurchaseOrderApproved(occurred_at=at, po_id=order.po_id, approved_by=by)]


def send(state: PurchaseState, *, by: str, at: datetime) -> list[Event]:
    order = _require(state, "send", PurchaseStatus.APPROVED)
    return [PurchaseOrderSent(occurred_at=at, po_id=order.po_id, sent_by=by)]


def cancel(state: PurchaseState, *, reason: str, by: str, at: datetime) -> list[Event]:
    order = _require(
        state,
        "cancel",
        PurchaseStatus.DRAFT,
        PurchaseStatus.APPROVED,
        PurchaseStatus.SENT,
        PurchaseStatus.PARTIALLY_RECEIVED,
    )
    if not reason.strip():
        raise InvalidValue("reason", "cancelling a purchase order needs a reason")
    return [
        PurchaseOrderCancelled(occurred_at=at, po_id=order.po_id, reason=reason, cancelled_by=by)
    ]


def receive(
    state: PurchaseState,
    *,
    delivery_id: str,
    lines: tuple[ReceivedLine, ...],
    close_short: bool,
    by: str,
    at: datetime,
) -> list[Event]:
    """Record a delivery; ``close_short`` ends the order even with lines still outstanding."""
    order = _require(state, "receive", PurchaseStatus.SENT, PurchaseStatus.PARTIALLY_RECEIVED)
    if delivery_id in state.delivery_ids:
        raise AlreadyExists("delivery_id", f"delivery {delivery_id!r} was already received")
    if not lines:
        raise InvalidValue("lines", "a delivery needs at least one line")
    outstanding = state.outstanding()
    prices = {line.item_id: line.unit_price for line in order.lines}
    discrepancies: list[Discrepancy] = []
    for line in lines:
        left = outstanding.get(line.item_id)
        if left is None:
            discrepancies.append(_discrepancy(line, "not_ordered", ZERO, "item not on the order"))
            continue
        if line.quantity > left:
            discrepancies.append(_discrepancy(line, "over", left, f"{line.quantity - left} extra"))
        if line.unit_cost != prices[line.item_id]:
            note = f"ordered at {prices[line.item_id]}, invoiced at {line.unit_cost}"
            discrepancies.append(_discrepancy(line, "unit_cost", left, note))
        outstanding[line.item_id] = left - line.quantity
    complete = close_short or all(qty <= 0 for qty in outstanding.values())
    return [
        PurchaseOrderReceived(
            occurred_at=at,
            po_id=order.po_id,
            delivery_id=delivery_id,
            lines=lines,
            discrepancies=tuple(discrepancies),
            complete=complete,
            received_by=by,
        )
    ]


def _discrepancy(line: ReceivedLine, kind: str, ordered: Decimal, note: str) -> Discrepancy:
    return Discrepancy(
        item_id=line.item_id, kind=kind, ordered=ordered, received=line.quantity, note=note
    )
