"""Loading, closed days (derived and declared), on the real ddop data."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from forecasting.features import weekday
from forecasting.series import Panel, panel_from_frame


def _day(panel: Panel, iso: str) -> int:
    return int(np.flatnonzero(panel.dates == np.datetime64(iso))[0])


def _series(panel: Panel, store: str, product: str) -> int:
    return panel.keys.index((store, product))


def test_panel_shape_and_weekday_from_date(ddop_sample: Panel) -> None:
    assert ddop_sample.n_series == 9
    assert ddop_sample.n_days == 1215
    # the file labels 2016-01-02 FRI; it was a Saturday
    assert int(weekday(ddop_sample.dates[:1])[0]) == 5
    assert ddop_sample.observed == frozenset({"rain", "temperature"})


def test_christmas_is_closed_not_zero_demand(ddop_sample: Panel) -> None:
    t = _day(ddop_sample, "2018-12-25")
    s = _series(ddop_sample, "2", "101")
    assert ddop_sample.y[s, t] == 0
    assert ddop_sample.closed[s, t]
    assert np.isnan(ddop_sample.y_open[s, t])


def test_store_closed_only_when_every_product_sold_nothing(ddop_frame: pl.DataFrame) -> None:
    sample = ddop_frame.filter(pl.col("store") == 2)
    # a day where one product sold nothing but the others sold: store stays open
    zero_one = sample.filter(pl.col("demand") == 0).group_by("date").len().filter(pl.col("len") < 3)
    panel = panel_from_frame(sample, "date", ["store", "product"], "demand")
    for day in zero_one["date"].to_list():
        assert not panel.closed[:, _day(panel, day.isoformat())].any()
    totals = sample.group_by("date").agg(pl.col("demand").sum()).filter(pl.col("demand") == 0)
    assert totals.height > 0
    for day in totals["date"].to_list():
        assert panel.closed[:, _day(panel, day.isoformat())].all()


def test_long_shutdown_of_store_5(ddop_sample: Panel) -> None:
    s = _series(ddop_sample, "5", "101")
    assert ddop_sample.closed[s].sum() >= 852


def test_declared_closure_and_missing_rows(ddop_frame: pl.DataFrame) -> None:
    sample = ddop_frame.filter(pl.col("store") == 2)
    # drop one product's row on a normal day: missing means no sales, store stays open
    dropped = sample.filter(~((pl.col("date") == dt.date(2018, 6, 5)) & (pl.col("product") == 101)))
    panel = panel_from_frame(
        dropped,
        "date",
        ["store", "product"],
        "demand",
        declared_closures=[("2", dt.date(2018, 6, 6))],
    )
    t = _day(panel, "2018-06-05")
    s = _series(panel, "2", "101")
    assert panel.y[s, t] == 0
    assert not panel.closed[s, t]
    assert panel.closed[:, t + 1].all()  # declared: closed although it sold
    assert panel.y[:, t + 1].sum() > 0
