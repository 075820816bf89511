"""A batch of an in-progress order: ingredients out (FIFO, per the recipe version), yield in."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from domain import inventory
from domain.errors import AlreadyExists, IllegalTransition, InvalidValue, NotFound
from domain.events import BatchCompleted, RecipeVersioned, StockConsumed
from domain.events.inventory import ConsumptionCause
from domain.events.production import IngredientConsumption
from domain.production import OrderState, OrderStatus
from domain.stock import StockState
from domain.streams import batch_reference


def ingredient_needs(recipe: RecipeVersioned, quantity: Decimal) -> dict[str, Decimal]:
    """How much of each ingredient ``quantity`` units of product take under ``recipe``."""
    needs: dict[str, Decimal] = {}
    for line in recipe.lines:
        amount = line.quantity * quantity / recipe.yield_quantity
        needs[line.ingredient_id] = needs.get(line.ingredient_id, Decimal(0)) + amount
    return needs


def complete_batch(
    order: OrderState,
    recipe: RecipeVersioned,
    ingredient_stocks: Mapping[str, StockState],
    *,
    batch_id: str,
    planned_quantity: Decimal,
    actual_yield: Decimal,
    at: datetime,
) -> tuple[BatchCompleted, list[StockConsumed]]:
    """The batch event for ``mo-<id>`` and one consumption per ``stock-<store>-<ingredient>``.

    Refuses (``InsufficientStock``) when an ingredient's lots do not hold enough:
    the books must know about flour before it can go into a batch. The
    consumption reference is ``mo-<order>/<batch>``.
    """
    if order.status is OrderStatus.NEW:
        raise NotFound("order_id", "no such manufacturing order")
    if order.status is not OrderStatus.IN_PROGRESS:
        raise IllegalTransition("status", order.status.value, "record a batch")
    if batch_id in order.batch_ids:
        raise AlreadyExists("batch_id", f"batch {batch_id!r} was already recorded")
    if recipe.sku != order.sku:
        raise InvalidValue("recipe_version", f"recipe is for {recipe.sku!r}, not {order.sku!r}")
    inventory.require_positive("planned_quantity", planned_quantity)
    inventory.require_non_negative("actual_yield", actual_yield)
    reference = batch_reference(order.order_id, batch_id)
    consumptions = [
        _take(
            ingredient_stocks.get(ingredient_id, StockState()),
            order,
            ingredient_id=ingredient_id,
            quantity=quantity,
            reference=reference,
            at=at,
        )
        for ingredient_id, quantity in sorted(ingredient_needs(recipe, planned_quantity).items())
    ]
    batch = BatchCompleted(
        occurred_at=at,
        batch_id=batch_id,
        order_id=order.order_id,
        sku=order.sku,
        store_id=order.producing_store_id,
        recipe_version=recipe.version,
        consumed=tuple(
            IngredientConsumption(
                ingredient_id=c.item_id, quantity=c.quantity, allocations=c.allocations
            )
            for c in consumptions
        ),
        expected_yield=planned_quantity,
        actual_yield=actual_yield,
    )
    return batch, consumptions


def _take(
    stock: StockState,
    order: OrderState,
    *,
    ingredient_id: str,
    quantity: Decimal,
    reference: str,
    at: datetime,
) -> StockConsumed:
    """An ingredient already taken under ``reference`` (a resent batch) is not taken twice."""
    if reference in stock.consumptions:
        return stock.consumptions[reference]
    return inventory.consume(
        stock,
        store_id=order.producing_store_id,
        item_id=ingredient_id,
        quantity=quantity,
        cause=ConsumptionCause.PRODUCTION,
        reference=reference,
        at=at,
    )
