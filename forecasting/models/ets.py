"""AutoETS with a weekly season (statsforecast), one model per series.

Closed days are imputed before fitting (ETS needs a gap-free series) with the
mean of the previous four same weekdays, computed sequentially so that an
imputed value only uses earlier days. In a rolling backtest the parameters
are estimated once, on the history up to the first origin, and the state is
then filtered forward day by day with those fixed parameters: the forecast at
origin t uses every observation up to t and nothing after it. (Re-estimating
the parameters at each of 182 daily origins would cost ~100x more for a
negligible change.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from statsforecast.ets import etsforecast, forward_ets, switch
from statsforecast.models import AutoETS

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def impute_closed(y_open: FloatArray, weeks: int = 4) -> FloatArray:
    """Replace NaN (closed) with the mean of the previous ``weeks`` same weekdays.

    Works along the last axis; leading NaNs take the first open value (or 0).
    """
    out = np.array(y_open, dtype=np.float64, copy=True)
    two_d = out.ndim == 2
    arr = out if two_d else out[None, :]
    n = arr.shape[1]
    for j in range(n):
        col = arr[:, j]
        miss = np.isnan(col)
        if not miss.any():
            continue
        lags = [j - 7 * w for w in range(1, weeks + 1) if j - 7 * w >= 0]
        if lags:
            prev = arr[:, lags]
            with np.errstate(all="ignore"):
                fill = np.nanmean(np.where(np.isnan(prev), np.nan, prev), axis=1)
        else:
            fill = np.full(arr.shape[0], np.nan)
        col[miss] = fill[miss]
    # leading gaps: first finite value of the row
    for r in range(arr.shape[0]):
        row = arr[r]
        bad = np.isnan(row)
        if bad.any():
            ok = np.flatnonzero(~bad)
            row[bad] = row[ok[0]] if ok.size else 0.0
    return out if two_d else arr[0]


@dataclass
class EtsModel:
    """A fitted AutoETS: statsforecast's model dict plus where its data started."""

    model: dict[str, Any]
    start: int
    season: int = 7

    @property
    def components(self) -> str:
        return str(self.model["components"])


def fit_ets(y: FloatArray, start: int, cutoff: int, season: int = 7) -> EtsModel:
    """Fit AutoETS on ``y[start:cutoff + 1]`` (``y`` already imputed)."""
    m = AutoETS(season_length=season)
    m.fit(np.ascontiguousarray(y[start : cutoff + 1], dtype=np.float64))
    return EtsModel(dict(m.model_), start, season)


def ets_states(model: EtsModel, y: FloatArray) -> FloatArray:
    """Filter the whole series with fixed parameters: row k = state after y[start + k - 1]."""
    fw = forward_ets(  # type: ignore[no-untyped-call]
        model.model, np.ascontiguousarray(y[model.start :], dtype=np.float64)
    )
    states: FloatArray = np.asarray(fw["states"], dtype=np.float64)
    return states


def ets_forecast_from_state(model: EtsModel, state: FloatArray, h: int) -> FloatArray:
    comps = model.model["components"]
    trend, season = switch(comps[1]), switch(comps[2])
    phi = 1.0 if comps[3] == "N" else float(model.model["par"][3])
    f = np.full(h, np.nan)
    etsforecast(x=state, m=model.season, trend=trend, season=season, phi=phi, h=h, f=f)
    return f


def ets_series_backtest(
    y_open_row: FloatArray,
    origins: IntArray,
    horizons: Sequence[int],
    fit_cutoff: int,
    fit_days: int = 730,
) -> FloatArray:
    """Forecasts (n_origins, n_horizons) for one series; parameters fitted at ``fit_cutoff``."""
    y = impute_closed(y_open_row)
    start = max(0, fit_cutoff + 1 - fit_days)
    out = np.zeros((len(origins), len(horizons)))
    try:
        model = fit_ets(y, start, fit_cutoff)
        states = ets_states(model, y)
    except Exception:  # degenerate series: fall back to last-week seasonal naive
        for k, h in enumerate(horizons):
            out[:, k] = y[origins + h - 7 * int(np.ceil(h / 7))]
        return out
    hmax = max(horizons)
    cols = [h - 1 for h in horizons]
    for i, t in enumerate(origins):
        f = ets_forecast_from_state(model, states[t - model.start + 1], hmax)
        out[i] = f[cols]
    return np.maximum(out, 0.0)


def ets_task(args: tuple[FloatArray, IntArray, tuple[int, ...], int, int]) -> FloatArray:
    """Picklable worker entry for process pools."""
    return ets_series_backtest(*args)
