"""Read a CSV or .xlsx file into a polars frame of text columns (typed later, row by row)."""

from __future__ import annotations

from pathlib import Path

import polars as pl


class ReadError(ValueError):
    """The file cannot be read as a table."""


def read_table(
    path: Path, *, separator: str | None = None, sheet: str | None = None
) -> pl.DataFrame:
    """Every column as text; Excel dates and times keep their ISO form."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm", ".xls"):
            return _excel(path, sheet)
        return pl.read_csv(
            path,
            separator=separator or sniff_separator(path),
            infer_schema=False,
            encoding="utf8-lossy",
            truncate_ragged_lines=False,
        )
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise ReadError(f"{path}: {exc}") from exc


def sniff_separator(path: Path) -> str:
    with path.open("rb") as handle:
        head = handle.readline().decode("utf-8", "replace")
    counts = {sep: head.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _excel(path: Path, sheet: str | None) -> pl.DataFrame:
    frame = (
        pl.read_excel(path, sheet_name=sheet, engine="calamine")
        if sheet
        else pl.read_excel(path, engine="calamine")
    )
    return frame.select(_as_text(name, dtype) for name, dtype in frame.schema.items())


def _as_text(name: str, dtype: pl.DataType) -> pl.Expr:
    column = pl.col(name)
    if dtype == pl.Date:
        return column.dt.strftime("%Y-%m-%d")
    if isinstance(dtype, pl.Datetime):
        return column.dt.strftime("%Y-%m-%d %H:%M:%S")
    if dtype == pl.Time:
        return column.dt.strftime("%H:%M:%S")
    if dtype.is_float():
        # 2.0 from a spreadsheet cell is the number 2; keep integers integral
        return (
            pl.when(column == column.round(0))
            .then(column.cast(pl.Int64, strict=False).cast(pl.String))
            .otherwise(column.cast(pl.String))
            .alias(name)
        )
    return column.cast(pl.String)
