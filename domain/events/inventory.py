"""Stock per store x item, kept in lots with expiry, and the cold-chain log.

Every event here belongs to one ``stock-<store>-<item>`` stream except
``TemperatureRecorded`` (``equipment-<id>``). Quantities leaving stock carry the
lots they were taken from (``allocations``) and any ``shortfall`` that no lot
covered: a sale of bread the books did not know about is recorded, and the
shortfall shows as negative book stock until a receipt or count settles it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from domain.events.base import DomainEvent, Id, NonNegative, Positive, Value


class ItemKind(StrEnum):
    PRODUCT = "product"
    INGREDIENT = "ingredient"


class ConsumptionCause(StrEnum):
    SALE = "sale"
    PRODUCTION = "production"  # ingredients going into a batch


class WasteReason(StrEnum):
    EXPIRED = "expired"
    DAMAGED = "damaged"
    UNSOLD_END_OF_DAY = "unsold_end_of_day"
    QUALITY = "quality"


class LotAllocation(Value, frozen=True, kw_only=True):
    lot_id: Id
    quantity: Positive


class TransferredLot(Value, frozen=True, kw_only=True):
    lot_id: Id
    quantity: Positive
    expires_on: date | None
    unit_cost: NonNegative


class StockReceived(DomainEvent, frozen=True, kw_only=True):
    """A new lot arrives: from a supplier, from production, or entered by hand."""

    store_id: Id
    item_id: Id
    item_kind: ItemKind
    lot_id: Id
    quantity: Positive
    expires_on: date | None
    unit_cost: NonNegative
    purchase_order_id: Id | None = None
    manufacturing_order_id: Id | None = None


class StockConsumed(DomainEvent, frozen=True, kw_only=True):
    """Stock leaves through a sale or into production, taken FIFO by expiry."""

    store_id: Id
    item_id: Id
    quantity: Positive
    allocations: tuple[LotAllocation, ...]
    shortfall: NonNegative = Decimal(0)
    cause: ConsumptionCause
    reference: str  # the sale stream or batch that consumed it


class StockReturned(DomainEvent, frozen=True, kw_only=True):
    """A voided sale gives back exactly what its consumption took."""

    store_id: Id
    item_id: Id
    allocations: tuple[LotAllocation, ...]
    shortfall: NonNegative = Decimal(0)
    reference: str


class StockTransferredOut(DomainEvent, frozen=True, kw_only=True):
    """Lots leave the central workshop for an outlet (FIFO by expiry)."""

    transfer_id: Id
    store_id: Id
    to_store_id: Id
    item_id: Id
    lots: tuple[TransferredLot, ...]


class StockTransferredIn(DomainEvent, frozen=True, kw_only=True):
    """The same lots arrive at the outlet, keeping their expiry and cost."""

    transfer_id: Id
    store_id: Id
    from_store_id: Id
    item_id: Id
    item_kind: ItemKind
    lots: tuple[TransferredLot, ...]


class StockAdjusted(DomainEvent, frozen=True, kw_only=True):
    """A physical count replaced the book quantity; ``delta`` = counted - book.

    After it, the lots hold exactly ``counted_quantity`` and no shortfall is left.
    """

    store_id: Id
    item_id: Id
    counted_quantity: NonNegative
    book_quantity: Decimal
    delta: Decimal
    reason: str
    #: Lots reduced (FIFO by expiry) when the count was below the book.
    allocations: tuple[LotAllocation, ...] = ()
    #: When the count was above what the lots hold, the surplus becomes this lot.
    surplus_lot_id: Id | None = None
    surplus_quantity: NonNegative = Decimal(0)


class WasteRecorded(DomainEvent, frozen=True, kw_only=True):
    store_id: Id
    item_id: Id
    quantity: Positive
    reason: WasteReason
    allocations: tuple[LotAllocation, ...]
    note: str | None = None


class TemperatureRecorded(DomainEvent, frozen=True, kw_only=True):
    """A cold-chain reading against the HACCP limits of that equipment."""

    store_id: Id
    equipment_id: Id
    celsius: Decimal
    min_celsius: Decimal
    max_celsius: Decimal
    within_limits: bool
