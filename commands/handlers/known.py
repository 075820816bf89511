"""What a stock command names must exist: the tenant, its store, the item in the catalogue."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from commands.runtime import Writer
from domain import catalogue, inventory, organisation
from domain.errors import NotFound
from domain.events import Event, IngredientDefined, StoreOpened
from domain.events.inventory import ItemKind
from domain.stock import StockState
from domain.streams import TENANT_STREAM, ingredient_stream, product_stream


@dataclass(frozen=True)
class KnownItem:
    kind: ItemKind
    shelf_life_days: int | None


async def known_store(w: Writer, store_id: str, field: str = "store_id") -> StoreOpened:
    tenant = await w.load(TENANT_STREAM, organisation.fold)
    if tenant.tenant is None:
        raise NotFound("tenant", f"tenant {w.tenant_id!r} does not exist")
    store = tenant.stores.get(store_id)
    if store is None:
        known = ", ".join(sorted(tenant.stores)) or "none"
        raise NotFound(field, f"no store {store_id!r} in tenant {w.tenant_id!r} (stores: {known})")
    return store


async def known_product(w: Writer, sku: str) -> bool:
    return (await w.load(product_stream(sku), catalogue.fold_product)).product is not None


async def known_item(w: Writer, item_id: str, field: str = "item_id") -> KnownItem:
    """A product or an ingredient of the tenant, with its shelf life."""
    product = (await w.load(product_stream(item_id), catalogue.fold_product)).product
    if product is not None:
        return KnownItem(ItemKind.PRODUCT, product.shelf_life_days)
    for event in await w.load(ingredient_stream(item_id), _events):
        if isinstance(event, IngredientDefined):
            return KnownItem(ItemKind.INGREDIENT, event.shelf_life_days)
    raise NotFound(field, f"{item_id!r} is neither a product nor an ingredient of the catalogue")


def _events(events: Iterable[Event]) -> list[Event]:
    return list(events)


def unknown_sale(
    store_id: str, sku: str, quantity: Decimal, ref: str, at: datetime
) -> Callable[[StockState], list[Event]]:
    """A ticket line for a product the catalogue does not know: noted, the lots left alone."""

    def decide(st: StockState) -> list[Event]:
        return list(
            inventory.sold_unknown(
                st, store_id=store_id, item_id=sku, quantity=quantity, reference=ref, at=at
            )
        )

    return decide
