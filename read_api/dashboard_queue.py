"""The action queue: what needs a person, grouped urgent / today / this week.

Three sources, all read models: open alerts nobody acknowledged yet
(``rm_alerts``), suggested manufacturing orders of the coming week
(``rm_production_orders``) and draft purchase orders (``rm_purchase_orders``).
An alert about a suggested order (``plan_unconfirmed``) is merged into the
order's item, so the order appears once with the alert's score and both
buttons. Grouping and the scores of orders without an alert are in
docs/dashboard.md ("Action queue").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Final

from read_api.alerts import Alert
from read_api.dashboard_schemas import ActionQueue, Group, QueueCommand, QueueItem

TOP: Final = 5
URGENT_WITHIN: Final = timedelta(hours=6)
TODAY_WITHIN: Final = timedelta(hours=24)
PURCHASE_TODAY_WITHIN: Final = timedelta(hours=72)
_GROUP_RANK: Final[dict[Group, int]] = {"urgent": 0, "today": 1, "this_week": 2}
ACKNOWLEDGE = "/v1/alerts/acknowledge"


@dataclass(frozen=True)
class SuggestedOrder:
    order_id: str
    sku: str
    quantity: Decimal
    production_date: date
    store_id: str
    store_today: date  # the producing store's business date
    price: Decimal | None


@dataclass(frozen=True)
class DraftPurchase:
    po_id: str
    supplier: str
    store_id: str
    expected_at: datetime
    value: Decimal


def alert_group(alert: Alert, now: datetime) -> Group:
    left = alert.deadline - now if alert.deadline else None
    if alert.severity == "urgent" or (left is not None and left <= URGENT_WITHIN):
        return "urgent"
    if alert.severity == "high" or (left is not None and left <= TODAY_WITHIN):
        return "today"
    return "this_week"


def _acknowledge(alert_id: str) -> QueueCommand:
    return QueueCommand(label="Acknowledge", path=ACKNOWLEDGE, body={"alert_id": alert_id})


def alert_item(alert: Alert, now: datetime) -> QueueItem:
    return QueueItem(
        kind="alert",
        ref_id=alert.alert_id,
        group=alert_group(alert, now),
        score=alert.score,
        title=alert.title,
        action=alert.action,
        consequence=alert.consequence,
        store_id=alert.related.store_id,
        deadline=alert.deadline,
        alert_id=alert.alert_id,
        commands=[_acknowledge(alert.alert_id)],
    )


def order_item(order: SuggestedOrder, alert: Alert | None, now: datetime) -> QueueItem:
    days = (order.production_date - order.store_today).days
    group: Group = "urgent" if days <= 0 else "today" if days == 1 else "this_week"
    score = 80 if days <= 0 else 60 if days == 1 else 40
    when = "today" if days == 0 else "tomorrow" if days == 1 else f"on {order.production_date}"
    if days < 0:
        when = f"on {order.production_date} (already past)"
    euros = f" (~{order.quantity * order.price:.2f} € of sales)" if order.price else ""
    consequence = f"not confirmed, {order.quantity} {order.sku} are not baked {when}{euros}"
    commands = [
        QueueCommand(
            label="Confirm", path="/v1/production-orders/confirm", body={"order_id": order.order_id}
        ),
        QueueCommand(
            label="Set quantity",
            path="/v1/production-orders/edit",
            body={"order_id": order.order_id},
            input="quantity",
        ),
    ]
    if alert is not None:
        group = min(group, alert_group(alert, now), key=_GROUP_RANK.__getitem__)
        score, consequence = max(score, alert.score), alert.consequence or consequence
        commands.append(_acknowledge(alert.alert_id))
    return QueueItem(
        kind="production_order",
        ref_id=order.order_id,
        group=group,
        score=score,
        title=f"Confirm the plan: {order.quantity} {order.sku} at {order.store_id} {when}",
        action="Confirm the suggested order, or set the quantity you will bake",
        consequence=consequence,
        store_id=order.store_id,
        deadline=alert.deadline if alert else None,
        alert_id=alert.alert_id if alert else None,
        commands=commands,
    )


def purchase_item(po: DraftPurchase, now: datetime) -> QueueItem:
    left = po.expected_at - now
    group: Group = (
        "urgent"
        if left <= TODAY_WITHIN
        else "today"
        if left <= PURCHASE_TODAY_WITHIN
        else "this_week"
    )
    score = {"urgent": 70, "today": 55, "this_week": 35}[group]
    return QueueItem(
        kind="purchase_order",
        ref_id=po.po_id,
        group=group,
        score=score,
        title=f"Approve purchase order {po.po_id} from {po.supplier} ({po.value} €)",
        action="Approve the draft so it can be sent to the supplier",
        consequence=(
            f"not approved, {po.value} € of goods from {po.supplier} do not arrive"
            f" at {po.store_id} by {po.expected_at:%Y-%m-%d %H:%M} UTC"
        ),
        store_id=po.store_id,
        deadline=po.expected_at,
        alert_id=None,
        commands=[
            QueueCommand(
                label="Approve", path="/v1/purchase-orders/approve", body={"po_id": po.po_id}
            )
        ],
    )


def _rank(item: QueueItem) -> tuple[int, int, float, str]:
    deadline = item.deadline.timestamp() if item.deadline else float("inf")
    return (_GROUP_RANK[item.group], -item.score, deadline, item.ref_id)


def build_queue(
    alerts: list[Alert],
    orders: list[SuggestedOrder],
    purchases: list[DraftPurchase],
    *,
    now: datetime,
    acknowledged: int,
    snoozed: int,
) -> ActionQueue:
    """Alerts nobody took yet, suggested orders and draft purchases, most important first."""
    by_order = {a.related.order_id: a for a in alerts if a.type == "plan_unconfirmed"}
    planned = {o.order_id for o in orders}
    items = [alert_item(a, now) for a in alerts if a.related.order_id not in planned]
    items += [order_item(o, by_order.get(o.order_id), now) for o in orders]
    items += [purchase_item(p, now) for p in purchases]
    items.sort(key=_rank)
    return ActionQueue(
        top=items[:TOP],
        urgent=[i for i in items if i.group == "urgent"],
        today=[i for i in items if i.group == "today"],
        this_week=[i for i in items if i.group == "this_week"],
        acknowledged_alerts=acknowledged,
        snoozed_alerts=snoozed,
    )
