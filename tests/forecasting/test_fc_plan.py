"""Newsvendor on a known distribution, batches, stock, the baker's rule."""

from __future__ import annotations

from statistics import NormalDist

import pytest

from forecasting.plan import (
    Economics,
    bakers_rule,
    critical_ratio,
    newsvendor_quantity,
    outcome,
    quantile_at,
    round_up_to_batch,
)


def _normal_quantiles(mu: float, sigma: float) -> dict[float, float]:
    dist = NormalDist(mu, sigma)
    return {lv / 100: dist.inv_cdf(lv / 100) for lv in range(1, 100)}


def test_critical_ratio() -> None:
    assert critical_ratio(1.0, 0.3, 0.3) == pytest.approx(0.7)
    assert critical_ratio(2.5, 1.0, 0.5) == pytest.approx(0.75)
    assert critical_ratio(1.0, 1.0, 0.3) == 0.0  # no margin: bake nothing extra


def test_newsvendor_on_a_normal_distribution() -> None:
    econ = Economics(price=1.0, unit_cost=0.3, waste_cost=0.3)  # ratio 0.7
    q = _normal_quantiles(100, 20)
    exact = NormalDist(100, 20).inv_cdf(0.7)  # 110.49
    d = newsvendor_quantity(q, econ)
    assert d.target_units == pytest.approx(exact, abs=0.05)
    assert d.quantity == 111
    assert d.reasoning["critical_ratio"] == 0.7
    # usable stock is subtracted, then rounded up to whole batches of 6
    d2 = newsvendor_quantity(q, econ, usable_stock=30, batch_size=6)
    assert d2.quantity == 84  # 80.49 -> 14 batches
    assert "bake 84" in str(d2.reasoning["why"])
    # more stock than demand: bake nothing
    assert newsvendor_quantity(q, econ, usable_stock=500).quantity == 0


def test_higher_waste_cost_bakes_less() -> None:
    q = _normal_quantiles(100, 20)
    cheap = newsvendor_quantity(q, Economics(1.0, 0.3, 0.1)).quantity
    dear = newsvendor_quantity(q, Economics(1.0, 0.3, 2.0)).quantity
    assert cheap > 100 > dear


def test_quantile_interpolation_and_clamping() -> None:
    assert quantile_at([0.1, 0.5, 0.9], [80, 100, 120], 0.7) == pytest.approx(110)
    assert quantile_at([0.1, 0.5, 0.9], [80, 100, 120], 0.99) == 120
    with pytest.raises(ValueError, match="non-empty"):
        quantile_at([], [], 0.5)


def test_bakers_rule_and_rounding() -> None:
    assert bakers_rule(100).quantity == 112
    assert bakers_rule(101).quantity == 114  # 113.12 rounded up
    assert bakers_rule(100, batch_size=10).quantity == 120
    assert bakers_rule(0).quantity == 0
    assert round_up_to_batch(12.0, 6) == 12
    assert round_up_to_batch(12.01, 6) == 18


def test_outcome_waste_and_lost_sales() -> None:
    o = outcome(110, 95)
    assert (o.sold, o.waste_units, o.lost_units) == (95, 15, 0)
    o = outcome(90, 95)
    assert (o.sold, o.waste_units, o.lost_units) == (90, 0, 5)


def test_best_batch_rounding_picks_the_cheaper_multiple() -> None:
    econ = Economics(price=1.0, unit_cost=0.3, waste_cost=0.3)  # ratio 0.7
    q = _normal_quantiles(100, 5)  # 0.7 quantile 102.6: batches of 50 -> 100 or 150
    up = newsvendor_quantity(q, econ, batch_size=50)
    best = newsvendor_quantity(q, econ, batch_size=50, rounding="best")
    assert (up.quantity, best.quantity) == (150, 100)
    # and when the upper multiple is the cheaper one, "best" keeps it
    assert (
        newsvendor_quantity(
            _normal_quantiles(140, 5), econ, batch_size=50, rounding="best"
        ).quantity
        == 150
    )
    with pytest.raises(ValueError, match="rounding"):
        newsvendor_quantity(q, econ, rounding="down")
