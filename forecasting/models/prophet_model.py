"""Default Prophet (weekly + yearly seasonality, no holidays, no regressors).

Closed days are left out of the fit (Prophet accepts gaps). Prophet has no
cheap state update, so a backtest refits it at every scored origin; that is
why the backtest scores Prophet on a documented subset of series and origins.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def _quiet() -> None:
    for name in ("cmdstanpy", "prophet", "prophet.plot"):
        logging.getLogger(name).setLevel(logging.ERROR)
        logging.getLogger(name).propagate = False


def prophet_series_backtest(
    dates: npt.NDArray[np.datetime64],
    y_open_row: FloatArray,
    origins: IntArray,
    horizons: Sequence[int],
) -> FloatArray:
    """Refit default Prophet at each origin on all open days up to it."""
    _quiet()
    from prophet import Prophet  # noqa: PLC0415  (heavy import, only when Prophet runs)

    out = np.zeros((len(origins), len(horizons)))
    ds = pd.to_datetime(dates.astype("datetime64[D]"))
    hmax = max(horizons)
    for i, t in enumerate(origins):
        hist = pd.DataFrame({"ds": ds[: t + 1], "y": y_open_row[: t + 1]}).dropna()
        if len(hist) < 14:
            continue
        m = Prophet(uncertainty_samples=0)
        m.fit(hist)
        fut = pd.DataFrame({"ds": ds[t + 1 : t + 1 + hmax]})
        if len(fut) < hmax:
            fut = pd.DataFrame({"ds": pd.date_range(ds[t] + pd.Timedelta(days=1), periods=hmax)})
        yhat = m.predict(fut)["yhat"].to_numpy()
        out[i] = yhat[[h - 1 for h in horizons]]
    return np.maximum(out, 0.0)


def prophet_task(
    args: tuple[npt.NDArray[np.datetime64], FloatArray, IntArray, tuple[int, ...]],
) -> FloatArray:
    return prophet_series_backtest(*args)
