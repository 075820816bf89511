"""The domain's own rules applied to checked rows: ticket lines, limits, the history window, text.

The rules are not re-implemented here: each distinct line (quantity, price,
amount, discount) is built as the import will write it (``build.line_of``) and
given to ``domain.sales.check_lines`` and ``domain.limits``; each distinct time
that may be out of the history window to ``limits.check_history_time``; each
text that may be too long or hold a NUL to ``limits.check_text``. Asking per
distinct value keeps a million-row file fast (a file has few distinct lines);
the polars pre-filters only pick the candidates the domain then decides on.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Final

import polars as pl

from commands.importer.build import line_of
from commands.importer.mapping import ColumnMap, Field
from domain import limits
from domain.errors import InvalidValue
from domain.sales import check_lines

ROW: Final = "_row"
LINE: Final = ("quantity", "unit_price", "amount", "discount")
_ERRORS: Final = {ROW: pl.Int64, "column": pl.String, "value": pl.String, "reason": pl.String}


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=_ERRORS)


def line_problem(
    quantity: str, unit_price: str | None, amount: str | None, discount: str | None
) -> tuple[str, str] | None:
    """(field, reason) the domain gives this ticket line, or None when it is a valid line."""
    try:
        line = line_of("sku", quantity, unit_price, amount, discount)
        check_lines((line,))
        limits.check_quantity("quantity", line.quantity)
        limits.check_money("unit_price", line.unit_price)
        limits.check_money("discount", line.discount)
    except InvalidValue as exc:
        return exc.field.rsplit(".", 1)[-1], exc.reason
    return None


def line_errors(df: pl.DataFrame, cmap: ColumnMap) -> pl.DataFrame:
    """One error per row whose line the domain refuses (quantity, price, discount, limits)."""
    distinct = df.select(LINE).unique()
    bad = [
        (*values, *problem)
        for values in distinct.iter_rows()
        if (problem := line_problem(*values)) is not None
    ]
    if not bad:
        return _empty()
    refused = pl.DataFrame(
        bad,
        schema={**dict.fromkeys(LINE, pl.String), "_field": pl.String, "reason": pl.String},
        orient="row",
    )
    hits = df.select(ROW, *LINE).join(refused, on=list(LINE), nulls_equal=True)
    amount = cmap.column(Field.AMOUNT)
    columns = {
        "quantity": cmap.column(Field.QUANTITY) or "quantity",
        "unit_price": cmap.column(Field.UNIT_PRICE) or amount or "unit_price",
        "discount": cmap.column(Field.DISCOUNT) or amount or "discount",
    }
    derived = {  # a price or discount the file does not give comes from the amount
        "unit_price": "unit_price" if cmap.column(Field.UNIT_PRICE) else "amount",
        "discount": "discount" if cmap.column(Field.DISCOUNT) else "amount",
    }
    value = pl.col("quantity")
    for name, source in derived.items():
        value = pl.when(pl.col("_field") == name).then(pl.col(source)).otherwise(value)
    return hits.select(
        pl.col(ROW),
        pl.col("_field")
        .replace_strict(columns, default="", return_dtype=pl.String)
        .alias("column"),
        value.alias("value"),
        pl.col("reason"),
    )


def lines_per_ticket_errors(df: pl.DataFrame, cmap: ColumnMap) -> pl.DataFrame:
    """A ticket with more lines than ``limits.MAX_LINES_PER_TICKET``: its first row says so."""
    if df.height <= limits.MAX_LINES_PER_TICKET:
        return _empty()
    sizes = df.select(pl.col("stream").hash(seed=3)).to_series().value_counts()
    if sizes["count"].max() <= limits.MAX_LINES_PER_TICKET:  # type: ignore[operator]
        return _empty()  # no hash bucket is that big, so no ticket is
    big = (
        df.group_by("stream")
        .agg(pl.col(ROW).min(), pl.len().alias("_n"), pl.col("txn").first())
        .filter(pl.col("_n") > limits.MAX_LINES_PER_TICKET)
    )
    return big.select(
        pl.col(ROW),
        pl.lit(cmap.column(Field.TICKET) or "").alias("column"),
        pl.col("txn").alias("value"),
        pl.format(f"the ticket has {{}} lines, at most {limits.MAX_LINES_PER_TICKET}", "_n").alias(
            "reason"
        ),
    )


def history_errors(df: pl.DataFrame, cmap: ColumnMap, now: datetime) -> pl.DataFrame:
    """Sales before the history window or in the future (``limits.check_history_time``)."""
    sold = pl.col("sold_utc")
    candidates = df.filter((sold.dt.year() <= limits.HISTORY_FIRST_YEAR) | (sold > now)).select(
        ROW, "sold_utc"
    )
    if candidates.height == 0:
        return _empty()
    reasons: dict[datetime, str] = {}
    for value in candidates["sold_utc"].unique().to_list():
        try:
            limits.check_history_time("sold_at", value, now)
        except InvalidValue as exc:
            reasons[value] = exc.reason
    refused = pl.DataFrame(
        {"sold_utc": list(reasons), "reason": list(reasons.values())},
        schema={"sold_utc": candidates.schema["sold_utc"], "reason": pl.String},
    )
    return candidates.join(refused, on="sold_utc").select(
        pl.col(ROW),
        pl.lit(cmap.column(Field.DATE) or "").alias("column"),
        pl.col("sold_utc").cast(pl.String).alias("value"),
        pl.col("reason"),
    )


def text_errors(df: pl.DataFrame, columns: Mapping[str, str]) -> pl.DataFrame:
    """Cells too long or holding a NUL (``limits.check_text``); ``columns``: df column -> file's."""
    found = []
    for internal, shown in columns.items():
        text = pl.col(internal)
        suspect = df.filter(
            (text.str.len_chars() > limits.MAX_TEXT) | text.str.contains("\x00", literal=True)
        ).select(ROW, pl.col(internal).alias("value"))
        if suspect.height == 0:
            continue
        reasons: dict[str, str] = {}
        for value in suspect["value"].unique().to_list():
            try:
                limits.check_text(shown, value)
            except InvalidValue as exc:
                reasons[value] = exc.reason
        found.append(
            suspect.filter(pl.col("value").is_in(list(reasons))).select(
                pl.col(ROW),
                pl.lit(shown).alias("column"),
                pl.col("value").str.replace_all("\x00", "\\0", literal=True).str.slice(0, 200),
                pl.col("value").replace_strict(reasons, return_dtype=pl.String).alias("reason"),
            )
        )
    return pl.concat(found) if found else _empty()
