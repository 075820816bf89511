"""From tomorrow's bake to drafted purchase orders (the rules are ``domain.purchasing``).

For each store, the planned quantities (the suggested manufacturing orders)
are turned into ingredient needs with each product's latest recipe
(``quantity per yield``). An ingredient whose stock after those needs falls
below its reorder point is suggested for purchase — at least its reorder
quantity, enough to get back to the reorder point — from its preferred
supplier, expected after that supplier's lead time. Suggestions are drafted
purchase orders (one per supplier, store and day, idempotent): a planner
approves, edits or cancels them like any other order.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from commands.handlers import handle
from commands.types import DraftPurchaseOrder
from domain.access import Actor
from domain.codec import decode_event
from domain.events.catalogue import IngredientDefined, RecipeVersioned
from domain.events.procurement import (
    PurchaseOrderLine,
    SupplierPriceListUpdated,
    SupplierRegistered,
)
from domain.purchasing import Ingredient, Suggestion, Supplier, ingredient_needs, suggest
from domain.streams import (
    ingredient_stream,
    purchase_plan_key,
    recipe_stream,
    suggested_po_id,
    supplier_stream,
)
from forecasting.ops.readport import stock_on_hand
from streams.store import EventStore


async def _latest(store: EventStore, tenant_id: str, stream_id: str) -> list[Any]:
    records = await store.read_stream(tenant_id, stream_id)
    return [decode_event(r.event_type, r.schema_version, r.payload) for r in records]


async def _recipes(
    store: EventStore, tenant_id: str, skus: list[str]
) -> dict[str, RecipeVersioned]:
    found = {}
    for sku in skus:
        versions = [
            e
            for e in await _latest(store, tenant_id, recipe_stream(sku))
            if isinstance(e, RecipeVersioned)
        ]
        if versions:
            found[sku] = max(versions, key=lambda r: r.version)
    return found


async def _ingredient(store: EventStore, tenant_id: str, ingredient_id: str) -> Ingredient | None:
    defined = [
        e
        for e in await _latest(store, tenant_id, ingredient_stream(ingredient_id))
        if isinstance(e, IngredientDefined)
    ]
    if not defined:
        return None
    d = defined[-1]
    return Ingredient(
        d.ingredient_id, d.unit_cost, d.reorder_point, d.reorder_quantity, d.preferred_supplier_id
    )


async def _supplier(store: EventStore, tenant_id: str, supplier_id: str) -> Supplier | None:
    lead, prices = None, {}
    for event in await _latest(store, tenant_id, supplier_stream(supplier_id)):
        if isinstance(event, SupplierRegistered):
            lead = event.lead_time_days
            prices = {p.item_id: p.unit_price for p in event.prices}
        elif isinstance(event, SupplierPriceListUpdated):
            prices = {p.item_id: p.unit_price for p in event.prices}
    return None if lead is None else Supplier(supplier_id, lead, prices)


async def suggest_purchases(
    store: EventStore,
    conninfo: str,
    *,
    tenant_id: str,
    store_id: str,
    planned: Mapping[str, int],
    day: dt.date,
    actor: Actor,
) -> list[Suggestion]:
    """Draft one purchase order per supplier for what the plan will run short of."""
    recipes = await _recipes(store, tenant_id, sorted(planned))
    needs = ingredient_needs(planned, recipes)
    ingredients = {i: found for i in needs if (found := await _ingredient(store, tenant_id, i))}
    on_hand = stock_on_hand(conninfo, tenant_id, store_id, sorted(needs))
    suggestions = suggest(store_id, needs, on_hand, ingredients)
    by_supplier: dict[str, list[Suggestion]] = defaultdict(list)
    for s in suggestions:
        if s.supplier_id is not None:
            by_supplier[s.supplier_id].append(s)
    for supplier_id, items in sorted(by_supplier.items()):
        supplier = await _supplier(store, tenant_id, supplier_id)
        if supplier is None:
            continue
        po_id = suggested_po_id(store_id, day, supplier_id)
        await handle(
            DraftPurchaseOrder(
                po_id=po_id,
                supplier_id=supplier_id,
                store_id=store_id,
                lines=tuple(
                    PurchaseOrderLine(
                        item_id=s.ingredient_id,
                        quantity=s.quantity,
                        unit_price=supplier.prices.get(
                            s.ingredient_id, ingredients[s.ingredient_id].unit_cost
                        ),
                    )
                    for s in items
                ),
                expected_delivery_at=dt.datetime.combine(
                    day + dt.timedelta(days=supplier.lead_time_days), dt.time(6), dt.UTC
                ),
                idempotency_key=purchase_plan_key(po_id),
            ),
            store,
            tenant_id=tenant_id,
            actor=actor,
        )
    return suggestions
