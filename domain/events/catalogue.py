"""What the bakery sells and bakes with: products, ingredients, recipes."""

from __future__ import annotations

from domain.events.base import DomainEvent, Id, NonNegative, Positive, Value


class ProductDefined(DomainEvent, frozen=True, kw_only=True):
    sku: Id
    name: str
    category: str
    price: NonNegative  # unit sale price, tax included, in the tenant's currency
    unit_cost: NonNegative
    shelf_life_days: int
    unit: str = "unit"
    #: Units one run bakes (orders are whole multiples); None: not given (the plan's default).
    batch_size: int | None = None
    #: Fewest units worth a run (0: none); an order is 0 or at least this, in whole batches.
    minimum_batch: int = 0


class ProductRepriced(DomainEvent, frozen=True, kw_only=True):
    sku: Id
    price: NonNegative
    unit_cost: NonNegative


class ProductStockPolicySet(DomainEvent, frozen=True, kw_only=True):
    """Per-store reorder point and target stock of a product."""

    sku: Id
    store_id: Id
    reorder_point: NonNegative
    target_stock: NonNegative


class ProductBatchingSet(DomainEvent, frozen=True, kw_only=True):
    """How the product is baked in runs: batch size and the fewest units worth a run."""

    sku: Id
    batch_size: int
    minimum_batch: int = 0


class ProductDiscontinued(DomainEvent, frozen=True, kw_only=True):
    sku: Id
    reason: str


class IngredientDefined(DomainEvent, frozen=True, kw_only=True):
    ingredient_id: Id
    name: str
    unit: str  # "kg", "l", "unit"
    unit_cost: NonNegative
    shelf_life_days: int
    reorder_point: NonNegative
    reorder_quantity: NonNegative
    preferred_supplier_id: Id | None = None


class RecipeLine(Value, frozen=True, kw_only=True):
    ingredient_id: Id
    quantity: Positive  # per ``yield_quantity`` units of product


class RecipeVersioned(DomainEvent, frozen=True, kw_only=True):
    """A new version of a product's recipe; older versions stay valid for past batches."""

    sku: Id
    version: int
    yield_quantity: Positive
    lines: tuple[RecipeLine, ...]
    #: Minutes one batch (``yield_quantity`` units) takes from start to out of the oven;
    #: None when unknown (events before it existed). The ``batch_overdue`` alert reads it.
    bake_minutes: int | None = None
