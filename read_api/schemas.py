"""What the read API returns: frozen msgspec Structs, one per resource row.

Quantities and money are ``Decimal`` (JSON strings), exactly as the read
models store them; dates are ISO 8601.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

import msgspec

Health = Literal["green", "yellow", "red"]
ProductionStatus = Literal["suggested", "confirmed", "in_progress", "completed", "cancelled"]
PurchaseStatus = Literal["draft", "approved", "sent", "partially_received", "received", "cancelled"]


class Out(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every response body."""


class PageInfo(Out, frozen=True, kw_only=True, omit_defaults=True):
    """Base of every list answer: whether rows follow, and how to get them (read_api.paging)."""

    has_more: bool
    #: opaque; pass as ``cursor=`` with the same filters for the next page (absent on the last)
    next_cursor: str | None = None
    #: the next page's URL (path and query), absent on the last page
    next: str | None = None


class StockRow(Out, frozen=True, kw_only=True):
    store_id: str
    item_id: str
    item_kind: str | None
    on_hand: Decimal
    reserved: Decimal
    available: Decimal
    stock_value: Decimal
    negative: bool
    last_event_at: datetime


class StockPage(PageInfo, frozen=True, kw_only=True, omit_defaults=True):
    items: list[StockRow]


class Lot(Out, frozen=True, kw_only=True):
    lot_id: str
    quantity: Decimal
    expires_on: date | None
    unit_cost: Decimal
    received_at: datetime
    origin: str
    origin_id: str | None
    received_position: int  # global position of the event that brought it (FIFO tie-break)


class ItemLots(PageInfo, frozen=True, kw_only=True, omit_defaults=True):
    store_id: str
    item_id: str
    on_hand: Decimal
    lots: list[Lot]  # FIFO: the order in which stock is taken


class DailySales(Out, frozen=True, kw_only=True):
    store_id: str
    sku: str
    sales_date: date
    units: Decimal
    revenue: Decimal
    tickets: int


class DailySalesPage(PageInfo, frozen=True, kw_only=True, omit_defaults=True):
    items: list[DailySales]


class ProductionOrder(Out, frozen=True, kw_only=True):
    order_id: str
    sku: str
    quantity: Decimal
    production_date: date
    producing_store_id: str
    destination_store_id: str
    status: str
    reason: str
    created_at: datetime
    confirmed_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    quantity_produced: Decimal | None
    batches: int
    quality_failures: int
    updated_at: datetime


class ProductionOrderPage(PageInfo, frozen=True, kw_only=True, omit_defaults=True):
    items: list[ProductionOrder]


class PurchaseOrder(Out, frozen=True, kw_only=True):
    po_id: str
    supplier_id: str
    supplier_name: str | None
    store_id: str
    status: str
    expected_delivery_at: datetime
    overdue: bool
    line_count: int
    ordered_quantity: Decimal
    received_quantity: Decimal
    ordered_value: Decimal
    received_value: Decimal
    drafted_at: datetime
    updated_at: datetime


class PurchaseOrderPage(PageInfo, frozen=True, kw_only=True, omit_defaults=True):
    items: list[PurchaseOrder]


class Forecast(Out, frozen=True, kw_only=True):
    """The latest published forecast of one product in one store for one day."""

    store_id: str
    sku: str
    day: date
    mean: Decimal
    lower: Decimal
    upper: Decimal
    interval_level: float
    forecast_id: str
    model: str
    model_version: str
    published_at: datetime


class ForecastPage(PageInfo, frozen=True, kw_only=True, omit_defaults=True):
    items: list[Forecast]


class StoreSummary(Out, frozen=True, kw_only=True):
    store_id: str
    timezone: str
    business_date: date  # the store's "today" (local), or the date asked for
    compared_with: date  # the same weekday one week earlier
    through_hour: int  # local hours counted on both days (24 = whole day)
    units_today: Decimal
    revenue_today: Decimal
    units_last_week: Decimal
    revenue_last_week: Decimal
    negative_items: list[str]  # on hand below zero: sales outran the books
    short_items: list[str]  # on hand >= 0 but available < 0: reservations exceed stock
    open_production_orders: int
    late_production_orders: int
    orders_to_confirm: int
    status: Health
    reasons: list[str]


class DashboardSummary(Out, frozen=True, kw_only=True):
    tenant_id: str
    generated_at: datetime
    status: Health
    stores: list[StoreSummary]


class HealthCheck(Out, frozen=True, kw_only=True):
    status: Literal["ok"]
    database: Literal["ok"]


class FieldError(Out, frozen=True, kw_only=True):
    """One refused input: which one, where it was, and why."""

    field: str  # the parameter's name as the client sends it (``from``, not ``from_``)
    source: Literal["query", "path", "header", "cookie", "body"]
    reason: str


class Problem(Out, frozen=True, kw_only=True):
    """An RFC 9457 / 7807 problem document (``application/problem+json``); every error."""

    type: str  # ``urn:obrador:problem:<kind>`` (docs/api.md lists them), else ``about:blank``
    title: str  # the HTTP reason phrase
    status: int
    detail: str  # what went wrong, for a person; never internals
    errors: list[FieldError] = msgspec.field(default_factory=list)  # refused inputs, if any
