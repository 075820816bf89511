"""The ddop bakery sales kept in the repository (``deploy/data/ddop-bakery``).

The one place that knows where the sample data lives. Packages never import
this module: they take a path or a frame as an argument, and the CLI, the demo
and the tests pass what this module gives them.
"""

from __future__ import annotations

import functools
import hashlib
import tempfile
from pathlib import Path
from typing import Final

import polars as pl

DDOP_DIR: Final = Path(__file__).resolve().parent / "data" / "ddop-bakery"
DDOP_PARQUET: Final = DDOP_DIR / "bakery_merged.parquet"
#: sha256 of ``bakery_merged.csv`` as derived from the ddop 0.7.6 package (README.md there)
DDOP_CSV_SHA256: Final = "9000204160d8872184fddff04ba69a36701f85c48e32c4e4e340aaae7ec206c5"
#: the exogenous columns of the file (calendar, weather, promotions)
DDOP_EXOG: Final = (
    "is_schoolholiday",
    "is_holiday",
    "is_holiday_next2days",
    "rain",
    "temperature",
    "promotion_currentweek",
    "promotion_lastweek",
)


@functools.cache
def ddop_frame() -> pl.DataFrame:
    """Every row of the ddop file: ``date`` as a Date, the rest as in the CSV."""
    return pl.read_parquet(DDOP_PARQUET)


def ddop_csv(folder: Path | None = None) -> Path:
    """``bakery_merged.csv``, byte for byte the original, written into ``folder``.

    Without a folder it is written once per process into a temporary folder
    (for tools that want the CSV form, such as the importer and the backtest CLI).
    """
    if folder is None:
        return _temporary_csv()
    path = folder / "bakery_merged.csv"
    ddop_frame().write_csv(path)
    return path


@functools.cache
def _temporary_csv() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="obrador-ddop-"))
    return ddop_csv(folder)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
