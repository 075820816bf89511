"""The promotion gate: a cheap rolling-origin backtest of one series (pure modelling).

The registry (``forecasting.ops.registry``) runs it on every trained version
and promotes the version when :func:`beats_baseline` says so.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import polars as pl

from forecasting.api import forecast, train_series
from forecasting.metrics import bias, mae, wape
from forecasting.models.baselines import seasonal_naive, weekday_mean4
from forecasting.series import panel_from_series_frame

#: backtest: this many weekly origins over the last weeks, each forecasting 7 days
BACKTEST_ORIGINS = 4
BACKTEST_HORIZON = 7
#: below this many days of history a series is not trained at all
MIN_TRAIN_DAYS = 28


def _r(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 4)


def backtest(
    frame: pl.DataFrame, origins: int = BACKTEST_ORIGINS, horizon: int = BACKTEST_HORIZON
) -> dict[str, Any]:
    """Cheap rolling-origin backtest on the last ``origins x horizon`` days.

    One fit on the history before the window; forecasts from weekly origins
    inside it (the model sees the actuals up to each origin, as in production);
    scored on open days against seasonal-naive and weekday_mean4 on the same
    days. Empty (``{"origins": 0}``) when the series is too short.
    """
    n = frame.height
    window = origins * horizon
    if n < window + MIN_TRAIN_DAYS:
        return {"origins": 0, "reason": f"history of {n} days < {window + MIN_TRAIN_DAYS}"}
    first = n - window - 1  # index of the first origin = last training day
    model = train_series(frame.head(first + 1))
    full = panel_from_series_frame(frame)
    y_open = full.y_open
    starts = np.array([first + k * horizon for k in range(origins)], dtype=np.int64)
    hs = tuple(range(1, horizon + 1))
    actual = np.full((origins, horizon), np.nan)
    pred = np.full((origins, horizon), np.nan)
    for i, o in enumerate(starts):
        m = replace(model, panel=panel_from_series_frame(frame.head(int(o) + 1)))
        pred[i] = forecast(m, horizon)["mean"].to_numpy()
        actual[i] = y_open[0, o + 1 : o + 1 + horizon]
    snaive = seasonal_naive(y_open, starts, hs)[0]
    wm4 = weekday_mean4(y_open, starts, hs)[0]
    return {
        "origins": origins,
        "horizon": horizon,
        "window_start": str(frame["date"][int(starts[0]) + 1]),
        "window_end": str(frame["date"][n - 1]),
        "open_days": int(np.isfinite(actual).sum()),
        "wape": _r(wape(actual, pred)),
        "mae": _r(mae(actual, pred)),
        "bias": _r(bias(actual, pred)),
        "wape_h1": _r(wape(actual[:, :1], pred[:, :1])),
        "seasonal_naive_wape": _r(wape(actual, snaive)),
        "weekday_mean4_wape": _r(wape(actual, wm4)),
    }


def beats_baseline(metrics: dict[str, Any]) -> bool:
    """True when the version's WAPE is not worse than seasonal-naive's on the same days."""
    mine, base = metrics.get("wape"), metrics.get("seasonal_naive_wape")
    if mine is None or base is None:
        return False
    return float(mine) <= float(base)
