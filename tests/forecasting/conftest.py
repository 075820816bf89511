"""Real ddop bakery data for the forecasting tests (a small sample of it)."""

from __future__ import annotations

import polars as pl
import pytest

from deploy.sample_data import DDOP_EXOG, ddop_frame
from forecasting.series import Panel, panel_from_frame

EXOG = list(DDOP_EXOG)


@pytest.fixture(scope="session", name="ddop_frame")
def ddop_frame_fixture() -> pl.DataFrame:
    return ddop_frame()


@pytest.fixture(scope="session")
def ddop_sample(ddop_frame: pl.DataFrame) -> Panel:
    """Stores 2 (open every day but holidays) and 5 (shut for ~850 days), 3 products each."""
    sample = ddop_frame.filter(pl.col("store").is_in([2, 5, 17]))
    return panel_from_frame(sample, "date", ["store", "product"], "demand", EXOG)
