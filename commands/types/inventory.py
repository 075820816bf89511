"""Commands on stock and cold-chain equipment."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import ClassVar

import msgspec

from commands.types.base import Command, Text
from domain.access import Permission
from domain.events.base import Id, Timestamp
from domain.events.inventory import ItemKind, WasteReason


class ReceiveStock(Command, frozen=True, kw_only=True):
    """A lot arriving outside a purchase order (purchase deliveries: ``ReceivePurchaseOrder``)."""

    PERMISSION: ClassVar[Permission] = Permission.MANAGE_STOCK
    store_id: Id
    item_id: Id
    item_kind: ItemKind
    lot_id: Id
    quantity: Decimal
    expires_on: date | None = None
    unit_cost: Decimal


class RecordWaste(Command, frozen=True, kw_only=True):
    PERMISSION: ClassVar[Permission] = Permission.MANAGE_STOCK
    store_id: Id
    item_id: Id
    quantity: Decimal
    reason: WasteReason
    lot_id: Id | None = None
    note: Text | None = None


class AdjustStock(Command, frozen=True, kw_only=True):
    """A physical count. Not retried on conflict: the count must be checked against new moves."""

    PERMISSION: ClassVar[Permission] = Permission.MANAGE_STOCK
    store_id: Id
    item_id: Id
    counted_quantity: Decimal
    reason: Text
    expected_version: int | None = None


class TransferStock(Command, frozen=True, kw_only=True):
    PERMISSION: ClassVar[Permission] = Permission.MANAGE_STOCK
    transfer_id: Id
    store_id: Id  # where the stock leaves from (usually the central workshop)
    to_store_id: Id
    item_id: Id
    item_kind: ItemKind
    quantity: Decimal


class RegisterEquipment(Command, frozen=True, kw_only=True):
    PERMISSION: ClassVar[Permission] = Permission.MANAGE_EQUIPMENT
    equipment_id: Id
    store_id: Id
    name: Text
    kind: str
    maintenance_interval_days: int
    min_celsius: Decimal | None = None
    max_celsius: Decimal | None = None


class RecordTemperature(Command, frozen=True, kw_only=True):
    PERMISSION: ClassVar[Permission] = Permission.MANAGE_STOCK
    SCOPE_FROM_STATE: ClassVar[bool] = True
    equipment_id: Id
    celsius: Decimal


class ScheduleMaintenance(Command, frozen=True, kw_only=True):
    PERMISSION: ClassVar[Permission] = Permission.MANAGE_EQUIPMENT
    SCOPE_FROM_STATE: ClassVar[bool] = True
    equipment_id: Id
    due_on: date
    description: Text


class RecordMaintenance(Command, frozen=True, kw_only=True):
    PERMISSION: ClassVar[Permission] = Permission.MANAGE_EQUIPMENT
    SCOPE_FROM_STATE: ClassVar[bool] = True
    equipment_id: Id
    performed_on: date
    note: Text | None = None


class CloseLine(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One item at closing: what remained (``counted``, default the sum) and what became of it."""

    item_id: Id
    counted: Decimal | None = None
    waste: Decimal = Decimal(0)
    donation: Decimal = Decimal(0)
    markdown: Decimal = Decimal(0)
    carried: Decimal = Decimal(0)


class CloseDay(Command, frozen=True, kw_only=True):
    """A store's end of day as confirmed by a person (counts may differ from the books)."""

    PERMISSION: ClassVar[Permission] = Permission.MANAGE_STOCK
    store_id: Id
    day: date
    lines: tuple[CloseLine, ...]


class CloseDayFromBooks(Command, frozen=True, kw_only=True):
    """The automatic close of unconfirmed items, from the books (the scheduler sends it)."""

    PERMISSION: ClassVar[Permission] = Permission.MANAGE_STOCK
    store_id: Id
    day: date
    item_ids: tuple[Id, ...]


class ExpireStock(Command, frozen=True, kw_only=True):
    """A clock tick: lots whose expiry passed by ``as_of`` (store-local day) leave the books."""

    PERMISSION: ClassVar[Permission] = Permission.MANAGE_STOCK
    store_id: Id
    as_of: Timestamp
    item_ids: tuple[Id, ...]
