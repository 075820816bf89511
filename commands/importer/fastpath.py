"""The same ``SaleRecorded`` payloads as ``TicketBuilder`` + ``encode_event``, built by polars.

For a large file, building one msgspec Struct per line and ticket in Python is
what limits the import (the store's bulk path waits for it). When every
number in the file is a plain decimal that needs no arithmetic beyond
``quantity × price − discount`` (no price derived from an amount), the JSON
of each ticket is assembled column-wise instead, byte for byte what
``encode_event`` writes (``tests/importer`` checks it against the Struct path).
Otherwise :func:`ticket_payloads` returns None and the Struct path is used.
"""

from __future__ import annotations

from typing import Final

import polars as pl

#: Above this many decimals ``str(Decimal)`` may switch to exponent notation.
MAX_SCALE: Final = 6
_PLAIN: Final = r"^(0|[1-9][0-9]*)(\.[0-9]+)?$"


def ticket_payloads(rows: pl.DataFrame) -> pl.DataFrame | None:
    """``store, txn, payload`` (one row per ticket, lines in file order), or None."""
    if rows.height == 0:
        return None
    if rows["amount"].null_count() != rows.height and rows["discount"].null_count() != 0:
        return None  # a discount derived from an amount: Decimal arithmetic, Struct path
    if rows["amount"].null_count() != rows.height and rows["unit_price"].null_count() != 0:
        return None  # a price derived from an amount
    lines = rows.sort("_row").select(
        "_row",
        "stream",
        "store",
        "txn",
        "sold_utc",
        "tz",
        "channel",
        "product",
        pl.col("quantity").alias("q"),
        pl.col("unit_price").fill_null("0").alias("p"),
        pl.col("discount").fill_null("0").alias("d"),
    )
    plain = lines.select(
        pl.all_horizontal(pl.col(c).str.contains(_PLAIN) for c in ("q", "p", "d"))
    ).to_series()
    if not plain.all():
        return None  # leading zeros and the like: let Decimal normalise them
    lines = lines.with_columns(
        *(_scale(c).alias(f"{c}_scale") for c in ("q", "p", "d")),
        *(_digits(c).alias(f"{c}_int") for c in ("q", "p", "d")),
    )
    if lines.select(pl.max_horizontal("q_scale", "p_scale", "d_scale").max()).item() > MAX_SCALE:
        return None
    if lines.select(pl.max_horizontal("q_int", "p_int", "d_int").max()).item() > 10**9:
        return None  # keep within Decimal's 28 significant digits (and Int128)
    if lines.select((pl.col("sold_utc").dt.microsecond() != 0).any()).item():
        return None  # msgspec would print the fraction
    line_json = _json(
        '{"sku":"',
        "product",
        '","quantity":"',
        "q",
        '","unit_price":"',
        "p",
        '","discount":"',
        "d",
        '","promotion":null}',
    )
    # amount = q*p - d at scale max(sq+sp, sd), as Decimal arithmetic gives it
    gross_scale = pl.col("q_scale") + pl.col("p_scale")
    line_scale = pl.max_horizontal(gross_scale, pl.col("d_scale"))
    tickets = (
        lines.with_columns(line_json.alias("line"), line_scale.alias("scale"))
        .group_by("stream", maintain_order=True)
        .agg(
            pl.col("store", "txn", "sold_utc", "tz", "channel").first(),
            pl.col("line").str.join(","),
            pl.col("scale").max().alias("total_scale"),
            pl.struct("q_int", "p_int", "d_int", "q_scale", "p_scale", "d_scale").alias("nums"),
        )
    )
    tickets = tickets.with_columns(_totals(tickets))
    sold = _local_iso(tickets)
    payload = _json(
        '{"type":"SaleRecorded","occurred_at":"',
        sold,
        '","store_id":"',
        "store",
        '","pos_txn_id":"',
        "txn",
        '","sold_at":"',
        sold,
        '","channel":"',
        pl.col("channel").fill_null("counter"),
        '","lines":[',
        "line",
        '],"total":"',
        "total",
        '","source":"import","device_id":null}',
    )
    return tickets.select("store", "txn", payload.alias("payload"))


def _json(*parts: str | pl.Expr) -> pl.Expr:
    """Alternating literal JSON text (starting with ``{``) and column names or expressions."""
    return pl.concat_str(
        [
            pl.lit(p)
            if isinstance(p, str) and p[:1] in '{",]'
            else pl.col(p)
            if isinstance(p, str)
            else p
            for p in parts
        ]
    )


def _scale(column: str) -> pl.Expr:
    fraction = pl.col(column).str.extract(r"\.([0-9]+)$", 1)
    return fraction.str.len_chars().fill_null(0).cast(pl.Int64)


def _digits(column: str) -> pl.Expr:
    return pl.col(column).str.replace(".", "", literal=True).cast(pl.Int64)


def _totals(tickets: pl.DataFrame) -> pl.Series:
    """Σ (q·p − d) per ticket as the decimal string ``sum(..., Decimal(0))`` prints."""
    exploded = (
        tickets.select(pl.int_range(pl.len()).alias("_t"), "total_scale", "nums")
        .explode("nums")
        .unnest("nums")
    )
    ten = pl.lit(10, dtype=pl.Int128)
    scale = pl.col("total_scale")
    gross = (
        pl.col("q_int").cast(pl.Int128)
        * pl.col("p_int").cast(pl.Int128)
        * ten.pow(scale - pl.col("q_scale") - pl.col("p_scale"))
    )
    off = pl.col("d_int").cast(pl.Int128) * ten.pow(scale - pl.col("d_scale"))
    sums = (
        exploded.with_columns((gross - off).alias("m"))
        .group_by("_t", maintain_order=True)
        .agg(pl.col("m").sum(), pl.col("total_scale").first())
        .sort("_t")
    )
    return sums.select(_fixed(pl.col("m"), pl.col("total_scale")).alias("total")).to_series()


def _fixed(mantissa: pl.Expr, scale: pl.Expr) -> pl.Expr:
    """Integer mantissa and scale -> ``123.40``-style text (mantissa ≥ 0)."""
    digits = mantissa.cast(pl.String).str.pad_start(scale + 1, "0")
    cut = digits.str.len_chars() - scale
    whole = digits.str.slice(0, cut)
    fraction = digits.str.slice(cut)
    return pl.when(scale == 0).then(digits).otherwise(pl.format("{}.{}", whole, fraction))


def _local_iso(tickets: pl.DataFrame) -> pl.Expr:
    """The sale time in its store's zone, as msgspec writes it (``Z`` for a zero offset)."""
    expr = pl.lit(None, dtype=pl.String)
    for zone in tickets["tz"].unique().drop_nulls().to_list():
        local = pl.col("sold_utc").dt.convert_time_zone(zone).dt.strftime("%Y-%m-%dT%H:%M:%S%:z")
        expr = pl.when(pl.col("tz") == zone).then(local).otherwise(expr)
    return expr.str.replace(r"\+00:00$", "Z")
