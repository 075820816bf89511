"""statsforecast peers of the pooled model, one model per series, honest in a backtest.

* ``autoets`` — ``AutoETS(season_length=7)``; ``autotheta`` — ``AutoTheta(season_length=7)``.
  Parameters are **re-estimated every ``refit_every`` days** (default 91, counted
  from the first day of the data) on the ``fit_days`` (730) days up to the refit
  day; between refits the state is filtered forward day by day with those
  parameters, so the forecast at origin t uses every observation up to t, and
  parameters only from data up to the latest refit day <= t (no look-ahead,
  ~100x cheaper than a fit per origin).
* ``croston`` (``CrostonOptimized``), ``adida`` (``ADIDA``), ``tsb``
  (``TSB(alpha_d=0.1, alpha_p=0.1)``, the usual textbook smoothing constants):
  intermittent-demand methods for slow movers, refitted at every origin on the
  last 365 days (they cost well under a millisecond); flat over the horizon.

Closed days are imputed before fitting (these models need a gap-free series)
with the mean of the previous four same weekdays (:func:`impute_closed`, earlier
days only).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from statsforecast.models import ADIDA, TSB, AutoTheta, CrostonOptimized

from forecasting.models.ets import ets_forecast_from_state, ets_states, fit_ets, impute_closed

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

PEERS: tuple[str, ...] = ("autoets", "autotheta", "croston", "adida", "tsb")
INTERMITTENT: tuple[str, ...] = ("croston", "adida", "tsb")
INTERMITTENT_WINDOW = 365
#: a refit needs at least this many days of history
MIN_FIT_DAYS = 28


def refit_day(t: int, every: int) -> int:
    """The refit day of origin ``t``: the latest multiple of ``every`` days since the
    first day of the data (so a backtest and production, whatever their first origin,
    use the same parameters at the same origin); ``t`` itself on a very short history."""
    c = (int(t) // max(1, every)) * max(1, every)
    return c if c >= MIN_FIT_DAYS else int(t)


def refit_blocks(origins: IntArray, every: int) -> list[tuple[int, IntArray]]:
    """(refit day, origins it serves), refit days anchored on the data's first day
    (:func:`refit_day`): every ``every`` days, never after an origin it serves."""
    out: list[tuple[int, IntArray]] = []
    if len(origins) == 0:
        return out
    days = np.array([refit_day(int(t), every) for t in origins], dtype=np.int64)
    for c in np.unique(days):
        out.append((int(c), origins[days == c]))
    return out


def _fallback(y: FloatArray, origins: IntArray, horizons: Sequence[int]) -> FloatArray:
    out = np.zeros((len(origins), len(horizons)))
    for k, h in enumerate(horizons):
        out[:, k] = y[origins + h - 7 * int(np.ceil(h / 7))]
    return out


def _ets_block(
    y: FloatArray, cutoff: int, origins: IntArray, horizons: Sequence[int], fit_days: int
) -> FloatArray:
    start = max(0, cutoff + 1 - fit_days)
    model = fit_ets(y, start, cutoff)
    states = ets_states(model, y)
    hmax = max(horizons)
    cols = [h - 1 for h in horizons]
    out = np.zeros((len(origins), len(horizons)))
    for i, t in enumerate(origins):
        out[i] = ets_forecast_from_state(model, states[t - model.start + 1], hmax)[cols]
    return out


def _theta_block(
    y: FloatArray, cutoff: int, origins: IntArray, horizons: Sequence[int], fit_days: int
) -> FloatArray:
    start = max(0, cutoff + 1 - fit_days)
    model = AutoTheta(season_length=7).fit(np.ascontiguousarray(y[start : cutoff + 1]))
    hmax = max(horizons)
    cols = [h - 1 for h in horizons]
    out = np.zeros((len(origins), len(horizons)))
    for i, t in enumerate(origins):
        seg = np.ascontiguousarray(y[max(start, int(t) + 1 - fit_days) : int(t) + 1])
        out[i] = np.asarray(model.forward(seg, h=hmax)["mean"])[cols]
    return out


def refit_backtest(  # noqa: PLR0917  (a process-pool task: positional)
    kind: str,
    y_open_row: FloatArray,
    origins: IntArray,
    horizons: Sequence[int],
    refit_every: int = 91,
    fit_days: int = 730,
) -> FloatArray:
    """Forecasts (n_origins, n_horizons) of ``autoets`` or ``autotheta`` for one series."""
    y = impute_closed(y_open_row)
    block = _ets_block if kind == "autoets" else _theta_block
    out = np.zeros((len(origins), len(horizons)))
    pos = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for cutoff, o in refit_blocks(origins, refit_every):
            try:
                f = block(y, cutoff, o, horizons, fit_days)
                if not np.isfinite(f).all():
                    raise ValueError("non-finite forecast")
            except Exception:  # degenerate series (constant, all zero): seasonal naive
                f = _fallback(y, o, horizons)
            out[pos : pos + len(o)] = f
            pos += len(o)
    return np.maximum(out, 0.0)


def intermittent_backtest(
    kinds: Sequence[str], y_open_row: FloatArray, origins: IntArray, n_horizons: int
) -> FloatArray:
    """Forecasts (len(kinds), n_origins, n_horizons): flat over the horizon."""
    y = impute_closed(y_open_row)
    out = np.zeros((len(kinds), len(origins), n_horizons))
    makers: dict[str, Callable[[], Any]] = {
        "croston": CrostonOptimized,
        "adida": ADIDA,
        "tsb": lambda: TSB(alpha_d=0.1, alpha_p=0.1),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, t in enumerate(origins):
            seg = np.ascontiguousarray(y[max(0, int(t) + 1 - INTERMITTENT_WINDOW) : int(t) + 1])
            for k, kind in enumerate(kinds):
                if not np.any(seg > 0):
                    continue
                try:
                    v = float(makers[kind]().forecast(seg, h=1)["mean"][0])
                except Exception:
                    v = float(seg[-28:].mean())
                out[k, i, :] = v if np.isfinite(v) else float(seg[-28:].mean())
    return np.maximum(out, 0.0)


def peers_chunk(  # noqa: PLR0917  (a process-pool task: positional)
    y_rows: FloatArray,
    origins: IntArray,
    horizons: tuple[int, ...],
    kinds: tuple[str, ...],
    refit_every: int,
    fit_days: int,
) -> dict[str, FloatArray]:
    """Every peer in ``kinds`` for a chunk of series: name -> (rows, origins, horizons)."""
    out: dict[str, FloatArray] = {}
    for kind in kinds:
        if kind in ("autoets", "autotheta"):
            out[kind] = np.stack(
                [
                    refit_backtest(kind, row, origins, horizons, refit_every, fit_days)
                    for row in y_rows
                ]
            )
    inter = tuple(k for k in kinds if k in INTERMITTENT)
    if inter:
        res = np.stack(
            [intermittent_backtest(inter, row, origins, len(horizons)) for row in y_rows]
        )
        for k, kind in enumerate(inter):
            out[kind] = res[:, k]
    return out
