"""Calibrated quantiles from a model's own past errors (split-conformal, rolling, honest).

For one horizon h, at origin i only the errors of forecasts whose target day is
already known (target <= origin) are used, over the trailing ``window`` origins.
Each series' errors are divided by its own scale (the mean absolute error of
that series over the same window), the normalised errors of **all** series are
pooled, and their empirical quantiles (with the finite-sample conformal
correction) are mapped back per series::

    q_level(s, i) = forecast(s, i) + Q_level({e(s', j) / sigma(s', i)}) * sigma(s, i)

So the width follows each series' own error scale (revenue in euros beside
units, a slow mover beside a best seller), while the quantile levels are
estimated on many points (a single series' 56 errors would give ragged tails).
Quantiles are clipped at 0 (no negative demand) and kept in order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

LEVELS: tuple[float, ...] = (0.1, 0.5, 0.9)


def conformal_level(level: float, n: int) -> float:
    """Finite-sample corrected empirical quantile level for ``n`` calibration points."""
    if n <= 0:
        return level
    if level >= 0.5:
        return min(1.0, math.ceil((n + 1) * level) / n)
    return 1.0 - conformal_level(1.0 - level, n)


def normalised_quantiles(
    err: FloatArray, levels: Sequence[float] = LEVELS
) -> tuple[FloatArray, FloatArray]:
    """From errors (n_series, n_points) (NaN = unknown): per-series scale sigma and the
    pooled quantiles of err / sigma. sigma falls back to the pooled median scale."""
    ok = np.isfinite(err)
    cnt = ok.sum(axis=1)
    with np.errstate(all="ignore"):
        sigma = np.where(
            cnt > 0, np.where(ok, np.abs(err), 0.0).sum(axis=1) / np.maximum(cnt, 1), np.nan
        )
    good = np.isfinite(sigma) & (sigma > 0)
    fill = float(np.median(sigma[good])) if good.any() else 1.0
    sigma = np.where(good, sigma, fill)
    z = (err / sigma[:, None])[ok]
    if z.size == 0:
        return sigma, np.zeros(len(levels))
    qs = np.array([np.quantile(z, conformal_level(lv, z.size)) for lv in levels])
    return sigma, qs


def rolling_quantiles(
    actual: FloatArray,
    forecast: FloatArray,
    h: int,
    window: int,
    *,
    levels: Sequence[float] = LEVELS,
    min_points: int = 7,
) -> FloatArray:
    """Quantile forecasts (n_series, n_origins, n_levels) for forecasts made at
    consecutive daily origins for day origin + h.

    ``actual``/``forecast``: (n_series, n_origins); ``actual`` NaN = closed or
    not known. At origin i the errors of origins j < i - h + 1 (targets <= origin
    i) within the trailing ``window`` count. With fewer than ``min_points`` known
    origins yet, the interval is +-(25 %) of the forecast around it.
    """
    n_s, n_o = actual.shape
    err = actual - forecast
    out = np.empty((n_s, n_o, len(levels)))
    for i in range(n_o):
        hi = i - h + 1
        lo = max(0, hi - window)
        f = forecast[:, i]
        if hi - lo < min_points:
            out[:, i, :] = f[:, None] * (1 + 0.5 * (np.asarray(levels) - 0.5))[None, :]
            continue
        sigma, qs = normalised_quantiles(err[:, lo:hi], levels)
        out[:, i, :] = f[:, None] + qs[None, :] * sigma[:, None]
    out = np.maximum(out, 0.0)
    out.sort(axis=2)
    return out


class ConformalQuantiles:
    """Production form of the same calibration, fitted once on a calibration window.

    ``fit(actual, forecast)`` with arrays (n_series, n_origins, max_horizon) of
    out-of-sample forecasts: per series and horizon a scale sigma (its mean
    absolute error over horizons h-3..h+3), and per horizon the pooled
    quantiles of error / sigma over every series (same band, conformal level
    correction). ``apply(point, horizon)`` maps point forecasts (n_series,
    n_horizons) of the same series to quantiles (..., n_levels).
    """

    def __init__(self, levels: tuple[float, ...], sigma: FloatArray, z: FloatArray) -> None:
        self.levels = levels
        self.sigma = sigma  # (n_series, max_horizon)
        self.z = z  # (max_horizon, n_levels)

    @classmethod
    def fit(
        cls, actual: FloatArray, forecast: FloatArray, levels: Sequence[float], band: int = 3
    ) -> ConformalQuantiles:
        n_s, _, hmax = actual.shape
        err = actual - forecast
        sigma = np.ones((n_s, hmax))
        z = np.zeros((hmax, len(levels)))
        for k in range(hmax):
            sel = slice(max(0, k - band), min(hmax, k + band + 1))
            e = err[:, :, sel].reshape(n_s, -1)
            sig, qs = normalised_quantiles(e, levels)
            sigma[:, k] = sig
            z[k] = qs
        return cls(tuple(levels), sigma, z)

    def apply(self, point: FloatArray, horizon: npt.NDArray[np.int64]) -> FloatArray:
        idx = np.clip(horizon - 1, 0, self.z.shape[0] - 1)
        rows = np.arange(point.shape[0])[:, None] if point.ndim == 2 else 0
        sig = self.sigma[rows, idx] if point.ndim == 2 else self.sigma[0, idx]
        out: FloatArray = point[..., None] + self.z[idx] * sig[..., None]
        out = np.maximum(out, 0.0)
        out.sort(axis=-1)
        return out
