"""The dashboard as HTML: the server renders ``Dashboard`` (read_api/dashboard_schemas.py).

Everything shown is escaped here; buttons carry the command they send
(``data-path``, ``data-body``, ``data-input``), which ``static/dashboard.js``
POSTs with the person's token.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

import msgspec

from read_api.dashboard_schemas import (
    Check,
    Dashboard,
    Insights,
    PlanLine,
    QueueCommand,
    QueueItem,
    StoreDashboard,
    TimelineEntry,
)

_GROUPS = (("urgent", "Urgent"), ("today", "Today"), ("this_week", "This week"))
_CHECK_NAMES = {
    "stock_below_zero": "Stock below zero",
    "production_on_schedule": "Production on schedule",
    "stock_reserved": "Reserved stock covered",
    "plan_confirmed": "Today's plan confirmed",
    "sales_pace": "Sales on pace",
    "alerts": "Alerts",
}


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def dot(status: str) -> str:
    return f"<span class='dot {_e(status)}' title='{_e(status)}'></span>"


def _checks(checks: Iterable[Check]) -> str:
    rows = "".join(
        f"<li class='check {_e(c.status)}'>{dot(c.status)}"
        f"<b>{_e(_CHECK_NAMES.get(c.check, c.check))}</b> <span>{_e(c.detail)}</span></li>"
        for c in checks
    )
    return f"<ul class=checks>{rows}</ul>"


def _button(item: QueueItem, command: QueueCommand) -> str:
    body = _e(msgspec.json.encode(command.body).decode())
    field = ""
    if command.input:
        field = (
            f"<input type=number min=1 step=1 name='{_e(command.input)}'"
            f" aria-label='{_e(command.input)}' placeholder='{_e(command.input)}'>"
        )
    return (
        f"<span class=act>{field}<button type=button data-path='{_e(command.path)}'"
        f" data-body='{body}' data-input='{_e(command.input or '')}'"
        f" data-ref='{_e(item.ref_id)}'>{_e(command.label)}</button></span>"
    )


def _item(item: QueueItem) -> str:
    where = f" · {_e(item.store_id)}" if item.store_id else ""
    deadline = f" · by {item.deadline:%a %H:%M} UTC" if item.deadline else ""
    buttons = "".join(_button(item, c) for c in item.commands)
    return (
        f"<li class='item {_e(item.kind)}' data-ref='{_e(item.ref_id)}'"
        f" data-kind='{_e(item.kind)}'>"
        f"<div class=head><span class=score>{item.score}</span> <b>{_e(item.title)}</b></div>"
        f"<div class=what>{_e(item.action)}</div>"
        f"<div class=cost>If not: {_e(item.consequence)}</div>"
        f"<div class=meta>{_e(item.kind.replace('_', ' '))}{where}{deadline}</div>"
        f"<div class=buttons>{buttons}</div></li>"
    )


def _queue(d: Dashboard) -> str:
    q = d.action_queue
    parts = []
    for key, title in _GROUPS:
        items: list[QueueItem] = getattr(q, key)
        body = "".join(_item(i) for i in items) or "<li class=empty>nothing</li>"
        parts.append(
            f"<section class='group {key}'><h3>{title} <small>({len(items)})</small></h3>"
            f"<ul class=items>{body}</ul></section>"
        )
    handled = (
        f"<p class=handled><span id=acknowledged>{q.acknowledged_alerts}</span> acknowledged,"
        f" {q.snoozed_alerts} snoozed alert(s) are not in the queue.</p>"
    )
    return f"<section id=queue><h2>What needs you</h2>{''.join(parts)}{handled}</section>"


def _time(value: datetime | None, zone: str) -> str:
    return f"{value.astimezone(ZoneInfo(zone)):%H:%M}" if value else "—"


def _ran(t: TimelineEntry, zone: str) -> str:
    if t.started_at is None:
        return "—"
    if t.completed_at is None:
        return f"since {_time(t.started_at, zone)}"
    return f"{_time(t.started_at, zone)}–{_time(t.completed_at, zone)}"


def _timeline(s: StoreDashboard) -> str:
    def row(t: TimelineEntry) -> str:
        late = " <b class=late>late</b>" if t.late else ""
        made = f"{t.quantity_produced}" if t.quantity_produced is not None else "—"
        return (
            f"<tr><td>{_time(t.planned_start, s.timezone)}</td><td>{_e(t.sku)}</td>"
            f"<td>{t.quantity}</td><td>{_e(t.status)}{late}</td>"
            f"<td>{_ran(t, s.timezone)}</td>"
            f"<td>{t.batches} ({t.batch_yield})</td><td>{made}</td></tr>"
        )

    rows = "".join(row(t) for t in s.timeline) or "<tr><td colspan=7>nothing to bake</td></tr>"
    return (
        "<h3>Today's production</h3><div class=scroll><table><tr><th>start</th><th>product</th>"
        "<th>qty</th><th>status</th><th>ran</th><th>batches (yield)</th><th>made</th></tr>"
        f"{rows}</table></div>"
    )


def _plan(lines: list[PlanLine]) -> str:
    items = "".join(
        f"<li><b>{_e(p.summary)}</b> <small>({_e(p.status)})</small>"
        f"<details><summary>why</summary>{_e(p.reason)}</details></li>"
        for p in lines
    )
    return f"<h3>Planned overnight</h3><ul class=plan>{items or '<li>nothing planned</li>'}</ul>"


def _insights(i: Insights) -> str:
    sales = i.sales
    change = f" ({sales.change_pct:+} %)" if sales.change_pct is not None else ""
    weeks = ", ".join(f"{d.day:%d %b}: {d.revenue} €" for d in sales.same_weekday)
    w = i.waste
    overdue = " · <b class=late>overdue</b>"
    due = "".join(
        f"<li>{_e(d.supplier_name or d.supplier_id)} · {d.ordered_value} € · "
        f"{d.expected_delivery_at:%a %H:%M} UTC{overdue if d.overdue else ''}</li>"
        for d in i.deliveries_due
    )
    return (
        "<h3>Insights</h3><dl class=insights>"
        f"<dt>Sales today</dt><dd>{sales.today.units} u · {sales.today.revenue} €{change}"
        f" <small>to {sales.through_hour:02d}:00; same weekday: {_e(weeks) or '—'}</small></dd>"
        f"<dt>Waste this week</dt><dd>{w.units_this_week} u · {w.value_this_week} €"
        f" <small>last week by now: {w.units_last_week} u · {w.value_last_week} €</small></dd>"
        f"<dt>Stock value</dt><dd>{i.stock_value} €</dd>"
        f"<dt>Deliveries due</dt><dd><ul>{due or '<li>none</li>'}</ul></dd></dl>"
    )


def _store(s: StoreDashboard) -> str:
    return (
        f"<section class=store id='store-{_e(s.store_id)}'>"
        f"<h2>{dot(s.status)} <a href='/?store={_e(s.store_id)}'>{_e(s.store_id)}</a>"
        f" <small>{s.business_date:%a %d %b %Y}</small></h2>"
        f"{_checks(s.checks)}{_timeline(s)}{_plan(s.overnight)}{_insights(s.insights)}</section>"
    )


def render_dashboard(d: Dashboard) -> str:
    """The fragment the page swaps in: health, queue, then each store."""
    scope = "all stores" if d.scope == "chain" else d.scope
    stores = "".join(_store(s) for s in d.stores) or "<p>No stores yet.</p>"
    return (
        f"<header class='health {_e(d.status)}' id=health data-status='{_e(d.status)}'>"
        f"<h1>{dot(d.status)} {_e(d.status).upper()} <small>{_e(d.tenant_id)} · {_e(scope)}"
        f"</small></h1>{_checks(d.checks)}"
        f"<p class=meta>updated {d.generated_at:%H:%M:%S} UTC</p></header>"
        f"{_queue(d)}<div class=stores>{stores}</div>"
    )
