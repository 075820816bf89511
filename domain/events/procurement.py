"""Suppliers and purchase orders.

A purchase order goes draft -> approved -> sent -> (partially) received, or cancelled.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from domain.events.base import DomainEvent, Id, NonNegative, Positive, Timestamp, Value


class SupplierPrice(Value, frozen=True, kw_only=True):
    item_id: Id
    unit_price: NonNegative
    unit: str


class SupplierRegistered(DomainEvent, frozen=True, kw_only=True):
    supplier_id: Id
    name: str
    lead_time_days: int
    prices: tuple[SupplierPrice, ...] = ()
    #: The supplier's contact person: personal data, encrypted in the store (docs/gdpr.md).
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""


class SupplierPriceListUpdated(DomainEvent, frozen=True, kw_only=True):
    supplier_id: Id
    prices: tuple[SupplierPrice, ...]


class PurchaseOrderLine(Value, frozen=True, kw_only=True):
    item_id: Id
    quantity: Positive
    unit_price: NonNegative


class PurchaseOrderDrafted(DomainEvent, frozen=True, kw_only=True):
    po_id: Id
    supplier_id: Id
    store_id: Id
    lines: tuple[PurchaseOrderLine, ...]
    expected_delivery_at: Timestamp
    drafted_by: Id


class PurchaseOrderApproved(DomainEvent, frozen=True, kw_only=True):
    po_id: Id
    approved_by: Id


class PurchaseOrderSent(DomainEvent, frozen=True, kw_only=True):
    po_id: Id
    sent_by: Id


class ReceivedLine(Value, frozen=True, kw_only=True):
    item_id: Id
    quantity: Positive
    lot_id: Id
    expires_on: date | None
    unit_cost: NonNegative


class Discrepancy(Value, frozen=True, kw_only=True):
    """A difference between what was ordered and what arrived, line by line."""

    item_id: Id
    kind: str  # "over", "unit_cost", "not_ordered"
    ordered: Decimal
    received: Decimal
    note: str


class PurchaseOrderReceived(DomainEvent, frozen=True, kw_only=True):
    """A delivery against the order; ``complete`` is false while lines are still outstanding."""

    po_id: Id
    delivery_id: Id
    lines: tuple[ReceivedLine, ...]
    discrepancies: tuple[Discrepancy, ...] = ()
    complete: bool
    received_by: Id


class PurchaseOrderCancelled(DomainEvent, frozen=True, kw_only=True):
    po_id: Id
    reason: str
    cancelled_by: Id
