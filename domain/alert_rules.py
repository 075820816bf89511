"""The alert rules: a subject's facts and the clock in, the conditions that hold now out.

``evaluate`` is pure and total: it returns *every* condition the subject is in
at ``now``, so a condition missing from the answer has cleared (the alert book
auto-resolves it). Each condition is scored with its four factors (see
``domain.alerts.Factors``) and says what to do and what not acting costs.
Thresholds and factor values are listed in ``docs/alerts.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.alert_facts import (
    AnyFacts,
    EquipmentFacts,
    ItemFacts,
    OrderFacts,
    PurchaseFacts,
    StockFacts,
    TenantFacts,
)
from domain.alerts import Factor, Factors, impact_of_euros

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

    def zone(self, store_id: str) -> ZoneInfo:
        try:
            return ZoneInfo(self.tenant.timezones.get(store_id, "UTC"))
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")

    def today(self, store_id: str) -> date:
        return self.now.astimezone(self.zone(store_id)).date()

    def local(self, store_id: str, day: date, hour: int = 0) -> datetime:
        return datetime.combine(day, time(hour), tzinfo=self.zone(store_id))


def evaluate(facts: AnyFacts, ctx: Context) -> list[Condition]:
    match facts:
        case StockFacts():
            return _stock(facts, ctx)
        case OrderFacts():
            return _order(facts, ctx)
        case PurchaseFacts():
            return _purchase(facts, ctx)
        case EquipmentFacts():
            return _equipment(facts, ctx)
    return []


def is_timed(facts: AnyFacts) -> bool:
    """True when the clock alone can change this subject's conditions (re-checked at ticks)."""
    match facts:
        case StockFacts():
            return (
                bool(facts.forecast)
                or bool(facts.planned)
                or any(lot.expires_on is not None for lot in facts.lots.values())
            )
        case OrderFacts():
            return facts.status in ("suggested", "confirmed", "in_progress")
        case PurchaseFacts():
            return facts.status in ("approved", "sent")
        case EquipmentFacts():
            return facts.due_on is not None
    return False


def _money(amount: Decimal) -> str:
    return f"€{amount.quantize(CENT)}"


def _qty(amount: Decimal) -> str:
    return f"{amount.normalize():f}"


def _hours(delta: timedelta) -> str:
    return f"{abs(delta.total_seconds()) / 3600:.0f} h"


# --- stock: low, out, negative, expiring ------------------------------------------------

BOOK_CONFIDENCE: Final = Factor(70, "book stock from recorded movements, not a count")


def _stock(facts: StockFacts, ctx: Context) -> list[Condition]:
    item = ctx.items(facts.item_id)
    out: list[Condition] = []
    if item is not None and not item.discontinued:
        level = _stock_level(facts, item, ctx)
        if level is not None:
            out.append(level)
        shortage = _shortage(facts, item, ctx)
        if shortage is not None:
            out.append(shortage)
    if facts.shortfall > 0:
        out.append(_negative(facts, item))
    out.extend(_expiring(facts, item, ctx))
    return out


def demand(facts: StockFacts, today: date) -> Decimal | None:
    """The forecast mean of the first forecast day from ``today`` on, if any."""
    days = [d for d in facts.forecast if d >= today]
    return facts.forecast[min(days)].mean if days else None


def _where(facts: StockFacts, item: ItemFacts | None) -> tuple[str, str, str]:
    name = item.name if item else facts.item_id
    unit = item.unit if item else "unit"
    return name, unit, f"{name} at {facts.store_id}"


def _shortage(facts: StockFacts, item: ItemFacts, ctx: Context) -> Condition | None:
    """Tomorrow's supply (stock now + open orders up to tomorrow) below tomorrow's forecast."""
    day = ctx.today(facts.store_id) + timedelta(days=1)
    expected = facts.forecast.get(day)
    if expected is None or item.kind != "product":
        return None
    start = ctx.local(facts.store_id, day, ctx.tenant.settings.production_start_hour)
    left = start - ctx.now
    if left > timedelta(hours=ctx.tenant.settings.unconfirmed_plan_hours):
        return None  # the nightly plan may still come: judge it once the day is near
    planned = sum((p.quantity for p in facts.planned.values() if p.day <= day), ZERO)
    supply = max(facts.on_hand, ZERO) + planned
    if supply >= expected.mean:
        return None
    name, unit, where = _where(facts, item)
    gap = expected.mean - supply
    euros = (gap * (item.price or ZERO)).quantize(CENT)
    sure = (
        Factor(80, f"below even the forecast's lower bound ({_qty(expected.lower)})")
        if supply < expected.lower
        else Factor(50, f"within the forecast interval (lower bound {_qty(expected.lower)})")
    )
    return Condition(
        key=f"shortage_risk:{facts.store_id}:{facts.item_id}",
        type="shortage_risk",
        factors=Factors(
            impact=Factor(
                impact_of_euros(euros, 20), f"{_qty(gap)} {unit} of sales ({_money(euros)})"
            ),
            urgency=Factor(80, f"production for {day} starts in {_hours(left)}")
            if left <= timedelta(hours=6)
            else Factor(60, f"production for {day} starts in {_hours(left)}"),
            agency=Factor(90, "the planned quantity can still be raised"),
            confidence=sure,
        ),
        title=f"{name} may run short at {facts.store_id} on {day}",
        description=f"{where}: forecast {_qty(expected.mean)} {unit} for {day}; "
        f"{_qty(max(facts.on_hand, ZERO))} in stock and {_qty(planned)} planned.",
        action=f"Plan {_qty(gap)} more {unit} of {name} for {day} (edit or add an order)",
        consequence=f"About {_qty(gap)} {unit} of demand ({_money(euros)}) goes unserved.",
        units=gap,
        euros=euros,
        deadline=start,
        related=Related(store_id=facts.store_id, item_id=facts.item_id),
        caused_by=_causes(facts, ctx, day),
    )


def _stock_level(facts: StockFacts, item: ItemFacts, ctx: Context) -> Condition | None:
    reorder = facts.reorder_point
    if reorder is None and item.kind == "ingredient":
        reorder = item.reorder_point
    if reorder is None or reorder <= 0:
        return None  # not a stocked item here: selling out is the plan, not an alert
    available = facts.on_hand
    if available >= reorder:
        return None
    name, unit, where = _where(facts, item)
    target = facts.target_stock or reorder
    short = target - available
    key_base = f"{facts.store_id}:{facts.item_id}"
    fix = (
        f"Order {_qty(item.reorder_quantity or short)} {unit} of {name}"
        + (f" from {item.supplier_id}" if item.supplier_id else "")
        if item.kind == "ingredient"
        else f"Bake or transfer {_qty(short)} {unit} of {name} to {facts.store_id}"
    )
    related = Related(store_id=facts.store_id, item_id=facts.item_id)
    causes = _causes(facts, ctx, ctx.today(facts.store_id) + timedelta(days=1))
    if item.kind == "product" and item.price is not None:
        daily = demand(facts, ctx.today(facts.store_id)) or target
        euros = (daily * item.price).quantize(CENT)
        at_risk = f"about {_qty(daily)} {unit} of sales ({_money(euros)}) a day"
        worth = Factor(impact_of_euros(euros, 30), f"{at_risk} depend on this stock")
    else:
        euros = (short * item.unit_cost).quantize(CENT)
        at_risk = f"production needing {name} ({_qty(short)} {unit}, {_money(euros)} at cost)"
        worth = Factor(max(60, impact_of_euros(euros)), f"{at_risk} would stop")
    if available <= 0:
        return Condition(
            key=f"stockout:{key_base}",
            type="stockout",
            factors=Factors(
                impact=Factor(max(worth.value, 50), worth.why),
                urgency=Factor(90, "the stock is out now"),
                agency=Factor(80, "a receipt, transfer or production order fixes it today"),
                confidence=BOOK_CONFIDENCE,
            ),
            title=f"Out of {name} at {facts.store_id}",
            description=f"{where}: {_qty(available)} {unit} available "
            f"(reorder point {_qty(reorder)}).",
            consequence=f"Without stock, {at_risk} are lost.",
            action=fix,
            units=short,
            euros=euros,
            related=related,
            caused_by=causes,
        )
    daily_demand = demand(facts, ctx.today(facts.store_id))
    runs_out_soon = daily_demand is not None and available < daily_demand
    return Condition(
        key=f"low_stock:{key_base}",
        type="low_stock",
        factors=Factors(
            impact=Factor(max(worth.value - 10, 10), worth.why),
            urgency=Factor(70, "it runs out within a day at forecast demand")
            if runs_out_soon
            else Factor(50, "below the reorder point, not yet out"),
            agency=Factor(90, "there is time to reorder, bake or transfer"),
            confidence=BOOK_CONFIDENCE,
        ),
        title=f"Low stock of {name} at {facts.store_id}",
        description=f"{where}: {_qty(available)} {unit} available, "
        f"below the reorder point of {_qty(reorder)}.",
        consequence=f"If not replenished it runs out, and {at_risk} are at risk.",
        action=fix,
        units=short,
        euros=euros,
        related=related,
        caused_by=causes,
    )


def _negative(facts: StockFacts, item: ItemFacts | None) -> Condition:
    name, unit, where = _where(facts, item)
    euros = (facts.shortfall * (item.unit_cost if item else ZERO)).quantize(CENT)
    return Condition(
        key=f"negative_stock:{facts.store_id}:{facts.item_id}",
        type="negative_stock",
        factors=Factors(
            impact=Factor(impact_of_euros(euros, 20), f"the books are short by {_money(euros)}"),
            urgency=Factor(40, "the books stay wrong until counted; later sales hide it"),
            agency=Factor(90, "a stock count fixes the books"),
            confidence=Factor(90, "recorded sales and use exceeded what the lots held"),
        ),
        title=f"Negative book stock of {name} at {facts.store_id}",
        description=f"{where}: {_qty(facts.shortfall)} {unit} were sold or used "
        "beyond what the books held.",
        action=f"Count {name} at {facts.store_id} and record the count",
        consequence=f"Stock figures, plans and orders for {name} stay "
        f"{_qty(facts.shortfall)} {unit} off ({_money(euros)} at cost).",
        units=facts.shortfall,
        euros=euros,
        related=Related(store_id=facts.store_id, item_id=facts.item_id),
    )


def _expiring(facts: StockFacts, item: ItemFacts | None, ctx: Context) -> list[Condition]:
    """One condition per store x item for all its lots inside the warning window."""
    name, unit, _ = _where(facts, item)
    today = ctx.today(facts.store_id)
    horizon = ctx.tenant.settings.expiry_warning_days
    lots = sorted(
        (lot.expires_on, lot_id, lot)
        for lot_id, lot in facts.lots.items()
        if lot.expires_on is not None
        and lot.quantity > 0
        and (lot.expires_on - today).days < horizon
    )
    if not lots:
        return []
    first, first_id, _ = lots[0]
    fallback = item.unit_cost if item else ZERO
    units = sum((lot.quantity for _, _, lot in lots), ZERO)
    euros = sum((lot.quantity * (lot.unit_cost or fallback) for _, _, lot in lots), ZERO)
    euros = euros.quantize(CENT)
    days_left = (first - today).days
    if days_left < 0:
        urgency, agency = (
            Factor(95, f"expired on {first}: it must not be sold or used"),
            Factor(60, "only recording it as waste (or returning it) is left"),
        )
        title = f"Expired {name} at {facts.store_id}"
    else:
        when = {0: "today", 1: "tomorrow"}.get(days_left, f"in {days_left} days")
        urgency = Factor(85 if days_left == 0 else 60, f"it expires {when}")
        agency = Factor(80, "it can still be sold first, discounted, used or moved")
        title = f"{name} expiring {when} at {facts.store_id}"
    listed = ", ".join(f"{lot_id} ({_qty(lot.quantity)}, {day})" for day, lot_id, lot in lots[:3])
    more = f" and {len(lots) - 3} more" if len(lots) > 3 else ""
    return [
        Condition(
            key=f"lot_expiring:{facts.store_id}:{facts.item_id}",
            type="lot_expiring",
            factors=Factors(
                impact=Factor(impact_of_euros(euros), f"{_money(euros)} of stock at cost"),
                urgency=urgency,
                agency=agency,
                confidence=Factor(90, "expiry dates are recorded on the lots"),
            ),
            title=title,
            description=f"{_qty(units)} {unit} of {name} in {len(lots)} lot(s) expiring "
            f"by {lots[-1][0]}: {listed}{more}.",
            action=f"Sell or use lot {first_id} first, discount it, or record it as waste",
            consequence=f"{_qty(units)} {unit} ({_money(euros)}) are wasted.",
            units=units,
            euros=euros,
            deadline=ctx.local(facts.store_id, first + timedelta(days=1)),
            related=Related(store_id=facts.store_id, item_id=facts.item_id, lot_id=first_id),
        )
    ]


# --- production: behind schedule, unconfirmed plan, failed quality check ---------------


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


def _causes(facts: StockFacts, ctx: Context, by: date) -> tuple[str, ...]:
    """The delayed orders (up to ``by``) that should have refilled this stock."""
    found = []
    for order_id, p in sorted(facts.planned.items()):
        kind = delay(p.status, p.producing_store_id or facts.store_id, p.day, ctx)
        if p.day <= by and kind is not None:
            found.append(f"{kind}:{order_id}")
    return tuple(found)


def _order(facts: OrderFacts, ctx: Context) -> list[Condition]:
    if facts.status in ("completed", "cancelled"):
        return []  # a failed check on a finished order is history, not a task
    item = ctx.items(facts.sku)
    name = item.name if item else facts.sku
    price = item.price if item and item.price is not None else ZERO
    euros = (facts.quantity * price).quantize(CENT)
    store = facts.producing_store_id
    start = ctx.local(store, facts.production_date, ctx.tenant.settings.production_start_hour)
    end = ctx.local(store, facts.production_date + timedelta(days=1))
    worth = Factor(impact_of_euros(euros, 30), f"{_qty(facts.quantity)} {name} ({_money(euros)})")
    related = Related(store_id=store, item_id=facts.sku, order_id=facts.order_id)
    out: list[Condition] = []
    plan = f"order {facts.order_id}: {_qty(facts.quantity)} {name} for {facts.production_date}"
    late = delay(facts.status, store, facts.production_date, ctx)
    if late == "plan_unconfirmed":
        left = start - ctx.now
        out.append(
            Condition(
                key=f"plan_unconfirmed:{facts.order_id}",
                type="plan_unconfirmed",
                factors=Factors(
                    impact=worth,
                    urgency=Factor(90, f"its start passed {_hours(left)} ago")
                    if left <= timedelta(0)
                    else Factor(70, f"it starts in {_hours(left)}"),
                    agency=Factor(95, "one confirmation (or edit) settles it"),
                    confidence=Factor(80, "the quantity comes from the forecast plan"),
                ),
                title=f"Suggested production of {name} not confirmed",
                description=f"Suggested {plan} is still unconfirmed; "
                f"planned start {start:%Y-%m-%d %H:%M}.",
                action=f"Confirm or edit order {facts.order_id}",
                consequence=f"Nothing is baked: {worth.why} of sales are missing.",
                deadline=start,
                units=facts.quantity,
                euros=euros,
                related=related,
            )
        )
    elif late == "production_late":
        out.append(
            Condition(
                key=f"production_late:{facts.order_id}",
                type="production_late",
                factors=Factors(
                    impact=worth,
                    urgency=Factor(85, f"its planned start was {_hours(ctx.now - start)} ago"),
                    agency=Factor(80, "it can still be started now or re-planned"),
                    confidence=Factor(80, "it may have started without being recorded"),
                ),
                title=f"Production of {name} has not started",
                description=f"Confirmed {plan} was planned to start at {start:%Y-%m-%d %H:%M}.",
                action=f"Start order {facts.order_id} now, or move or cancel it",
                consequence=f"{worth.why} may not reach {facts.destination_store_id} in time.",
                deadline=end,
                units=facts.quantity,
                euros=euros,
                related=related,
            )
        )
    elif late == "production_overdue":
        out.append(
            Condition(
                key=f"production_overdue:{facts.order_id}",
                type="production_overdue",
                factors=Factors(
                    impact=worth,
                    urgency=Factor(75, f"its production day ended {_hours(ctx.now - end)} ago"),
                    agency=Factor(60, "finish and complete it, or cancel what is left"),
                    confidence=Factor(70, "it may be done without being completed in the books"),
                ),
                title=f"Production of {name} past its day",
                description=f"{plan} is still in progress after its production day.",
                action=f"Complete order {facts.order_id} (or cancel it with a reason)",
                consequence=f"{worth.why} are missing from stock at {facts.destination_store_id}.",
                units=facts.quantity,
                euros=euros,
                related=related,
            )
        )
    for batch, failure in sorted(facts.failures.items()):
        issues = ", ".join(failure.issues) or "no issue named"
        out.append(
            Condition(
                key=f"quality_failed:{facts.order_id}:{batch}",
                type="quality_failed",
                factors=Factors(
                    impact=Factor(max(worth.value, 40), f"{worth.why} may not be sellable"),
                    urgency=Factor(70, "it must be settled before the batch is sold"),
                    agency=Factor(80, "re-check, rework or discard the batch"),
                    confidence=Factor(90, f"a person recorded score {failure.score}"),
                ),
                title=f"Quality check failed for {name}",
                description=f"Order {facts.order_id}, batch {batch}: score {failure.score} "
                f"({issues}).",
                action="Re-check after correcting, or discard the batch and record the waste",
                consequence=f"{worth.why} may be sold below standard or wasted.",
                units=facts.quantity,
                euros=euros,
                related=related,
            )
        )
    return out


# --- purchasing: deliveries ---------------------------------------------------------------


def _purchase(facts: PurchaseFacts, ctx: Context) -> list[Condition]:
    worth = Factor(impact_of_euros(facts.value, 20), f"{_money(facts.value)} of goods ordered")
    related = Related(store_id=facts.store_id, supplier_id=facts.supplier_id, po_id=facts.po_id)
    order = f"Purchase order {facts.po_id} from {facts.supplier_id} to {facts.store_id}"
    if facts.status == "partial":
        return [
            Condition(
                key=f"receipt_incomplete:{facts.po_id}",
                type="receipt_incomplete",
                factors=Factors(
                    impact=worth,
                    urgency=Factor(60, "the missing lines are needed for the plan"),
                    agency=Factor(70, "the supplier can complete it, or it can be closed short"),
                    confidence=Factor(90, "the receipt recorded missing lines"),
                ),
                title=f"Delivery from {facts.supplier_id} incomplete",
                description=f"{order} arrived in part ({facts.deliveries} deliveries so far).",
                action="Ask the supplier for the rest, or close the order short",
                consequence="Ingredients planned for production stay missing.",
                euros=facts.value,
                deadline=facts.expected_at,
                related=related,
            )
        ]
    if facts.status not in ("approved", "sent"):
        return []
    left = facts.expected_at - ctx.now
    if left < timedelta(0):
        return [
            Condition(
                key=f"delivery_overdue:{facts.po_id}",
                type="delivery_overdue",
                factors=Factors(
                    impact=Factor(max(worth.value, 30), worth.why),
                    urgency=Factor(80, f"it was due {_hours(left)} ago"),
                    agency=Factor(70, "a call to the supplier, or another supplier"),
                    confidence=Factor(80, "it may have arrived without being received"),
                ),
                title=f"Delivery from {facts.supplier_id} overdue",
                description=f"{order} was expected at {facts.expected_at:%Y-%m-%d %H:%M %Z}.",
                action=f"Call {facts.supplier_id}, or receive the delivery if it is here",
                consequence=f"Production waiting for {worth.why} is held up.",
                euros=facts.value,
                deadline=facts.expected_at,
                related=related,
            )
        ]
    if left <= timedelta(hours=ctx.tenant.settings.delivery_due_soon_hours):
        return [
            Condition(
                key=f"delivery_due_soon:{facts.po_id}",
                type="delivery_due_soon",
                factors=Factors(
                    impact=Factor(max(worth.value - 30, 5), worth.why),
                    urgency=Factor(40, f"it is due in {_hours(left)}"),
                    agency=Factor(50, "be ready to receive and check it"),
                    confidence=Factor(80, "the expected time is on the order"),
                ),
                title=f"Delivery from {facts.supplier_id} due soon",
                description=f"{order} is expected at {facts.expected_at:%Y-%m-%d %H:%M %Z}.",
                action="Make room and have someone ready to receive it",
                consequence="An unchecked delivery hides short or wrong lines.",
                euros=facts.value,
                related=related,
            )
        ]
    return []


# --- equipment: temperature, maintenance ------------------------------------------------


def _equipment(facts: EquipmentFacts, ctx: Context) -> list[Condition]:
    out: list[Condition] = []
    name = facts.name or facts.equipment_id
    related = Related(store_id=facts.store_id or None, equipment_id=facts.equipment_id)
    if facts.breach is not None:
        b = facts.breach
        out.append(
            Condition(
                key=f"temperature:{facts.equipment_id}",
                type="temperature",
                factors=Factors(
                    impact=Factor(75, "food safety (HACCP): what it holds may have to be thrown"),
                    urgency=Factor(90, "every hour out of range spoils more"),
                    agency=Factor(80, "check the door and the unit, move the stock"),
                    confidence=Factor(85, "one reading out of range (a door left open?)"),
                ),
                title=f"Temperature out of limits in {name}",
                description=f"{name} read {b.celsius} °C at {b.at:%Y-%m-%d %H:%M %Z}; "
                f"limits {b.min_celsius}-{b.max_celsius} °C.",
                action=f"Check {name}, move its stock if needed, and record a new reading",
                consequence="Stock kept out of range must be discarded under HACCP.",
                related=related,
            )
        )
    if facts.due_on is not None:
        days_left = (facts.due_on - ctx.today(facts.store_id)).days
        if days_left <= 1:
            due = ctx.local(facts.store_id, facts.due_on)
            overdue = days_left < 0
            out.append(
                Condition(
                    key=f"maintenance_due:{facts.equipment_id}",
                    type="maintenance_due",
                    factors=Factors(
                        impact=Factor(40, f"an unmaintained {facts.kind or 'unit'} may break"),
                        urgency=Factor(70, f"it was due on {facts.due_on}")
                        if overdue
                        else Factor(50, f"it is due on {facts.due_on}"),
                        agency=Factor(90, "it can be booked and done"),
                        confidence=Factor(95, "the due date is on the schedule"),
                    ),
                    title=f"Maintenance {'overdue' if overdue else 'due'}: {name}",
                    description=f"{facts.maintenance or 'Maintenance'} of {name} "
                    f"is due on {facts.due_on}.",
                    action=f"Do the maintenance of {name} and record it",
                    consequence="A breakdown stops what it bakes or chills.",
                    deadline=due,
                    related=related,
                )
            )
    return out
