"""Seasonal baselines, vectorised over series and origins.

* ``seasonal_naive``: the value of the same weekday in the most recent week
  known at the origin (for D+1..D+7 last week's same day, for D+8..D+14 the
  week before, ...). If that day was closed, the most recent *open* same
  weekday before it.
* ``weekday_mean4``: mean of the same weekday over the last 4 weeks known at
  the origin (closed days left out; all four closed -> seasonal naive).

Both fall back to the mean of the open days of the last 28 days, then to 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def last_open_same_weekday(y_open: FloatArray) -> FloatArray:
    """L[s, j] = last open value at j, j-7, j-14, ... (NaN when none)."""
    out = y_open.copy()
    for j in range(7, out.shape[1]):
        col = out[:, j]
        miss = np.isnan(col)
        if miss.any():
            col[miss] = out[miss, j - 7]
    return out


def weekday_mean(y_open: FloatArray, weeks: int = 4) -> FloatArray:
    """M[s, j] = nanmean(y[j], y[j-7], ..., y[j-7(weeks-1)]) (NaN when all closed)."""
    n = y_open.shape[1]
    tot = np.zeros_like(y_open)
    cnt = np.zeros_like(y_open)
    for w in range(weeks):
        lag = 7 * w
        part = y_open[:, : n - lag]
        ok = np.isfinite(part)
        tot[:, lag:] += np.where(ok, part, 0.0)
        cnt[:, lag:] += ok
    out: FloatArray = np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)
    return out


def recent_mean(y_open: FloatArray, window: int = 28) -> FloatArray:
    """R[s, j] = mean of the open days in (j-window, j] (NaN when none)."""
    ok = np.isfinite(y_open)
    val = np.where(ok, y_open, 0.0)
    csum = np.concatenate([np.zeros((val.shape[0], 1)), np.cumsum(val, axis=1)], axis=1)
    ccnt = np.concatenate([np.zeros((val.shape[0], 1)), np.cumsum(ok, axis=1)], axis=1)
    n = y_open.shape[1]
    hi = np.arange(1, n + 1)
    lo = np.maximum(hi - window, 0)
    tot = csum[:, hi] - csum[:, lo]
    cnt = ccnt[:, hi] - ccnt[:, lo]
    out: FloatArray = np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)
    return out


def anchor_index(origins: IntArray, h: int) -> IntArray:
    """Index of the same weekday as ``origin + h`` in the latest week known at the origin."""
    out: IntArray = origins + h - 7 * math.ceil(h / 7)
    return out


def _gather(
    table: FloatArray,
    fallback: FloatArray,
    origins: IntArray,
    horizons: Sequence[int],
) -> FloatArray:
    out = np.empty((table.shape[0], len(origins), len(horizons)))
    for k, h in enumerate(horizons):
        idx = anchor_index(origins, h)
        vals = table[:, idx]
        fb = fallback[:, origins]
        vals = np.where(np.isnan(vals), fb, vals)
        out[:, :, k] = np.nan_to_num(vals, nan=0.0)
    return out


def seasonal_naive(y_open: FloatArray, origins: IntArray, horizons: Sequence[int]) -> FloatArray:
    """Forecasts of shape (n_series, n_origins, n_horizons)."""
    return _gather(last_open_same_weekday(y_open), recent_mean(y_open), origins, horizons)


def weekday_mean4(y_open: FloatArray, origins: IntArray, horizons: Sequence[int]) -> FloatArray:
    """Forecasts of shape (n_series, n_origins, n_horizons)."""
    m4 = weekday_mean(y_open, 4)
    m4 = np.where(np.isnan(m4), last_open_same_weekday(y_open), m4)
    return _gather(m4, recent_mean(y_open), origins, horizons)
