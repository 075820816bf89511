"""Reads of the inventory read model for the tools around it (CLI, scheduler)."""

from __future__ import annotations

from psycopg import AsyncConnection


async def items_held(conn: AsyncConnection[tuple[str]], tenant_id: str, store_id: str) -> list[str]:
    """Items whose books at ``store_id`` hold lots or a shortfall (what a close must look at)."""
    cur = await conn.execute(
        "SELECT item_id FROM rm_inventory_stock WHERE tenant_id = %s AND store_id = %s"
        " AND (lot_quantity <> 0 OR shortfall <> 0) ORDER BY item_id",
        (tenant_id, store_id),
    )
    return [row[0] for row in await cur.fetchall()]
