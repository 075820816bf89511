"""Purchase suggestions from a production plan: pure rules, next to ``procurement``.

For each store, the planned quantities (the suggested manufacturing orders)
are turned into ingredient needs with each product's latest recipe
(``quantity per yield``). An ingredient whose stock after those needs falls
below its reorder point is suggested for purchase — at least its reorder
quantity, enough to get back to the reorder point — from its preferred
supplier. ``forecasting.ops.purchasing`` reads the inputs and drafts the orders.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from domain.events.catalogue import RecipeVersioned


@dataclass(frozen=True)
class Ingredient:
    ingredient_id: str
    unit_cost: Decimal
    reorder_point: Decimal
    reorder_quantity: Decimal
    supplier_id: str | None


@dataclass(frozen=True)
class Supplier:
    supplier_id: str
    lead_time_days: int
    prices: Mapping[str, Decimal]


@dataclass(frozen=True)
class Suggestion:
    store_id: str
    ingredient_id: str
    supplier_id: str | None
    quantity: Decimal
    reason: str


def ingredient_needs(
    planned: Mapping[str, int], recipes: Mapping[str, RecipeVersioned]
) -> dict[str, Decimal]:
    """Ingredient quantities the planned products consume (products without a recipe: none)."""
    needs: dict[str, Decimal] = defaultdict(Decimal)
    for sku, quantity in planned.items():
        recipe = recipes.get(sku)
        if recipe is None or quantity <= 0:
            continue
        for line in recipe.lines:
            needs[line.ingredient_id] += line.quantity * Decimal(quantity) / recipe.yield_quantity
    return dict(needs)


def suggest(
    store_id: str,
    needs: Mapping[str, Decimal],
    on_hand: Mapping[str, Decimal],
    ingredients: Mapping[str, Ingredient],
) -> list[Suggestion]:
    """Which ingredients to buy, how much, and why (pure)."""
    out = []
    for ingredient_id in sorted(needs):
        info = ingredients.get(ingredient_id)
        if info is None:
            continue
        need = needs[ingredient_id]
        stock = on_hand.get(ingredient_id, Decimal(0))
        after = stock - need
        if after >= info.reorder_point:
            continue
        quantity = max(info.reorder_quantity, info.reorder_point - after)
        quantity = quantity.quantize(Decimal("0.001"), rounding=ROUND_CEILING)
        reason = (
            f"plan needs {need.normalize():f} {ingredient_id}, stock {stock.normalize():f} → "
            f"{after.normalize():f} after baking, below the reorder point "
            f"{info.reorder_point.normalize():f}; order {quantity.normalize():f} "
            f"(reorder quantity {info.reorder_quantity.normalize():f})"
        )
        out.append(Suggestion(store_id, ingredient_id, info.supplier_id, quantity, reason))
    return out
