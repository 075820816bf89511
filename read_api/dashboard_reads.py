"""The SELECTs behind the dashboard: one query per part, every store of the view at once.

Each function takes ``days``: store id -> that store's business date, so every
"today" is store-local. Only read-model tables are read (docs/dashboard.md).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

from domain.streams import WORKSHOP_PLAN_PREFIX
from domain.zones import zone_or_utc
from read_api.dashboard_queue import DraftPurchase, SuggestedOrder
from read_api.dashboard_schemas import DaySales, DeliveryDue, PlanLine, TimelineEntry
from read_api.queries import Conn

WEEKS_BACK: Final = 4
PLAN_AHEAD_DAYS: Final = 6
DEFAULT_START_HOUR: Final = 5
_ZERO: Final = Decimal(0)


def zone(name: str) -> ZoneInfo:
    return zone_or_utc(name)


def local_start(day: date, hour: int, timezone: str) -> datetime:
    """``hour`` o'clock on ``day`` in the store's zone, in UTC."""
    return datetime.combine(day, time(hour), tzinfo=zone(timezone)).astimezone(UTC)


def _keys(days: dict[str, date]) -> tuple[list[str], list[date]]:
    return list(days), list(days.values())


async def start_hour(conn: Conn, tenant_id: str) -> int:
    """The tenant's production start hour (alert settings, an event), 5 by default."""
    cur = await conn.execute(
        "SELECT facts->'settings'->>'production_start_hour' FROM rm_alert_facts"
        " WHERE tenant_id = %s AND subject = 'tenant'",
        (tenant_id,),
    )
    row = await cur.fetchone()
    return int(row[0]) if row and row[0] is not None else DEFAULT_START_HOUR


async def prices(conn: Conn, tenant_id: str, skus: set[str]) -> dict[str, Decimal]:
    """Sale prices from the catalogue facts the alerts read model keeps."""
    if not skus:
        return {}
    cur = await conn.execute(
        "SELECT substr(subject, 6), (facts->>'price')::numeric FROM rm_alert_facts"
        " WHERE tenant_id = %s AND subject = ANY(%s) AND facts->>'price' IS NOT NULL",
        (tenant_id, [f"item/{sku}" for sku in sorted(skus)]),
    )
    return dict(await cur.fetchall())


async def timeline(
    conn: Conn,
    tenant_id: str,
    days: dict[str, date],
    *,
    zones: dict[str, str],
    hour: int,
    now: datetime,
) -> dict[str, list[TimelineEntry]]:
    """Orders produced today (and earlier ones still in progress), by planned start."""
    stores, dates = _keys(days)
    cur = await conn.execute(
        "SELECT o.producing_store_id, o.order_id, o.sku, o.quantity, o.status,"
        " o.production_date, o.started_at, o.completed_at, o.quantity_produced, o.batches,"
        " o.batch_yield, o.quality_failures, o.destination_store_id"
        " FROM unnest(%s::text[], %s::date[]) AS k(store_id, day)"
        " JOIN rm_production_orders AS o ON o.tenant_id = %s"
        " AND o.producing_store_id = k.store_id AND o.status <> 'cancelled'"
        " AND (o.production_date = k.day"
        "  OR (o.status = 'in_progress' AND o.production_date < k.day))"
        " ORDER BY o.production_date, o.started_at NULLS LAST, o.order_id",
        (stores, dates, tenant_id),
    )
    found: dict[str, list[TimelineEntry]] = defaultdict(list)
    for r in await cur.fetchall():
        store, status, day = r[0], r[4], r[5]
        planned = local_start(day, hour, zones[store])
        late = (status == "confirmed" and now > planned) or (
            status == "in_progress" and day < days[store]
        )
        found[store].append(
            TimelineEntry(
                order_id=r[1],
                sku=r[2],
                quantity=r[3],
                status=status,
                production_date=day,
                planned_start=planned,
                started_at=r[6],
                completed_at=r[7],
                quantity_produced=r[8],
                batches=r[9],
                batch_yield=r[10],
                quality_failures=r[11],
                destination_store_id=r[12],
                late=late,
            )
        )
    return found


def _plan_summary(r: tuple[Any, ...], today: date) -> str:
    store, sku, quantity, mean, lower, upper, level, usable, day = (
        r[0], r[2], r[3], r[6], r[7], r[8], r[9], r[11], r[12],
    )  # fmt: skip
    when = "today" if day == today else "tomorrow" if day == today + timedelta(days=1) else day
    text = f"planned {quantity} {sku} for {store} {when}"
    if mean is not None:
        text += f": forecast {mean:.0f} ({level * 100:.0f} % {lower:.0f}–{upper:.0f})"
    text += f", {usable:g} usable in stock"
    return text


async def overnight(conn: Conn, tenant_id: str, days: dict[str, date]) -> dict[str, list[PlanLine]]:
    """Orders the planner suggested for today and tomorrow, with their forecast and the stock."""
    stores, dates = _keys(days)
    cur = await conn.execute(
        "SELECT o.producing_store_id, o.order_id, o.sku, o.quantity, o.status, o.reason,"
        " f.mean, f.lower, f.upper, f.interval_level, f.model,"
        " greatest(coalesce(l.usable, 0) - coalesce(s.shortfall, 0), 0), o.production_date"
        " FROM unnest(%s::text[], %s::date[]) AS k(store_id, day)"
        " JOIN rm_production_orders AS o ON o.tenant_id = %s"
        " AND o.producing_store_id = k.store_id"
        " AND o.production_date BETWEEN k.day AND k.day + 1"
        # the planner's orders: from a forecast, or a workshop's plan (from several)
        " AND (o.forecast_id IS NOT NULL OR starts_with(o.order_id, %s))"
        " LEFT JOIN rm_forecasts AS f ON f.tenant_id = o.tenant_id"
        " AND f.store_id = o.destination_store_id AND f.sku = o.sku AND f.day = o.production_date"
        " LEFT JOIN rm_inventory_stock AS s ON s.tenant_id = o.tenant_id"
        " AND s.store_id = o.destination_store_id AND s.item_id = o.sku"
        # usable as the planner counts it: lots still sellable on the production day
        " LEFT JOIN LATERAL (SELECT sum(quantity) AS usable FROM rm_inventory_lots AS x"
        "  WHERE x.tenant_id = o.tenant_id AND x.store_id = o.destination_store_id"
        "  AND x.item_id = o.sku AND x.quantity > 0"
        "  AND (x.expires_on IS NULL OR x.expires_on >= o.production_date)) AS l ON true"
        " ORDER BY o.producing_store_id, o.production_date, o.sku, o.order_id",
        (stores, dates, tenant_id, WORKSHOP_PLAN_PREFIX),
    )
    found: dict[str, list[PlanLine]] = defaultdict(list)
    for r in await cur.fetchall():
        found[r[0]].append(
            PlanLine(
                order_id=r[1],
                sku=r[2],
                quantity=r[3],
                status=r[4],
                production_date=r[12],
                forecast_mean=r[6],
                forecast_lower=r[7],
                forecast_upper=r[8],
                interval_level=r[9],
                model=r[10],
                usable_stock=r[11],
                summary=_plan_summary(r, days[r[0]]),
                reason=r[5],
            )
        )
    return found


async def weekday_sales(
    conn: Conn, tenant_id: str, days: dict[str, date], hours: dict[str, int]
) -> dict[str, list[DaySales]]:
    """Today, then the same weekday 1..WEEKS_BACK weeks before, through the same hour."""
    keys = [
        (s, day - timedelta(weeks=k), hours[s])
        for s, day in days.items()
        for k in range(WEEKS_BACK + 1)
    ]
    cur = await conn.execute(
        "SELECT k.store_id, k.day, coalesce(sum(h.units), 0), coalesce(sum(h.revenue), 0)"
        " FROM unnest(%s::text[], %s::date[], %s::int[]) AS k(store_id, day, hours)"
        " LEFT JOIN rm_sales_hourly AS h ON h.tenant_id = %s AND h.store_id = k.store_id"
        " AND h.sales_date = k.day AND h.hour < k.hours"
        " GROUP BY k.store_id, k.day ORDER BY k.store_id, k.day DESC",
        ([k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys], tenant_id),
    )
    found: dict[str, list[DaySales]] = defaultdict(list)
    for store, day, units, revenue in await cur.fetchall():
        found[store].append(DaySales(day=day, units=units, revenue=revenue))
    return found


async def waste_weeks(
    conn: Conn, tenant_id: str, days: dict[str, date]
) -> dict[str, tuple[Decimal, Decimal, Decimal, Decimal]]:
    """(units, euros) Monday..today and the same days a week before, from ``rm_waste_daily``."""
    stores, dates = _keys(days)
    cur = await conn.execute(
        "SELECT k.store_id,"
        " coalesce(sum(w.units) FILTER (WHERE w.day > k.day - 7), 0),"
        " coalesce(sum(w.value) FILTER (WHERE w.day > k.day - 7), 0),"
        " coalesce(sum(w.units) FILTER (WHERE w.day <= k.day - 7), 0),"
        " coalesce(sum(w.value) FILTER (WHERE w.day <= k.day - 7), 0)"
        " FROM unnest(%s::text[], %s::date[]) AS k(store_id, day)"
        " LEFT JOIN rm_waste_daily AS w ON w.tenant_id = %s AND w.store_id = k.store_id"
        " AND ((w.day BETWEEN k.day - extract(isodow FROM k.day)::int + 1 AND k.day)"
        "  OR (w.day BETWEEN k.day - extract(isodow FROM k.day)::int - 6 AND k.day - 7))"
        " GROUP BY k.store_id",
        (stores, dates, tenant_id),
    )
    return {r[0]: (r[1], r[2], r[3], r[4]) for r in await cur.fetchall()}


async def stock_values(conn: Conn, tenant_id: str, stores: list[str]) -> dict[str, Decimal]:
    cur = await conn.execute(
        "SELECT store_id, sum(stock_value) FROM rm_inventory_stock"
        " WHERE tenant_id = %s AND store_id = ANY(%s) GROUP BY store_id",
        (tenant_id, stores),
    )
    return dict(await cur.fetchall())


async def deliveries_due(
    conn: Conn, tenant_id: str, cutoffs: dict[str, datetime], now: datetime
) -> dict[str, list[DeliveryDue]]:
    """Approved or sent orders expected before each store's cutoff (overdue ones too)."""
    cur = await conn.execute(
        "SELECT o.store_id, o.po_id, o.supplier_id, s.name, o.status, o.expected_delivery_at,"
        " o.ordered_value FROM unnest(%s::text[], %s::timestamptz[]) AS k(store_id, cutoff)"
        " JOIN rm_purchase_orders AS o ON o.tenant_id = %s AND o.store_id = k.store_id"
        " AND o.status IN ('approved', 'sent', 'partially_received')"
        " AND o.expected_delivery_at < k.cutoff"
        " LEFT JOIN rm_purchase_suppliers AS s ON s.tenant_id = o.tenant_id"
        " AND s.supplier_id = o.supplier_id ORDER BY o.expected_delivery_at, o.po_id",
        (list(cutoffs), list(cutoffs.values()), tenant_id),
    )
    found: dict[str, list[DeliveryDue]] = defaultdict(list)
    for r in await cur.fetchall():
        found[r[0]].append(
            DeliveryDue(
                po_id=r[1],
                supplier_id=r[2],
                supplier_name=r[3],
                status=r[4],
                expected_delivery_at=r[5],
                ordered_value=r[6],
                overdue=r[5] < now,
            )
        )
    return found


async def suggested_orders(
    conn: Conn, tenant_id: str, days: dict[str, date]
) -> list[SuggestedOrder]:
    """Suggested orders produced up to PLAN_AHEAD_DAYS after each store's today."""
    stores, dates = _keys(days)
    cur = await conn.execute(
        "SELECT o.order_id, o.sku, o.quantity, o.production_date, o.producing_store_id, k.day"
        " FROM unnest(%s::text[], %s::date[]) AS k(store_id, day)"
        " JOIN rm_production_orders AS o ON o.tenant_id = %s AND o.status = 'suggested'"
        " AND o.producing_store_id = k.store_id AND o.production_date <= k.day + %s"
        " ORDER BY o.production_date, o.order_id",
        (stores, dates, tenant_id, PLAN_AHEAD_DAYS),
    )
    rows = await cur.fetchall()
    price = await prices(conn, tenant_id, {r[1] for r in rows})
    return [
        SuggestedOrder(
            order_id=r[0],
            sku=r[1],
            quantity=r[2],
            production_date=r[3],
            store_id=r[4],
            store_today=r[5],
            price=price.get(r[1]),
        )
        for r in rows
    ]


async def draft_purchases(conn: Conn, tenant_id: str, stores: list[str]) -> list[DraftPurchase]:
    cur = await conn.execute(
        "SELECT o.po_id, coalesce(s.name, o.supplier_id), o.store_id, o.expected_delivery_at,"
        " o.ordered_value FROM rm_purchase_orders AS o"
        " LEFT JOIN rm_purchase_suppliers AS s ON s.tenant_id = o.tenant_id"
        " AND s.supplier_id = o.supplier_id"
        " WHERE o.tenant_id = %s AND o.status = 'draft' AND o.store_id = ANY(%s)"
        " ORDER BY o.expected_delivery_at, o.po_id",
        (tenant_id, stores),
    )
    return [
        DraftPurchase(po_id=r[0], supplier=r[1], store_id=r[2], expected_at=r[3], value=r[4])
        for r in await cur.fetchall()
    ]


async def snoozed_count(conn: Conn, tenant_id: str, stores: list[str] | None) -> int:
    clause = "" if stores is None else " AND store_id = ANY(%s)"
    params: list[Any] = [tenant_id] if stores is None else [tenant_id, stores]
    cur = await conn.execute(
        f"SELECT count(*) FROM rm_alerts WHERE tenant_id = %s AND status = 'snoozed'{clause}",
        params,
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0
