"""The dashboard read model: queries over the existing read models, put together (ADR 0011).

``build_dashboard`` answers ``GET /v1/dashboard`` and renders the page: per
store its health checklist, today's production timeline, the overnight plan
and the insights; for the view (one store or the chain) the worst health and
one action queue. Nothing here writes: the dashboard is as fresh as the read
models it reads, and a rebuild of those is a rebuild of it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from read_api import dashboard_reads as reads
from read_api.alerts import Alert, list_alerts
from read_api.dashboard import StoreState, checklist, load_stores, worst
from read_api.dashboard_queue import alert_group, build_queue
from read_api.dashboard_schemas import (
    Check,
    Dashboard,
    DaySales,
    Insights,
    SalesInsight,
    StoreDashboard,
    WasteInsight,
)
from read_api.queries import Conn

_ZERO = Decimal(0)
_ALERT_CHECK = "alerts"


def _alert_check(alerts: list[Alert], now: datetime) -> Check:
    urgent = [a for a in alerts if alert_group(a, now) == "urgent"]
    high = [a for a in alerts if a.severity == "high" and a not in urgent]
    if urgent:
        return Check(
            check=_ALERT_CHECK,
            status="red",
            detail=f"{len(urgent)} urgent alert(s) unacknowledged: {urgent[0].title}",
        )
    if high:
        return Check(
            check=_ALERT_CHECK,
            status="yellow",
            detail=f"{len(high)} high alert(s) unacknowledged: {high[0].title}",
        )
    return Check(check=_ALERT_CHECK, status="green", detail="no urgent or high alert waiting")


def _sales(today: date, hour: int, days: list[DaySales]) -> SalesInsight:
    by_day = {d.day: d for d in days}
    now = by_day.get(today) or DaySales(day=today, units=_ZERO, revenue=_ZERO)
    before = [d for d in days if d.day != today]
    average = sum((d.revenue for d in before), _ZERO) / len(before) if before else None
    change = None
    if average:
        change = ((now.revenue - average) / average * 100).quantize(Decimal("0.1"))
    return SalesInsight(
        today=now,
        through_hour=hour,
        same_weekday=before,
        average_revenue=average.quantize(Decimal("0.01")) if average is not None else None,
        change_pct=change,
    )


def _store_checks(state: StoreState, alerts: list[Alert], now: datetime) -> list[Check]:
    found = [Check(check=c, status=h, detail=d) for c, h, d in checklist(state)]
    return [*found, _alert_check(alerts, now)]


def _waste(today: date, sums: tuple[Decimal, Decimal, Decimal, Decimal] | None) -> WasteInsight:
    units, value, units_before, value_before = sums or (_ZERO, _ZERO, _ZERO, _ZERO)
    return WasteInsight(
        week_start=today - timedelta(days=today.weekday()),
        units_this_week=units,
        value_this_week=value,
        units_last_week=units_before,
        value_last_week=value_before,
    )


def _chain_checks(stores: list[StoreDashboard], alerts: Check) -> list[Check]:
    """Each check once: its worst store, and which stores fail it."""
    names = [c.check for c in stores[0].checks] if stores else [alerts.check]
    found: list[Check] = []
    for name in names:
        per_store = [(s.store_id, c) for s in stores for c in s.checks if c.check == name]
        if name == alerts.check:
            per_store.append(("tenant", alerts))
        failing = [f"{store}: {c.detail}" for store, c in per_store if c.status != "green"]
        status = worst(c.status for _, c in per_store)
        passing = sorted({c.detail for _, c in per_store})
        detail = "; ".join(failing) or "; ".join(passing) or "nothing to check"
        found.append(Check(check=name, status=status, detail=detail))
    return found


async def _store_sections(
    conn: Conn,
    tenant_id: str,
    states: dict[str, StoreState],
    raised: list[Alert],
    now: datetime,
) -> list[StoreDashboard]:
    """Each store's checklist, timeline, overnight plan and insights, on its own day."""
    ids = sorted(states)
    days = {s: states[s].today for s in ids}
    zones = {s: states[s].timezone for s in ids}
    hour = await reads.start_hour(conn, tenant_id)
    timeline = await reads.timeline(conn, tenant_id, days, zones=zones, hour=hour, now=now)
    plans = await reads.overnight(conn, tenant_id, days)
    hours = {s: states[s].through_hour for s in ids}
    sales = await reads.weekday_sales(conn, tenant_id, days, hours)
    waste = await reads.waste_weeks(conn, tenant_id, days)
    values = await reads.stock_values(conn, tenant_id, ids)
    cutoffs = {s: reads.local_start(days[s] + timedelta(days=2), 0, zones[s]) for s in ids}
    deliveries = await reads.deliveries_due(conn, tenant_id, cutoffs, now)
    sections = []
    for s in ids:
        checks = _store_checks(states[s], [a for a in raised if a.related.store_id == s], now)
        sections.append(
            StoreDashboard(
                store_id=s,
                timezone=zones[s],
                business_date=days[s],
                status=worst(c.status for c in checks),
                checks=checks,
                timeline=timeline.get(s, []),
                overnight=plans.get(s, []),
                insights=Insights(
                    sales=_sales(days[s], hours[s], sales.get(s, [])),
                    waste=_waste(days[s], waste.get(s)),
                    stock_value=values.get(s, _ZERO),
                    deliveries_due=deliveries.get(s, []),
                ),
            )
        )
    return sections


async def build_dashboard(
    conn: Conn,
    tenant_id: str,
    *,
    now: datetime,
    store: str | None = None,
    only_stores: frozenset[str] | None = None,
    as_of: date | None = None,
) -> Dashboard:
    """The dashboard of one store (``store``) or the chain (a store manager: their stores)."""
    scope = only_stores if store is None else frozenset({store})
    states = await load_stores(conn, tenant_id, now=now, as_of=as_of, only_stores=scope)
    ids = sorted(states)
    # alerts of no store belong to the whole chain: only an unscoped chain view shows them
    alert_scope: str | tuple[str, ...] | None = (
        store if store is not None else None if only_stores is None else tuple(sorted(scope or ()))
    )
    open_alerts = await list_alerts(conn, tenant_id, view="open", store=alert_scope, limit=500)
    raised = [a for a in open_alerts if a.status == "raised"]
    stores = await _store_sections(conn, tenant_id, states, raised, now)
    tenant_alerts = _alert_check([a for a in raised if a.related.store_id is None], now)
    checks = _chain_checks(stores, tenant_alerts)
    queue = build_queue(
        raised,
        await reads.suggested_orders(conn, tenant_id, {s: states[s].today for s in ids}),
        await reads.draft_purchases(conn, tenant_id, ids),
        now=now,
        acknowledged=sum(1 for a in open_alerts if a.status == "acknowledged"),
        snoozed=await reads.snoozed_count(conn, tenant_id, None if alert_scope is None else ids),
    )
    return Dashboard(
        tenant_id=tenant_id,
        scope=store or "chain",
        generated_at=now,
        status=worst(c.status for c in checks),
        checks=checks,
        action_queue=queue,
        stores=stores,
    )
