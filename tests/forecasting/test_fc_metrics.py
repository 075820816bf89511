"""Metric maths on a hand-checked example."""

from __future__ import annotations

import math

import numpy as np
import pytest

from forecasting.metrics import bias, mae, mase, rmse, score, seasonal_scale, wape


def test_metrics_hand_checked() -> None:
    # errors f - y: +2, -2, +4, closed day ignored (mask False), NaN actual ignored
    actual = np.array([10.0, 20.0, 30.0, 999.0, np.nan])
    fc = np.array([12.0, 18.0, 34.0, 0.0, 5.0])
    mask = np.array([True, True, True, False, True])
    assert wape(actual, fc, mask) == pytest.approx(8 / 60)
    assert mae(actual, fc, mask) == pytest.approx(8 / 3)
    assert rmse(actual, fc, mask) == pytest.approx(math.sqrt((4 + 4 + 16) / 3))
    assert bias(actual, fc, mask) == pytest.approx(4 / 60)
    scale = np.array([2.0, 2.0, 4.0, 1.0, 1.0])
    assert mase(actual, fc, scale, mask) == pytest.approx((1 + 1 + 1) / 3)


def test_metrics_without_mask_count_the_closed_point() -> None:
    actual = np.array([10.0, 20.0, 30.0, 999.0])
    fc = np.array([12.0, 18.0, 34.0, 0.0])
    assert wape(actual, fc) == pytest.approx((8 + 999) / 1059)


def test_score_has_the_five_metrics() -> None:
    out = score(np.array([1.0, 2.0]), np.array([1.0, 3.0]), np.array([1.0, 1.0]))
    assert set(out) == {"wape", "mae", "rmse", "mase", "bias"}
    assert out["wape"] == pytest.approx(1 / 3)


def test_seasonal_scale_skips_pairs_with_a_closed_day() -> None:
    # lag-1 season: pairs (1,3)=2, (3,nan) skipped, (nan,4) skipped, (4,10)=6
    y = np.array([[1.0, 3.0, np.nan, 4.0, 10.0]])
    assert seasonal_scale(y, season=1)[0] == pytest.approx((2 + 6) / 2)
