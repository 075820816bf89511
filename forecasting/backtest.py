"""Rolling-origin backtest with daily origins.

For ``n`` origins and a horizon ``h`` the scored target days are the last
``n`` days of the data, each forecast from the origin ``h`` days before it
(origin = every day from ``T-n-h`` to ``T-1-h``): every horizon is scored on
the same target days, closed days excluded. Every forecast only uses what
was known at its origin: history up to the origin, calendar and holiday flags,
declared closures and planned promotions for the target day, and observed
weather *at the origin* (never the target day's, unless ``oracle_weather``).

Models:

* ``seasonal_naive`` and ``weekday_mean4``: closed form, every origin.
* ``autoets``, ``autotheta``: statsforecast per series, re-estimated every
  ``peer_refit_every`` days, state filtered forward daily; ``croston``,
  ``adida``, ``tsb``: intermittent methods refitted at each origin
  (:mod:`forecasting.models.peers`).
* ``prophet``: Prophet with the data's holidays, refitted at each origin — on a
  documented subset of series and origins (every ``prophet_origin_step``-th
  origin, ``prophet_series`` series spread evenly over the panel).
* ``gbm``: pooled LightGBM, refitted every ``refit_every`` days on targets up
  to the refit day, features computed at each daily origin.
* ``obrador``: the production choice (:func:`choose_obrador`) over every
  candidate above but Prophet, by the errors already known at each origin;
  every model also runs over ``selection_window`` warm-up origins before the
  first scored one (never scored) so the first scored origins have errors to
  choose by and to calibrate quantiles on (:func:`model_quantiles`).

Work fans out over a process pool (``workers``): the LightGBM fits, chunks of
ETS series and Prophet series are independent single-threaded tasks.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import polars as pl

from forecasting.features import holiday_names
from forecasting.intervals import LEVELS, rolling_quantiles
from forecasting.metrics import coverage, pinball, score, seasonal_scale
from forecasting.models.baselines import seasonal_naive, weekday_mean4
from forecasting.models.gbm import (
    GbmConfig,
    GbmModel,
    HolidaySpec,
    PanelFeatures,
    ResidualQuantiles,
    fit_gbm,
)
from forecasting.models.peers import PEERS, peers_chunk
from forecasting.models.prophet_model import holiday_frame, prophet_series_backtest
from forecasting.series import Panel, load_panel

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MODELS: tuple[str, ...] = (
    "seasonal_naive",
    "weekday_mean4",
    "prophet",
    *PEERS,
    "gbm",
    "obrador",
)
#: every model the selection may choose (prophet only runs on a subset: not a candidate)
CANDIDATES: tuple[str, ...] = ("seasonal_naive", "weekday_mean4", *PEERS, "gbm")
MIN_OPEN_DAYS = 56
#: days of history before the first origin (features need 4 weeks, fits a few more)
MIN_TRAIN_DAYS = 91


@dataclass(frozen=True)
class BacktestConfig:
    horizons: tuple[int, ...] = (1, 7, 28)
    origins: int = 182
    workers: int = 2
    refit_every: int = 133
    prophet_series: int = 8
    prophet_origin_step: int = 14
    selection_window: int = 56
    ets_fit_days: int = 730
    #: AutoETS / AutoTheta parameters re-estimated every this many days
    peer_refit_every: int = 91
    run_ets: bool = True  # run the statsforecast peers (AutoETS, AutoTheta, intermittent)
    peers: tuple[str, ...] = PEERS
    #: per-series override of the pooled choice needs this relative gain on its own errors
    series_margin: float = 0.1
    gbm: GbmConfig = field(default_factory=GbmConfig)


@dataclass
class BacktestResult:
    """Forecasts per model, shape (n_series, n_origin_union, n_horizons)."""

    panel: Panel
    config: BacktestConfig
    origins: IntArray  # union of all origins, ascending
    forecasts: dict[str, FloatArray]
    prophet_series: IntArray
    prophet_origins: IntArray
    scale: FloatArray
    seconds: float = 0.0
    final_forecast: FloatArray | None = None  # (n_series, max_horizon) from the last day
    gbm_models: list[GbmModel] = field(default_factory=list)
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    blend_weights: FloatArray | None = None  # (n_origins, n_horizons): weight of the pooled model
    #: quantiles 10/50/90 per model, shape (n_series, n_origin_union, n_horizons, 3)
    quantiles: dict[str, FloatArray] = field(default_factory=dict)
    #: what the selection chose: option name -> share of (series, origin) per horizon
    choices: dict[str, dict[str, float]] = field(default_factory=dict)

    def scored(self, h: int) -> tuple[IntArray, IntArray]:
        """(origin indices into ``self.origins``, target day indices) for horizon h."""
        t_days = self.panel.n_days
        o = np.arange(t_days - self.config.origins - h, t_days - h)
        return (o - self.origins[0]).astype(np.int64), (o + h).astype(np.int64)


# --------------------------------------------------------------------------- tasks


def gbm_forecasts(
    feats: PanelFeatures, model: GbmModel, origins: IntArray, horizons: Sequence[int]
) -> FloatArray:
    """(n_series, n_origins, n_horizons) forecasts of one fitted pooled model."""
    n_s = feats.y_open.shape[0]
    out = np.zeros((n_s, len(origins), len(horizons)))
    if len(origins):
        s = np.repeat(np.arange(n_s), len(origins))
        t = np.tile(origins, n_s)
        for k, h in enumerate(horizons):
            out[:, :, k] = model.predict(feats, s, t, np.full(len(s), h)).reshape(n_s, len(origins))
    return out


def _gbm_task(
    panel: Panel, gbm: GbmConfig, cutoff: int, origins: IntArray, horizons: tuple[int, ...]
) -> tuple[FloatArray, GbmModel]:
    """Fit at ``cutoff`` and forecast ``origins`` (all >= cutoff) for ``horizons``."""
    feats = PanelFeatures(panel, gbm)
    model = fit_gbm(feats, cutoff, gbm)
    return gbm_forecasts(feats, model, origins, horizons), model


def _peers_chunk(  # noqa: PLR0917  (a process-pool task: positional)
    y_rows: FloatArray,
    origins: IntArray,
    horizons: tuple[int, ...],
    kinds: tuple[str, ...],
    refit_every: int,
    fit_days: int,
) -> dict[str, FloatArray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return peers_chunk(y_rows, origins, horizons, kinds, refit_every, fit_days)


def _prophet_one(
    dates: npt.NDArray[np.datetime64],
    y_row: FloatArray,
    origins: IntArray,
    horizons: tuple[int, ...],
    holidays: Any,
) -> tuple[FloatArray, FloatArray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return prophet_series_backtest(dates, y_row, origins, horizons, holidays)


R = TypeVar("R")


#: while the history is younger than this (days), the pooled model is also refitted
#: every ``YOUNG_REFIT_EVERY`` days: each refit then adds a large share of new data
YOUNG_DAYS = 548
YOUNG_REFIT_EVERY = 28


def refit_days(first: int, last: int, every: int) -> list[int]:
    """Refit days of the pooled model: every ``every`` days, but sooner while the
    history is short — never more than half the history so far (min 28 days), so
    a young data set's first model is not kept while its data doubles — and, while
    the history is under ``YOUNG_DAYS`` (a year and a half), every
    ``YOUNG_REFIT_EVERY`` days instead (on a one-year cut of ddop this took the
    pooled model from WAPE 0.2048 to 0.1967 at D+1; docs/forecasting.md). The
    schedule of an older history is unchanged."""
    out = list(range(first, min(last + 1, YOUNG_DAYS), YOUNG_REFIT_EVERY))
    c = first
    while c <= last:
        if c >= YOUNG_DAYS:
            out.append(c)
        c += max(28, min(every, (c + 1) // 2))
    return out


def gbm_blocks(origins: IntArray, every: int) -> list[tuple[int, IntArray]]:
    """(refit day, origins it serves) of the pooled model: the refit days of
    :func:`refit_days` counted from day ``MIN_TRAIN_DAYS`` of the data (not from the
    run's first origin), each origin served by the latest refit day <= it. The
    backtest and production training (:mod:`forecasting.api`) both use it, so they
    use the same model at the same origin."""
    if len(origins) == 0:
        return []
    first, last = int(origins[0]), int(origins[-1])
    days = [c for c in refit_days(MIN_TRAIN_DAYS, last, every) if c <= last]
    start = [c for c in days if c <= first]
    cuts = ([start[-1]] if start else [first]) + [c for c in days if c > first]
    out = []
    for i, c in enumerate(cuts):
        nxt = cuts[i + 1] if i + 1 < len(cuts) else last + 1
        o = origins[(origins >= max(c, first)) & (origins < nxt)] if i else origins[origins < nxt]
        if len(o):
            out.append((c, o))
    return out


def candidate_forecasts(
    panel: Panel,
    feats: PanelFeatures,
    origins: IntArray,
    horizons: tuple[int, ...],
    config: BacktestConfig,
    *,
    models: Sequence[GbmModel],
) -> dict[str, FloatArray]:
    """Every candidate of the selection at ``origins`` in this process: the weekday
    baselines, the statsforecast peers (:func:`peers_chunk`, refit days anchored on
    the data) and the pooled model (each origin: the latest of ``models`` fitted at or
    before it). Production's path; :func:`backtest_panel` runs the same pieces in a
    process pool."""
    y_open = panel.y_open
    out: dict[str, FloatArray] = {
        "seasonal_naive": seasonal_naive(y_open, origins, horizons),
        "weekday_mean4": weekday_mean4(y_open, origins, horizons),
    }
    if config.run_ets and config.peers:
        out.update(
            _peers_chunk(
                y_open,
                origins,
                horizons,
                tuple(config.peers),
                config.peer_refit_every,
                config.ets_fit_days,
            )
        )
    if models:
        cuts = np.array([m.cutoff for m in models])
        gbm = np.zeros((panel.n_series, len(origins), len(horizons)))
        which = np.searchsorted(cuts, origins, side="right") - 1
        if (which < 0).any():
            raise ValueError("an origin precedes every fitted pooled model")
        for i, m in enumerate(models):
            sel = which == i
            if sel.any():
                gbm[:, sel] = gbm_forecasts(feats, m, origins[sel], horizons)
        out["gbm"] = gbm
    return out


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _timed(fn: Callable[..., R], *args: Any) -> tuple[R, float]:
    """Run ``fn``; return its result and the CPU seconds it used (incl. child processes,
    e.g. Prophet's cmdstan)."""
    c0 = _cpu()
    out = fn(*args)
    return out, _cpu() - c0


class _Inline:
    """The executor interface, run in this process (``workers <= 1``)."""

    def submit(self, fn: Callable[..., R], *args: Any) -> Future[R]:
        fut: Future[R] = Future()
        try:
            fut.set_result(fn(*args))
        except Exception as exc:
            fut.set_exception(exc)
        return fut

    def shutdown(self) -> None:
        return None


def _pick_prophet_series(panel: Panel, n: int, first_target: int) -> IntArray:
    open_recent = (~panel.closed[:, first_target:]).sum(axis=1)
    eligible = np.flatnonzero(open_recent >= 0.5 * (panel.n_days - first_target))
    if n <= 0 or eligible.size == 0:
        return np.zeros(0, dtype=np.int64)
    pick = np.unique(np.linspace(0, eligible.size - 1, min(n, eligible.size)).round().astype(int))
    out: IntArray = eligible[pick].astype(np.int64)
    return out


def _executor(workers: int) -> ProcessPoolExecutor | None:
    if workers <= 1:
        return None
    # Not "fork": polars (used by the parent to load the CSV, and by cmdstanpy
    # inside Prophet) deadlocks in a forked child. The fork server is a clean
    # process that imports this module once; callers need a __main__ guard.
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["forecasting.backtest"])
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx)


def backtest_panel(  # noqa: PLR0915  (one linear pipeline, kept in one place)
    panel: Panel,
    config: BacktestConfig,
    *,
    final_forecast: bool = True,
) -> BacktestResult:
    """Run every model over the rolling origins of ``panel``."""
    t0 = time.perf_counter()
    horizons = tuple(sorted(set(config.horizons)))
    hmax = max(horizons)
    t_days = panel.n_days
    warm = max(0, config.selection_window)
    first = t_days - config.origins - hmax - warm
    if first < MIN_TRAIN_DAYS:
        raise ValueError(
            f"history too short: {config.origins} origins at D+{hmax} need at least "
            f"{MIN_TRAIN_DAYS + config.origins + hmax} days, the data has {t_days}"
        )
    origins = np.arange(first, t_days - min(horizons), dtype=np.int64)
    y_open = panel.y_open
    n_s = panel.n_series
    gbm_cfg = replace(
        config.gbm,
        max_horizon=max(config.gbm.max_horizon, hmax),
        threads=1 if config.workers > 1 else config.gbm.threads,
    )

    p_series = _pick_prophet_series(panel, config.prophet_series, t_days - config.origins)
    p_idx = np.arange(warm, len(origins), max(1, config.prophet_origin_step))
    p_origins = origins[p_idx]

    forecasts: dict[str, FloatArray] = {
        "seasonal_naive": seasonal_naive(y_open, origins, horizons),
        "weekday_mean4": weekday_mean4(y_open, origins, horizons),
    }
    gbm = np.zeros((n_s, len(origins), len(horizons)))
    peers = {k: np.full_like(gbm, np.nan) for k in config.peers}
    prophet = np.full((n_s, len(origins), len(horizons)), np.nan)
    prophet_q = np.full((*prophet.shape, len(LEVELS)), np.nan)
    models: list[GbmModel] = []
    final: FloatArray | None = None

    gbm_jobs = gbm_blocks(origins, config.refit_every)
    all_h = tuple(range(1, hmax + 1))
    chunk = max(1, math.ceil(n_s / (4 * max(1, config.workers))))
    peer_chunks = (
        [list(range(i, min(n_s, i + chunk))) for i in range(0, n_s, chunk)]
        if config.run_ets and config.peers
        else []
    )
    p_holidays = _prophet_holidays(panel, config.gbm.holidays)

    pool: ProcessPoolExecutor | _Inline = _executor(config.workers) or _Inline()
    cpu: dict[str, float] = {"gbm": 0.0, "peers": 0.0, "prophet": 0.0}
    try:
        g_fut = [
            pool.submit(_timed, _gbm_task, panel, gbm_cfg, c, o, horizons) for c, o in gbm_jobs
        ]
        f_fut = (
            pool.submit(
                _timed, _gbm_task, panel, gbm_cfg, t_days - 1, np.array([t_days - 1]), all_h
            )
            if final_forecast
            else None
        )
        p_fut = [
            pool.submit(
                _timed, _prophet_one, panel.dates, y_open[s], p_origins, horizons, p_holidays[s]
            )
            for s in p_series
        ]
        e_fut = [
            pool.submit(
                _timed,
                _peers_chunk,
                y_open[rows],
                origins,
                horizons,
                tuple(config.peers),
                config.peer_refit_every,
                config.ets_fit_days,
            )
            for rows in peer_chunks
        ]
        for (_c, o), fut in zip(gbm_jobs, g_fut, strict=True):
            (f, m), sec = fut.result()
            gbm[:, np.searchsorted(origins, o)] = f
            models.append(m)
            cpu["gbm"] += sec
        if f_fut is not None:
            (f, _m), sec = f_fut.result()
            final = f[:, 0, :]
            cpu["gbm"] += sec
        for rows, fut2 in zip(peer_chunks, e_fut, strict=True):
            res, sec = fut2.result()
            for k, v in res.items():
                peers[k][rows] = v
            cpu["peers"] += sec
        for s, fut3 in zip(p_series, p_fut, strict=True):
            (pf, pq), sec = fut3.result()
            prophet[s, p_idx], prophet_q[s, p_idx] = pf, pq
            cpu["prophet"] += sec
    finally:
        pool.shutdown()

    forecasts.update(peers)
    forecasts["prophet"] = prophet
    forecasts["gbm"] = gbm
    forecasts["obrador"], weights, choices = choose_obrador(
        panel,
        origins,
        horizons,
        forecasts,
        window=config.selection_window,
        margin=config.series_margin,
    )
    quantiles = {
        name: model_quantiles(panel, origins, horizons, fc, config.selection_window)
        for name, fc in forecasts.items()
        if name != "prophet"
    }
    quantiles["prophet"] = prophet_q
    # MASE scale: history before the first *scored* origin (the first ``warm``
    # origins only feed the selection and the intervals)
    scale = seasonal_scale(y_open[:, : int(origins[warm]) + 1])
    return BacktestResult(
        panel=panel,
        config=replace(config, horizons=horizons),
        origins=origins,
        forecasts=forecasts,
        prophet_series=p_series,
        prophet_origins=p_origins,
        scale=scale,
        seconds=time.perf_counter() - t0,
        final_forecast=final,
        gbm_models=models,
        cpu_seconds={k: round(v, 2) for k, v in cpu.items()},
        blend_weights=weights,
        quantiles=quantiles,
        choices=choices,
    )


def _prophet_holidays(panel: Panel, spec: HolidaySpec) -> list[Any]:
    """Prophet's holidays frame per series: names of the data's country/region calendar
    (``holidays`` package) and the data's holiday flags."""
    flags = spec.flags(panel) if (spec.flag_col or spec.country or spec.regions) else None
    names: list[str | None] | None = None
    if spec.country is not None:
        try:
            names = holiday_names(panel.dates, spec.country, spec.subdiv)
        except NotImplementedError:
            names = None
    cache: dict[bytes, Any] = {}
    out: list[Any] = []
    for s in range(panel.n_series):
        row = flags[s] if flags is not None else None
        key = row.tobytes() if row is not None else b""
        if key not in cache:
            cache[key] = holiday_frame(panel.dates, row, names)
        out.append(cache[key])
    return out


def _actuals(panel: Panel, origins: IntArray, h: int) -> FloatArray:
    """(n_series, n_origins): what happened on origin + h (NaN = closed / beyond the data)."""
    tgt = origins + h
    out = np.full((panel.n_series, len(origins)), np.nan)
    ok = tgt < panel.n_days
    out[:, ok] = panel.y_open[:, tgt[ok]]
    return out


def model_quantiles(
    panel: Panel,
    origins: IntArray,
    horizons: Sequence[int],
    forecast: FloatArray,
    window: int,
) -> FloatArray:
    """Calibrated quantiles 10/50/90 of one model's forecasts (n_s, n_o, n_h, 3): rolling
    conformal quantiles of its own known errors (:mod:`forecasting.intervals`)."""
    out = np.full((*forecast.shape, len(LEVELS)), np.nan)
    for k, h in enumerate(horizons):
        out[:, :, k] = rolling_quantiles(
            _actuals(panel, origins, h), forecast[:, :, k], h, max(window, 28)
        )
    return out


BLEND_GRID: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(11))


def blend_weights(
    actual: FloatArray,
    first: FloatArray,
    second: FloatArray,
    *,
    origins: IntArray,
    h: int,
    window: int,
) -> FloatArray:
    """Per origin, the weight w of ``first`` in w*first + (1-w)*second that had the
    lowest absolute error over the trailing ``window`` days of *known* targets.

    ``actual``, ``first``, ``second``: (n_series, n_origins), the forecasts made at
    ``origins`` (consecutive days) for day origin + h, and what happened (NaN =
    closed or not yet known). At origin i only forecasts whose target day is
    <= origins[i] count. No known target yet: w = 1.
    """
    n_o = len(origins)
    err = np.zeros((len(BLEND_GRID), n_o))
    for g, w in enumerate(BLEND_GRID):
        e = np.abs(w * first + (1 - w) * second - actual)
        err[g] = np.where(np.isfinite(e), e, 0.0).sum(axis=0)
    csum = np.concatenate([np.zeros((len(BLEND_GRID), 1)), np.cumsum(err, axis=1)], axis=1)
    out = np.ones(n_o)
    for i in range(n_o):
        hi = i - h + 1  # forecasts j < hi have target origins[j] + h <= origins[i]
        lo = max(0, hi - window)
        if hi <= lo:
            continue
        tot = csum[:, hi] - csum[:, lo]
        out[i] = BLEND_GRID[int(np.argmin(tot))]
    return out


BLEND_MIX: tuple[float, ...] = (0.25, 0.5, 0.75)
MEAN_OF: tuple[str, ...] = ("gbm", "autoets", "autotheta", "weekday_mean4")


def selection_options(
    forecasts: dict[str, FloatArray], k: int
) -> tuple[list[str], list[FloatArray], list[float]]:
    """What the selection chooses from at horizon index ``k``: every candidate alone,
    the pooled model mixed with each other candidate (25/50/75 %), and the equal mean
    of the pooled model, AutoETS, AutoTheta and the weekday mean. Returns names,
    forecasts (n_series, n_origins) and the pooled model's weight in each."""
    cands = [c for c in CANDIDATES if c in forecasts and np.isfinite(forecasts[c][:, :, k]).all()]
    names: list[str] = []
    fcs: list[FloatArray] = []
    gw: list[float] = []
    for c in cands:
        names.append(c)
        fcs.append(forecasts[c][:, :, k])
        gw.append(1.0 if c == "gbm" else 0.0)
    if "gbm" in cands:
        g = forecasts["gbm"][:, :, k]
        for other in cands:
            if other == "gbm":
                continue
            for w in BLEND_MIX:
                names.append(f"gbm*{w}+{other}*{1 - w}")
                fcs.append(w * g + (1 - w) * forecasts[other][:, :, k])
                gw.append(w)
    mean_of = [c for c in MEAN_OF if c in cands]
    if len(mean_of) >= 3:
        names.append("mean(" + ",".join(mean_of) + ")")
        fcs.append(np.mean([forecasts[c][:, :, k] for c in mean_of], axis=0))
        gw.append(1.0 / len(mean_of) if "gbm" in mean_of else 0.0)
    return names, fcs, gw


LEVEL_DAYS = 365


def _inverse_levels(panel: Panel, origins: IntArray) -> FloatArray:
    """(n_series, n_origins): 1 / each series' mean open-day value over the
    ``LEVEL_DAYS`` days up to each origin (0 where it sold nothing) — known at the
    origin and independent of where a run started."""
    y = panel.y_open
    ok = np.isfinite(y)
    zero = np.zeros((y.shape[0], 1))
    cs = np.concatenate([zero, np.cumsum(np.where(ok, np.abs(y), 0.0), axis=1)], axis=1)
    cn = np.concatenate([zero, np.cumsum(ok, axis=1)], axis=1)
    hi = origins + 1
    lo = np.maximum(hi - LEVEL_DAYS, 0)
    tot, cnt = cs[:, hi] - cs[:, lo], cn[:, hi] - cn[:, lo]
    out: FloatArray = np.where(tot > 0, cnt / np.where(tot > 0, tot, 1.0), 0.0)
    return out


def choose_obrador(
    panel: Panel,
    origins: IntArray,
    horizons: Sequence[int],
    forecasts: dict[str, FloatArray],
    *,
    window: int = 56,
    margin: float = 0.1,
    last_choice: dict[str, list[str]] | None = None,
) -> tuple[FloatArray, FloatArray, dict[str, dict[str, float]]]:
    """The production forecast, chosen by rolling-origin error over every candidate.

    Per horizon and origin, using only errors of targets already known at that
    origin over the trailing ``window`` days:

    1. **pooled choice**: among :func:`selection_options` (every candidate —
       seasonal-naive, weekday mean, AutoETS, AutoTheta, the intermittent methods,
       the pooled model — alone, and mixes), the option with the lowest sum of
       absolute errors, each series' errors divided by its mean level over the
       365 days up to the origin (so euros beside units, big beside small series
       count alike; nothing depends on where the run started, so production
       choosing at its last day and a backtest choosing at the same origin agree);
    2. **per-series override**: a series whose own best single candidate had
       ``margin`` (10 %) less error than the pooled choice on its own known days
       (at least 28) gets that candidate (e.g. AutoETS where the pooled model
       fails on that series);
    3. a series with fewer than ``MIN_OPEN_DAYS`` open days in the 91 days up to
       the origin (new product, store reopening) gets ``weekday_mean4``.

    With ``window`` 0 (or no known target yet) the pooled model is used.
    Returns the forecasts, the pooled model's weight in the pooled choice
    (n_origins, n_horizons), and per horizon the share of each final choice over
    (series, origin) pairs; ``last_choice``, when given, is filled with the option
    of each series at the last origin, per horizon.
    """
    open_days = np.cumsum(~panel.closed, axis=1)
    lo91 = np.maximum(origins - 91, 0)
    recent: IntArray = open_days[:, origins] - open_days[:, lo91]
    short = recent < MIN_OPEN_DAYS
    n_s, n_o = len(panel.keys), len(origins)
    inv = _inverse_levels(panel, origins)
    base = "gbm" if "gbm" in forecasts else "weekday_mean4"
    out = forecasts[base].copy()
    weights = np.ones((n_o, len(horizons)))
    choices: dict[str, dict[str, float]] = {}
    for k, h in enumerate(horizons):
        actual = _actuals(panel, origins, h)
        names, fcs, gw = selection_options(forecasts, k)
        n_single = sum(1 for n in names if n in CANDIDATES)
        stack = np.stack(fcs)  # (n_opt, S, O)
        err = np.abs(stack - actual[None])
        known = np.isfinite(err)
        err = np.where(known, err, 0.0)
        zeros = np.zeros((*err.shape[:2], 1))
        cerr = np.concatenate([zeros, np.cumsum(err, axis=2)], axis=2)
        ccnt = np.concatenate([zeros[0], np.cumsum(known[0], axis=1)], axis=1)  # (S, O+1)
        base_i = names.index(base)
        pick = np.full((n_s, n_o), base_i, dtype=np.int64)
        for i in range(n_o):
            hi = i - h + 1
            lo = max(0, hi - window)
            if window <= 0 or hi <= lo:
                continue
            own = cerr[:, :, hi] - cerr[:, :, lo]  # (n_opt, S)
            n_known = ccnt[:, hi] - ccnt[:, lo]
            g = int(np.argmin((own * inv[:, i][None, :]).sum(axis=1)))
            weights[i, k] = gw[g]
            pick[:, i] = g
            best = np.argmin(own[:n_single], axis=0)
            cols = np.arange(n_s)
            better = own[best, cols] < (1 - margin) * own[g, cols]
            override = better & (n_known >= 28)
            pick[override, i] = best[override]
        chosen = np.take_along_axis(stack, pick[None], axis=0)[0]
        m = forecasts["weekday_mean4"][:, :, k]
        out[:, :, k] = np.where(short, m, chosen)
        final_names = np.where(short, -1, pick)
        if last_choice is not None:
            last_choice[str(h)] = [
                "weekday_mean4 (short history)" if v < 0 else names[v]
                for v in final_names[:, -1].tolist()
            ]
        vals, counts = np.unique(final_names, return_counts=True)
        choices[str(h)] = {
            ("weekday_mean4 (short history)" if v < 0 else names[v]): round(c / final_names.size, 4)
            for v, c in zip(vals.tolist(), counts.tolist(), strict=True)
        }
    return out, weights, choices


# --------------------------------------------------------------------------- report


def final_forecast_frame(result: BacktestResult) -> pl.DataFrame | None:
    """D+1..D+H from the last day of the data, with quantiles from the backtest's errors.

    The quantiles are those of actual / forecast of the ``obrador`` backtest
    forecasts at the scored horizons (each horizon uses the scored horizons
    within 3 days of it, else all of them).
    """
    if result.final_forecast is None:
        return None
    panel = result.panel
    acts, fcs, hs = [], [], []
    for k, h in enumerate(result.config.horizons):
        oi, td = result.scored(h)
        acts.append(panel.y_open[:, td].ravel())
        fcs.append(result.forecasts["obrador"][:, oi, k].ravel())
        hs.append(np.full(acts[-1].size, h, dtype=np.int64))
    point = np.maximum(result.final_forecast, 0.0)
    hmax = point.shape[1]
    q = ResidualQuantiles.fit(
        np.concatenate(acts), np.concatenate(fcs), np.concatenate(hs), max_horizon=hmax
    )
    grid = np.broadcast_to(np.arange(1, hmax + 1), point.shape).astype(np.int64)
    qs = q.apply(point, grid)
    n_s = panel.n_series
    last = panel.dates[-1].astype("datetime64[D]")
    days = last + np.arange(1, hmax + 1).astype("timedelta64[D]")
    cols: dict[str, Any] = {
        name: [panel.keys[s][c] for s in range(n_s) for _ in range(hmax)]
        for c, name in enumerate(panel.series_cols)
    }
    cols["date"] = pl.Series(np.tile(days, n_s)).cast(pl.Date)
    cols["horizon"] = np.tile(np.arange(1, hmax + 1), n_s)
    cols["mean"] = point.ravel()
    for k, lv in enumerate(q.levels):
        cols[f"q{round(lv * 100):02d}"] = qs[:, :, k].ravel()
    return pl.DataFrame(cols)


def summarize(result: BacktestResult, *, details: bool = False) -> dict[str, Any]:
    """The JSON shape of ``forecast backtest --json``."""
    panel = result.panel
    y_open = panel.y_open
    horizons_out: dict[str, dict[str, dict[str, float]]] = {}
    subset_out: dict[str, dict[str, dict[str, float]]] = {}
    p_mask_o = np.isin(result.origins, result.prophet_origins)
    p_mask_s = np.zeros(panel.n_series, dtype=bool)
    p_mask_s[result.prophet_series] = True
    for k, h in enumerate(result.config.horizons):
        oi, td = result.scored(h)
        actual = y_open[:, td]
        scale = np.broadcast_to(result.scale[:, None], actual.shape)
        row: dict[str, dict[str, float]] = {}
        sub: dict[str, dict[str, float]] = {}
        sub_mask = p_mask_s[:, None] & p_mask_o[oi][None, :]
        for name in MODELS:
            if name not in result.forecasts:
                continue
            fc = result.forecasts[name][:, oi, k]
            qs = result.quantiles.get(name)
            q = qs[:, oi, k] if qs is not None else None
            row[name] = _round(_score(actual, fc, scale, q))
            if details:
                sub[name] = _round(_score(actual, fc, scale, q, sub_mask))
        horizons_out[str(h)] = row
        subset_out[str(h)] = sub
    out: dict[str, Any] = {
        "horizons": horizons_out,
        "series": panel.n_series,
        "origins": result.config.origins,
        "seconds": round(result.seconds, 2),
    }
    if details:
        out["details"] = {
            "prophet_subset": {
                "series": [panel.key_label(int(s)) for s in result.prophet_series],
                "origin_step": result.config.prophet_origin_step,
                "horizons": subset_out,
                "note": "prophet in 'horizons' is scored on this subset only; every model "
                "is scored on the same subset here for a like-for-like comparison",
            },
            "cpu_seconds": result.cpu_seconds,
            "choices": result.choices,
            "blend_weight_mean": {
                str(h): round(float(result.blend_weights[result.scored(h)[0], k].mean()), 3)
                for k, h in enumerate(result.config.horizons)
            }
            if result.blend_weights is not None
            else None,
            "gbm_refits": [str(panel.dates[int(m.cutoff)]) for m in result.gbm_models],
            "gbm_rows_per_fit": [int(m.n_rows) for m in result.gbm_models],
            "first_origin": str(panel.dates[int(result.origins[0])]),
            "target_days": [str(panel.dates[-result.config.origins]), str(panel.dates[-1])],
            "oracle_weather": result.config.gbm.oracle_weather,
        }
    return out


def _score(
    actual: FloatArray,
    fc: FloatArray,
    scale: FloatArray,
    q: FloatArray | None,
    mask: npt.NDArray[np.bool_] | None = None,
) -> dict[str, float]:
    """WAPE, MAE, RMSE, MASE, bias, plus ``pinball`` (mean loss at 10/50/90 %, units)
    and ``coverage80`` (share of actuals within the 10-90 % quantiles)."""
    out = score(actual, fc, scale, mask)
    if q is None:
        out["pinball"] = out["coverage80"] = math.nan
    else:
        out["pinball"] = pinball(actual, q, LEVELS, mask)
        out["coverage80"] = coverage(actual, q[..., 0], q[..., -1], mask)
    return out


def _round(d: dict[str, float]) -> dict[str, float]:
    return {k: (round(v, 4) if math.isfinite(v) else math.nan) for k, v in d.items()}


def run_backtest(  # noqa: PLR0917  (positional signature is the public contract)
    csv_path: str | Path,
    date_col: str,
    series_cols: Sequence[str],
    value_col: str,
    exog_cols: Sequence[str] = (),
    horizons: Sequence[int] = (1, 7, 28),
    origins: int = 182,
    *,
    workers: int = 2,
    holiday_col: str | None = None,
    country: str | None = None,
    subdiv: str | None = None,
    prophet_series: int = 8,
    prophet_origin_step: int = 14,
    refit_every: int = 133,
    oracle_weather: bool = False,
    details: bool = False,
    return_result: bool = False,
    peer_refit_every: int = 91,
) -> dict[str, Any]:
    """Load ``csv_path`` and run the rolling-origin backtest; see :func:`summarize`.

    ``seconds`` is the wall time of everything: load, features, every model's
    training and forecasts, and the final D+1..D+28 forecast from the last day.
    With ``return_result`` the raw :class:`BacktestResult` is under ``"_result"``.
    """
    t0 = time.perf_counter()
    panel = load_panel(csv_path, date_col, list(series_cols), value_col, list(exog_cols))
    if holiday_col is None:
        holiday_col = next((c for c in exog_cols if c.lower() in ("is_holiday", "holiday")), None)
    gbm = GbmConfig(
        holidays=HolidaySpec(flag_col=holiday_col, country=country, subdiv=subdiv),
        oracle_weather=oracle_weather,
    )
    cfg = BacktestConfig(
        horizons=tuple(horizons),
        origins=origins,
        workers=workers,
        refit_every=refit_every,
        prophet_series=prophet_series,
        prophet_origin_step=prophet_origin_step,
        peer_refit_every=peer_refit_every,
        gbm=gbm,
    )
    result = backtest_panel(panel, cfg)
    result.seconds = time.perf_counter() - t0
    out = summarize(result, details=details)
    if return_result:
        out["_result"] = result
    return out
