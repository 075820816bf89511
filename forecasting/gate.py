"""The promotion gate: a cheap rolling-origin backtest of one series (pure modelling).

The registry (``forecasting.ops.registry``) runs it on every trained version,
scores the **currently promoted** version on the same window
(:func:`score_fitted`, stored as ``promoted_wape``), and promotes the new
version when :func:`beats_baseline` says so: not worse than seasonal-naive and
not worse than the promoted version on the same days.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import polars as pl

from forecasting.api import FittedForecaster, forecast, train_series
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


def score_fitted(
    model: FittedForecaster,
    frame: pl.DataFrame,
    origins: int = BACKTEST_ORIGINS,
    horizon: int = BACKTEST_HORIZON,
) -> float | None:
    """WAPE of an already fitted model (e.g. the promoted version) on the window of
    :func:`backtest`: the same origins, the model seeing the actuals up to each one.

    The model is not refitted; if it was trained on days inside the window it has
    seen them (its score is then optimistic, which only makes replacing it harder).
    """
    n = frame.height
    window = origins * horizon
    if n < window + MIN_TRAIN_DAYS:
        return None
    first = n - window - 1
    y_open = panel_from_series_frame(frame).y_open
    actual = np.full((origins, horizon), np.nan)
    pred = np.full((origins, horizon), np.nan)
    for i in range(origins):
        o = first + i * horizon
        m = replace(model, panel=panel_from_series_frame(frame.head(o + 1)))
        pred[i] = forecast(m, horizon)["mean"].to_numpy()
        actual[i] = y_open[0, o + 1 : o + 1 + horizon]
    return _r(wape(actual, pred))


def beats_baseline(metrics: dict[str, Any]) -> bool:
    """True when the version's WAPE is not worse than seasonal-naive's on the same days,
    nor than the currently promoted version's (``promoted_wape``, when there is one)."""
    mine, base = metrics.get("wape"), metrics.get("seasonal_naive_wape")
    if mine is None or base is None:
        return False
    current = metrics.get("promoted_wape")
    if current is not None and float(mine) > float(current):
        return False
    return float(mine) <= float(base)
