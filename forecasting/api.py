"""Production API: train on history, forecast D+1..D+H with quantiles.

For the scheduler, workers and registry (out of this package's scope):

* :func:`train_panel` — pooled model over every series of a panel (the
  ``obrador`` model of the backtest), with prediction intervals calibrated on
  its own out-of-sample errors over the last ``calibration_days``;
* :func:`train_series` — the same for one series frame (columns ``date``,
  ``y``, optional ``closed`` and exogenous columns); short histories fall back
  to the same-weekday 4-week mean;
* :func:`forecast` — quantile forecasts for the next ``horizon`` days as a
  polars frame, one row per series and day.

Known future inputs (planned promotions, declared closures, holiday flags of
the data) can be passed to :func:`forecast` as ``future``; holidays from the
``holidays`` package are computed for future dates automatically.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from forecasting.backtest import (
    BLEND_GRID,
    MIN_TRAIN_DAYS,
    BacktestConfig,
    candidate_forecasts,
    choose_obrador,
    gbm_blocks,
)
from forecasting.intervals import ConformalQuantiles
from forecasting.models.baselines import weekday_mean4
from forecasting.models.gbm import (
    QUANTILES,
    GbmConfig,
    GbmModel,
    PanelFeatures,
    ResidualQuantiles,
    fit_gbm,
)
from forecasting.series import Panel, panel_from_series_frame

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: below this many days of history the pooled model is not trained
MIN_HISTORY_DAYS = 120


@dataclass
class FittedForecaster:
    """What :func:`forecast` needs: the history, the model and its error quantiles."""

    kind: str  # "obrador" (the selection), "weekday_mean4"; older artifacts: "gbm" (blend)
    panel: Panel
    config: GbmConfig
    #: calibrated quantiles: conformal per series and horizon (older artifacts: ratio table)
    quantiles: ConformalQuantiles | ResidualQuantiles
    gbm: GbmModel | None = None
    trained_through: dt.date | None = None
    info: dict[str, Any] = field(default_factory=dict)
    #: weight of the pooled model against weekday_mean4, per horizon 1..H (older artifacts)
    blend: FloatArray | None = None
    #: kind "obrador": the pooled models by refit day (:func:`forecasting.backtest.gbm_blocks`)
    gbm_models: list[GbmModel] = field(default_factory=list)
    #: kind "obrador": the selection's settings (window, margin, peers, refit cadences)
    selection: BacktestConfig | None = None


def selection_origins(last: int, selection: BacktestConfig, hmax: int) -> IntArray:
    """The origins the choice at origin ``last`` needs: for every horizon h <= hmax the
    forecasts whose targets are known over the trailing window, and ``last`` itself."""
    first = max(MIN_TRAIN_DAYS, last - selection.selection_window - hmax + 1)
    return np.arange(first, last + 1, dtype=np.int64)


def select_at_last_day(
    history: Panel,
    feature_panel: Panel,
    config: GbmConfig,
    *,
    selection: BacktestConfig,
    models: list[GbmModel],
    horizon: int,
) -> tuple[FloatArray, ConformalQuantiles, dict[str, list[str]]]:
    """The forecast chosen at the last day of ``history`` for D+1..D+``horizon``.

    The backtest's own path: :func:`forecasting.backtest.candidate_forecasts` (every
    candidate) and :func:`forecasting.backtest.choose_obrador` (the selection) over
    the trailing origins, taken at the last one; quantiles calibrated on the chosen
    forecast's errors over the same trailing origins. ``feature_panel`` is ``history``
    extended with the future's known inputs (closures, promotions). Returns the point
    forecasts (n_series, horizon), the calibration and, per horizon, the option
    chosen for each series at the last day.
    """
    last = history.n_days - 1
    horizons = tuple(range(1, horizon + 1))
    origins = selection_origins(last, selection, horizon)
    feats = PanelFeatures(feature_panel, config)
    fcs = candidate_forecasts(history, feats, origins, horizons, selection, models=models)
    at_last: dict[str, list[str]] = {}
    chosen, _, _ = choose_obrador(
        history,
        origins,
        horizons,
        fcs,
        window=selection.selection_window,
        margin=selection.series_margin,
        last_choice=at_last,
    )
    actual = np.full(chosen.shape, np.nan)
    for k, h in enumerate(horizons):
        tgt = origins + h
        ok = tgt <= last
        actual[:, ok, k] = history.y_open[:, tgt[ok]]
    q = ConformalQuantiles.fit(actual[:, :-1], chosen[:, :-1], QUANTILES)
    return np.maximum(chosen[:, -1, :], 0.0), q, at_last


def _predict(
    kind: str,
    model: GbmModel | None,
    panel: Panel,
    config: GbmConfig,
    *,
    origins: IntArray,
    horizons: tuple[int, ...],
) -> FloatArray:
    """(S, n_origins, n_h) point forecasts from ``origins`` (day indices of ``panel``)."""
    if kind == "weekday_mean4" or model is None:
        return weekday_mean4(panel.y_open, origins, horizons)
    feats = PanelFeatures(panel, config)
    n_s = panel.n_series
    out = np.zeros((n_s, len(origins), len(horizons)))
    s = np.repeat(np.arange(n_s), len(origins))
    t = np.tile(origins, n_s)
    for k, h in enumerate(horizons):
        out[:, :, k] = model.predict(feats, s, t, np.full(len(s), h)).reshape(n_s, len(origins))
    return out


def _calibrate(
    kind: str, model: GbmModel | None, panel: Panel, config: GbmConfig, cutoff: int
) -> tuple[ConformalQuantiles, FloatArray]:
    """From forecasts made at origins >= cutoff for targets <= the last day: the
    blend weight of the model against weekday_mean4 per horizon and the calibrated
    quantiles of the blended forecast (:class:`forecasting.intervals.ConformalQuantiles`:
    per series and horizon, so the newsvendor quantile of each series is its own)."""
    hmax = config.max_horizon
    last = panel.n_days - 1
    origins = np.arange(cutoff, last, dtype=np.int64)
    horizons = tuple(range(1, hmax + 1))
    pred = _predict(kind, model, panel, config, origins=origins, horizons=horizons)
    wm4 = weekday_mean4(panel.y_open, origins, horizons)
    actual = np.full(pred.shape, np.nan)
    hh = np.zeros(pred.shape, dtype=np.int64)
    y_open = panel.y_open
    blend = np.ones(hmax)
    for k, h in enumerate(horizons):
        tgt = origins + h
        ok = tgt <= last
        actual[:, ok, k] = y_open[:, tgt[ok]]
        hh[:, :, k] = h
        if kind == "gbm":
            errs = [
                np.nansum(np.abs(w * pred[:, :, k] + (1 - w) * wm4[:, :, k] - actual[:, :, k]))
                for w in BLEND_GRID
            ]
            blend[k] = BLEND_GRID[int(np.argmin(errs))]
            pred[:, :, k] = blend[k] * pred[:, :, k] + (1 - blend[k]) * wm4[:, :, k]
    return ConformalQuantiles.fit(actual, pred, QUANTILES), blend


def train_panel(
    panel: Panel,
    config: GbmConfig | None = None,
    calibration_days: int = 56,
    selection: BacktestConfig | None = None,
) -> FittedForecaster:
    """Train what the backtest scores as ``obrador`` on all of ``panel``.

    The pooled model is fitted at the refit days of :func:`forecasting.backtest.gbm_blocks`
    that serve the trailing origins of the selection (one or two fits); the
    statsforecast peers and the baselines are computed at forecast time (their
    refit days are anchored on the data, every ``peer_refit_every`` days), and
    :func:`forecast` chooses among every candidate exactly as the backtest does.
    """
    cfg = config or GbmConfig()
    sel = selection or BacktestConfig(selection_window=calibration_days, gbm=cfg)
    last = panel.n_days - 1
    through = panel.dates[last].astype("datetime64[D]").astype(dt.date)
    if panel.n_days < MIN_HISTORY_DAYS + calibration_days:
        cut = max(7, last - calibration_days)
        q, _ = _calibrate("weekday_mean4", None, panel, cfg, cut)
        return FittedForecaster(
            "weekday_mean4",
            panel,
            cfg,
            q,
            None,
            through,
            {"reason": f"history < {MIN_HISTORY_DAYS + calibration_days} days"},
        )
    feats = PanelFeatures(panel, cfg)
    origins = selection_origins(last, sel, cfg.max_horizon)
    models = [fit_gbm(feats, c, cfg) for c, _ in gbm_blocks(origins, sel.refit_every)]
    point, q, chosen = select_at_last_day(
        panel, panel, cfg, selection=sel, models=models, horizon=cfg.max_horizon
    )
    del point
    return FittedForecaster(
        "obrador",
        panel,
        cfg,
        q,
        models[-1],
        through,
        {
            "rows": models[-1].n_rows,
            "gbm_refit_days": [str(panel.dates[m.cutoff]) for m in models],
            "calibration_days": sel.selection_window,
            # the option of each series at the last day, at D+1 and D+7
            "chosen_at_training": {h: v for h, v in chosen.items() if h in ("1", "7")},
        },
        gbm_models=models,
        selection=sel,
    )


def train_series(
    series_frame: pl.DataFrame,
    config: GbmConfig | None = None,
    key: tuple[str, ...] = ("series",),
) -> FittedForecaster:
    """Train on one series frame: columns ``date``, ``y`` [, ``closed``, exogenous...]."""
    panel = panel_from_series_frame(series_frame, key)
    cfg = config or GbmConfig()
    # one series has ~28x fewer rows than the pooled panel: smaller trees
    cfg = replace(cfg, num_leaves=min(cfg.num_leaves, 15), min_data_in_leaf=20)
    return train_panel(panel, cfg)


def extend_panel(
    panel: Panel, days: int, future: pl.DataFrame | None = None, date_col: str = "date"
) -> Panel:
    """Append ``days`` future days: no sales yet, exogenous inputs from ``future``.

    ``future`` has ``date_col``, the panel's series columns (as strings) and any
    exogenous columns, plus optionally ``closed`` (declared closures).
    """
    n_s, n_d = panel.y.shape
    dates = np.concatenate(
        [panel.dates, panel.dates[-1] + np.arange(1, days + 1).astype("timedelta64[D]")]
    )
    y = np.concatenate([panel.y, np.zeros((n_s, days))], axis=1)
    closed = np.concatenate([panel.closed, np.zeros((n_s, days), dtype=bool)], axis=1)
    exog = {
        k: np.concatenate([v, np.full((n_s, days), np.nan)], axis=1) for k, v in panel.exog.items()
    }
    if future is not None and future.height:
        index = {k: i for i, k in enumerate(panel.keys)}
        start = panel.dates[-1].astype("datetime64[D]").astype(dt.date)
        cols = list(panel.series_cols)
        for row in future.iter_rows(named=True):
            key = tuple(str(row[c]) for c in cols)
            s = index.get(key)
            day = row[date_col]
            if s is None or not isinstance(day, dt.date):
                continue
            t = n_d - 1 + (day - start).days
            if not n_d <= t < n_d + days:
                continue
            for name, table in exog.items():
                if row.get(name) is not None:
                    table[s, t] = float(row[name])
            if row.get("closed"):
                closed[s, t] = True
    return Panel(dates, panel.series_cols, panel.keys, y, closed, panel.group, exog, panel.observed)


def forecast(
    model: FittedForecaster, horizon: int = 28, future: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Forecasts for days 1..``horizon`` after the training history.

    One row per series and day: the series columns, ``date``, ``horizon``,
    ``mean`` (point forecast) and ``q05``..``q95`` (quantiles). A declared
    closure in ``future`` forecasts 0.
    """
    if horizon < 1:
        raise ValueError("horizon must be >= 1")
    cfg = replace(model.config, max_horizon=max(model.config.max_horizon, horizon))
    panel = extend_panel(model.panel, horizon, future)
    last = model.panel.n_days - 1
    horizons = tuple(range(1, horizon + 1))
    if model.kind == "obrador" and model.selection is not None:
        point, q, _ = select_at_last_day(
            model.panel,
            panel,
            cfg,
            selection=model.selection,
            models=model.gbm_models,
            horizon=horizon,
        )
        return _frame(panel, last, horizon, point, q)
    point = _predict(
        model.kind,
        model.gbm,
        panel,
        cfg,
        origins=np.array([last], dtype=np.int64),
        horizons=horizons,
    )[:, 0, :]
    if model.blend is not None:
        w = model.blend[np.clip(np.arange(horizon), 0, len(model.blend) - 1)]
        wm4 = weekday_mean4(panel.y_open, np.array([last], dtype=np.int64), horizons)[:, 0, :]
        point = w[None, :] * point + (1 - w[None, :]) * wm4
    return _frame(panel, last, horizon, point, model.quantiles)


def _frame(
    panel: Panel,
    last: int,
    horizon: int,
    point: FloatArray,
    quantiles: ConformalQuantiles | ResidualQuantiles,
) -> pl.DataFrame:
    """One row per series and day; a declared closure (in ``panel``) forecasts 0."""
    horizons = tuple(range(1, horizon + 1))
    closed_future = panel.closed[:, last + 1 : last + 1 + horizon]
    point = np.where(closed_future, 0.0, np.maximum(point, 0.0))
    hh = np.broadcast_to(np.arange(1, horizon + 1), point.shape).astype(np.int64)
    qs = quantiles.apply(point, hh)
    qs = np.where(closed_future[..., None], 0.0, qs)  # a declared closure sells nothing
    rows: dict[str, Any] = {}
    n_s = panel.n_series
    for c, name in enumerate(panel.series_cols):
        rows[name] = [panel.keys[s][c] for s in range(n_s) for _ in horizons]
    dates = panel.dates[last + 1 : last + 1 + horizon].astype("datetime64[D]").astype(dt.date)
    rows["date"] = [d for _ in range(n_s) for d in dates]
    rows["horizon"] = [h for _ in range(n_s) for h in horizons]
    rows["mean"] = point.ravel()
    for k, lv in enumerate(quantiles.levels):
        rows[f"q{round(lv * 100):02d}"] = qs[:, :, k].ravel()
    return pl.DataFrame(rows)


__all__ = [
    "QUANTILES",
    "FittedForecaster",
    "extend_panel",
    "forecast",
    "train_panel",
    "train_series",
]
