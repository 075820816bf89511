"""The dashboard summary: per store, today against the same weekday last week,
stock that needs a look, open production orders, and a health status.

Health rule (docs/api.md), worst reason wins, the tenant takes its worst store:

- **red**: an item's on hand is below zero (sales outran the books), or a
  confirmed / in-progress production order's date has passed.
- **yellow**: an item's available stock is below zero while on hand is not
  (open orders reserve more than there is), a suggested order for today or
  earlier awaits confirmation, or sales so far are down by more than
  ``SALES_DROP`` against the same hours of the same weekday last week (judged
  only when last week sold at least ``MIN_UNITS_TO_JUDGE`` units by then).
- **green**: none of these.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from domain.zones import known_zone
from read_api.queries import Conn
from read_api.schemas import DashboardSummary, Health, StoreSummary

SALES_DROP = Decimal("0.30")
MIN_UNITS_TO_JUDGE = Decimal(20)
_RANK: dict[Health, int] = {"green": 0, "yellow": 1, "red": 2}
_ZERO = Decimal(0)
_OPEN = "('suggested', 'confirmed', 'in_progress')"


@dataclass
class StoreState:
    store_id: str
    timezone: str
    today: date
    through_hour: int
    sales: dict[date, tuple[Decimal, Decimal]] = field(default_factory=dict)
    negative: list[str] = field(default_factory=list)
    short: list[str] = field(default_factory=list)
    open_orders: int = 0
    late_orders: int = 0
    to_confirm: int = 0


def _local(now: datetime, timezone: str | None, as_of: date | None) -> tuple[str, date, int]:
    """The store's zone, business date and hours to count (all 24 for a date asked for)."""
    found = known_zone(timezone) if timezone else None
    zone = found or UTC
    name = timezone if found is not None and timezone else "UTC"
    if as_of is not None:
        return name, as_of, 24
    local = now.astimezone(zone)
    return name, local.date(), local.hour + 1


async def _stores(
    conn: Conn, tenant_id: str, now: datetime, as_of: date | None
) -> list[StoreState]:
    cur = await conn.execute(
        "SELECT store_id, max(timezone) FROM ("
        " SELECT store_id, timezone FROM rm_sales_store_timezones WHERE tenant_id = %s"
        " UNION ALL SELECT DISTINCT store_id, NULL FROM rm_inventory_stock WHERE tenant_id = %s"
        " UNION ALL SELECT DISTINCT producing_store_id, NULL FROM rm_production_orders"
        f" WHERE tenant_id = %s AND status IN {_OPEN}"
        ") AS s GROUP BY store_id ORDER BY store_id",
        (tenant_id, tenant_id, tenant_id),
    )
    return [
        StoreState(store_id, *_local(now, timezone, as_of))
        for store_id, timezone in await cur.fetchall()
    ]


async def _load_sales(conn: Conn, tenant_id: str, stores: dict[str, StoreState]) -> None:
    keys = [
        (s.store_id, day, s.through_hour)
        for s in stores.values()
        for day in (s.today, s.today - timedelta(days=7))
    ]
    cur = await conn.execute(
        "SELECT k.store_id, k.day, coalesce(sum(h.units), 0), coalesce(sum(h.revenue), 0)"
        " FROM unnest(%s::text[], %s::date[], %s::int[]) AS k(store_id, day, hours)"
        " LEFT JOIN rm_sales_hourly AS h ON h.tenant_id = %s AND h.store_id = k.store_id"
        " AND h.sales_date = k.day AND h.hour < k.hours GROUP BY k.store_id, k.day",
        ([k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys], tenant_id),
    )
    for store_id, day, units, revenue in await cur.fetchall():
        stores[store_id].sales[day] = (units, revenue)


async def _load_stock(conn: Conn, tenant_id: str, stores: dict[str, StoreState]) -> None:
    cur = await conn.execute(
        "SELECT store_id, item_id, negative FROM rm_inventory_stock"
        " WHERE tenant_id = %s AND (negative OR available < 0) ORDER BY store_id, item_id",
        (tenant_id,),
    )
    for store_id, item_id, negative in await cur.fetchall():
        if store_id not in stores:
            continue  # outside a store manager's stores
        store = stores[store_id]
        (store.negative if negative else store.short).append(item_id)


async def _load_orders(conn: Conn, tenant_id: str, stores: dict[str, StoreState]) -> None:
    cur = await conn.execute(
        "SELECT producing_store_id, status, production_date FROM rm_production_orders"
        f" WHERE tenant_id = %s AND status IN {_OPEN}",
        (tenant_id,),
    )
    for store_id, status, day in await cur.fetchall():
        if store_id not in stores:
            continue  # outside a store manager's stores
        store = stores[store_id]
        store.open_orders += 1
        if status == "suggested" and day <= store.today:
            store.to_confirm += 1
        elif status != "suggested" and day < store.today:
            store.late_orders += 1


def checklist(store: StoreState) -> list[tuple[str, Health, str]]:
    """Every check of the health rule with its colour: (check, status, detail)."""
    found: list[tuple[str, Health, str]] = []
    negative = ", ".join(store.negative[:5])
    found.append(
        ("stock_below_zero", "red", f"{len(store.negative)} item(s) below zero on hand: {negative}")
        if store.negative
        else ("stock_below_zero", "green", "no item below zero on hand")
    )
    found.append(
        (
            "production_on_schedule",
            "red",
            f"{store.late_orders} production order(s) behind schedule",
        )
        if store.late_orders
        else ("production_on_schedule", "green", "no production order behind schedule")
    )
    short = ", ".join(store.short[:5])
    found.append(
        (
            "stock_reserved",
            "yellow",
            f"{len(store.short)} item(s) with less stock than reserved: {short}",
        )
        if store.short
        else ("stock_reserved", "green", "open orders reserve no more than there is")
    )
    found.append(
        ("plan_confirmed", "yellow", f"{store.to_confirm} suggested order(s) await confirmation")
        if store.to_confirm
        else ("plan_confirmed", "green", "no suggested order for today awaits confirmation")
    )
    found.append(_sales_check(store))
    return found


def _sales_check(store: StoreState) -> tuple[str, Health, str]:
    _, revenue = store.sales.get(store.today, (_ZERO, _ZERO))
    units_before, revenue_before = store.sales.get(store.today - timedelta(days=7), (_ZERO, _ZERO))
    if units_before < MIN_UNITS_TO_JUDGE:
        return ("sales_pace", "green", "too few sales last week by this hour to judge")
    if revenue < revenue_before * (1 - SALES_DROP):
        drop = (1 - revenue / revenue_before) * 100 if revenue_before else Decimal(100)
        return ("sales_pace", "yellow", f"revenue {drop:.0f} % below the same weekday last week")
    return ("sales_pace", "green", "revenue on pace with the same weekday last week")


def worst(statuses: Iterable[Health]) -> Health:
    return max(statuses, key=_RANK.__getitem__, default="green")


def _judge(store: StoreState) -> tuple[Health, list[str]]:
    found = [(status, detail) for _, status, detail in checklist(store) if status != "green"]
    return worst(h for h, _ in found), [reason for _, reason in found]


def _summary(store: StoreState) -> StoreSummary:
    status, reasons = _judge(store)
    last_week = store.today - timedelta(days=7)
    units, revenue = store.sales.get(store.today, (_ZERO, _ZERO))
    units_before, revenue_before = store.sales.get(last_week, (_ZERO, _ZERO))
    return StoreSummary(
        store_id=store.store_id,
        timezone=store.timezone,
        business_date=store.today,
        compared_with=last_week,
        through_hour=store.through_hour,
        units_today=units,
        revenue_today=revenue,
        units_last_week=units_before,
        revenue_last_week=revenue_before,
        negative_items=store.negative,
        short_items=store.short,
        open_production_orders=store.open_orders,
        late_production_orders=store.late_orders,
        orders_to_confirm=store.to_confirm,
        status=status,
        reasons=reasons,
    )


async def load_stores(
    conn: Conn,
    tenant_id: str,
    *,
    now: datetime,
    as_of: date | None = None,
    only_stores: frozenset[str] | None = None,
) -> dict[str, StoreState]:
    """Each store's local day, sales against last week, stock and open orders."""
    found = await _stores(conn, tenant_id, now, as_of)
    stores = {s.store_id: s for s in found if only_stores is None or s.store_id in only_stores}
    await _load_sales(conn, tenant_id, stores)
    await _load_stock(conn, tenant_id, stores)
    await _load_orders(conn, tenant_id, stores)
    return stores


async def dashboard_summary(
    conn: Conn,
    tenant_id: str,
    *,
    now: datetime,
    as_of: date | None = None,
    only_stores: frozenset[str] | None = None,
) -> DashboardSummary:
    """``only_stores``: a store manager's stores (the others are not shown, nor counted)."""
    stores = await load_stores(conn, tenant_id, now=now, as_of=as_of, only_stores=only_stores)
    summaries = [_summary(s) for s in sorted(stores.values(), key=lambda s: s.store_id)]
    status = worst(s.status for s in summaries)
    return DashboardSummary(tenant_id=tenant_id, generated_at=now, status=status, stores=summaries)
