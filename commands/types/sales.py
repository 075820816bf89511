"""Commands on tickets: record (from a POS, an import or by hand), void, refund."""

from __future__ import annotations

from typing import ClassVar

from commands.types.base import Command, Text
from domain.access import Permission
from domain.events.base import Id, Timestamp
from domain.events.sales import Channel, RefundLine, SaleLine, SaleSource


class RecordSale(Command, frozen=True, kw_only=True):
    """Idempotent by (store, POS transaction id) whatever ``idempotency_key`` says."""

    PERMISSION: ClassVar[Permission] = Permission.RECORD_SALE
    BUSINESS_TIME: ClassVar[tuple[str, ...]] = ("occurred_at", "sold_at")
    store_id: Id
    pos_txn_id: Id
    sold_at: Timestamp
    channel: Channel = Channel.COUNTER
    lines: tuple[SaleLine, ...]
    source: SaleSource = SaleSource.POS
    device_id: Id | None = None


class VoidSale(Command, frozen=True, kw_only=True):
    PERMISSION: ClassVar[Permission] = Permission.CORRECT_SALE
    store_id: Id
    pos_txn_id: Id
    reason: Text


class RefundSale(Command, frozen=True, kw_only=True):
    PERMISSION: ClassVar[Permission] = Permission.CORRECT_SALE
    store_id: Id
    pos_txn_id: Id
    refund_id: Id
    lines: tuple[RefundLine, ...]
    reason: Text
