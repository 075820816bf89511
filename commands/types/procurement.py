"""Commands on suppliers and purchase orders."""

from __future__ import annotations

from typing import ClassVar

from commands.types.base import Command, Text
from domain.access import Permission
from domain.events.base import Id, Timestamp
from domain.events.procurement import PurchaseOrderLine, ReceivedLine, SupplierPrice


class RegisterSupplier(Command, frozen=True, kw_only=True):
    PERMISSION: ClassVar[Permission] = Permission.MANAGE_PURCHASING
    supplier_id: Id
    name: Text
    lead_time_days: int
    prices: tuple[SupplierPrice, ...] = ()
    contact_name: Text = ""
    contact_email: Text = ""
    contact_phone: Text = ""


class UpdateSupplierPrices(Command, frozen=True, kw_only=True):
    PERMISSION: ClassVar[Permission] = Permission.MANAGE_PURCHASING
    supplier_id: Id
    prices: tuple[SupplierPrice, ...]


class DraftPurchaseOrder(Command, frozen=True, kw_only=True):
    PERMISSION: ClassVar[Permission] = Permission.MANAGE_PURCHASING
    po_id: Id
    supplier_id: Id
    store_id: Id
    lines: tuple[PurchaseOrderLine, ...]
    expected_delivery_at: Timestamp


class _PurchaseOrderCommand(Command, frozen=True, kw_only=True):
    PERMISSION: ClassVar[Permission] = Permission.MANAGE_PURCHASING
    SCOPE_FROM_STATE: ClassVar[bool] = True
    po_id: Id


class ApprovePurchaseOrder(_PurchaseOrderCommand, frozen=True, kw_only=True):
    PERMISSION: ClassVar[Permission] = Permission.APPROVE_PURCHASE


class SendPurchaseOrder(_PurchaseOrderCommand, frozen=True, kw_only=True):
    pass


class ReceivePurchaseOrder(_PurchaseOrderCommand, frozen=True, kw_only=True):
    """A delivery; each line becomes a lot in ``stock-<store>-<item>``."""

    delivery_id: Id
    lines: tuple[ReceivedLine, ...]
    close_short: bool = False


class CancelPurchaseOrder(_PurchaseOrderCommand, frozen=True, kw_only=True):
    reason: Text
