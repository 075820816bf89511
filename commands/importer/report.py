"""The import report: one line per (row, column) left out, with the reason, as CSV."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import polars as pl

from commands.importer.validate import ROW


def write_report(target: Path, errors: pl.DataFrame) -> Path:
    """Write ``row,column,value,reason`` (rows numbered as in a spreadsheet, header = 1)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    errors.select(pl.col(ROW).alias("row"), "column", "value", "reason").write_csv(target)
    return target


def skus_path(report: Path) -> Path:
    """Where the product name -> SKU mapping goes: beside the report, ``<report>.skus.csv``."""
    return report.with_suffix(".skus.csv")


def write_skus(target: Path, skus: Mapping[str, str], how: Mapping[str, str]) -> Path:
    """``name,sku,how`` (how: ``slug`` or ``mapping``) for every name that is not a SKU."""
    target.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(
        {"name": list(skus), "sku": list(skus.values()), "how": [how[n] for n in skus]},
        schema={"name": pl.String, "sku": pl.String, "how": pl.String},
    ).write_csv(target)
    return target
