"""The two inventory tables as the fold sees them: stock rows and per-batch lot moves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from projections.models._sql import Row, spec

STOCK = spec(
    "rm_inventory_stock",
    3,
    "tenant_id text",
    "store_id text",
    "item_id text",
    "item_kind text",
    "on_hand numeric",
    "lot_quantity numeric",
    "shortfall numeric",
    "reserved numeric",
    "available numeric",
    "stock_value numeric",
    "negative boolean",
    "last_position bigint",
    "last_event_at timestamptz",
)
LOTS = spec(
    "rm_inventory_lots",
    4,
    "tenant_id text",
    "store_id text",
    "item_id text",
    "lot_id text",
    "quantity numeric",
    "expires_on date",
    "unit_cost numeric",
    "received_position bigint",
    "received_at timestamptz",
    "origin text",
    "origin_id text",
)

#: Sales of items the catalogue did not know: counted here, never taken from the lots.
UNKNOWN_SALES = spec(
    "rm_inventory_unknown_sales",
    3,
    "tenant_id text",
    "store_id text",
    "item_id text",
    "units numeric",
    "tickets bigint",
    "last_position bigint",
    "last_sold_at timestamptz",
)

UNKNOWN_SALE = "UnknownItemSaleRecorded"
STOCK_EVENTS = frozenset(
    {
        UNKNOWN_SALE,
        "StockReceived",
        "StockExpired",
        "DayClosed",
        "StockConsumed",
        "StockReturned",
        "StockTransferredOut",
        "StockTransferredIn",
        "StockAdjusted",
        "WasteRecorded",
    }
)

StockKey = tuple[str, str, str]  # tenant, store, item
LotKey = tuple[str, str, str, str]  # tenant, store, item, lot


@dataclass(slots=True)
class StockRow:
    item_kind: str | None
    lot_quantity: Decimal
    shortfall: Decimal
    reserved: Decimal
    value: Decimal
    last_position: int
    last_event_at: datetime

    def row(self, key: StockKey) -> Row:
        on_hand = self.lot_quantity - self.shortfall
        available = on_hand - self.reserved
        return (
            *key,
            self.item_kind,
            on_hand,
            self.lot_quantity,
            self.shortfall,
            self.reserved,
            available,
            self.value,
            on_hand < 0,
            self.last_position,
            self.last_event_at,
        )


@dataclass(slots=True)
class LotMove:
    """What a batch does to one lot: the quantity it adds (negative: takes) and,
    should the lot be new, what it is created with."""

    delta: Decimal
    expires_on: date | None
    unit_cost: Decimal
    received_position: int
    received_at: datetime
    origin: str
    origin_id: str | None

    def row(self) -> Row:
        return (
            self.delta,
            self.expires_on,
            self.unit_cost,
            self.received_position,
            self.received_at,
            self.origin,
            self.origin_id,
        )
