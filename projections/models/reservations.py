"""The ``reserved`` part of inventory: ingredients held for confirmed manufacturing orders.

What the events allow: a manufacturing order names a product and a quantity,
not a recipe version, and its batches record the ingredients they actually
took. So for every open order (confirmed or in progress) and every ingredient
of the **latest recipe version** of its product::

    required = recipe line quantity x order quantity / recipe yield
    reserved = max(required - consumed by the order's batches so far, 0)

at the order's producing store. Suggested orders reserve nothing; completing
or cancelling an order releases what it still held. A new recipe version
re-prices the open orders of that product; an order edit re-prices that order.
``rm_inventory_stock.reserved`` is the sum of ``reserved`` over open orders,
recomputed in SQL for the (store, ingredient) rows an event changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from psycopg import sql

from domain.events import (
    BatchCompleted,
    DomainEvent,
    ManufacturingOrderCancelled,
    ManufacturingOrderCompleted,
    ManufacturingOrderConfirmed,
    ManufacturingOrderEdited,
    ManufacturingOrderStarted,
    ManufacturingOrderSuggested,
    RecipeVersioned,
)
from projections.model import Decoded
from projections.models._sql import Conn, Row, TableSpec, spec
from streams.envelope import RecordedEvent

ZERO = Decimal(0)
HOLDING = frozenset({"confirmed", "in_progress"})

RECIPE_LINES = spec(
    "rm_inventory_recipe_lines",
    3,
    "tenant_id text",
    "sku text",
    "ingredient_id text",
    "version integer",
    "quantity numeric",
    "yield_quantity numeric",
)
ORDERS = spec(
    "rm_inventory_orders",
    2,
    "tenant_id text",
    "order_id text",
    "sku text",
    "store_id text",
    "quantity numeric",
    "status text",
)
RESERVATIONS = spec(
    "rm_inventory_reservations",
    3,
    "tenant_id text",
    "order_id text",
    "ingredient_id text",
    "store_id text",
    "required numeric",
    "consumed numeric",
    "reserved numeric",
)

RESERVATION_EVENTS = frozenset(
    {
        "RecipeVersioned",
        "ManufacturingOrderSuggested",
        "ManufacturingOrderConfirmed",
        "ManufacturingOrderEdited",
        "ManufacturingOrderStarted",
        "ManufacturingOrderCompleted",
        "ManufacturingOrderCancelled",
        "BatchCompleted",
    }
)

OrderKey = tuple[str, str]  # tenant, order
SkuKey = tuple[str, str]  # tenant, sku
StockKey = tuple[str, str, str]  # tenant, store, ingredient


@dataclass(slots=True)
class _Order:
    sku: str
    store_id: str
    quantity: Decimal
    status: str
    #: ingredient -> [required, consumed]
    lines: dict[str, list[Decimal]] = field(default_factory=dict)


@dataclass(slots=True)
class _Recipe:
    version: int
    #: ingredient -> (quantity per yield, yield)
    lines: dict[str, tuple[Decimal, Decimal]]


class Reservations:
    """Open orders, their ingredient needs and the recipes, for one batch."""

    def __init__(self) -> None:
        self.orders: dict[OrderKey, _Order | None] = {}
        self.recipes: dict[SkuKey, _Recipe] = {}
        self.touched_orders: set[OrderKey] = set()
        self.touched_recipes: set[SkuKey] = set()
        #: (tenant, store, ingredient) -> (last position, occurred_at) of an event that moved it
        self.touched_stock: dict[StockKey, tuple[int, datetime]] = {}
        self._mark: tuple[int, datetime] | None = None  # the event being applied

    @classmethod
    async def load(
        cls, conn: Conn, tables: Mapping[str, str], events: Sequence[Decoded]
    ) -> Reservations:
        self = cls()
        order_ids: set[OrderKey] = set()
        skus: set[SkuKey] = set()
        for rec, ev in events:
            if isinstance(ev, RecipeVersioned):
                skus.add((rec.tenant_id, ev.sku))
            elif rec.event_type in RESERVATION_EVENTS:
                order_ids.add((rec.tenant_id, ev.order_id))  # type: ignore[attr-defined]
        rows = await ORDERS.fetch(conn, tables, order_ids)
        if skus:  # a new recipe re-prices every open order of its product
            rows += await ORDERS.fetch(conn, tables, skus, by=("tenant_id", "sku"))
        for t, order_id, sku, store_id, quantity, status in rows:
            self.orders[(t, order_id)] = _Order(sku, store_id, quantity, status)
            skus.add((t, sku))
        skus.update(
            (rec.tenant_id, ev.sku)
            for rec, ev in events
            if isinstance(ev, ManufacturingOrderSuggested)
        )
        for t, order_id, ingredient, _, required, consumed, _ in await RESERVATIONS.fetch(
            conn, tables, list(self.orders), by=("tenant_id", "order_id")
        ):
            order = self.orders[(t, order_id)]
            assert order is not None
            order.lines[ingredient] = [required, consumed]
        for t, sku, ingredient, version, quantity, yield_quantity in await RECIPE_LINES.fetch(
            conn, tables, skus, by=("tenant_id", "sku")
        ):
            recipe = self.recipes.setdefault((t, sku), _Recipe(version, {}))
            recipe.lines[ingredient] = (quantity, yield_quantity)
        return self

    def apply(self, rec: RecordedEvent, ev: DomainEvent) -> None:
        t = rec.tenant_id
        self._mark = (rec.position, ev.occurred_at)
        match ev:
            case RecipeVersioned():
                self._recipe(t, ev)
            case ManufacturingOrderSuggested():
                key = (t, ev.order_id)
                self.orders[key] = _Order(ev.sku, ev.producing_store_id, ev.quantity, "suggested")
                self._reprice(key)
            case ManufacturingOrderConfirmed():
                self._status((t, ev.order_id), "confirmed")
            case ManufacturingOrderStarted():
                self._status((t, ev.order_id), "in_progress")
            case ManufacturingOrderEdited():
                order = self.orders.get((t, ev.order_id))
                if order is not None:
                    order.quantity = ev.quantity
                    self._reprice((t, ev.order_id))
            case BatchCompleted():
                order = self.orders.get((t, ev.order_id))
                if order is not None:
                    for used in ev.consumed:
                        taken = order.lines.setdefault(used.ingredient_id, [ZERO, ZERO])
                        taken[1] += used.quantity
                    self._touch((t, ev.order_id))
            case ManufacturingOrderCompleted() | ManufacturingOrderCancelled():
                key = (t, ev.order_id)
                if self.orders.get(key) is not None:
                    self._touch(key)
                self.orders[key] = None
                self.touched_orders.add(key)

    def _recipe(self, t: str, ev: RecipeVersioned) -> None:
        current = self.recipes.get((t, ev.sku))
        if current is not None and current.version > ev.version:
            return  # an older version published late never replaces the latest
        lines: dict[str, tuple[Decimal, Decimal]] = {}
        for line in ev.lines:  # duplicated ingredients add up, as in domain.batches
            before = lines.get(line.ingredient_id, (ZERO, ev.yield_quantity))[0]
            lines[line.ingredient_id] = (before + line.quantity, ev.yield_quantity)
        self.recipes[(t, ev.sku)] = _Recipe(ev.version, lines)
        self.touched_recipes.add((t, ev.sku))
        for key in sorted(self.orders):
            order = self.orders[key]
            if order is not None and key[0] == t and order.sku == ev.sku:
                self._reprice(key)

    def _status(self, key: OrderKey, status: str) -> None:
        order = self.orders.get(key)
        if order is not None:
            order.status = status
            self._touch(key)

    def _reprice(self, key: OrderKey) -> None:
        """Set each ingredient's requirement from the latest recipe and the order quantity."""
        order = self.orders[key]
        assert order is not None
        recipe = self.recipes.get((key[0], order.sku))
        needs = recipe.lines if recipe is not None else {}
        for ingredient, line in order.lines.items():
            if ingredient not in needs:
                line[0] = ZERO
        for ingredient, (quantity, yield_quantity) in needs.items():
            required = quantity * order.quantity / yield_quantity
            order.lines.setdefault(ingredient, [ZERO, ZERO])[0] = required
        self._touch(key)

    def _touch(self, key: OrderKey) -> None:
        order = self.orders[key]
        assert order is not None
        self.touched_orders.add(key)
        assert self._mark is not None
        for ingredient in order.lines:
            self.touched_stock[(key[0], order.store_id, ingredient)] = self._mark

    async def write(self, conn: Conn, tables: Mapping[str, str], stock: TableSpec) -> None:
        await RECIPE_LINES.delete(conn, tables, self.touched_recipes, by=("tenant_id", "sku"))
        await RECIPE_LINES.upsert(
            conn,
            tables,
            (
                (t, sku, ingredient, recipe.version, quantity, yield_quantity)
                for (t, sku) in self.touched_recipes
                for recipe in (self.recipes[(t, sku)],)
                for ingredient, (quantity, yield_quantity) in recipe.lines.items()
            ),
        )
        touched = self.touched_orders
        await RESERVATIONS.delete(conn, tables, touched, by=("tenant_id", "order_id"))
        await ORDERS.delete(conn, tables, [k for k in touched if self.orders[k] is None])
        open_orders = [(k, o) for k in touched if (o := self.orders[k]) is not None]
        await ORDERS.upsert(
            conn, tables, ((*k, o.sku, o.store_id, o.quantity, o.status) for k, o in open_orders)
        )
        await RESERVATIONS.upsert(
            conn,
            tables,
            (
                (*k, ingredient, o.store_id, required, consumed, _held(o, required, consumed))
                for k, o in open_orders
                for ingredient, (required, consumed) in o.lines.items()
            ),
        )
        await _resum(conn, tables, stock, self.touched_stock)


def _held(order: _Order, required: Decimal, consumed: Decimal) -> Decimal:
    if order.status not in HOLDING:
        return ZERO
    return max(required - consumed, ZERO)


async def _resum(
    conn: Conn,
    tables: Mapping[str, str],
    stock: TableSpec,
    touched: Mapping[StockKey, tuple[int, datetime]],
) -> None:
    """Set reserved (and available) of each touched stock row to the sum over open orders."""
    if not touched:
        return
    rows: list[Row] = [(*k, pos, at) for k, (pos, at) in touched.items()]
    query = sql.SQL(
        "INSERT INTO {stock} AS s (tenant_id, store_id, item_id, item_kind, on_hand,"
        " lot_quantity, shortfall, reserved, available, stock_value, negative,"
        " last_position, last_event_at)"
        " SELECT k.t, k.s, k.i, 'ingredient', 0, 0, 0, r.total, 0 - r.total, 0, false, k.pos, k.at"
        " FROM unnest(%b::text[], %b::text[], %b::text[], %b::bigint[], %b::timestamptz[])"
        "   AS k(t, s, i, pos, at)"
        " CROSS JOIN LATERAL (SELECT coalesce(sum(r.reserved), 0) AS total FROM {res} AS r"
        "   WHERE r.tenant_id = k.t AND r.store_id = k.s AND r.ingredient_id = k.i) AS r"
        " ON CONFLICT (tenant_id, store_id, item_id) DO UPDATE SET"
        " reserved = EXCLUDED.reserved, available = s.on_hand - EXCLUDED.reserved,"
        " last_event_at = CASE WHEN EXCLUDED.last_position > s.last_position"
        "   THEN EXCLUDED.last_event_at ELSE s.last_event_at END,"
        " last_position = greatest(s.last_position, EXCLUDED.last_position)"
    ).format(
        stock=sql.Identifier(tables[stock.name]), res=sql.Identifier(tables[RESERVATIONS.name])
    )
    await conn.execute(query, [list(col) for col in zip(*rows, strict=True)])
