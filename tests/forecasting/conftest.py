"""Real ddop bakery data for the forecasting tests (a small sample of it)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from forecasting.series import Panel, panel_from_frame

DDOP = Path("/work/shared/data/ddop-bakery/bakery_merged.csv")
EXOG = [
    "is_schoolholiday",
    "is_holiday",
    "is_holiday_next2days",
    "rain",
    "temperature",
    "promotion_currentweek",
    "promotion_lastweek",
]


@pytest.fixture(scope="session")
def ddop_frame() -> pl.DataFrame:
    if not DDOP.exists():
        pytest.skip(f"real ddop data not found at {DDOP}")
    return pl.read_csv(DDOP, try_parse_dates=True)


@pytest.fixture(scope="session")
def ddop_sample(ddop_frame: pl.DataFrame) -> Panel:
    """Stores 2 (open every day but holidays) and 5 (shut for ~850 days), 3 products each."""
    sample = ddop_frame.filter(pl.col("store").is_in([2, 5, 17]))
    return panel_from_frame(sample, "date", ["store", "product"], "demand", EXOG)
