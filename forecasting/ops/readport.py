"""The read port: the one module of ``forecasting`` that names read-model tables.

Forecasting reads what the projectors maintain — daily sales per store and SKU
(``rm_sales_daily``), each store's time zone (``rm_sales_store_timezones``) and
stock (``rm_inventory_lots``, ``rm_inventory_stock``) — only through these
functions, so a change of a read model's layout changes this file alone.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import polars as pl
import psycopg
from psycopg.rows import dict_row

from forecasting.ops.keys import RegistryError, SeriesKey

#: the zone of a store the sales read model has not seen yet
DEFAULT_TIMEZONE = "Europe/Madrid"


def connect(conninfo: str) -> psycopg.Connection[dict[str, Any]]:
    return psycopg.connect(conninfo, row_factory=dict_row)


def list_series(conninfo: str, tenant_id: str, store_id: str | None = None) -> list[SeriesKey]:
    """Every store x SKU with sales in ``rm_sales_daily`` for the tenant."""
    with connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT DISTINCT store_id, sku FROM rm_sales_daily WHERE tenant_id = %s"
            " AND (%s::text IS NULL OR store_id = %s) ORDER BY store_id, sku",
            (tenant_id, store_id, store_id),
        ).fetchall()
    return [SeriesKey(tenant_id, r["store_id"], r["sku"]) for r in rows]


def load_series(conninfo: str, key: SeriesKey, through: dt.date | None = None) -> pl.DataFrame:
    """Daily frame ``date, y, closed`` from the series' first sale to ``through``.

    ``through`` defaults to the last day the store sold anything; days after the
    last sale up to ``through`` are closed unless the store sold something.
    """
    with connect(conninfo) as conn:
        own = conn.execute(
            "SELECT sales_date, units FROM rm_sales_daily WHERE tenant_id = %s AND store_id = %s"
            " AND sku = %s AND (%s::date IS NULL OR sales_date <= %s) ORDER BY sales_date",
            (key.tenant_id, key.store_id, key.sku, through, through),
        ).fetchall()
        open_days = conn.execute(
            "SELECT sales_date FROM rm_sales_daily WHERE tenant_id = %s AND store_id = %s"
            " AND (%s::date IS NULL OR sales_date <= %s)"
            " GROUP BY sales_date HAVING sum(units) > 0",
            (key.tenant_id, key.store_id, through, through),
        ).fetchall()
    if not own:
        raise RegistryError(f"{key.label()}: no sales in rm_sales_daily")
    units = {r["sales_date"]: float(r["units"]) for r in own}
    is_open = {r["sales_date"] for r in open_days}
    start: dt.date = own[0]["sales_date"]
    end = through or max(is_open | set(units))
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    return pl.DataFrame(
        {
            "date": days,
            "y": [units.get(d, 0.0) for d in days],
            "closed": [d not in is_open for d in days],
        },
        schema={"date": pl.Date, "y": pl.Float64, "closed": pl.Boolean},
    )


def series_spans(conninfo: str, tenant_id: str) -> dict[SeriesKey, tuple[dt.date, dt.date]]:
    """First and last day of every series of the tenant, as :func:`load_series` builds
    its frame without ``through``: from the series' first row to the last day its
    store sold anything (or the series' own last row, if later)."""
    with connect(conninfo) as conn:
        rows = conn.execute(
            "WITH s AS (SELECT store_id, sku, min(sales_date) AS first, max(sales_date) AS last"
            " FROM rm_sales_daily WHERE tenant_id = %s GROUP BY store_id, sku),"
            " d AS (SELECT store_id, sales_date FROM rm_sales_daily WHERE tenant_id = %s"
            " GROUP BY store_id, sales_date HAVING sum(units) > 0),"
            " o AS (SELECT store_id, max(sales_date) AS last FROM d GROUP BY store_id)"
            " SELECT s.store_id, s.sku, s.first, greatest(s.last, o.last) AS last"
            " FROM s LEFT JOIN o USING (store_id) ORDER BY s.store_id, s.sku",
            (tenant_id, tenant_id),
        ).fetchall()
    return {SeriesKey(tenant_id, r["store_id"], r["sku"]): (r["first"], r["last"]) for r in rows}


def tenant_timezones(conninfo: str, tenant_id: str) -> list[str]:
    with connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT DISTINCT timezone FROM rm_sales_store_timezones WHERE tenant_id = %s"
            " ORDER BY timezone",
            (tenant_id,),
        ).fetchall()
    return [str(r["timezone"]) for r in rows] or [DEFAULT_TIMEZONE]


def stores_in_timezone(conninfo: str, tenant_id: str, timezone: str) -> set[str] | None:
    """Stores of the tenant in ``timezone``; None = no zones recorded (every store)."""
    with connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT store_id, timezone FROM rm_sales_store_timezones WHERE tenant_id = %s",
            (tenant_id,),
        ).fetchall()
    if not rows:
        return None if timezone == DEFAULT_TIMEZONE else set()
    return {r["store_id"] for r in rows if r["timezone"] == timezone}


def store_timezone(conninfo: str, tenant_id: str, store_id: str) -> str:
    with connect(conninfo) as conn:
        row = conn.execute(
            "SELECT timezone FROM rm_sales_store_timezones WHERE tenant_id = %s AND store_id = %s",
            (tenant_id, store_id),
        ).fetchone()
    return str(row["timezone"]) if row else DEFAULT_TIMEZONE


def usable_stock(conninfo: str, key: SeriesKey, on: dt.date) -> float:
    """Units in lots still sellable on ``on`` (no expiry, or expiring on/after it) - shortfall."""
    with connect(conninfo) as conn:
        lots = conn.execute(
            "SELECT coalesce(sum(quantity), 0) AS q FROM rm_inventory_lots"
            " WHERE tenant_id = %s AND store_id = %s AND item_id = %s AND quantity > 0"
            " AND (expires_on IS NULL OR expires_on >= %s)",
            (key.tenant_id, key.store_id, key.sku, on),
        ).fetchone()
        stock = conn.execute(
            "SELECT shortfall FROM rm_inventory_stock"
            " WHERE tenant_id = %s AND store_id = %s AND item_id = %s",
            (key.tenant_id, key.store_id, key.sku),
        ).fetchone()
    total = float(lots["q"]) if lots else 0.0
    if stock:
        total -= float(stock["shortfall"])
    return max(total, 0.0)


def stock_on_hand(
    conninfo: str, tenant_id: str, store_id: str, items: list[str]
) -> dict[str, Decimal]:
    """On-hand quantity of each of ``items`` at the store (items never stocked: absent)."""
    with connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT item_id, on_hand FROM rm_inventory_stock"
            " WHERE tenant_id = %s AND store_id = %s AND item_id = ANY(%s)",
            (tenant_id, store_id, items),
        ).fetchall()
    return {str(r["item_id"]): Decimal(str(r["on_hand"])) for r in rows}


def weekday_deviations(
    conninfo: str, tenant_id: str, store_ids: list[str], sku: str, *, through: dt.date, days: int
) -> dict[str, list[float]]:
    """Per store, the ``days`` days up to ``through``: units sold minus that store's mean of
    the same weekday over those days (no row: 0 sold). The stores' dependence is read
    from these (``forecasting.workshop_plan.dependence``)."""
    first = through - dt.timedelta(days=days - 1)
    with connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT store_id, sales_date, units FROM rm_sales_daily WHERE tenant_id = %s"
            " AND store_id = ANY(%s) AND sku = %s AND sales_date BETWEEN %s AND %s",
            (tenant_id, store_ids, sku, first, through),
        ).fetchall()
    sold = {(r["store_id"], r["sales_date"]): float(r["units"]) for r in rows}
    dates = [first + dt.timedelta(days=i) for i in range(days)]
    result: dict[str, list[float]] = {}
    for store_id in store_ids:
        units = [sold.get((store_id, d), 0.0) for d in dates]
        means = {
            wd: sum(u for u, d in zip(units, dates, strict=True) if d.weekday() == wd)
            / max(sum(1 for d in dates if d.weekday() == wd), 1)
            for wd in range(7)
        }
        result[store_id] = [u - means[d.weekday()] for u, d in zip(units, dates, strict=True)]
    return result
