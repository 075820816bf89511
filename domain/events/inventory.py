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
    #: Cost of what was wasted (sum of quantity x lot unit cost); None in older events.
    value: NonNegative | None = None
    #: The store-local day it happened; None in older events (then the UTC day of occurred_at).
    day: date | None = None


class StockExpired(DomainEvent, frozen=True, kw_only=True):
    """Lots whose expiry passed leave the books, as of a clock reading (time is an input).

    A lot with ``expires_on`` = D is sellable through the end of D in the store's
    time zone; from the store-local day ``day`` > D on it has expired.
    """

    store_id: Id
    item_id: Id
    day: date
    allocations: tuple[LotAllocation, ...]
    value: NonNegative  # sum of quantity x lot unit cost


class CloseOutcome(StrEnum):
    WASTE = "waste"  # thrown away
    DONATION = "donation"  # given to a food bank
    MARKDOWN = "markdown"  # sold off at a reduced price at closing
    CARRIED = "carried"  # kept for tomorrow (only lots that keep past the day)


class ClosedQuantity(Value, frozen=True, kw_only=True):
    """What became of part of the stock left at closing."""

    outcome: CloseOutcome
    quantity: Positive
    #: Lots it was taken from (FIFO by expiry); empty for what is carried over.
    allocations: tuple[LotAllocation, ...] = ()
    value: NonNegative = Decimal(0)  # cost of the lots taken


class DayClosed(DomainEvent, frozen=True, kw_only=True):
    """A store's end of day for one item: what remained and what became of it.

    A confirmed close carries a count: the lots are first made to hold exactly
    ``counted_quantity`` (``discrepancy`` = counted - book, lots reduced FIFO or a
    surplus lot added, any shortfall settled), then each outcome takes its lots.
    An ``automatic`` close was made from the books (no count): nothing is
    adjusted, whatever expires by the end of the day is wasted, the rest carried.
    """

    store_id: Id
    item_id: Id
    day: date
    automatic: bool = False
    book_quantity: Decimal
    counted_quantity: NonNegative
    discrepancy: Decimal = Decimal(0)
    discrepancy_allocations: tuple[LotAllocation, ...] = ()
    discrepancy_value: NonNegative = Decimal(0)
    surplus_lot_id: Id | None = None
    surplus_quantity: NonNegative = Decimal(0)
    surplus_expires_on: date | None = None
    outcomes: tuple[ClosedQuantity, ...] = ()


class UnknownItemSaleRecorded(DomainEvent, frozen=True, kw_only=True):
    """A ticket sold an item the catalogue does not know: kept out of the lots until it is."""

    store_id: Id
    item_id: Id
    quantity: Positive
    reference: str  # the sale stream


class TemperatureRecorded(DomainEvent, frozen=True, kw_only=True):
    """A cold-chain reading against the HACCP limits of that equipment."""

    store_id: Id
    equipment_id: Id
    celsius: Decimal
    min_celsius: Decimal
    max_celsius: Decimal
    within_limits: bool
