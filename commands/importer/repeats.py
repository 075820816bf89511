"""``sum_repeated_lines``: the same product at the same price twice on a ticket is more units.

Exports with one row per unit sold, or that repeat a line each time the
product is scanned, mean "2 units" by two equal rows. When asked, those rows
become one line: quantities (and amounts and discounts, when given) are added
as decimals, exactly as ``Decimal`` adds them; the line keeps the first row's
place (and number, for the report).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

import polars as pl

ROW: Final = "_row"
#: rows of one ticket that are one line: same product, price and time
KEY: Final = ("stream", "product", "unit_price", "sold_utc")
SUMMED: Final = ("quantity", "amount", "discount")


def merge_repeats(df: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows with repeats merged, the rows merged into an earlier one: ``_row, stream, txn``)."""
    keyed = df.with_columns(
        pl.col("amount").is_null().alias("_no_amount"),
        pl.col("discount").is_null().alias("_no_discount"),
    )
    key = [*KEY, "_no_amount", "_no_discount"]
    counts = keyed.group_by(key).agg(pl.len().alias("_n"))
    repeated = keyed.join(counts.filter(pl.col("_n") > 1), on=key, how="semi", nulls_equal=True)
    if repeated.height == 0:
        return df, pl.DataFrame(schema={ROW: pl.Int64, "stream": pl.String, "txn": pl.String})
    rest = keyed.join(repeated.select(ROW), on=ROW, how="anti")
    groups = (
        repeated.sort(ROW)
        .group_by(key, maintain_order=True)
        .agg(
            pl.col(ROW),
            *(pl.col(c) for c in SUMMED),
            *(pl.col(c).first() for c in df.columns if c not in (*key, ROW, *SUMMED)),
        )
    )
    merged = groups.with_columns(
        pl.col(ROW).list.first(),
        *(_summed(repeated, c).alias(c) for c in SUMMED),
    )
    away = groups.select(pl.col(ROW).list.slice(1), "stream", "txn").explode(ROW)
    out = (
        pl.concat([rest, merged.select(rest.columns)]).sort(ROW).drop("_no_amount", "_no_discount")
    )
    return out, away.select(pl.col(ROW).cast(pl.Int64), "stream", "txn")


def _summed(rows: pl.DataFrame, column: str) -> pl.Expr:
    """The sum of each group's list: integers by polars, anything else by ``Decimal``."""
    values = rows[column]
    if values.null_count() == values.len():  # the file has no such column
        return pl.lit(None, dtype=pl.String)
    if values.null_count() == 0 and values.str.contains(r"^[0-9]{1,15}$").all():
        return pl.col(column).list.eval(pl.element().cast(pl.Int64)).list.sum().cast(pl.String)
    return pl.col(column).map_elements(_decimal_sum, return_dtype=pl.String)


def _decimal_sum(values: pl.Series) -> str | None:
    present = [Decimal(v) for v in values.to_list() if v is not None]
    return str(sum(present, Decimal(0))) if present else None
