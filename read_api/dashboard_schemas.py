"""What ``GET /v1/dashboard`` returns: the 5 AM screen as typed data (docs/dashboard.md).

Quantities and money are ``Decimal`` (JSON strings), dates ISO 8601, times UTC;
every "today" is the store's own local business date.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from read_api.schemas import Health, Out

Group = Literal["urgent", "today", "this_week"]
QueueKind = Literal["alert", "production_order", "purchase_order"]


class Check(Out, frozen=True, kw_only=True):
    """One line of the health checklist: what was checked, its colour, and why."""

    check: str  # stock_below_zero, production_on_schedule, stock_reserved, plan_confirmed, ...
    status: Health
    detail: str


class QueueCommand(Out, frozen=True, kw_only=True):
    """An HTTP command that acts on a queue item: ``POST {path}`` with ``body``."""

    label: str  # the button: "Confirm", "Approve", "Acknowledge", "Set quantity"
    path: str  # under the API root, e.g. /v1/production-orders/confirm
    body: dict[str, str]
    input: str | None = None  # a body field the person types first (e.g. "quantity")


class QueueItem(Out, frozen=True, kw_only=True):
    kind: QueueKind
    ref_id: str  # the alert, production order or purchase order id
    group: Group
    score: int  # 0-100, most important first
    title: str
    action: str  # what to do
    consequence: str  # what not acting costs
    store_id: str | None
    deadline: datetime | None
    alert_id: str | None  # the alert behind (or merged into) this item
    commands: list[QueueCommand]


class ActionQueue(Out, frozen=True, kw_only=True):
    top: list[QueueItem]  # the (at most) five most important, across the groups
    urgent: list[QueueItem]
    today: list[QueueItem]
    this_week: list[QueueItem]
    acknowledged_alerts: int  # someone has them: not in the queue
    snoozed_alerts: int


class TimelineEntry(Out, frozen=True, kw_only=True):
    """A manufacturing order of the day, with its batches so far."""

    order_id: str
    sku: str
    quantity: Decimal
    status: str
    production_date: date
    planned_start: datetime  # production_date at the tenant's production start hour, local
    started_at: datetime | None
    completed_at: datetime | None
    quantity_produced: Decimal | None
    batches: int
    batch_yield: Decimal
    quality_failures: int
    destination_store_id: str
    late: bool  # confirmed and not started by its planned start, or in progress past its day


class PlanLine(Out, frozen=True, kw_only=True):
    """What the planner suggested for today (or already for tomorrow), and why."""

    order_id: str
    sku: str
    quantity: Decimal
    status: str
    production_date: date
    forecast_mean: Decimal | None
    forecast_lower: Decimal | None
    forecast_upper: Decimal | None
    interval_level: float | None
    model: str | None
    usable_stock: Decimal  # lots still sellable on the production day, less any shortfall
    summary: str  # "planned 420 barra for centro today: forecast 395 (80 % 355-435), 12 usable…"
    reason: str  # the planner's own reasoning (quantile, critical ratio, batches)


class DaySales(Out, frozen=True, kw_only=True):
    day: date
    units: Decimal
    revenue: Decimal


class SalesInsight(Out, frozen=True, kw_only=True):
    today: DaySales
    through_hour: int  # local hours counted on every day compared (24: whole days)
    same_weekday: list[DaySales]  # 1..WEEKS_BACK weeks before, latest first
    average_revenue: Decimal | None  # of same_weekday
    change_pct: Decimal | None  # today's revenue against that average


class WasteInsight(Out, frozen=True, kw_only=True):
    week_start: date  # Monday of the business date's week
    units_this_week: Decimal  # Monday .. business date
    value_this_week: Decimal
    units_last_week: Decimal  # the same days one week earlier
    value_last_week: Decimal


class DeliveryDue(Out, frozen=True, kw_only=True):
    po_id: str
    supplier_id: str
    supplier_name: str | None
    status: str
    expected_delivery_at: datetime
    ordered_value: Decimal
    overdue: bool


class Insights(Out, frozen=True, kw_only=True):
    sales: SalesInsight
    waste: WasteInsight
    stock_value: Decimal
    deliveries_due: list[DeliveryDue]  # open orders expected before the end of tomorrow


class StoreDashboard(Out, frozen=True, kw_only=True):
    store_id: str
    timezone: str
    business_date: date
    status: Health
    checks: list[Check]
    timeline: list[TimelineEntry]
    overnight: list[PlanLine]
    insights: Insights


class Dashboard(Out, frozen=True, kw_only=True):
    tenant_id: str
    scope: str  # "chain" or the store asked for
    generated_at: datetime
    status: Health  # the worst store (and tenant-wide alerts)
    checks: list[Check]  # the chain's checklist: each check's worst store
    action_queue: ActionQueue
    stores: list[StoreDashboard]
