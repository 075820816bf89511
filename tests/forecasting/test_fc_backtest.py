"""A small rolling-origin backtest and replay on a sample of the real ddop data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from forecasting.backtest import (
    MODELS,
    BacktestConfig,
    BacktestResult,
    backtest_panel,
    final_forecast_frame,
    summarize,
)
from forecasting.metrics import wape
from forecasting.models.gbm import GbmConfig, HolidaySpec
from forecasting.plot import plot_backtest
from forecasting.series import Panel
from forecasting.simulate import SimulationConfig, d1_forecasts, simulate_panel

SMALL_GBM = GbmConfig(
    rows_per_fit=30_000, n_estimators=120, holidays=HolidaySpec(flag_col="is_holiday")
)


@pytest.fixture(scope="module")
def two_stores(ddop_sample: Panel) -> Panel:
    return ddop_sample.subset([i for i, k in enumerate(ddop_sample.keys) if k[0] in ("2", "17")])


@pytest.fixture(scope="module")
def small(two_stores: Panel) -> BacktestResult:
    cfg = BacktestConfig(
        horizons=(1, 7),
        origins=28,
        workers=1,
        prophet_series=1,
        prophet_origin_step=14,
        gbm=SMALL_GBM,
    )
    return backtest_panel(two_stores, cfg, final_forecast=True)


def test_summary_has_exactly_the_documented_shape(small: BacktestResult) -> None:
    out = summarize(small)
    assert set(out) == {"horizons", "series", "origins", "seconds"}
    assert set(out["horizons"]) == {"1", "7"}
    for models in out["horizons"].values():
        assert set(models) == set(MODELS)
        for met in models.values():
            assert set(met) == {"wape", "mae", "rmse", "mase", "bias", "pinball", "coverage80"}
            assert all(np.isfinite(v) for v in met.values())
            assert 0 <= met["coverage80"] <= 1 and met["pinball"] > 0
    assert (out["series"], out["origins"]) == (6, 28)


def test_obrador_beats_seasonal_naive_on_real_data(small: BacktestResult) -> None:
    out = summarize(small)
    for h in ("1", "7"):
        assert out["horizons"][h]["obrador"]["wape"] < out["horizons"][h]["seasonal_naive"]["wape"]


def test_every_horizon_scores_the_same_last_days(small: BacktestResult) -> None:
    n = small.panel.n_days
    for h in (1, 7):
        oi, td = small.scored(h)
        assert td.tolist() == list(range(n - 28, n))
        assert (small.origins[oi] + h == td).all()  # forecast made h days before


def test_closed_days_are_not_scored(small: BacktestResult) -> None:
    oi, td = small.scored(1)
    closed = small.panel.closed[:, td]
    assert closed.any()  # Easter 2019 is in the window
    fc = small.forecasts["seasonal_naive"][:, oi, 0]
    expect = wape(small.panel.y[:, td], fc, ~closed)
    assert summarize(small)["horizons"]["1"]["seasonal_naive"]["wape"] == pytest.approx(
        expect, abs=1e-4
    )
    # scoring the closed days as zero demand would give a different (worse) number
    assert wape(small.panel.y[:, td], fc) > expect


def test_plot_is_written(small: BacktestResult, tmp_path: Path) -> None:
    path = plot_backtest(small, tmp_path / "bt.png", n_series=2)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_replay_accounts_for_every_unit(two_stores: Panel) -> None:
    cfg = SimulationConfig(days=14, calibration_days=28, workers=1)
    out = simulate_panel(two_stores, cfg, gbm=SMALL_GBM)
    n = two_stores.n_days
    open_ = ~two_stores.closed[:, n - 14 :]
    demand = float(two_stores.y[:, n - 14 :][open_].sum())
    assert out["store_product_days"] == int(open_.sum())
    for row in out["policies"].values():
        assert row["sold"] + row["lost_units"] == pytest.approx(demand)
        assert row["produced"] - row["waste_units"] == pytest.approx(row["sold"])
        assert row["cost_eur"] == pytest.approx(row["waste_eur"] + row["lost_eur"], abs=0.02)
    assert "newsvendor" in out["example_decision"]


def test_final_forecast_has_every_day_and_ordered_quantiles(small: BacktestResult) -> None:
    frame = final_forecast_frame(small)
    assert frame is not None
    assert frame.height == 6 * 7  # 6 series x D+1..D+7 (max scored horizon)
    assert str(frame["date"].min()) == "2019-05-01"
    q = frame.select("q05", "q25", "q50", "q75", "q95").to_numpy()
    assert (q[:, 1:] >= q[:, :-1]).all()
    assert (frame["mean"].to_numpy() > 0).all()
    assert set(small.cpu_seconds) == {"gbm", "peers", "prophet"}


def test_replay_forecasts_are_the_ones_made_the_day_before(two_stores: Panel) -> None:
    """The replay must pair each day with the forecast made the evening before (not,
    say, with a warm-up origin's). Checked on seasonal naive, computed by hand here."""
    cfg = SimulationConfig(days=14, calibration_days=14, workers=1)
    targets, fc = d1_forecasts(two_stores, 28, cfg, SMALL_GBM, model="seasonal_naive")
    n = two_stores.n_days
    assert targets.tolist() == list(range(n - 28, n))
    for s in range(two_stores.n_series):
        for j, d in enumerate(targets):
            back = d - 7
            while two_stores.closed[s, back]:
                back -= 7
            assert fc[s, j] == two_stores.y[s, back]
