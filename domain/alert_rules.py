"""The alert rules: a subject's facts and the clock in, the conditions that hold now out.

``evaluate`` is pure and total: it returns *every* condition the subject is in
at ``now``, so a condition missing from the answer has cleared (the alert book
auto-resolves it). Each condition is scored with its four factors (see
``domain.alerts.Factors``) and says what to do and what not acting costs.
Thresholds and factor values are listed in ``docs/alerts.md``.
"""

from __future__ import annotations

from domain.alert_conditions import Condition, Context, Related, delay
from domain.alert_facts import AnyFacts, EquipmentFacts, OrderFacts, PurchaseFacts, StockFacts
from domain.alert_rules_stock import demand, stock_conditions
from domain.alert_rules_work import (
    equipment_conditions,
    order_conditions,
    purchase_conditions,
)

__all__ = ["Condition", "Context", "Related", "delay", "demand", "evaluate", "is_timed"]


def evaluate(facts: AnyFacts, ctx: Context) -> list[Condition]:
    match facts:
        case StockFacts():
            return stock_conditions(facts, ctx)
        case OrderFacts():
            return order_conditions(facts, ctx)
        case PurchaseFacts():
            return purchase_conditions(facts, ctx)
        case EquipmentFacts():
            return equipment_conditions(facts, ctx)
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
