"""Pooled LightGBM over all series, direct multi-horizon.

One model covers every series and every horizon 1..H. A training row is
(series s, origin t, horizon h) with target y[t + h]; every feature is either
known in advance for the target day d = t + h (calendar, holidays, declared
closures, planned promotions) or computed from data at or before the origin t
(lags, same-weekday means, recent level, *observed* weather read at the
origin). The target is scaled by the series' recent level (mean of the open
days of the 28 days up to t), so one model serves big and small series, and
learnt as log1p(ratio) with an L2 loss (a median-like fit, as robust as L1
on this data and ~4x faster to train in LightGBM).

Prediction intervals come from the model's own out-of-sample errors
(:class:`ResidualQuantiles`): the ratio actual / forecast by horizon bucket.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt

from forecasting.features import calendar_features, closure_features, holiday_flags, weekday
from forecasting.intervals import ConformalQuantiles
from forecasting.models.baselines import (
    last_open_same_weekday,
    recent_mean,
    weekday_mean,
)
from forecasting.series import Panel

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

QUANTILES: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)


@dataclass(frozen=True)
class HolidaySpec:
    """Where holidays come from: a 0/1 column of the data, or the ``holidays`` package.

    ``regions`` maps a store (the value of the first series column) to its own
    (country, subdivision), e.g. (("12", "ES", "MD"), ("31", "ES", "CT")); stores
    not listed use ``country``/``subdiv``.
    """

    flag_col: str | None = None
    country: str | None = None
    subdiv: str | None = None
    regions: tuple[tuple[str, str, str | None], ...] = ()

    def flags(self, panel: Panel) -> FloatArray:
        """Holiday flags, shape (n_series, n_days)."""
        shape = (panel.n_series, panel.n_days)
        if self.flag_col is not None and self.flag_col in panel.exog:
            return np.nan_to_num(panel.exog[self.flag_col], nan=0.0)
        out = np.zeros(shape)
        if self.country is not None:
            out[:] = holiday_flags(panel.dates, self.country, self.subdiv)
        cache: dict[tuple[str, str | None], FloatArray] = {}
        for store, country, subdiv in self.regions:
            rows = [i for i, k in enumerate(panel.keys) if k[0] == str(store)]
            if rows:
                if (country, subdiv) not in cache:
                    cache[(country, subdiv)] = holiday_flags(panel.dates, country, subdiv)
                out[rows] = cache[(country, subdiv)]
        return out


@dataclass(frozen=True)
class GbmConfig:
    max_horizon: int = 28
    train_days: int = 730
    rows_per_fit: int = 150_000
    n_estimators: int = 300
    learning_rate: float = 0.06
    num_leaves: int = 31
    min_data_in_leaf: int = 100
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    objective: str = "l2"
    log_target: bool = True
    threads: int = 1  # >1 only on an otherwise idle machine: OpenMP degrades badly when shared
    seed: int = 7
    oracle_weather: bool = False
    holidays: HolidaySpec = field(default_factory=HolidaySpec)


class PanelFeatures:
    """Precomputed (series x day) tables from which design rows are gathered."""

    def __init__(self, panel: Panel, config: GbmConfig) -> None:
        self.panel = panel
        self.config = config
        y_open = panel.y_open
        self.y_open = y_open
        self.last_same = last_open_same_weekday(y_open)
        self.wm4 = weekday_mean(y_open, 4)
        self.wm8 = weekday_mean(y_open, 8)
        self.mean7 = recent_mean(y_open, 7)
        self.mean28 = recent_mean(y_open, 28)
        self.mean91 = recent_mean(y_open, 91)
        n_s, n_d = y_open.shape
        self.n_days = n_d
        # momentum: recent days against their own same-weekday 4-week mean
        ref = np.full_like(y_open, np.nan)
        ref[:, 7:] = self.wm4[:, :-7]
        with np.errstate(all="ignore"):
            dev = np.where(ref > 0, y_open / ref, np.nan)
        self.dev7 = recent_mean(dev, 7)
        self.dev21 = recent_mean(dev, 21)
        # the same for the whole closure group (store): all its products together
        gsum = np.zeros((int(panel.group.max()) + 1, n_d))
        gref = np.zeros_like(gsum)
        ok = np.isfinite(y_open) & np.isfinite(ref)
        np.add.at(gsum, panel.group, np.where(ok, y_open, 0.0))
        np.add.at(gref, panel.group, np.where(ok, ref, 0.0))
        with np.errstate(all="ignore"):
            gdev = np.where(gref > 0, gsum / gref, np.nan)
        self.group_dev7 = recent_mean(gdev, 7)[panel.group]
        self.yoy = np.full_like(y_open, np.nan)
        with np.errstate(all="ignore"):
            self.yoy[:, 364:] = self.mean91[:, 364:] / self.mean91[:, :-364]
        self.dow = np.broadcast_to(weekday(panel.dates).astype(np.float64), (n_s, n_d))
        doy = (panel.dates.astype("datetime64[D]") - panel.dates.astype("datetime64[Y]")).astype(
            np.int64
        )
        self.doy = np.broadcast_to(doy.astype(np.float64), (n_s, n_d))
        hol = config.holidays.flags(panel)
        self.known: dict[str, FloatArray] = {
            f"cal_{k}": np.broadcast_to(v, (n_s, n_d))
            for k, v in calendar_features(panel.dates, hol).as_dict().items()
        }
        self.known.update(closure_features(panel.closed))
        self.observed: dict[str, FloatArray] = {}
        for name, m in panel.exog.items():
            if name in panel.observed:
                self.observed[name] = m
            elif name != config.holidays.flag_col:
                self.known[name] = m
        self.codes = np.zeros((n_s, len(panel.series_cols)), dtype=np.float64)
        for c in range(len(panel.series_cols)):
            levels = sorted({k[c] for k in panel.keys})
            index = {v: i for i, v in enumerate(levels)}
            self.codes[:, c] = [index[k[c]] for k in panel.keys]
        self.names: list[str] = [
            "h",
            "dow",
            "doy",
            *[f"id_{c}" for c in panel.series_cols],
            "last",
            "mean7",
            "mean28_prev",
            "mean91",
            "same_wd",
            "wm4",
            "wm8",
            "wm4_prev",
            "last_year",
            "last_year_wm4",
            "closed_at_origin",
            "dev7",
            "dev21",
            "group_dev7",
            "yoy",
            *self.known.keys(),
            *[f"{k}_at_origin" for k in self.observed],
        ]
        if config.oracle_weather:
            self.names += [f"{k}_oracle" for k in self.observed]
        self.categorical = [f"id_{c}" for c in panel.series_cols]

    def scale(self, s: IntArray, t: IntArray) -> FloatArray:
        sc = self.mean28[s, t]
        alt = self.mean91[s, t]
        out: FloatArray = np.where(np.isfinite(sc) & (sc > 0), sc, alt)
        # no positive level (a series that sold nothing lately): no scale — such rows
        # are not trained on (a 0 scale made inf/NaN targets and broke the whole fit)
        return np.where(np.isfinite(out) & (out > 0), out, np.nan)

    def rows(
        self, s: IntArray, t: IntArray, h: IntArray
    ) -> tuple[npt.NDArray[np.float32], FloatArray]:
        """Design matrix and scale for rows (s, t, h); all inputs known at origin t."""
        d = t + h
        a = d - 7 * np.ceil(h / 7).astype(np.int64)
        sc = self.scale(s, t)
        inv = 1.0 / sc

        def past(table: FloatArray, idx: IntArray) -> FloatArray:
            ok = idx >= 0
            out = np.full(idx.shape, np.nan)
            out[ok] = table[s[ok], idx[ok]]
            return out * inv

        def known(table: FloatArray) -> FloatArray:
            ok = d < self.n_days
            out = np.full(d.shape, np.nan)
            out[ok] = table[s[ok], d[ok]]
            return out

        dow = (self.dow[0, t] + h) % 7
        doy = known(self.doy)
        doy = np.where(np.isnan(doy), (self.doy[0, t] + h) % 365, doy)
        cols: list[FloatArray] = [
            h.astype(np.float64),
            dow,
            doy,
            *[self.codes[s, c] for c in range(self.codes.shape[1])],
            past(self.y_open, t),
            past(self.mean7, t),
            past(self.mean28, t - 28),
            past(self.mean91, t),
            past(self.last_same, a),
            past(self.wm4, a),
            past(self.wm8, a),
            past(self.wm4, a - 7),
            past(self.y_open, d - 364),
            past(self.wm4, d - 364),
            np.isnan(self.y_open[s, t]).astype(np.float64),
            self.dev7[s, t],
            self.dev21[s, t],
            self.group_dev7[s, t],
            self.yoy[s, t],
            *[known(v) for v in self.known.values()],
            *[v[s, t] for v in self.observed.values()],
        ]
        if self.config.oracle_weather:
            cols += [known(v) for v in self.observed.values()]
        x = np.column_stack(cols).astype(np.float32)
        return x, sc


@dataclass
class ResidualQuantiles:
    """Quantiles of actual / forecast by horizon, from out-of-sample forecasts."""

    levels: tuple[float, ...]
    table: FloatArray  # shape (max_horizon, len(levels))

    @classmethod
    def fit(
        cls,
        actual: FloatArray,
        forecast: FloatArray,
        horizon: IntArray,
        max_horizon: int,
        levels: Sequence[float] = QUANTILES,
    ) -> ResidualQuantiles:
        ok = np.isfinite(actual) & np.isfinite(forecast) & (forecast > 0)
        ratio = actual[ok] / forecast[ok]
        hh = horizon[ok]
        table = np.ones((max_horizon, len(levels)))
        overall = np.quantile(ratio, levels) if ratio.size else np.ones(len(levels))
        for k in range(max_horizon):
            # pool neighbouring horizons (a week's band) for stable tails
            sel = np.abs(hh - (k + 1)) <= 3
            table[k] = np.quantile(ratio[sel], levels) if sel.sum() >= 200 else overall
        return cls(tuple(levels), table)

    def apply(self, point: FloatArray, horizon: IntArray) -> FloatArray:
        """Quantile forecasts, shape point.shape + (n_levels,)."""
        idx = np.clip(horizon - 1, 0, self.table.shape[0] - 1)
        out: FloatArray = point[..., None] * self.table[idx]
        return out


@dataclass
class GbmModel:
    """A fitted pooled model and what it was trained on."""

    booster: Any
    config: GbmConfig
    cutoff: int
    n_rows: int
    feature_names: list[str]
    quantiles: ResidualQuantiles | ConformalQuantiles | None = None

    def predict(self, feats: PanelFeatures, s: IntArray, t: IntArray, h: IntArray) -> FloatArray:
        x, sc = feats.rows(s, t, h)
        ratio = self.booster.predict(x, num_threads=self.config.threads)
        if self.config.log_target:
            ratio = np.expm1(ratio)
        pred = np.maximum(ratio, 0.0) * sc
        # no level known (series closed for 91 days): fall back to last open same weekday
        fb = feats.last_same[s, t + h - 7 * np.ceil(h / 7).astype(np.int64)]
        pred = np.where(np.isfinite(pred), pred, np.nan_to_num(fb, nan=0.0))
        out: FloatArray = pred
        return out


def training_rows(
    feats: PanelFeatures, cutoff: int, config: GbmConfig, rng: np.random.Generator
) -> tuple[IntArray, IntArray, IntArray]:
    """Sample (s, t, h) with target day t + h <= cutoff and an open target day."""
    n_s = feats.y_open.shape[0]
    first_t = max(cutoff - config.train_days, 28)
    n_t = cutoff - first_t
    if n_t <= 0:
        raise ValueError("not enough history to train")
    total = n_s * n_t * config.max_horizon
    n = min(config.rows_per_fit, total)
    draw = int(n * 1.3) + 16
    s = rng.integers(0, n_s, draw)
    h = rng.integers(1, config.max_horizon + 1, draw)
    t = rng.integers(first_t, cutoff, draw)
    ok = t + h <= cutoff
    s, t, h = s[ok], t[ok], h[ok]
    ok = np.isfinite(feats.y_open[s, t + h]) & np.isfinite(feats.scale(s, t))
    return s[ok][:n], t[ok][:n], h[ok][:n]


def fit_gbm(feats: PanelFeatures, cutoff: int, config: GbmConfig) -> GbmModel:
    """Train on every target day <= ``cutoff`` (day index)."""
    rng = np.random.default_rng(config.seed + cutoff)
    s, t, h = training_rows(feats, cutoff, config, rng)
    x, sc = feats.rows(s, t, h)
    target = feats.y_open[s, t + h] / sc
    if config.log_target:
        target = np.log1p(target)
    weight = sc / sc.mean() if config.objective in ("l1", "quantile") else None
    params: dict[str, Any] = {
        "objective": config.objective,
        "learning_rate": config.learning_rate,
        "num_leaves": config.num_leaves,
        "min_data_in_leaf": config.min_data_in_leaf,
        "feature_fraction": config.feature_fraction,
        "bagging_fraction": config.bagging_fraction,
        "bagging_freq": 1,
        "num_threads": config.threads,
        "seed": config.seed,
        "verbosity": -1,
        "max_bin": 127,
    }
    data = lgb.Dataset(
        x,
        label=target,
        weight=weight,
        feature_name=feats.names,
        categorical_feature=feats.categorical,
        free_raw_data=True,
    )
    booster = lgb.train(params, data, num_boost_round=config.n_estimators)
    return GbmModel(booster, config, cutoff, len(s), list(feats.names))


def horizon_bucket(h: int) -> int:
    return math.ceil(h / 7)
