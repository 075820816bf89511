"""Real ddop bakery sales loaded into ``rm_sales_daily`` of a fresh schema."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import polars as pl
import psycopg
import pytest

from deploy.sample_data import ddop_frame
from forecasting.ops.registry import SeriesKey

TENANT = "ddop"
TIMEZONE = "Europe/Berlin"  # the ddop bakery chain is German
#: days of history per series: enough for the pooled model (>= 176), small enough to be fast
DAYS = 300


@pytest.fixture(scope="session")
def ddop() -> pl.DataFrame:
    return ddop_frame()


LoadSales = Callable[[list[tuple[int, int]]], list[SeriesKey]]


@pytest.fixture
def load_sales(ddop: pl.DataFrame, pg_url: str) -> LoadSales:
    """Insert the last ``DAYS`` days of the given (store, product) pairs as daily sales.

    Stores are ``s<store>``, SKUs ``p<product>``; days without demand are not
    written (the store sold nothing: a closed day).
    """

    def load(pairs: list[tuple[int, int]]) -> list[SeriesKey]:
        end: dt.date = ddop["date"].max()  # type: ignore[assignment]
        start = end - dt.timedelta(days=DAYS - 1)
        keys: list[SeriesKey] = []
        with psycopg.connect(pg_url, autocommit=True) as conn:
            for store, product in pairs:
                rows = ddop.filter(
                    (pl.col("store") == store)
                    & (pl.col("product") == product)
                    & (pl.col("date") >= start)
                    & (pl.col("demand") > 0)
                ).select("date", "demand")
                key = SeriesKey(TENANT, f"s{store}", f"p{product}")
                with conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO rm_sales_daily (tenant_id, store_id, sku, sales_date, units,"
                        " revenue, tickets) VALUES (%s, %s, %s, %s, %s, 0, 1)",
                        [(TENANT, key.store_id, key.sku, d, u) for d, u in rows.iter_rows()],
                    )
                conn.execute(
                    "INSERT INTO rm_sales_store_timezones VALUES (%s, %s, %s)"
                    " ON CONFLICT DO NOTHING",
                    (TENANT, key.store_id, TIMEZONE),
                )
                keys.append(key)
        return keys

    return load
