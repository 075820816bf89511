"""The workshop plan: the quantile of the summed demand, batches and minimums, transfers."""

from __future__ import annotations

import random
from statistics import NormalDist

import pytest

from forecasting.plan import Economics, newsvendor_quantity, round_to_run
from forecasting.workshop_plan import (
    StoreDemand,
    aggregate,
    dependence,
    plan_workshop,
    share_out,
)

ECON = Economics(price=1.0, unit_cost=0.2, waste_cost=0.2)  # critical ratio 0.8


def _normal(mu: float, sigma: float, step: int = 5) -> dict[float, float]:
    """What a forecast publishes: the quantiles q05..q95 only."""
    dist = NormalDist(mu, sigma)
    return {lv / 100: dist.inv_cdf(lv / 100) for lv in range(step, 100, step)}


def test_the_quantile_of_a_sum_of_independent_stores_is_below_the_sum_of_their_quantiles() -> None:
    stores = [_normal(100, 20, step=1) for _ in range(4)]
    pooled = aggregate(stores)
    levels, values = list(pooled), list(pooled.values())
    exact = NormalDist(400, 20 * 4**0.5)  # independent: sigma grows with sqrt(n)
    for level in (0.2, 0.5, 0.8, 0.9):
        at = min(range(len(levels)), key=lambda i: abs(levels[i] - level))
        assert values[at] == pytest.approx(exact.inv_cdf(levels[at]), rel=0.01)
    summed = 4 * NormalDist(100, 20).inv_cdf(0.8)
    assert summed - values[min(range(100), key=lambda i: abs(levels[i] - 0.8))] > 25


def test_stores_that_move_together_add_up_their_quantiles() -> None:
    stores = [_normal(100, 20), _normal(50, 10)]
    together = aggregate(stores, dependence=1.0)
    apart = aggregate(stores, dependence=0.0)
    level = 0.85
    near = min(together, key=lambda lv: abs(lv - level))
    sum_of_quantiles = NormalDist(100, 20).inv_cdf(near) + NormalDist(50, 10).inv_cdf(near)
    assert together[near] == pytest.approx(sum_of_quantiles, rel=0.01)
    assert apart[near] < together[near]


def test_dependence_is_read_from_how_the_stores_deviate_together() -> None:
    rnd = random.Random(7)
    common = [rnd.gauss(0, 10) for _ in range(56)]
    assert dependence({"a": common, "b": [2 * x for x in common]}) == pytest.approx(1.0)
    apart = dependence({"a": common, "b": [rnd.gauss(0, 10) for _ in range(56)]})
    assert apart < 0.35
    assert dependence({"a": common, "b": [-x for x in common]}) == 0.0  # clipped
    assert dependence({"a": common}) == 0.0  # one store: nothing to learn
    assert dependence({"a": common[:5], "b": common[:5]}) == 0.0  # too few days


def test_a_run_is_whole_batches_and_at_least_the_minimum() -> None:
    assert round_to_run(0, 12, 24) == 0  # nothing needed: no run at all
    assert round_to_run(5, 12, 0) == 12
    assert round_to_run(5, 12, 30) == 36  # the minimum, in whole batches
    assert round_to_run(49, 12, 30) == 60
    assert round_to_run(7, 1, 10) == 10
    with pytest.raises(ValueError, match="minimum"):
        round_to_run(7, 1, -1)


def test_the_newsvendor_order_respects_the_catalogue_minimum() -> None:
    small = _normal(6, 1)
    assert newsvendor_quantity(small, ECON).quantity == 7
    decision = newsvendor_quantity(small, ECON, batch_size=5, minimum_batch=12)
    assert decision.quantity == 15 and "at least 12 a run" in str(decision.reasoning["why"])
    assert newsvendor_quantity(small, ECON, usable_stock=50, minimum_batch=12).quantity == 0


def test_units_are_shared_out_in_proportion_and_add_up() -> None:
    assert share_out(10, {"a": 3.0, "b": 1.0}) == {"a": 8, "b": 2}  # 7.5/2.5: tie to a
    assert sum(share_out(101, {"a": 1.0, "b": 1.0, "c": 1.0}).values()) == 101
    assert share_out(4, {"a": 0.0, "b": 0.0}) == {"a": 2, "b": 2}  # no need at all: equal
    assert share_out(5, {"a": 0.0, "b": 2.0}) == {"b": 5}
    assert share_out(0, {"a": 1.0}) == {}


def test_the_workshop_bakes_less_than_the_stores_would_alone_and_keeps_a_reserve() -> None:
    stores = [StoreDemand(s, _normal(mu, mu / 4)) for s, mu in (("a", 80), ("b", 40), ("c", 20))]
    alone = sum(newsvendor_quantity(s.quantiles, ECON).quantity for s in stores)
    decision = plan_workshop(stores, ECON)
    assert decision.quantity < alone
    assert decision.summed_quantiles > decision.target_units
    assert decision.reserve == int(decision.quantity * 0.2) > 0  # for the midday top-up
    assert sum(decision.transfers.values()) + decision.reserve == decision.quantity
    assert decision.transfers["a"] > decision.transfers["b"] > decision.transfers["c"] > 0
    batched = plan_workshop(stores, ECON, batch_size=24, minimum_batch=48)
    assert batched.quantity % 24 == 0 and batched.quantity >= decision.quantity
    assert sum(batched.transfers.values()) + batched.reserve == batched.quantity


def test_without_a_top_up_run_each_store_gets_its_own_newsvendor_quantity() -> None:
    stores = [StoreDemand(s, _normal(mu, mu / 4)) for s, mu in (("a", 80), ("b", 40))]
    decision = plan_workshop(stores, ECON, top_up=False)
    own = {s.store_id: newsvendor_quantity(s.quantiles, ECON).quantity for s in stores}
    assert decision.reserve == 0 and sum(decision.transfers.values()) == decision.quantity
    assert decision.quantity in (sum(own.values()), sum(own.values()) - 1)  # one rounding
    assert all(abs(decision.transfers[s] - own[s]) <= 1 for s in own)
    assert "no top-up run" in str(decision.reasoning["why"])


def test_stock_a_store_holds_lowers_its_share_but_never_helps_another_store() -> None:
    fresh = [StoreDemand("a", _normal(50, 5)), StoreDemand("b", _normal(50, 5))]
    stocked = [StoreDemand("a", _normal(50, 5), usable_stock=500.0), fresh[1]]
    plain = plan_workshop(fresh, ECON, reserve_share=0.0)
    decision = plan_workshop(stocked, ECON, reserve_share=0.0)
    assert "a" not in decision.transfers  # a holds more than it will sell
    own_b = newsvendor_quantity(fresh[1].quantiles, ECON).quantity
    assert decision.quantity >= own_b - 1  # a's surplus cannot be sent to b
    assert decision.quantity < plain.quantity
