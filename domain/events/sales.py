"""Tickets: what a POS (or an import) says was sold, voided or refunded.

A sale is a fact reported by the till. It is recorded even when book stock
says there is nothing left; the stock side then shows the shortfall.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from domain.events.base import DomainEvent, Id, NonNegative, Positive, Timestamp, Value


class Channel(StrEnum):
    COUNTER = "counter"
    DELIVERY = "delivery"
    ONLINE = "online"
    WHOLESALE = "wholesale"


class SaleSource(StrEnum):
    POS = "pos"
    IMPORT = "import"
    MANUAL = "manual"


class SaleLine(Value, frozen=True, kw_only=True):
    sku: Id
    quantity: Positive
    unit_price: NonNegative
    discount: NonNegative = Decimal(0)  # amount off this line, not a percentage
    promotion: str | None = None

    @property
    def amount(self) -> Decimal:
        return self.quantity * self.unit_price - self.discount


class SaleRecorded(DomainEvent, frozen=True, kw_only=True):
    store_id: Id
    pos_txn_id: Id
    sold_at: Timestamp
    channel: Channel
    lines: tuple[SaleLine, ...]
    total: Decimal
    source: SaleSource = SaleSource.POS
    device_id: Id | None = None


class SaleVoided(DomainEvent, frozen=True, kw_only=True):
    """The whole ticket is cancelled (keyed in by mistake); its stock comes back."""

    store_id: Id
    pos_txn_id: Id
    reason: str


class RefundLine(Value, frozen=True, kw_only=True):
    sku: Id
    quantity: Positive
    amount: NonNegative


class SaleRefunded(DomainEvent, frozen=True, kw_only=True):
    """Money returned for some lines of a ticket; refunded goods are not restocked."""

    store_id: Id
    pos_txn_id: Id
    refund_id: Id
    lines: tuple[RefundLine, ...]
    amount: NonNegative
    reason: str
