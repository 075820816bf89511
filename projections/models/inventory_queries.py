"""Reads of the inventory read model for the tools around it (CLI, scheduler)."""

from __future__ import annotations

from decimal import Decimal

from psycopg import AsyncConnection


async def items_held(conn: AsyncConnection[tuple[str]], tenant_id: str, store_id: str) -> list[str]:
    """Items whose books at ``store_id`` hold lots or a shortfall (what a close must look at)."""
    cur = await conn.execute(
        "SELECT item_id FROM rm_inventory_stock WHERE tenant_id = %s AND store_id = %s"
        " AND (lot_quantity <> 0 OR shortfall <> 0) ORDER BY item_id",
        (tenant_id, store_id),
    )
    return [row[0] for row in await cur.fetchall()]


async def unknown_sales(
    conn: AsyncConnection[tuple[str, str, Decimal, int]], tenant_id: str
) -> list[tuple[str, str, Decimal, int]]:
    """(store, item, units, tickets) sold while the catalogue did not know the item."""
    cur = await conn.execute(
        "SELECT store_id, item_id, units, tickets FROM rm_inventory_unknown_sales"
        " WHERE tenant_id = %s ORDER BY units DESC, store_id, item_id",
        (tenant_id,),
    )
    return await cur.fetchall()


async def unknown_sales_everywhere(
    conn: AsyncConnection[tuple[str, str, str, Decimal, int]],
) -> list[tuple[str, str, str, Decimal, int]]:
    """(tenant, store, item, units, tickets) of every tenant, for ``obrador pos status``."""
    cur = await conn.execute(
        "SELECT tenant_id, store_id, item_id, units, tickets FROM rm_inventory_unknown_sales"
        " ORDER BY tenant_id, store_id, item_id"
    )
    return await cur.fetchall()
