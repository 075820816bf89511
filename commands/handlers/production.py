"""Handlers for manufacturing orders (``mo-<id>``), their batches and quality checks."""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from commands.runtime import Writer
from commands.types import (
    CancelManufacturingOrder,
    CompleteManufacturingOrder,
    ConfirmManufacturingOrder,
    EditManufacturingOrder,
    RecordBatch,
    RecordQualityCheck,
    StartManufacturingOrder,
    SuggestManufacturingOrder,
)
from commands.types.production import _OrderCommand
from domain import batches, catalogue, inventory, production, stock
from domain.events import BatchCompleted, Event, ManufacturingOrderSuggested, StockConsumed
from domain.events.inventory import ConsumptionCause
from domain.events.production import IngredientConsumption
from domain.production import OrderState, OrderStatus
from domain.streams import batch_reference, product_stream, recipe_stream, stock_stream
from domain.streams import production_order_stream as order_stream


async def suggest(cmd: SuggestManufacturingOrder, w: Writer) -> None:
    event = ManufacturingOrderSuggested(
        occurred_at=w.now,
        order_id=cmd.order_id,
        sku=cmd.sku,
        quantity=cmd.quantity,
        production_date=cmd.production_date,
        producing_store_id=cmd.producing_store_id,
        destination_store_id=cmd.destination_store_id,
        reason=cmd.reason,
        forecast_id=cmd.forecast_id,
    )
    await w.decide(
        order_stream(cmd.order_id),
        production.fold,
        lambda s: production.suggest(s, event),
        retry=True,  # a concurrent creation turns into AlreadyExists on re-decide
    )


async def _authorized_order(cmd: _OrderCommand, w: Writer) -> OrderState:
    order = await w.load(order_stream(cmd.order_id), production.fold)
    w.authorize(cmd.PERMISSION, order.producing_store_id or None)
    return order


async def _transition(
    cmd: _OrderCommand,
    w: Writer,
    decide: Callable[[OrderState], list[Event]],
    *,
    retry: bool = True,
    expected_version: int | None = None,
) -> OrderState:
    await _authorized_order(cmd, w)
    return await w.decide(
        order_stream(cmd.order_id),
        production.fold,
        decide,
        retry=retry,
        expected_version=expected_version,
    )


async def confirm(cmd: ConfirmManufacturingOrder, w: Writer) -> None:
    by = w.actor.user_id
    await _transition(cmd, w, lambda s: production.confirm(s, by=by, at=w.now))


async def edit(cmd: EditManufacturingOrder, w: Writer) -> None:
    await _transition(
        cmd,
        w,
        lambda s: production.edit(
            s,
            quantity=cmd.quantity,
            production_date=cmd.production_date,
            by=w.actor.user_id,
            at=w.now,
        ),
        retry=cmd.expected_version is None,  # an edit against a seen version must not be replayed
        expected_version=cmd.expected_version,
    )


async def start(cmd: StartManufacturingOrder, w: Writer) -> None:
    await _transition(cmd, w, lambda s: production.start(s, by=w.actor.user_id, at=w.now))


async def cancel(cmd: CancelManufacturingOrder, w: Writer) -> None:
    await _transition(
        cmd,
        w,
        lambda s: production.cancel(s, reason=cmd.reason, by=w.actor.user_id, at=w.now),
    )


async def complete(cmd: CompleteManufacturingOrder, w: Writer) -> None:
    """Complete the order and put its product lot in the destination's stock, in one append.

    Both streams (``mo-…`` and ``stock-<destination>-<sku>``) are written
    atomically. A resend of an order already completed takes the second path:
    the recorded completion is found and the lot is (re)written only if missing
    — which also finishes orders completed before appends were atomic.
    """
    order = await _authorized_order(cmd, w)
    product = await w.load(product_stream(order.sku), catalogue.fold_product)
    shelf_life = product.product.shelf_life_days if product.product else None
    stream = order_stream(cmd.order_id)
    if order.status is OrderStatus.IN_PROGRESS:

        def both(states: list[Any]) -> list[list[Event]]:
            current, stock_state = states
            done = production.complete(
                current,
                quantity_produced=cmd.quantity_produced,
                shelf_life_days=shelf_life,
                at=w.now,
            )
            after = copy.deepcopy(current)
            for event in done:
                after.apply(event)
            lot = production.produced_lot(after, unit_cost=product.unit_cost)
            fresh = lot is not None and lot.lot_id not in stock_state.lots
            return [done, [lot] if fresh and lot is not None else []]

        await w.decide_together(
            [
                (stream, production.fold),
                (stock_stream(order.destination_store_id, order.sku), stock.fold),
            ],
            both,
            retry=True,
        )
        return
    await w.decide(
        stream,
        production.fold,
        lambda s: production.complete(
            s, quantity_produced=cmd.quantity_produced, shelf_life_days=shelf_life, at=w.now
        ),
        retry=True,
    )
    lot = production.produced_lot(
        await w.load(stream, production.fold), unit_cost=product.unit_cost
    )
    if lot is not None:
        await w.decide(
            stock_stream(lot.store_id, lot.item_id),
            stock.fold,
            lambda st: [] if lot.lot_id in st.lots else [lot],
            retry=True,
        )


async def record_batch(cmd: RecordBatch, w: Writer) -> None:
    """Validate the batch, take the ingredients (FIFO, re-decided on conflict), then record it."""
    order = await _authorized_order(cmd, w)
    recipe = (await w.load(recipe_stream(order.sku), catalogue.fold_recipe)).get(cmd.recipe_version)
    needs = batches.ingredient_needs(recipe, cmd.planned_quantity)
    stocks = {
        ingredient: await w.load(stock_stream(order.producing_store_id, ingredient), stock.fold)
        for ingredient in needs
    }
    batches.complete_batch(  # every rule checked before anything is written
        order,
        recipe,
        stocks,
        batch_id=cmd.batch_id,
        planned_quantity=cmd.planned_quantity,
        actual_yield=cmd.actual_yield,
        at=w.now,
    )
    reference = batch_reference(order.order_id, cmd.batch_id)
    taken: dict[str, StockConsumed] = {}
    for ingredient, quantity in sorted(needs.items()):
        await w.decide(
            stock_stream(order.producing_store_id, ingredient),
            stock.fold,
            _taker(
                order,
                ingredient=ingredient,
                quantity=quantity,
                reference=reference,
                taken=taken,
                w=w,
            ),
            retry=True,
        )
    batch = BatchCompleted(
        occurred_at=w.now,
        batch_id=cmd.batch_id,
        order_id=order.order_id,
        sku=order.sku,
        store_id=order.producing_store_id,
        recipe_version=recipe.version,
        consumed=tuple(
            IngredientConsumption(ingredient_id=i, quantity=c.quantity, allocations=c.allocations)
            for i, c in sorted(taken.items())
        ),
        expected_yield=cmd.planned_quantity,
        actual_yield=cmd.actual_yield,
    )
    await w.decide(
        order_stream(cmd.order_id),
        production.fold,
        lambda s: [] if cmd.batch_id in s.batch_ids else [batch],
        retry=True,
    )


def _taker(
    order: OrderState,
    *,
    ingredient: str,
    quantity: Decimal,
    reference: str,
    taken: dict[str, StockConsumed],
    w: Writer,
) -> Callable[[stock.StockState], list[Event]]:
    def decide(st: stock.StockState) -> list[Event]:
        if reference in st.consumptions:  # a resend: the ingredient was already taken
            taken[ingredient] = st.consumptions[reference]
            return []
        consumed = inventory.consume(
            st,
            store_id=order.producing_store_id,
            item_id=ingredient,
            quantity=quantity,
            cause=ConsumptionCause.PRODUCTION,
            reference=reference,
            at=w.now,
        )
        taken[ingredient] = consumed
        return [consumed]

    return decide


async def record_quality_check(cmd: RecordQualityCheck, w: Writer) -> None:
    await _transition(
        cmd,
        w,
        lambda s: production.record_quality_check(
            s,
            batch_id=cmd.batch_id,
            score=cmd.score,
            passed=cmd.passed,
            issues=cmd.issues,
            corrective_action=cmd.corrective_action,
            by=w.actor.user_id,
            at=w.now,
        ),
    )
