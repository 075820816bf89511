"""Prophet as a competent user configures it: weekly + yearly seasonality, the
data's holidays, closed days as missing values, its own 80 % interval.

* Holidays: a ``holidays`` frame (Prophet's ``holidays=``) built by
  :func:`holiday_frame` from the data's country/region calendar (``holidays``
  package names, so each holiday gets its own effect) and/or the data's 0/1
  holiday flags (flagged dates without a name are called "holiday"); each
  holiday also covers the day before and after (``lower_window=-1``,
  ``upper_window=1``: bakeries sell more the day before a holiday).
* Closed days are left out of the fit (Prophet accepts gaps), never zeros.
* Quantiles 10/50/90: ``yhat_lower`` / ``yhat`` / ``yhat_upper`` with
  ``interval_width=0.8`` (Prophet's default; ``uncertainty_samples=300``).

Prophet has no cheap state update, so a backtest refits it at every scored
origin; that is why the backtest scores Prophet on a documented subset of
series and origins.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

UNCERTAINTY_SAMPLES = 300


def _quiet() -> None:
    for name in ("cmdstanpy", "prophet", "prophet.plot"):
        logging.getLogger(name).setLevel(logging.ERROR)
        logging.getLogger(name).propagate = False


def holiday_frame(
    dates: npt.NDArray[np.datetime64],
    flags: FloatArray | None,
    names: Sequence[str | None] | None,
) -> pd.DataFrame | None:
    """Prophet's holidays frame from per-day names (``holidays`` package) and/or flags."""
    ds: list[pd.Timestamp] = []
    label: list[str] = []
    days = pd.to_datetime(dates.astype("datetime64[D]"))
    for i, d in enumerate(days):
        name = names[i] if names is not None else None
        flagged = flags is not None and bool(flags[i] > 0)
        if name or flagged:
            ds.append(d)
            label.append(str(name) if name else "holiday")
    if not ds:
        return None
    return pd.DataFrame({"holiday": label, "ds": ds, "lower_window": -1, "upper_window": 1})


def prophet_series_backtest(
    dates: npt.NDArray[np.datetime64],
    y_open_row: FloatArray,
    origins: IntArray,
    horizons: Sequence[int],
    holidays: pd.DataFrame | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Refit Prophet at each origin on all open days up to it.

    Returns point forecasts (n_origins, n_horizons) and quantiles 10/50/90
    (n_origins, n_horizons, 3).
    """
    _quiet()
    from prophet import Prophet  # noqa: PLC0415  (heavy import, only when Prophet runs)

    out = np.full((len(origins), len(horizons)), np.nan)
    qs = np.full((len(origins), len(horizons), 3), np.nan)
    ds = pd.to_datetime(dates.astype("datetime64[D]"))
    hmax = max(horizons)
    cols = [h - 1 for h in horizons]
    for i, t in enumerate(origins):
        hist = pd.DataFrame({"ds": ds[: t + 1], "y": y_open_row[: t + 1]}).dropna()
        if len(hist) < 14:
            continue
        m = Prophet(holidays=holidays, uncertainty_samples=UNCERTAINTY_SAMPLES, interval_width=0.8)
        m.fit(hist)
        fut = pd.DataFrame({"ds": ds[t + 1 : t + 1 + hmax]})
        if len(fut) < hmax:
            fut = pd.DataFrame({"ds": pd.date_range(ds[t] + pd.Timedelta(days=1), periods=hmax)})
        np.random.seed(int(t))  # Prophet samples its interval from the global RNG
        pred = m.predict(fut)
        out[i] = pred["yhat"].to_numpy()[cols]
        for k, col in enumerate(("yhat_lower", "yhat", "yhat_upper")):
            qs[i, :, k] = pred[col].to_numpy()[cols]
    return np.maximum(out, 0.0), np.sort(np.maximum(qs, 0.0), axis=2)
