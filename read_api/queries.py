"""The read side: plain SELECTs on the ``rm_*`` tables, always filtered by tenant.

Every function takes the tenant from the caller's credential and nothing
else; a list asks for ``limit + 1`` rows to say whether there are more.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, TypeVar

from psycopg import AsyncConnection
from psycopg.rows import class_row

from read_api.schemas import (
    DailySales,
    Forecast,
    ItemLots,
    Lot,
    ProductionOrder,
    PurchaseOrder,
    StockRow,
)

Conn = AsyncConnection[tuple[Any, ...]]
R = TypeVar("R")
#: One store asked for, the stores a store-scoped caller may see (a tuple), or all (None).
Stores = str | tuple[str, ...] | None


async def _rows(conn: Conn, cls: type[R], query: str, params: Sequence[Any]) -> list[R]:
    async with conn.cursor(row_factory=class_row(cls)) as cur:
        await cur.execute(query, params)
        return await cur.fetchall()


def _where(filters: dict[str, Any]) -> tuple[str, list[Any]]:
    """``col = %s AND …`` for the filters that were given (names are ours, never the caller's).

    A tuple value is a set to pick from (``col = ANY(%s)``): a store manager's stores.
    """
    given = {column: value for column, value in filters.items() if value is not None}
    clauses = (
        f" AND {column} = ANY(%s)" if isinstance(value, tuple) else f" AND {column} = %s"
        for column, value in given.items()
    )
    return "".join(clauses), [list(v) if isinstance(v, tuple) else v for v in given.values()]


def _between(column: str, first: date | None, last: date | None) -> tuple[str, list[Any]]:
    """``col >= %s`` / ``col <= %s`` for the bounds that were given (inclusive)."""
    bounds = [(op, value) for op, value in ((">=", first), ("<=", last)) if value is not None]
    return "".join(f" AND {column} {op} %s" for op, _ in bounds), [v for _, v in bounds]


async def stock(conn: Conn, tenant_id: str, *, store: Stores, limit: int) -> list[StockRow]:
    extra, params = _where({"store_id": store})
    return await _rows(
        conn,
        StockRow,
        "SELECT store_id, item_id, item_kind, on_hand, reserved, available, stock_value,"
        " negative, last_event_at FROM rm_inventory_stock"
        f" WHERE tenant_id = %s{extra} ORDER BY store_id, item_id LIMIT %s",
        [tenant_id, *params, limit + 1],
    )


async def lots(conn: Conn, tenant_id: str, store: str, item: str) -> ItemLots | None:
    """The item's lots in FIFO order; None when the tenant has no such stock row."""
    cur = await conn.execute(
        "SELECT on_hand FROM rm_inventory_stock"
        " WHERE tenant_id = %s AND store_id = %s AND item_id = %s",
        (tenant_id, store, item),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    found = await _rows(
        conn,
        Lot,
        "SELECT lot_id, quantity, expires_on, unit_cost, received_at, origin, origin_id"
        " FROM rm_inventory_lots"
        " WHERE tenant_id = %s AND store_id = %s AND item_id = %s AND quantity > 0"
        " ORDER BY expires_on NULLS LAST, received_position",
        (tenant_id, store, item),
    )
    return ItemLots(store_id=store, item_id=item, on_hand=row[0], lots=found)


async def daily_sales(
    conn: Conn,
    tenant_id: str,
    *,
    store: Stores,
    sku: str | None,
    first: date | None,
    last: date | None,
    limit: int,
) -> list[DailySales]:
    extra, params = _where({"store_id": store, "sku": sku})
    dates, bounds = _between("sales_date", first, last)
    extra, params = extra + dates, params + bounds
    return await _rows(
        conn,
        DailySales,
        "SELECT store_id, sku, sales_date, units, revenue, tickets FROM rm_sales_daily"
        f" WHERE tenant_id = %s{extra} ORDER BY sales_date, store_id, sku LIMIT %s",
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
) -> list[ProductionOrder]:
    extra, params = _where({"status": status, "sku": sku})
    if store is not None:
        stores = list(store) if isinstance(store, tuple) else [store]
        extra += " AND (producing_store_id = ANY(%s) OR destination_store_id = ANY(%s))"
        params += [stores, stores]
    return await _rows(
        conn,
        ProductionOrder,
        "SELECT order_id, sku, quantity, production_date, producing_store_id,"
        " destination_store_id, status, reason, created_at, confirmed_at, started_at,"
        " completed_at, cancelled_at, cancel_reason, quantity_produced, batches,"
        " quality_failures, updated_at FROM rm_production_orders"
        f" WHERE tenant_id = %s{extra}"
        " ORDER BY production_date DESC, order_id LIMIT %s",
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
) -> list[Forecast]:
    extra, params = _where({"store_id": store, "sku": sku})
    dates, bounds = _between("day", first, last)
    extra, params = extra + dates, params + bounds
    return await _rows(
        conn,
        Forecast,
        "SELECT store_id, sku, day, mean, lower, upper, interval_level, forecast_id, model,"
        " model_version, published_at FROM rm_forecasts"
        f" WHERE tenant_id = %s{extra} ORDER BY day, store_id, sku LIMIT %s",
        [tenant_id, *params, limit + 1],
    )


async def purchase_orders(
    conn: Conn, tenant_id: str, *, status: str | None, limit: int, store: Stores = None
) -> list[PurchaseOrder]:
    extra, params = _where({"o.status": status, "o.store_id": store})
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
        f" WHERE o.tenant_id = %s{extra}"
        " ORDER BY o.expected_delivery_at, o.po_id LIMIT %s",
        [tenant_id, *params, limit + 1],
    )
