"""Catalogue rules: products, ingredients and versioned recipes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from domain.errors import AlreadyExists, IllegalTransition, InvalidValue, NotFound
from domain.events import (
    Event,
    IngredientDefined,
    ProductBatchingSet,
    ProductDefined,
    ProductDiscontinued,
    ProductRepriced,
    ProductStockPolicySet,
    RecipeVersioned,
)
from domain.events.catalogue import RecipeLine
from domain.inventory import require_non_negative, require_positive


@dataclass
class ProductState:
    product: ProductDefined | None = None
    price: Decimal = Decimal(0)
    unit_cost: Decimal = Decimal(0)
    discontinued: bool = False
    batch_size: int | None = None
    minimum_batch: int = 0
    version: int = 0

    def apply(self, event: Event) -> None:
        self.version += 1
        match event:
            case ProductDefined():
                self.product, self.price, self.unit_cost = event, event.price, event.unit_cost
                self.batch_size, self.minimum_batch = event.batch_size, event.minimum_batch
            case ProductBatchingSet():
                self.batch_size, self.minimum_batch = event.batch_size, event.minimum_batch
            case ProductRepriced():
                self.price, self.unit_cost = event.price, event.unit_cost
            case ProductDiscontinued():
                self.discontinued = True


@dataclass
class RecipeState:
    versions: dict[int, RecipeVersioned] = field(default_factory=dict)
    version: int = 0

    @property
    def latest(self) -> RecipeVersioned | None:
        return self.versions[max(self.versions)] if self.versions else None

    def apply(self, event: Event) -> None:
        self.version += 1
        if isinstance(event, RecipeVersioned):
            self.versions[event.version] = event

    def get(self, version: int | None) -> RecipeVersioned:
        recipe = self.latest if version is None else self.versions.get(version)
        if recipe is None:
            raise NotFound("recipe_version", f"no recipe version {version or 'at all'}")
        return recipe


def fold_product(events: Iterable[Event]) -> ProductState:
    state = ProductState()
    for event in events:
        state.apply(event)
    return state


def fold_recipe(events: Iterable[Event]) -> RecipeState:
    state = RecipeState()
    for event in events:
        state.apply(event)
    return state


def define_product(state: ProductState, event: ProductDefined) -> list[Event]:
    if state.product is not None:
        raise AlreadyExists("sku", f"product {event.sku!r} is already defined")
    require_non_negative("price", event.price)
    require_non_negative("unit_cost", event.unit_cost)
    if event.shelf_life_days < 0:
        raise InvalidValue("shelf_life_days", "must be 0 or more")
    check_batching(event.batch_size, event.minimum_batch)
    return [event]


#: A run bigger than this is a typo (a tray count where units were meant, or worse).
MAX_BATCH_UNITS = 100_000


def check_batching(batch_size: int | None, minimum_batch: int) -> None:
    """A batch is 1 unit or more; the minimum is 0 (none) or more, both within reason."""
    if batch_size is not None and not 1 <= batch_size <= MAX_BATCH_UNITS:
        raise InvalidValue("batch_size", f"must be between 1 and {MAX_BATCH_UNITS:,} units")
    if not 0 <= minimum_batch <= MAX_BATCH_UNITS:
        raise InvalidValue("minimum_batch", f"must be between 0 and {MAX_BATCH_UNITS:,} units")


def set_batching(
    state: ProductState, *, batch_size: int, minimum_batch: int, at: datetime
) -> list[Event]:
    """Change how the product is baked in runs (nothing is recorded when nothing changes)."""
    if state.product is None:
        raise NotFound("sku", "no such product")
    check_batching(batch_size, minimum_batch)
    if (state.batch_size, state.minimum_batch) == (batch_size, minimum_batch):
        return []
    return [
        ProductBatchingSet(
            occurred_at=at,
            sku=state.product.sku,
            batch_size=batch_size,
            minimum_batch=minimum_batch,
        )
    ]


def reprice(
    state: ProductState, *, price: Decimal, unit_cost: Decimal, at: datetime
) -> list[Event]:
    if state.product is None:
        raise NotFound("sku", "no such product")
    require_non_negative("price", price)
    require_non_negative("unit_cost", unit_cost)
    return [
        ProductRepriced(occurred_at=at, sku=state.product.sku, price=price, unit_cost=unit_cost)
    ]


def set_stock_policy(
    state: ProductState,
    *,
    store_id: str,
    reorder_point: Decimal,
    target_stock: Decimal,
    at: datetime,
) -> list[Event]:
    if state.product is None:
        raise NotFound("sku", "no such product")
    require_non_negative("reorder_point", reorder_point)
    require_non_negative("target_stock", target_stock)
    if target_stock < reorder_point:
        raise InvalidValue("target_stock", "must not be below the reorder point")
    return [
        ProductStockPolicySet(
            occurred_at=at,
            sku=state.product.sku,
            store_id=store_id,
            reorder_point=reorder_point,
            target_stock=target_stock,
        )
    ]


def discontinue(state: ProductState, *, reason: str, at: datetime) -> list[Event]:
    if state.product is None:
        raise NotFound("sku", "no such product")
    if state.discontinued:
        raise IllegalTransition("sku", "discontinued", "discontinue")
    if not reason.strip():
        raise InvalidValue("reason", "discontinuing a product needs a reason")
    return [ProductDiscontinued(occurred_at=at, sku=state.product.sku, reason=reason)]


def define_ingredient(already_defined: bool, event: IngredientDefined) -> list[Event]:
    if already_defined:
        raise AlreadyExists("ingredient_id", f"ingredient {event.ingredient_id!r} exists")
    require_non_negative("unit_cost", event.unit_cost)
    require_non_negative("reorder_point", event.reorder_point)
    require_non_negative("reorder_quantity", event.reorder_quantity)
    return [event]


def version_recipe(
    state: RecipeState,
    *,
    sku: str,
    yield_quantity: Decimal,
    lines: tuple[RecipeLine, ...],
    at: datetime,
    bake_minutes: int | None = None,
) -> list[Event]:
    """A new recipe version numbered after the last; ingredients must be distinct."""
    require_positive("yield_quantity", yield_quantity)
    if bake_minutes is not None and not 1 <= bake_minutes <= 24 * 60:
        raise InvalidValue("bake_minutes", "must be between 1 and 1440 minutes")
    if not lines:
        raise InvalidValue("lines", "a recipe needs at least one ingredient")
    seen: set[str] = set()
    for index, line in enumerate(lines):
        require_positive(f"lines[{index}].quantity", line.quantity)
        if line.ingredient_id in seen:
            raise InvalidValue(f"lines[{index}].ingredient_id", "ingredient listed twice")
        seen.add(line.ingredient_id)
    number = max(state.versions, default=0) + 1
    return [
        RecipeVersioned(
            occurred_at=at,
            sku=sku,
            version=number,
            yield_quantity=yield_quantity,
            lines=lines,
            bake_minutes=bake_minutes,
        )
    ]
