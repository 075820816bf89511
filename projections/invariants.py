"""The inventory's books add up: rules every stock row and lot must satisfy, checked in SQL.

``docs/read-models.md`` states them; ``obrador projections verify inventory``
and the property tests run :func:`inventory_breaches`. Each rule is a query
returning the rows that break it (tenant, store, item, detail).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from psycopg import AsyncConnection, sql

Conn = AsyncConnection[tuple[Any, ...]]

#: rule -> SELECT of (tenant_id, store_id, item_id, detail) breaking it; {s} stock, {l} lots.
RULES: Final[dict[str, str]] = {
    "on_hand = lot_quantity - shortfall": (
        "SELECT tenant_id, store_id, item_id, on_hand::text || ' vs ' ||"
        " (lot_quantity - shortfall)::text FROM {s} WHERE on_hand <> lot_quantity - shortfall"
    ),
    "lot_quantity = sum of the lots": (
        "SELECT s.tenant_id, s.store_id, s.item_id, s.lot_quantity::text || ' vs ' ||"
        " coalesce(l.q, 0)::text FROM {s} s LEFT JOIN (SELECT tenant_id, store_id, item_id,"
        " sum(quantity) q FROM {l} GROUP BY 1, 2, 3) l USING (tenant_id, store_id, item_id)"
        " WHERE s.lot_quantity <> coalesce(l.q, 0)"
    ),
    "stock_value = sum of lot quantity x unit cost": (
        "SELECT s.tenant_id, s.store_id, s.item_id, s.stock_value::text || ' vs ' ||"
        " coalesce(l.v, 0)::text FROM {s} s LEFT JOIN (SELECT tenant_id, store_id, item_id,"
        " sum(quantity * unit_cost) v FROM {l} GROUP BY 1, 2, 3) l"
        " USING (tenant_id, store_id, item_id) WHERE s.stock_value <> coalesce(l.v, 0)"
    ),
    "no lot below zero": (
        "SELECT tenant_id, store_id, item_id, lot_id || ' holds ' || quantity::text"
        " FROM {l} WHERE quantity < 0"
    ),
    "shortfall only when no lot holds stock": (
        "SELECT tenant_id, store_id, item_id, 'shortfall ' || shortfall::text || ' with lots ' ||"
        " lot_quantity::text FROM {s} WHERE shortfall < 0 OR (shortfall > 0 AND lot_quantity <> 0)"
    ),
    "available = on_hand - reserved, negative = on_hand < 0": (
        "SELECT tenant_id, store_id, item_id, 'available ' || available::text FROM {s}"
        " WHERE available <> on_hand - reserved OR negative <> (on_hand < 0)"
    ),
}


@dataclass(frozen=True)
class Breach:
    rule: str
    tenant_id: str
    store_id: str
    item_id: str
    detail: str


async def inventory_breaches(
    conn: Conn,
    tables: Mapping[str, str] | None = None,
    *,
    tenant_id: str | None = None,
    limit: int = 20,
) -> list[Breach]:
    """Up to ``limit`` rows breaking each rule (all tenants, or one)."""
    stock = (tables or {}).get("rm_inventory_stock", "rm_inventory_stock")
    lots = (tables or {}).get("rm_inventory_lots", "rm_inventory_lots")
    found: list[Breach] = []
    for rule, query in RULES.items():
        inner = sql.SQL(query).format(s=sql.Identifier(stock), l=sql.Identifier(lots))
        wrapped = sql.SQL(
            "SELECT * FROM ({}) AS b(t, s, i, d) WHERE %(t)s::text IS NULL OR t = %(t)s"
            " ORDER BY 1, 2, 3 LIMIT %(n)s"
        ).format(inner)
        cur = await conn.execute(wrapped, {"t": tenant_id, "n": limit})
        found.extend(Breach(rule, *map(str, row)) for row in await cur.fetchall())
    return found
