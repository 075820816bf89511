"""Read a CSV or .xlsx file into a polars frame of text columns (typed later, row by row)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from commands.importer.encoding import EncodingError, to_utf8


class ReadError(ValueError):
    """The file cannot be read as a table."""


@dataclass(frozen=True)
class Table:
    frame: pl.DataFrame
    encoding: str | None  # None for a spreadsheet (its cells are text already)


def read_table(
    path: Path,
    *,
    separator: str | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
) -> Table:
    """Every column as text; Excel dates and times keep their ISO form."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm", ".xls"):
            return Table(_excel(path, sheet), None)
        raw = path.read_bytes()
        if not raw.strip():
            raise ReadError(f"{path}: the file is empty (not even a header line)")
        decoded = to_utf8(raw, path, encoding)
        del raw
        frame = pl.read_csv(
            io.BytesIO(decoded.data),
            separator=separator or sniff_separator(decoded.data),
            infer_schema=False,
            truncate_ragged_lines=False,
        )
        return Table(frame, decoded.encoding)
    except EncodingError as exc:
        raise ReadError(str(exc)) from exc
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise ReadError(f"{path}: {exc}") from exc


def sniff_separator(data: bytes) -> str:
    head = data[: data.find(b"\n") if b"\n" in data else len(data)].decode("utf-8", "replace")
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
