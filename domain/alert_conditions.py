"""What an alert rule returns (``Condition``) and what it reads besides the facts (``Context``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Final
from zoneinfo import ZoneInfo

from domain.alert_facts import (
    ItemFacts,
    StockFacts,
    TenantFacts,
)
from domain.alerts import Factors
from domain.zones import zone_or_utc

ZERO: Final = Decimal(0)
CENT: Final = Decimal("0.01")


@dataclass(frozen=True)
class Related:
    """What an alert is about: the store, item, orders, lot, supplier or equipment."""

    store_id: str | None = None
    item_id: str | None = None
    order_id: str | None = None
    lot_id: str | None = None
    supplier_id: str | None = None
    equipment_id: str | None = None
    po_id: str | None = None


@dataclass(frozen=True)
class Condition:
    """One condition a subject is in: what the alert for it says."""

    key: str  # the dedup key: the same condition always has the same key
    type: str
    factors: Factors
    title: str
    description: str
    action: str
    consequence: str
    units: Decimal | None = None
    euros: Decimal | None = None
    deadline: datetime | None = None
    related: Related = field(default_factory=Related)
    #: Dedup keys of the conditions that cause this one (late or unconfirmed production).
    caused_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Context:
    now: datetime
    tenant: TenantFacts
    items: Callable[[str], ItemFacts | None] = field(default=lambda _: None)
    #: the stock record of (store, item), for rules that read another subject's stock
    stocks: Callable[[str, str], StockFacts | None] = field(default=lambda _s, _i: None)

    def zone(self, store_id: str) -> ZoneInfo:
        return zone_or_utc(self.tenant.timezones.get(store_id, "UTC"))

    def today(self, store_id: str) -> date:
        return self.now.astimezone(self.zone(store_id)).date()

    def local(self, store_id: str, day: date, hour: int = 0) -> datetime:
        return datetime.combine(day, time(hour), tzinfo=self.zone(store_id))


def money(amount: Decimal) -> str:
    return f"€{amount.quantize(CENT)}"


def qty(amount: Decimal) -> str:
    return f"{amount.normalize():f}"


def hours(delta: timedelta) -> str:
    return f"{abs(delta.total_seconds()) / 3600:.0f} h"


def delay(status: str, store: str, day: date, ctx: Context) -> str | None:
    """How an open order is behind (the type of its alert), or None when it is on time."""
    start = ctx.local(store, day, ctx.tenant.settings.production_start_hour)
    ahead = timedelta(hours=ctx.tenant.settings.unconfirmed_plan_hours)
    if status == "suggested" and ctx.now >= start - ahead:
        return "plan_unconfirmed"
    if status == "confirmed" and ctx.now >= start:
        return "production_late"
    if status == "in_progress" and ctx.now >= ctx.local(store, day + timedelta(days=1)):
        return "production_overdue"
    return None
