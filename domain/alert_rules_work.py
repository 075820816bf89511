"""Alert rules on work in progress: production orders, deliveries, equipment."""

from __future__ import annotations

from datetime import datetime, timedelta
from math import ceil

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
    EquipmentFacts,
    ItemFacts,
    OrderFacts,
    PurchaseFacts,
)
from domain.alert_rules_stock import ingredient_causes
from domain.alerts import Factor, Factors, impact_of_euros


def order_conditions(facts: OrderFacts, ctx: Context) -> list[Condition]:
    if facts.status in ("completed", "cancelled"):
        return []  # a failed check on a finished order is history, not a task
    item = ctx.items(facts.sku)
    name = item.name if item else facts.sku
    price = item.price if item and item.price is not None else ZERO
    euros = (facts.quantity * price).quantize(CENT)
    store = facts.producing_store_id
    start = ctx.local(store, facts.production_date, ctx.tenant.settings.production_start_hour)
    end = ctx.local(store, facts.production_date + timedelta(days=1))
    worth = Factor(impact_of_euros(euros, 30), f"{qty(facts.quantity)} {name} ({money(euros)})")
    related = Related(store_id=store, item_id=facts.sku, order_id=facts.order_id)
    out: list[Condition] = []
    plan = f"order {facts.order_id}: {qty(facts.quantity)} {name} for {facts.production_date}"
    late = delay(facts.status, store, facts.production_date, ctx)
    causes = ingredient_causes(facts.sku, store, facts.production_date, facts.status, ctx)
    if late == "plan_unconfirmed":
        left = start - ctx.now
        out.append(
            Condition(
                key=f"plan_unconfirmed:{facts.order_id}",
                type="plan_unconfirmed",
                factors=Factors(
                    impact=worth,
                    urgency=Factor(90, f"its start passed {hours(left)} ago")
                    if left <= timedelta(0)
                    else Factor(70, f"it starts in {hours(left)}"),
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
                caused_by=causes,
            )
        )
    elif late == "production_late":
        out.append(
            Condition(
                key=f"production_late:{facts.order_id}",
                type="production_late",
                factors=Factors(
                    impact=worth,
                    urgency=Factor(85, f"its planned start was {hours(ctx.now - start)} ago"),
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
                caused_by=causes,
            )
        )
    elif late == "production_overdue":
        out.append(
            Condition(
                key=f"production_overdue:{facts.order_id}",
                type="production_overdue",
                factors=Factors(
                    impact=worth,
                    urgency=Factor(75, f"its production day ended {hours(ctx.now - end)} ago"),
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
    elif late is None and item is not None:
        overdue = _batches_overdue(facts, item, ctx, worth=worth, related=related, plan=plan)
        if overdue is not None:
            out.append(overdue)
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


def expected_end(facts: OrderFacts, item: ItemFacts) -> datetime | None:
    """When a started order's batches should all be out: one recipe batch after another.

    ``ceil(quantity / recipe yield)`` batches of the recipe's ``bake_minutes`` each,
    from the order's start; None when the order has not started or the recipe
    gives no duration.
    """
    if facts.started_at is None or item.bake_minutes is None or not item.batch_yield:
        return None
    batches = max(1, ceil(facts.quantity / item.batch_yield))
    return facts.started_at + timedelta(minutes=batches * item.bake_minutes)


def _batches_overdue(
    facts: OrderFacts, item: ItemFacts, ctx: Context, *, worth: Factor, related: Related, plan: str
) -> Condition | None:
    end = expected_end(facts, item)
    if facts.status != "in_progress" or end is None or ctx.now <= end:
        return None
    return Condition(
        key=f"batch_overdue:{facts.order_id}",
        type="batch_overdue",
        factors=Factors(
            impact=worth,
            urgency=Factor(70, f"its batches were due out {hours(ctx.now - end)} ago"),
            agency=Factor(70, "check the oven, record the batches, or complete the order"),
            confidence=Factor(60, "the duration comes from the recipe; it may be done unrecorded"),
        ),
        title=f"Batches of {item.name} past their expected end",
        description=f"{plan} started at {facts.started_at:%Y-%m-%d %H:%M %Z}; its batches "
        f"were expected out by {end:%Y-%m-%d %H:%M %Z}.",
        action=f"Check order {facts.order_id}: record its batches and complete it",
        consequence=f"{worth.why} may reach {facts.destination_store_id} late or not at all.",
        units=facts.quantity,
        euros=(facts.quantity * (item.price or ZERO)).quantize(CENT),
        related=related,
    )


# --- purchasing: deliveries ---------------------------------------------------------------


def purchase_conditions(facts: PurchaseFacts, ctx: Context) -> list[Condition]:
    worth = Factor(impact_of_euros(facts.value, 20), f"{money(facts.value)} of goods ordered")
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
                    urgency=Factor(80, f"it was due {hours(left)} ago"),
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
                    urgency=Factor(40, f"it is due in {hours(left)}"),
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


def equipment_conditions(facts: EquipmentFacts, ctx: Context) -> list[Condition]:
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
