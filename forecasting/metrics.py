"""Point-forecast accuracy metrics, computed over every scored (series, origin) pair.

All functions take same-shaped arrays of actuals and forecasts plus an optional
boolean ``mask`` of the points to score (closed days are never scored). NaN
actuals are never scored either.

* WAPE = sum |f - y| / sum |y|
* MAE  = mean |f - y|
* RMSE = sqrt(mean (f - y)^2)
* MASE = mean(|f - y| / scale) where ``scale`` is the per-series in-sample mean
  absolute error of the one-week seasonal-naive forecast on the training
  history (open days only), broadcast to the error's shape.
* bias = sum (f - y) / sum |y|  (relative; > 0 means over-forecasting)
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

METRICS: tuple[str, ...] = ("wape", "mae", "rmse", "mase", "bias")


def _valid(actual: FloatArray, forecast: FloatArray, mask: BoolArray | None) -> BoolArray:
    ok: BoolArray = np.isfinite(actual) & np.isfinite(forecast)
    if mask is not None:
        ok &= mask
    return ok


def wape(actual: FloatArray, forecast: FloatArray, mask: BoolArray | None = None) -> float:
    ok = _valid(actual, forecast, mask)
    den = float(np.abs(actual[ok]).sum())
    return float(np.abs(forecast[ok] - actual[ok]).sum()) / den if den > 0 else math.nan


def mae(actual: FloatArray, forecast: FloatArray, mask: BoolArray | None = None) -> float:
    ok = _valid(actual, forecast, mask)
    return float(np.abs(forecast[ok] - actual[ok]).mean()) if ok.any() else math.nan


def rmse(actual: FloatArray, forecast: FloatArray, mask: BoolArray | None = None) -> float:
    ok = _valid(actual, forecast, mask)
    return float(np.sqrt(((forecast[ok] - actual[ok]) ** 2).mean())) if ok.any() else math.nan


def bias(actual: FloatArray, forecast: FloatArray, mask: BoolArray | None = None) -> float:
    ok = _valid(actual, forecast, mask)
    den = float(np.abs(actual[ok]).sum())
    return float((forecast[ok] - actual[ok]).sum()) / den if den > 0 else math.nan


def mase(
    actual: FloatArray,
    forecast: FloatArray,
    scale: FloatArray,
    mask: BoolArray | None = None,
) -> float:
    ok = _valid(actual, forecast, mask) & np.isfinite(scale) & (scale > 0)
    if not ok.any():
        return math.nan
    return float((np.abs(forecast[ok] - actual[ok]) / scale[ok]).mean())


def seasonal_scale(y_open: FloatArray, season: int = 7) -> FloatArray:
    """Per-series mean |y[t] - y[t - season]| over pairs of open days (NaN = closed)."""
    diff = np.abs(y_open[:, season:] - y_open[:, :-season])
    ok = np.isfinite(diff)
    n = ok.sum(axis=1)
    tot = np.where(ok, diff, 0.0).sum(axis=1)
    out: FloatArray = np.where(n > 0, tot / np.maximum(n, 1), np.nan)
    return out


def score(
    actual: FloatArray,
    forecast: FloatArray,
    scale: FloatArray,
    mask: BoolArray | None = None,
) -> dict[str, float]:
    """All five metrics as a dict (keys in :data:`METRICS`)."""
    return {
        "wape": wape(actual, forecast, mask),
        "mae": mae(actual, forecast, mask),
        "rmse": rmse(actual, forecast, mask),
        "mase": mase(actual, forecast, scale, mask),
        "bias": bias(actual, forecast, mask),
    }


def pinball(
    actual: FloatArray,
    quantiles: FloatArray,
    levels: tuple[float, ...] = (0.1, 0.5, 0.9),
    mask: BoolArray | None = None,
) -> float:
    """Mean pinball (quantile) loss over the points and the ``levels``, in units.

    ``quantiles`` has the shape of ``actual`` plus a last axis of len(levels).
    """
    ok = np.isfinite(actual) & np.isfinite(quantiles).all(axis=-1)
    if mask is not None:
        ok &= mask
    if not ok.any():
        return math.nan
    y = actual[ok][:, None]
    q = quantiles[ok]
    tau = np.asarray(levels)[None, :]
    d = y - q
    return float(np.maximum(tau * d, (tau - 1) * d).mean())


def coverage(
    actual: FloatArray, lower: FloatArray, upper: FloatArray, mask: BoolArray | None = None
) -> float:
    """Share of points with lower <= actual <= upper (0-1)."""
    ok = np.isfinite(actual) & np.isfinite(lower) & np.isfinite(upper)
    if mask is not None:
        ok &= mask
    if not ok.any():
        return math.nan
    inside = (actual[ok] >= lower[ok]) & (actual[ok] <= upper[ok])
    return float(inside.mean())
