"""A ticket (``sale-<store>-<pos_txn_id>``): recorded once, then voided or partly refunded."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from domain.errors import AlreadyExists, IllegalTransition, InvalidValue, NotFound
from domain.events import Event, SaleRecorded, SaleRefunded, SaleVoided
from domain.events.sales import RefundLine, SaleLine


class ConflictingTicket(AlreadyExists):
    """The transaction id is already recorded with other lines or another time."""


@dataclass
class SaleState:
    sale: SaleRecorded | None = None
    voided: bool = False
    refunded: dict[str, Decimal] = field(default_factory=dict)  # sku -> quantity
    refund_ids: set[str] = field(default_factory=set)
    version: int = 0

    def sold(self, sku: str) -> Decimal:
        lines = self.sale.lines if self.sale else ()
        return sum((line.quantity for line in lines if line.sku == sku), Decimal(0))

    def apply(self, event: Event) -> None:
        self.version += 1
        match event:
            case SaleRecorded():
                self.sale = event
            case SaleVoided():
                self.voided = True
            case SaleRefunded():
                self.refund_ids.add(event.refund_id)
                for line in event.lines:
                    self.refunded[line.sku] = (
                        self.refunded.get(line.sku, Decimal(0)) + line.quantity
                    )


def fold(events: Iterable[Event]) -> SaleState:
    state = SaleState()
    for event in events:
        state.apply(event)
    return state


def check_lines(lines: tuple[SaleLine, ...]) -> Decimal:
    """Validate the ticket lines and return the ticket total."""
    if not lines:
        raise InvalidValue("lines", "a ticket needs at least one line")
    total = Decimal(0)
    for index, line in enumerate(lines):
        if not line.quantity.is_finite() or line.quantity <= 0:
            raise InvalidValue(f"lines[{index}].quantity", "must be greater than 0")
        if not line.unit_price.is_finite() or line.unit_price < 0:
            raise InvalidValue(f"lines[{index}].unit_price", "must be 0 or more")
        if line.discount < 0 or line.discount > line.quantity * line.unit_price:
            raise InvalidValue(f"lines[{index}].discount", "must be between 0 and the line amount")
        total += line.amount
    return total


def record(state: SaleState, sale: SaleRecorded) -> list[Event]:
    """A reported sale is a fact: only its shape is checked, never the stock."""
    if state.sale is not None:
        check_resend(state.sale, lines=sale.lines, sold_at=sale.sold_at)
        raise AlreadyExists("pos_txn_id", f"ticket {sale.pos_txn_id!r} is already recorded")
    if check_lines(sale.lines) != sale.total:
        raise InvalidValue("total", f"lines add up to {check_lines(sale.lines)}, not {sale.total}")
    return [sale]


def check_resend(recorded: SaleRecorded, *, lines: tuple[SaleLine, ...], sold_at: datetime) -> None:
    """A resent ticket must be the same ticket; a reused transaction id is refused."""
    if recorded.lines != lines or recorded.sold_at != sold_at:
        raise ConflictingTicket(
            "pos_txn_id",
            f"ticket {recorded.pos_txn_id!r} is already recorded with different lines or time",
        )


def _recorded(state: SaleState, action: str) -> SaleRecorded:
    if state.sale is None:
        raise NotFound("pos_txn_id", "no such ticket")
    if state.voided:
        raise IllegalTransition("status", "voided", action)
    return state.sale


def void(state: SaleState, *, reason: str, at: datetime) -> list[Event]:
    sale = _recorded(state, "void")
    if state.refunded:
        raise IllegalTransition("status", "refunded", "void")
    if not reason.strip():
        raise InvalidValue("reason", "a void needs a reason")
    return [
        SaleVoided(
            occurred_at=at, store_id=sale.store_id, pos_txn_id=sale.pos_txn_id, reason=reason
        )
    ]


def refund(
    state: SaleState, *, refund_id: str, lines: tuple[RefundLine, ...], reason: str, at: datetime
) -> list[Event]:
    sale = _recorded(state, "refund")
    if refund_id in state.refund_ids:
        raise AlreadyExists("refund_id", f"refund {refund_id!r} was already recorded")
    if not lines:
        raise InvalidValue("lines", "a refund needs at least one line")
    asked: dict[str, Decimal] = {}
    for index, line in enumerate(lines):
        asked[line.sku] = asked.get(line.sku, Decimal(0)) + line.quantity
        left = state.sold(line.sku) - state.refunded.get(line.sku, Decimal(0))
        if line.quantity <= 0 or asked[line.sku] > left:
            raise InvalidValue(f"lines[{index}].quantity", f"{left} of {line.sku!r} refundable")
    return [
        SaleRefunded(
            occurred_at=at,
            store_id=sale.store_id,
            pos_txn_id=sale.pos_txn_id,
            refund_id=refund_id,
            lines=lines,
            amount=sum((line.amount for line in lines), Decimal(0)),
            reason=reason,
        )
    ]
