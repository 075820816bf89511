"""The import report: one line per (row, column) left out, with the reason, as CSV."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from commands.importer.validate import ROW


def write_report(target: Path, errors: pl.DataFrame) -> Path:
    """Write ``row,column,value,reason`` (rows numbered as in a spreadsheet, header = 1)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    errors.select(pl.col(ROW).alias("row"), "column", "value", "reason").write_csv(target)
    return target
