"""The read side: plain SELECTs on the ``rm_*`` tables, always filtered by tenant.

Every function takes the tenant from the caller's credential and nothing
else; a list asks for ``limit + 1`` rows after its cursor (``after``: the key
values of the previous page's last row, None for page one) to say whether
there are more. Each list's key, the ``Order`` beside it, is unique within the
tenant, so keyset pages neither repeat nor skip a row (``read_api.paging``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final, TypeVar

from psycopg import AsyncConnection
from psycopg.rows import class_row, dict_row

from read_api.paging import Key, Order
from read_api.schemas import (
    DailySales,
    Forecast,
    Lot,
    ProductionOrder,
    PurchaseOrder,
    StockRow,
)

Conn = AsyncConnection[tuple[Any, ...]]
R = TypeVar("R")
#: One store asked for, the stores a store-scoped caller may see (a tuple), or all (None).
Stores = str | tuple[str, ...] | None
#: The key values of the last row of the previous page (None: the first page).
After = list[Any] | None

STOCK: Final = Order("inventory", (Key("store_id", str), Key("item_id", str)))
LOTS: Final = Order(
    "lots",
    (Key("expires_on", date, nullable=True), Key("received_position", int), Key("lot_id", str)),
)
DAILY_SALES: Final = Order(
    "sales-daily", (Key("sales_date", date), Key("store_id", str), Key("sku", str))
)
PRODUCTION_ORDERS: Final = Order(
    "production-orders", (Key("production_date", date, desc=True), Key("order_id", str))
)
FORECASTS: Final = Order("forecasts", (Key("day", date), Key("store_id", str), Key("sku", str)))
PURCHASE_ORDERS: Final = Order(
    "purchase-orders",
    (
        Key("expected_delivery_at", datetime, column="o.expected_delivery_at"),
        Key("po_id", str, column="o.po_id"),
    ),
)


async def _rows(conn: Conn, cls: type[R], query: str, params: Sequence[Any]) -> list[R]:
    async with conn.cursor(row_factory=class_row(cls)) as cur:
        await cur.execute(query, params)
        return await cur.fetchall()


def where_equal(filters: dict[str, Any]) -> tuple[str, list[Any]]:
    """``col = %s AND …`` for the filters that were given (names are ours, never the caller's).

    A tuple value is a set to pick from (``col = ANY(%s)``): a store manager's stores.
    """
    given = {column: value for column, value in filters.items() if value is not None}
    clauses = (
        f" AND {column} = ANY(%s)" if isinstance(value, tuple) else f" AND {column} = %s"
        for column, value in given.items()
    )
    return "".join(clauses), [list(v) if isinstance(v, tuple) else v for v in given.values()]


def where_between(column: str, first: date | None, last: date | None) -> tuple[str, list[Any]]:
    """``col >= %s`` / ``col <= %s`` for the bounds that were given (inclusive)."""
    bounds = [(op, value) for op, value in ((">=", first), ("<=", last)) if value is not None]
    return "".join(f" AND {column} {op} %s" for op, _ in bounds), [v for _, v in bounds]


async def stock(
    conn: Conn, tenant_id: str, *, store: Stores, limit: int, after: After = None
) -> list[StockRow]:
    extra, params = where_equal({"store_id": store})
    keyset, from_key = STOCK.after(after)
    return await _rows(
        conn,
        StockRow,
        "SELECT store_id, item_id, item_kind, on_hand, reserved, available, stock_value,"
        " negative, last_event_at FROM rm_inventory_stock"
        f" WHERE tenant_id = %s{extra}{keyset}{STOCK.order_by()} LIMIT %s",
        [tenant_id, *params, *from_key, limit + 1],
    )


async def lots(
    conn: Conn, tenant_id: str, store: str, item: str, *, limit: int, after: After = None
) -> tuple[Decimal, list[Lot]] | None:
    """(on hand, up to ``limit + 1`` lots in FIFO order); None when there is no such stock row."""
    cur = await conn.execute(
        "SELECT on_hand FROM rm_inventory_stock"
        " WHERE tenant_id = %s AND store_id = %s AND item_id = %s",
        (tenant_id, store, item),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    keyset, from_key = LOTS.after(after)
    found = await _rows(
        conn,
        Lot,
        "SELECT lot_id, quantity, expires_on, unit_cost, received_at, origin, origin_id,"
        " received_position FROM rm_inventory_lots"
        " WHERE tenant_id = %s AND store_id = %s AND item_id = %s AND quantity > 0"
        f"{keyset}{LOTS.order_by()} LIMIT %s",
        [tenant_id, store, item, *from_key, limit + 1],
    )
    return row[0], found


async def daily_sales(
    conn: Conn,
    tenant_id: str,
    *,
    store: Stores,
    sku: str | None,
    first: date | None,
    last: date | None,
    limit: int,
    after: After = None,
) -> list[DailySales]:
    extra, params = where_equal({"store_id": store, "sku": sku})
    dates, bounds = where_between("sales_date", first, last)
    keyset, from_key = DAILY_SALES.after(after)
    extra, params = extra + dates + keyset, params + bounds + from_key
    return await _rows(
        conn,
        DailySales,
        "SELECT store_id, sku, sales_date, units, revenue, tickets FROM rm_sales_daily"
        f" WHERE tenant_id = %s{extra}{DAILY_SALES.order_by()} LIMIT %s",
        [tenant_id, *params, limit + 1],
    )


async def production_orders(
    conn: Conn,
    tenant_id: str,
    *,
    status: str | None,
    store: Stores,
    sku: str | None,
    limit: int,
    after: After = None,
) -> list[ProductionOrder]:
    extra, params = where_equal({"status": status, "sku": sku})
    if store is not None:
        stores = list(store) if isinstance(store, tuple) else [store]
        extra += " AND (producing_store_id = ANY(%s) OR destination_store_id = ANY(%s))"
        params += [stores, stores]
    keyset, from_key = PRODUCTION_ORDERS.after(after)
    extra, params = extra + keyset, params + from_key
    return await _rows(
        conn,
        ProductionOrder,
        "SELECT order_id, sku, quantity, production_date, producing_store_id,"
        " destination_store_id, status, reason, created_at, confirmed_at, started_at,"
        " completed_at, cancelled_at, cancel_reason, quantity_produced, batches,"
        " quality_failures, updated_at FROM rm_production_orders"
        f" WHERE tenant_id = %s{extra}{PRODUCTION_ORDERS.order_by()} LIMIT %s",
        [tenant_id, *params, limit + 1],
    )


async def forecasts(
    conn: Conn,
    tenant_id: str,
    *,
    store: Stores,
    sku: str | None,
    first: date | None,
    last: date | None,
    limit: int,
    after: After = None,
) -> list[Forecast]:
    extra, params = where_equal({"store_id": store, "sku": sku})
    dates, bounds = where_between("day", first, last)
    keyset, from_key = FORECASTS.after(after)
    extra, params = extra + dates + keyset, params + bounds + from_key
    return await _rows(
        conn,
        Forecast,
        "SELECT store_id, sku, day, mean, lower, upper, interval_level, forecast_id, model,"
        " model_version, published_at FROM rm_forecasts"
        f" WHERE tenant_id = %s{extra}{FORECASTS.order_by()} LIMIT %s",
        [tenant_id, *params, limit + 1],
    )


async def purchase_orders(
    conn: Conn,
    tenant_id: str,
    *,
    status: str | None,
    limit: int,
    store: Stores = None,
    after: After = None,
) -> list[PurchaseOrder]:
    extra, params = where_equal({"o.status": status, "o.store_id": store})
    keyset, from_key = PURCHASE_ORDERS.after(after)
    extra, params = extra + keyset, params + from_key
    return await _rows(
        conn,
        PurchaseOrder,
        "SELECT o.po_id, o.supplier_id, s.name AS supplier_name, o.store_id, o.status,"
        " o.expected_delivery_at,"
        " (o.expected_delivery_at < now() AND o.status NOT IN ('received', 'cancelled'))"
        " AS overdue, o.line_count, o.ordered_quantity, o.received_quantity,"
        " o.ordered_value, o.received_value, o.drafted_at, o.updated_at"
        " FROM rm_purchase_orders AS o LEFT JOIN rm_purchase_suppliers AS s"
        " ON s.tenant_id = o.tenant_id AND s.supplier_id = o.supplier_id"
        f" WHERE o.tenant_id = %s{extra}{PURCHASE_ORDERS.order_by()} LIMIT %s",
        [tenant_id, *params, limit + 1],
    )


#: The grouping columns of the waste report, in the order they break ties.
WASTE_GROUPS: Final[dict[str, type[str] | type[date]]] = {
    "store_id": str,
    "day": date,
    "item_id": str,
    "reason": str,
}


def waste_order(by: Sequence[str]) -> Order:
    """Largest value first, then units, then the grouping columns asked for (unique together)."""
    return Order(
        "waste:" + ",".join(by),
        (
            Key("value", Decimal, desc=True),
            Key("units", Decimal, desc=True),
            *(Key(g, WASTE_GROUPS[g]) for g in by),
        ),
    )


async def waste(
    conn: Conn,
    tenant_id: str,
    *,
    by: Sequence[str],
    store: Stores,
    first: date | None,
    last: date | None,
    limit: int,
    after: After = None,
) -> list[dict[str, Any]]:
    """Waste units and euros grouped ``by`` (a subset of ``WASTE_GROUPS``), largest first."""
    assert all(g in WASTE_GROUPS for g in by)  # the caller checked; names are ours in the SQL
    extra, params = where_equal({"store_id": store})
    dates, bounds = where_between("day", first, last)
    order = waste_order(by)
    keyset, from_key = order.after(after)
    groups = ", ".join(by)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT * FROM (SELECT "
            + "".join(f"{g}, " for g in by)
            + "sum(units) AS units, sum(value) AS value, sum(unvalued_units) AS unvalued_units"
            f" FROM rm_waste_daily WHERE tenant_id = %s{extra}{dates}"
            + (f" GROUP BY {groups}" if by else "")
            + f") AS w WHERE units IS NOT NULL{keyset}{order.order_by()} LIMIT %s",
            [tenant_id, *params, *bounds, *from_key, limit + 1],
        )
        return await cur.fetchall()
