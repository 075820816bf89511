"""Baselines, honest features (no look-ahead), model selection, quantiles."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from forecasting.backtest import MIN_OPEN_DAYS, blend_weights, choose_obrador
from forecasting.models.baselines import seasonal_naive, weekday_mean4
from forecasting.models.ets import impute_closed
from forecasting.models.gbm import GbmConfig, HolidaySpec, PanelFeatures, ResidualQuantiles
from forecasting.series import Panel


def test_seasonal_naive_skips_a_closed_same_weekday() -> None:
    y = np.full((1, 22), np.nan)
    y[0, 0], y[0, 7], y[0, 14] = 10.0, 20.0, np.nan  # last week's Monday was closed
    y[0, 1:7] = 1.0
    y[0, 8:14] = 1.0
    origin = np.array([20])
    # target day 21 (same weekday as 14, 7, 0): 14 closed -> 7
    assert seasonal_naive(y, origin, [1])[0, 0, 0] == 20.0
    # mean of the last four same weekdays that were open: (20 + 10) / 2
    assert weekday_mean4(y, origin, [1])[0, 0, 0] == 15.0
    # D+8 from day 13 targets day 21 too, anchored two weeks back (day 7)
    assert seasonal_naive(y, np.array([13]), [8])[0, 0, 0] == 20.0


def test_impute_closed_uses_only_earlier_days() -> None:
    y = np.array([4.0, 1, 1, 1, 1, 1, 1, 8.0, 1, 1, 1, 1, 1, 1, np.nan, 100.0])
    out = impute_closed(y)
    assert out[14] == pytest.approx(6.0)  # mean of days 7 and 0, never day 15


def _features(panel: Panel, oracle: bool) -> PanelFeatures:
    cfg = GbmConfig(holidays=HolidaySpec(flag_col="is_holiday"), oracle_weather=oracle)
    return PanelFeatures(panel, cfg)


def _perturb_after(panel: Panel, t: int) -> Panel:
    """Change every sale and every observed weather value after day t (closures kept)."""
    rng = np.random.default_rng(0)
    y = panel.y.copy()
    future = y[:, t + 1 :]
    future[future > 0] *= rng.uniform(0.5, 2.0, size=int((future > 0).sum()))
    exog = dict(panel.exog)
    for name in panel.observed:
        m = exog[name].copy()
        m[:, t + 1 :] += 5.0
        exog[name] = m
    return replace(panel, y=y, exog=exog)


@pytest.mark.parametrize("h", [1, 7, 28])
def test_features_at_an_origin_do_not_see_the_future(ddop_sample: Panel, h: int) -> None:
    t = 1100
    s = np.arange(ddop_sample.n_series, dtype=np.int64)
    tt = np.full_like(s, t)
    hh = np.full_like(s, h)
    x1, sc1 = _features(ddop_sample, False).rows(s, tt, hh)
    x2, sc2 = _features(_perturb_after(ddop_sample, t), False).rows(s, tt, hh)
    np.testing.assert_array_equal(np.nan_to_num(x1, nan=-1), np.nan_to_num(x2, nan=-1))
    np.testing.assert_array_equal(sc1, sc2)


def test_oracle_weather_does_see_the_future(ddop_sample: Panel) -> None:
    """The same check fails for an oracle run: the test above can fail."""
    t = 1100
    s = np.arange(ddop_sample.n_series, dtype=np.int64)
    args = (s, np.full_like(s, t), np.full_like(s, 3))
    x1, _ = _features(ddop_sample, True).rows(*args)
    x2, _ = _features(_perturb_after(ddop_sample, t), True).rows(*args)
    assert not np.array_equal(np.nan_to_num(x1, nan=-1), np.nan_to_num(x2, nan=-1))


def test_selection_falls_back_for_short_recent_history(ddop_sample: Panel) -> None:
    # store 5 is shut until 2018-05-02 (day 851) and reopens: days 400, 880 (28 days
    # after reopening) and 1100
    origins = np.array([400, 880, 1100], dtype=np.int64)
    shape = (ddop_sample.n_series, 3, 1)
    forecasts = {"gbm": np.full(shape, 1.0), "weekday_mean4": np.full(shape, 2.0)}
    chosen, _, _ = choose_obrador(ddop_sample, origins, (1,), forecasts, window=0)
    open_recent = [(~ddop_sample.closed[:, o - 91 : o]).sum(axis=1) for o in origins]
    for j in range(3):
        expect = np.where(open_recent[j] < MIN_OPEN_DAYS, 2.0, 1.0)
        np.testing.assert_array_equal(chosen[:, j, 0], expect)
    store5 = [i for i, k in enumerate(ddop_sample.keys) if k[0] == "5"]
    store2 = [i for i, k in enumerate(ddop_sample.keys) if k[0] == "2"]
    np.testing.assert_array_equal(chosen[store5, :, 0], [[2.0, 2.0, 1.0]] * 3)
    assert (chosen[store2, :, 0] == 1.0).all()


def test_residual_quantiles_recover_a_known_spread() -> None:
    rng = np.random.default_rng(1)
    n = 20_000
    fc = rng.uniform(50, 150, n)
    actual = fc * rng.uniform(0.8, 1.2, n)  # ratio ~ U(0.8, 1.2)
    h = rng.integers(1, 29, n)
    q = ResidualQuantiles.fit(actual, fc, h, 28, levels=(0.1, 0.5, 0.9))
    np.testing.assert_allclose(q.table[0], [0.84, 1.0, 1.16], atol=0.01)
    out = q.apply(np.array([100.0]), np.array([1]))
    np.testing.assert_allclose(out[0], [84, 100, 116], atol=1.0)


def test_blend_weight_follows_only_errors_already_known(ddop_sample: Panel) -> None:
    """Real demand of 9 series over 60 days; the pooled model is exact up to day 9,
    the weekday mean exact from day 10 on. The weight may only react once the
    target days where the weekday mean was exact are in the past."""
    t0 = 1000
    n = 60
    origins = np.arange(t0, t0 + n, dtype=np.int64)
    actual = ddop_sample.y[:, t0 + 1 : t0 + 1 + n].copy()  # targets origin + 1
    first = np.where(np.arange(n) < 10, actual, actual * 1.5)
    second = np.where(np.arange(n) < 10, actual * 1.5, actual)
    w = blend_weights(actual, first, second, origins=origins, h=1, window=56)
    assert w[0] == 1.0  # nothing known yet
    assert (w[:11] == 1.0).all()  # at origin 10 the last known target is origin 9's
    assert w[12] == 1.0  # 10 exact vs 2 exact
    assert w[-1] == 0.0
    w7 = blend_weights(actual, first, second, origins=origins, h=7, window=56)
    assert (w7[:17] == 1.0).all()  # a D+7 forecast's target is known 7 days later
    assert w7[-1] == 0.0


@pytest.mark.parametrize("h", [1, 7, 28])
def test_blend_weight_ignores_targets_not_yet_known(ddop_sample: Panel, h: int) -> None:
    t0, n = 900, 120
    origins = np.arange(t0, t0 + n, dtype=np.int64)
    actual = ddop_sample.y_open[:, t0 + h : t0 + h + n]
    sn = seasonal_naive(ddop_sample.y_open, origins, [h])[:, :, 0]
    wm = weekday_mean4(ddop_sample.y_open, origins, [h])[:, :, 0]
    w = blend_weights(actual, sn, wm, origins=origins, h=h, window=56)
    assert len(set(w.tolist())) > 1  # the weight does move on this stretch
    for i in (30, 60, 90, 119):
        garbled = actual.copy()
        garbled[:, i - h + 1 :] = 1e6  # every target not known at origin i
        w2 = blend_weights(garbled, sn, wm, origins=origins, h=h, window=56)
        assert w2[i] == w[i]


def test_refit_days_shorten_while_history_is_short() -> None:
    from forecasting.backtest import refit_days

    assert refit_days(950, 1213, 133) == [950, 1083]  # long history: every 133 days
    young = refit_days(99, 363, 133)
    # under a year and a half of history: every 28 days (each refit adds much new data)
    assert young == list(range(99, 364, 28))
    # beyond it, every 133 days but never more than half the history so far; the
    # schedule of a long history does not depend on the young-history refits
    assert refit_days(91, 1213, 133)[-6:] == [539, 575, 708, 841, 974, 1107]
    assert refit_days(10, 60, 133) == [10, 38]  # never more often than every 28 days
