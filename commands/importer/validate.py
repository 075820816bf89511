"""Check every row of a sales file at once (polars), before anything is written.

The result is the rows that can be imported, in one normalised shape
(``store, txn, stream, product, sold_utc, tz, quantity, unit_price, amount,
discount, channel``), and one error per (row, column) with the reason. A
ticket with one bad line is not imported at all; its other lines are listed
too, so the report explains every row left out.

Two rounds: first what only the importer can say (dates, numbers, ids, known
stores and products, text); then, on the rows left, the domain's own rules
(``rules.py``: ticket lines, limits, the history window), repeated lines
summed (``repeats.py``) or reported as duplicates, and one time per ticket.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Final, Protocol

import polars as pl

from commands.importer.mapping import ColumnMap, Field, FileKind
from commands.importer.repeats import merge_repeats
from commands.importer.rules import (
    history_errors,
    line_errors,
    lines_per_ticket_errors,
    text_errors,
)
from domain import streams as stream_ids

ROW: Final = "_row"  # the row number as a spreadsheet shows it (header = row 1)
ID_PATTERN: Final = r"^[A-Za-z0-9_.:@-]{1,128}$"
NUMBER: Final = r"^-?[0-9]+(\.[0-9]+)?$"
DEFAULT_DATE_FORMATS: Final = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
)
TIME_FORMATS: Final = ("%H:%M:%S", "%H:%M")
#: Local time given to a daily total (a day has no ticket time; noon keeps the date in any zone).
DAILY_TIME: Final = "12:00:00"
CHANNELS: Final = {
    "counter": "counter",
    "mostrador": "counter",
    "tienda": "counter",
    "delivery": "delivery",
    "reparto": "delivery",
    "domicilio": "delivery",
    "online": "online",
    "web": "online",
    "wholesale": "wholesale",
    "mayorista": "wholesale",
}
COLLATERAL: Final = "ticket not imported: "
SUM_HINT: Final = " (if a repeated line means more units, pass --sum-repeated-lines)"
ERROR_SCHEMA: Final = {ROW: pl.Int64, "column": pl.String, "value": pl.String, "reason": pl.String}


@dataclass(frozen=True)
class Context:
    """What the tenant already has, and what the import was asked to do about the rest."""

    store: str | None  # --store: every row must be of this store
    store_zones: Mapping[str, str]  # open stores -> IANA time zone
    products: frozenset[str]
    create_products: bool = False
    create_stores: bool = False
    default_timezone: str = "Europe/Madrid"
    #: product names in the file that are not SKUs -> the SKU used (``skus.map_products``)
    product_skus: Mapping[str, str] = field(default_factory=dict)
    #: product names that cannot be mapped -> why
    product_errors: Mapping[str, str] = field(default_factory=dict)
    #: stores of the tenant that were closed: never imported into, never reopened
    closed_stores: frozenset[str] = frozenset()
    #: the same product at the same price twice on a ticket is more units (else an error)
    sum_repeated: bool = False
    #: the history window ends a day after this
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class Checked:
    rows: pl.DataFrame  # importable rows, normalised
    errors: pl.DataFrame  # row, column, value, reason
    total_rows: int
    skipped_zero: int = 0
    new_products: list[str] = field(default_factory=list)
    new_stores: list[str] = field(default_factory=list)

    @property
    def error_rows(self) -> int:
        """Rows at fault (the other lines of their tickets, left out with them, not counted)."""
        own = self.errors.filter(~pl.col("reason").str.starts_with(COLLATERAL))
        return int(own[ROW].n_unique())


def check_rows(frame: pl.DataFrame, cmap: ColumnMap, ctx: Context) -> Checked:
    total = frame.height
    df = _normalise(frame, cmap, ctx)
    errors: list[pl.DataFrame] = []

    def flag(mask: pl.Expr, column: str, value: pl.Expr, reason: pl.Expr | str) -> None:
        reason_expr = pl.lit(reason) if isinstance(reason, str) else reason
        bad = df.filter(mask.fill_null(False))
        if bad.height == 0:
            return
        bad = bad.select(
            pl.col(ROW),
            pl.lit(column).alias("column"),
            value.cast(pl.String).alias("value"),
            reason_expr.alias("reason"),
        )
        if bad.height:
            errors.append(bad)

    name = cmap.column
    store_col = name(Field.STORE) or "--store"
    flag(pl.col("store").is_null(), store_col, pl.col("store"), "missing store")
    flag(
        pl.col("store").is_not_null() & ~pl.col("store").str.contains(ID_PATTERN),
        store_col,
        pl.col("store"),
        "not a store id (letters, digits, _ . : @ -)",
    )
    if ctx.store is not None and name(Field.STORE):
        flag(
            pl.col("store") != ctx.store,
            store_col,
            pl.col("store"),
            f"this import is for store {ctx.store!r}",
        )
    _check_ids(flag, cmap, ctx)
    _check_numbers(flag, cmap)
    _check_times(flag, cmap)
    if name(Field.CHANNEL):
        flag(
            pl.col("channel").is_null() & pl.col("_channel_raw").is_not_null(),
            name(Field.CHANNEL) or "",
            pl.col("_channel_raw"),
            "unknown channel (counter, delivery, online, wholesale)",
        )
    errors.append(text_errors(df, _text_columns(cmap)))
    new_stores, new_products = _check_known(flag, df, cmap, ctx)
    zero = (pl.col("_q") == 0) if cmap.kind is FileKind.DAILY else pl.lit(False)
    skipped_zero = df.filter(zero).height
    df = df.filter(~zero)
    error_frame = _concat(errors)
    df = df.select(*_KEPT)
    ticket = name(Field.TICKET)
    if error_frame.height:  # rows the domain rules cannot even read leave first
        df, error_frame = _drop_bad_tickets(df, error_frame, ticket)
    df, error_frame = _domain_rules(df, error_frame, cmap, ctx)
    good = df.drop("_local")  # needed by the ticket-time check only
    if ctx.create_products:
        new_products = sorted(set(new_products) & set(good["product"].unique().to_list()))
    if ctx.create_stores:
        new_stores = sorted(set(new_stores) & set(good["store"].unique().to_list()))
    return Checked(
        rows=good,
        errors=error_frame.unique().sort(ROW, "column", "reason"),
        total_rows=total,
        skipped_zero=skipped_zero,
        new_products=new_products if ctx.create_products else [],
        new_stores=new_stores if ctx.create_stores else [],
    )


def _domain_rules(
    df: pl.DataFrame, error_frame: pl.DataFrame, cmap: ColumnMap, ctx: Context
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Lines (per row, then per summed line), duplicates, ticket time, ticket size, window."""
    ticket = cmap.column(Field.TICKET)
    # the domain's line rules, per row, then (summed lines) again per line
    later = [line_errors(df, cmap)]
    if ctx.sum_repeated:
        first = _concat(later)
        if first.height:
            df, first = _drop_bad_tickets(df, first, ticket)
        df, merged_away = merge_repeats(df)
        later = [first, line_errors(df, cmap)]
    else:
        merged_away = None
        later.extend(_duplicate_errors(df, cmap))
    if cmap.kind is FileKind.TRANSACTIONS:
        later.append(_ticket_time_errors(df, cmap))
    later += [lines_per_ticket_errors(df, cmap), history_errors(df, cmap, ctx.now)]
    more = _concat(later)
    if more.height:
        df, more = _drop_bad_tickets(df, more, ticket, merged_away)
        error_frame = pl.concat([error_frame, more])
    return df, error_frame


_KEPT: Final = (
    ROW,
    "store",
    "txn",
    "stream",
    "product",
    "sold_utc",
    "tz",
    "quantity",
    "unit_price",
    "amount",
    "discount",
    "channel",
    "_local",
)


def _concat(frames: list[pl.DataFrame]) -> pl.DataFrame:
    found = [f.with_columns(pl.col(ROW).cast(pl.Int64)) for f in frames if f.height]
    return pl.concat(found) if found else pl.DataFrame(schema=ERROR_SCHEMA)


def _drop_bad_tickets(
    df: pl.DataFrame,
    errors: pl.DataFrame,
    ticket_column: str | None,
    merged_away: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows with an error, and every other line of their tickets, leave; the report says why.

    ``merged_away``: rows summed into an earlier line, left out with their ticket too.
    """
    bad_rows = errors[ROW].unique().implode()
    bad = (
        df.filter(pl.col(ROW).is_in(bad_rows))
        .group_by("stream")
        .agg(pl.col(ROW).min().alias("_bad"))
    )
    bad_streams = bad["stream"].drop_nulls().implode()
    rows = df.select(ROW, "stream", "txn")
    if merged_away is not None and merged_away.height:
        rows = pl.concat([rows, merged_away])
    collateral = rows.filter(pl.col("stream").is_in(bad_streams) & ~pl.col(ROW).is_in(bad_rows))
    if collateral.height:
        notes = collateral.join(bad, on="stream").select(
            pl.col(ROW),
            pl.lit(ticket_column or "").alias("column"),
            pl.col("txn").alias("value"),
            pl.format(COLLATERAL + "row {} of it is invalid", "_bad").alias("reason"),
        )
        errors = pl.concat([errors, notes])
    keep = ~pl.col(ROW).is_in(bad_rows) & ~pl.col("stream").is_in(bad_streams).fill_null(False)
    return df.filter(keep), errors


def _text(frame: pl.DataFrame, column: str | None) -> pl.Expr:
    if column is None:
        return pl.lit(None, dtype=pl.String)
    value = pl.col(column).cast(pl.String).str.strip_chars()
    return pl.when(value == "").then(None).otherwise(value)


def _number(raw: pl.Expr) -> pl.Expr:
    """``1.234,56``, ``1,234.56`` -> ``1234.56``; ``1,5`` -> ``1.5``; ``€ 2`` -> ``2``."""
    text = raw.str.replace_all(r"[€$\s]", "")
    comma_last = text.str.contains(r",[0-9]*$") & text.str.contains(r"\.")
    return (
        pl.when(comma_last)
        .then(text.str.replace_all(r"\.", "").str.replace(",", ".", literal=True))
        .when(text.str.contains(r"\."))
        .then(text.str.replace_all(",", "", literal=True))
        .otherwise(text.str.replace(",", ".", literal=True))
    )


#: A binary float carries at most 15 reliable significant digits; the rest is noise.
FLOAT_DIGITS: Final = 15
_NUMBER_COLUMNS: Final = ("quantity", "unit_price", "amount", "discount")


def _without_float_noise(df: pl.DataFrame) -> pl.DataFrame:
    """``219.00400000000002`` (a float written out in full) -> ``219.004``: 15 digits, trimmed."""
    fixes = []
    for column in _NUMBER_COLUMNS:
        value = pl.col(column)
        long = df.filter(value.str.len_bytes() > FLOAT_DIGITS)[column].unique()  # cheap first
        if long.len() == 0:
            continue
        digits = value.str.replace_all(r"[-.]", "").str.strip_chars_start("0").str.len_chars()
        noisy = long.to_frame().filter(value.str.contains(NUMBER) & (digits > FLOAT_DIGITS))[column]
        if noisy.len():
            fixes.append(value.replace({v: _fifteen_digits(v) for v in noisy.to_list()}))
    return df.with_columns(fixes) if fixes else df


def _fifteen_digits(text: str) -> str:
    number = Decimal(text)
    rounded = round(number, FLOAT_DIGITS - number.adjusted() - 1)
    return format(rounded.normalize(), "f")


def _normalise(frame: pl.DataFrame, cmap: ColumnMap, ctx: Context) -> pl.DataFrame:
    name = cmap.column
    formats = cmap.date_formats or DEFAULT_DATE_FORMATS
    date_raw = _text(frame, name(Field.DATE))
    time_raw = _text(frame, name(Field.TIME))
    parsed_date = pl.coalesce(
        [date_raw.str.strptime(pl.Datetime("us"), f, strict=False) for f in formats]
    )
    parsed_time = pl.coalesce(
        [time_raw.str.strptime(pl.Time, f, strict=False) for f in TIME_FORMATS]
    )
    store = _text(frame, name(Field.STORE)) if name(Field.STORE) else pl.lit(ctx.store)
    df = frame.with_row_index(ROW, offset=2).select(
        pl.col(ROW).cast(pl.Int64),
        store.cast(pl.String).alias("store"),
        _text(frame, name(Field.PRODUCT)).alias("_product_raw"),
        _text(frame, name(Field.TICKET)).alias("_ticket"),
        date_raw.alias("_date_raw"),
        time_raw.alias("_time_raw"),
        parsed_date.alias("_date"),
        parsed_time.alias("_time"),
        *(
            _number(_text(frame, name(f))).alias(f.value)
            for f in (Field.QUANTITY, Field.UNIT_PRICE, Field.AMOUNT, Field.DISCOUNT)
        ),
        *(
            _text(frame, name(f)).alias(f"_{f.value}_raw")
            for f in (Field.QUANTITY, Field.UNIT_PRICE, Field.AMOUNT, Field.DISCOUNT)
        ),
        _text(frame, name(Field.CHANNEL)).alias("_channel_raw"),
    )
    df = _without_float_noise(df)
    zones = dict(ctx.store_zones)
    product = pl.col("_product_raw")
    if ctx.product_skus:
        product = product.replace(dict(ctx.product_skus))
    df = df.with_columns(
        product.alias("product"),
        pl.col("store")
        .replace_strict(zones, default=ctx.default_timezone, return_dtype=pl.String)
        .alias("tz"),
        *(
            pl.col(f.value).cast(pl.Float64, strict=False).alias(f"_{f.value[0]}")
            for f in (Field.QUANTITY, Field.UNIT_PRICE, Field.AMOUNT, Field.DISCOUNT)
        ),
        pl.col("_channel_raw")
        .str.to_lowercase()
        .replace_strict(CHANNELS, default=None, return_dtype=pl.String)
        .alias("channel"),
    )
    if cmap.kind is FileKind.DAILY:
        local = pl.col("_date").dt.truncate("1d").dt.combine(pl.lit(DAILY_TIME).str.to_time())
    else:
        local = (
            pl.when(pl.col("_time").is_not_null())
            .then(pl.col("_date").dt.combine(pl.col("_time")))
            .otherwise(pl.col("_date"))
        )
    df = df.with_columns(local.alias("_local"))
    df = df.with_columns(_to_utc(df).alias("sold_utc"))
    day = pl.col("_local").dt.strftime("%Y%m%d")
    if cmap.kind is FileKind.DAILY:
        txn = pl.format("daily-{}-{}", pl.col("product"), day)
    elif cmap.ticket_scope == "day":
        txn = pl.format("{}-{}", day, pl.col("_ticket"))
    else:
        txn = pl.col("_ticket")
    return df.with_columns(txn.alias("txn")).with_columns(
        pl.format(stream_ids.sale_stream("{}", "{}"), pl.col("store"), pl.col("txn")).alias(
            "stream"
        )
    )


#: ``sale-{}-{}``: the sale stream id as ``domain.streams`` spells it, filled column-wise
_SALE_STREAM: Final = stream_ids.sale_stream("{}", "{}")


def _to_utc(df: pl.DataFrame) -> pl.Expr:
    """Local wall time in each store's zone -> UTC; a time that does not exist is null."""
    zones = df["tz"].unique().drop_nulls().to_list()
    expr = pl.lit(None, dtype=pl.Datetime("us", "UTC"))
    for zone in zones:
        converted = (
            pl.col("_local")
            .dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
            .dt.convert_time_zone("UTC")
        )
        expr = pl.when(pl.col("tz") == zone).then(converted).otherwise(expr)
    return expr


def _check_ids(flag: _FlagFn, cmap: ColumnMap, ctx: Context) -> None:
    product = cmap.column(Field.PRODUCT) or ""
    raw = pl.col("_product_raw")
    flag(raw.is_null(), product, raw, "missing product")
    unmappable = raw.is_in(list(ctx.product_errors)) if ctx.product_errors else pl.lit(False)
    if ctx.product_errors:
        reason = raw.replace_strict(dict(ctx.product_errors), default="", return_dtype=pl.String)
        flag(unmappable, product, raw, reason)
    flag(
        raw.is_not_null() & ~unmappable & ~pl.col("product").str.contains(ID_PATTERN),
        product,
        raw,
        "not a SKU (letters, digits, _ . : @ -, at most 128)",
    )
    if cmap.kind is FileKind.TRANSACTIONS:
        ticket = cmap.column(Field.TICKET) or ""
        flag(pl.col("_ticket").is_null(), ticket, pl.col("_ticket"), "missing ticket")
        flag(
            pl.col("_ticket").is_not_null() & ~pl.col("txn").str.contains(ID_PATTERN),
            ticket,
            pl.col("_ticket"),
            "not a ticket id (letters, digits, _ . : @ -, at most 128)",
        )
    flag(
        pl.col("stream").str.len_chars() > 255,
        cmap.column(Field.TICKET) or cmap.column(Field.PRODUCT) or "",
        pl.col("txn"),
        "store and ticket ids together are too long",
    )


def _check_numbers(flag: _FlagFn, cmap: ColumnMap) -> None:
    for fld, alias, required in (
        (Field.QUANTITY, "_q", True),
        (Field.UNIT_PRICE, "_u", False),
        (Field.AMOUNT, "_a", False),
        (Field.DISCOUNT, "_d", False),
    ):
        column = cmap.column(fld)
        if column is None:
            continue
        raw = pl.col(f"_{fld.value}_raw")
        if required:
            flag(raw.is_null(), column, raw, f"missing {fld.value}")
        flag(
            raw.is_not_null() & ~pl.col(fld.value).str.contains(NUMBER),
            column,
            raw,
            "not a number",
        )
        if fld is Field.QUANTITY and cmap.kind is FileKind.DAILY:  # 0 = no sales that day
            flag(pl.col(alias) < 0, column, raw, "must be 0 or more")
    amount = cmap.column(Field.AMOUNT)
    if amount and cmap.column(Field.UNIT_PRICE):
        gross = pl.col("_q") * pl.col("_u")
        flag(
            pl.col("_a") > gross + 0.005,
            amount,
            pl.col("_amount_raw"),
            pl.format("more than quantity × price ({})", gross.round(2)),
        )


_RAW: Final = {
    Field.DATE: "_date_raw",
    Field.TIME: "_time_raw",
    Field.STORE: "store",
    Field.PRODUCT: "_product_raw",
    Field.QUANTITY: "_quantity_raw",
    Field.UNIT_PRICE: "_unit_price_raw",
    Field.AMOUNT: "_amount_raw",
    Field.DISCOUNT: "_discount_raw",
    Field.TICKET: "_ticket",
    Field.CHANNEL: "_channel_raw",
}


def _text_columns(cmap: ColumnMap) -> dict[str, str]:
    """Normalised text column -> the file's column, for every mapped field."""
    return {_RAW[f]: column for f, column in cmap.columns.items()}


def _check_times(flag: _FlagFn, cmap: ColumnMap) -> None:
    date = cmap.column(Field.DATE) or ""
    flag(pl.col("_date_raw").is_null(), date, pl.col("_date_raw"), "missing date")
    flag(
        pl.col("_date_raw").is_not_null() & pl.col("_date").is_null(),
        date,
        pl.col("_date_raw"),
        "not a date (YYYY-MM-DD, DD/MM/YYYY…; or set date_format)",
    )
    time = cmap.column(Field.TIME)
    if time and cmap.kind is FileKind.TRANSACTIONS:
        flag(
            pl.col("_time_raw").is_not_null() & pl.col("_time").is_null(),
            time,
            pl.col("_time_raw"),
            "not a time (HH:MM or HH:MM:SS)",
        )
    flag(
        pl.col("_local").is_not_null() & pl.col("sold_utc").is_null(),
        time or date,
        pl.col("_local").cast(pl.String),
        pl.format("does not exist in time zone {} (clocks changed)", pl.col("tz")),
    )


def _check_known(
    flag: _FlagFn, df: pl.DataFrame, cmap: ColumnMap, ctx: Context
) -> tuple[list[str], list[str]]:
    stores = sorted(set(df["store"].drop_nulls().unique().to_list()) - set(ctx.store_zones))
    closed = sorted(set(stores) & ctx.closed_stores)
    if closed:
        flag(
            pl.col("store").is_in(closed),
            cmap.column(Field.STORE) or "--store",
            pl.col("store"),
            "the store is closed (its sales cannot be imported; it is not reopened)",
        )
        stores = [s for s in stores if s not in ctx.closed_stores]
    mappable = df.filter(~pl.col("_product_raw").is_in(list(ctx.product_errors)))
    products = sorted(set(mappable["product"].drop_nulls().unique().to_list()) - ctx.products)
    if stores and not ctx.create_stores:
        flag(
            pl.col("store").is_in(stores),
            cmap.column(Field.STORE) or "--store",
            pl.col("store"),
            "unknown store (open it first, or --unknown-stores create)",
        )
    if products and not ctx.create_products:
        flag(
            pl.col("product").is_in(products),
            cmap.column(Field.PRODUCT) or "",
            pl.col("product"),
            "unknown product (define it first, or --unknown-products create)",
        )
    return stores, products


def _duplicate_errors(df: pl.DataFrame, cmap: ColumnMap) -> list[pl.DataFrame]:
    """Repeated rows (and tickets at two times), found by hash and confirmed value by value.

    Windows over string keys of a million rows cost hundreds of MB; a 64-bit hash
    finds the few candidates, which are then compared column by column.
    """
    daily = cmap.kind is FileKind.DAILY
    key = ["stream"] if daily else [*_LINE_KEY]
    shown = ["txn", "quantity"]
    combined = pl.lit(0, dtype=pl.UInt64)
    for index, column in enumerate(key):  # cheaper than hashing a struct; checked exactly below
        combined = combined ^ pl.col(column).hash(seed=11 + index)
    hashes = df.select(ROW, combined.alias("_h"))
    repeated = (
        hashes.group_by("_h")
        .agg(pl.col(ROW).min().alias("_first"), pl.len().alias("_n"))
        .filter(pl.col("_n") > 1)
    )
    hashed = (
        hashes.join(repeated.select("_h", "_first"), on="_h")
        .filter(pl.col(ROW) != pl.col("_first"))
        .select(ROW, "_first")
    )
    del hashes
    found: list[pl.DataFrame] = []
    if hashed.height:
        columns = list(dict.fromkeys([*key, *shown]))
        later = df.select(ROW, *columns).join(hashed.select(ROW, "_first"), on=ROW)
        first = df.select(ROW, *columns).filter(pl.col(ROW).is_in(hashed["_first"].implode()))
        pairs = later.join(first, left_on="_first", right_on=ROW, suffix="_1").filter(
            pl.all_horizontal(pl.col(c).eq_missing(pl.col(f"{c}_1")) for c in key)
        )
        same_units = pl.col("quantity").eq_missing(pl.col("quantity_1"))
        dup_of = pl.format("duplicate of row {}" + SUM_HINT, "_first")
        if daily:
            found.append(_errors(pairs.filter(same_units), cmap.column(Field.DATE), "txn", dup_of))
            found.append(
                _errors(
                    pairs.filter(~same_units),
                    cmap.column(Field.QUANTITY),
                    "quantity",
                    pl.format("row {} has the same store, product and day" + SUM_HINT, "_first"),
                )
            )
        else:
            found.append(_errors(pairs, cmap.column(Field.TICKET), "txn", dup_of))
    if not daily:
        found.append(_ticket_time_errors(df, cmap))
    return [f for f in found if f.height]


_LINE_KEY: Final = ("stream", "product", "quantity", "unit_price", "amount", "discount", "sold_utc")


def _ticket_time_errors(df: pl.DataFrame, cmap: ColumnMap) -> pl.DataFrame:
    """Lines of one ticket must share its time: the first line's time is the ticket's."""
    ticket_hash = pl.col("stream").hash(seed=5)
    split = (
        df.select(ticket_hash.alias("_h"), "sold_utc")
        .group_by("_h")
        .agg(pl.col("sold_utc").min().alias("_lo"), pl.col("sold_utc").max().alias("_hi"))
        .filter(pl.col("_lo") != pl.col("_hi"))
    )
    rows = df.filter(ticket_hash.is_in(split["_h"].implode())).select(
        ROW, "stream", "sold_utc", "_local"
    )
    rows = rows.sort(ROW).with_columns(
        pl.col(ROW).first().over("stream").alias("_first"),
        pl.col("sold_utc").first().over("stream").alias("_time"),
    )
    late = rows.filter(pl.col("sold_utc").is_not_null() & (pl.col("sold_utc") != pl.col("_time")))
    return _errors(
        late,
        cmap.column(Field.TIME) or cmap.column(Field.DATE),
        pl.col("_local").cast(pl.String),
        pl.format("row {} of the same ticket is at another time", "_first"),
    )


def _errors(
    frame: pl.DataFrame, column: str | None, value: str | pl.Expr, reason: pl.Expr
) -> pl.DataFrame:
    return frame.select(
        pl.col(ROW),
        pl.lit(column or "").alias("column"),
        (pl.col(value) if isinstance(value, str) else value).cast(pl.String).alias("value"),
        reason.alias("reason"),
    )


class _FlagFn(Protocol):  # the signature of check_rows' local ``flag``
    def __call__(
        self, mask: pl.Expr, column: str, value: pl.Expr, reason: pl.Expr | str
    ) -> None: ...
