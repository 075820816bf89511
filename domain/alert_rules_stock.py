"""Alert rules on the stock of an item in a store: low, out, negative, expiring, short tomorrow."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Final

from domain.alert_conditions import (
    CENT,
    ZERO,
    Condition,
    Context,
    Related,
    delay,
    hours,
    money,
    qty,
)
from domain.alert_facts import (
    ItemFacts,
    StockFacts,
)
from domain.alerts import Factor, Factors, impact_of_euros

BOOK_CONFIDENCE: Final = Factor(70, "book stock from recorded movements, not a count")


def stock_conditions(facts: StockFacts, ctx: Context) -> list[Condition]:
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
        Factor(80, f"below even the forecast's lower bound ({qty(expected.lower)})")
        if supply < expected.lower
        else Factor(50, f"within the forecast interval (lower bound {qty(expected.lower)})")
    )
    return Condition(
        key=f"shortage_risk:{facts.store_id}:{facts.item_id}",
        type="shortage_risk",
        factors=Factors(
            impact=Factor(
                impact_of_euros(euros, 20), f"{qty(gap)} {unit} of sales ({money(euros)})"
            ),
            urgency=Factor(80, f"production for {day} starts in {hours(left)}")
            if left <= timedelta(hours=6)
            else Factor(60, f"production for {day} starts in {hours(left)}"),
            agency=Factor(90, "the planned quantity can still be raised"),
            confidence=sure,
        ),
        title=f"{name} may run short at {facts.store_id} on {day}",
        description=f"{where}: forecast {qty(expected.mean)} {unit} for {day}; "
        f"{qty(max(facts.on_hand, ZERO))} in stock and {qty(planned)} planned.",
        action=f"Plan {qty(gap)} more {unit} of {name} for {day} (edit or add an order)",
        consequence=f"About {qty(gap)} {unit} of demand ({money(euros)}) goes unserved.",
        units=gap,
        euros=euros,
        deadline=start,
        related=Related(store_id=facts.store_id, item_id=facts.item_id),
        caused_by=_causes(facts, ctx, day),
    )


def _reorder_point(facts: StockFacts, item: ItemFacts) -> Decimal | None:
    reorder = facts.reorder_point
    if reorder is None and item.kind == "ingredient":
        reorder = item.reorder_point
    if reorder is None or reorder <= 0:
        return None  # not a stocked item here: selling out is the plan, not an alert
    return reorder


def level(facts: StockFacts, item: ItemFacts | None) -> str | None:
    """``stockout``, ``low_stock`` or None: the stock-level condition ``facts`` is in."""
    if item is None or item.discontinued:
        return None
    reorder = _reorder_point(facts, item)
    if reorder is None or facts.on_hand >= reorder:
        return None
    return "stockout" if facts.on_hand <= 0 else "low_stock"


def ingredient_causes(
    sku: str, store_id: str, day: date, status: str, ctx: Context
) -> tuple[str, ...]:
    """The ingredient stock alerts putting a suggested or confirmed order at risk.

    An order of today or tomorrow (store-local) whose recipe (``ItemFacts.ingredients``
    of its product) uses an ingredient that is out or low at the producing store:
    the dedup keys of those ``stockout`` / ``low_stock`` conditions, by the same
    test as the ingredient's own rule.
    """
    product = ctx.items(sku)
    if product is None or status not in ("suggested", "confirmed"):
        return ()
    if day > ctx.today(store_id) + timedelta(days=1):
        return ()
    found = []
    for ingredient_id in product.ingredients:
        stock = ctx.stocks(store_id, ingredient_id)
        kind = None if stock is None else level(stock, ctx.items(ingredient_id))
        if kind is not None:
            found.append(f"{kind}:{store_id}:{ingredient_id}")
    return tuple(found)


def _stock_level(facts: StockFacts, item: ItemFacts, ctx: Context) -> Condition | None:
    reorder = _reorder_point(facts, item)
    kind = level(facts, item)
    if reorder is None or kind is None:
        return None
    available = facts.on_hand
    name, unit, where = _where(facts, item)
    target = facts.target_stock or reorder
    short = target - available
    key_base = f"{facts.store_id}:{facts.item_id}"
    fix = (
        f"Order {qty(item.reorder_quantity or short)} {unit} of {name}"
        + (f" from {item.supplier_id}" if item.supplier_id else "")
        if item.kind == "ingredient"
        else f"Bake or transfer {qty(short)} {unit} of {name} to {facts.store_id}"
    )
    related = Related(store_id=facts.store_id, item_id=facts.item_id)
    causes = _causes(facts, ctx, ctx.today(facts.store_id) + timedelta(days=1))
    if item.kind == "product" and item.price is not None:
        daily = demand(facts, ctx.today(facts.store_id)) or target
        euros = (daily * item.price).quantize(CENT)
        at_risk = f"about {qty(daily)} {unit} of sales ({money(euros)}) a day"
        worth = Factor(impact_of_euros(euros, 30), f"{at_risk} depend on this stock")
    else:
        euros = (short * item.unit_cost).quantize(CENT)
        at_risk = f"production needing {name} ({qty(short)} {unit}, {money(euros)} at cost)"
        worth = Factor(max(60, impact_of_euros(euros)), f"{at_risk} would stop")
    if kind == "stockout":
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
            description=f"{where}: {qty(available)} {unit} available "
            f"(reorder point {qty(reorder)}).",
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
        description=f"{where}: {qty(available)} {unit} available, "
        f"below the reorder point of {qty(reorder)}.",
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
            impact=Factor(impact_of_euros(euros, 20), f"the books are short by {money(euros)}"),
            urgency=Factor(40, "the books stay wrong until counted; later sales hide it"),
            agency=Factor(90, "a stock count fixes the books"),
            confidence=Factor(90, "recorded sales and use exceeded what the lots held"),
        ),
        title=f"Negative book stock of {name} at {facts.store_id}",
        description=f"{where}: {qty(facts.shortfall)} {unit} were sold or used "
        "beyond what the books held.",
        action=f"Count {name} at {facts.store_id} and record the count",
        consequence=f"Stock figures, plans and orders for {name} stay "
        f"{qty(facts.shortfall)} {unit} off ({money(euros)} at cost).",
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
    listed = ", ".join(f"{lot_id} ({qty(lot.quantity)}, {day})" for day, lot_id, lot in lots[:3])
    more = f" and {len(lots) - 3} more" if len(lots) > 3 else ""
    return [
        Condition(
            key=f"lot_expiring:{facts.store_id}:{facts.item_id}",
            type="lot_expiring",
            factors=Factors(
                impact=Factor(impact_of_euros(euros), f"{money(euros)} of stock at cost"),
                urgency=urgency,
                agency=agency,
                confidence=Factor(90, "expiry dates are recorded on the lots"),
            ),
            title=title,
            description=f"{qty(units)} {unit} of {name} in {len(lots)} lot(s) expiring "
            f"by {lots[-1][0]}: {listed}{more}.",
            action=f"Sell or use lot {first_id} first, discount it, or record it as waste",
            consequence=f"{qty(units)} {unit} ({money(euros)}) are wasted.",
            units=units,
            euros=euros,
            deadline=ctx.local(facts.store_id, first + timedelta(days=1)),
            related=Related(store_id=facts.store_id, item_id=facts.item_id, lot_id=first_id),
        )
    ]


def _causes(facts: StockFacts, ctx: Context, by: date) -> tuple[str, ...]:
    """The delayed orders (up to ``by``) that should have refilled this stock."""
    found = []
    for order_id, p in sorted(facts.planned.items()):
        kind = delay(p.status, p.producing_store_id or facts.store_id, p.day, ctx)
        if p.day <= by and kind is not None:
            found.append(f"{kind}:{order_id}")
    return tuple(found)
