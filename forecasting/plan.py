"""The daily plan: how much to bake. Pure functions, no I/O.

Newsvendor: bake the quantile of tomorrow's demand distribution at the
critical ratio

    ratio = (price - unit_cost) / (price - unit_cost + waste_cost)

(the margin lost by selling out one unit too early, against the cost of one
unit thrown away), minus the usable stock (lots that will still be sellable
tomorrow), rounded *up* to whole batches. Every decision carries its reasons.

Baker's rule (the habit to beat): last week's same weekday x 1.12, rounded up.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

BAKERS_UPLIFT = 1.12


@dataclass(frozen=True)
class Economics:
    """Per-unit money of one product. ``waste_cost``: cost of an unsold unit
    (production cost + disposal - salvage)."""

    price: float
    unit_cost: float
    waste_cost: float

    def __post_init__(self) -> None:
        if self.price <= 0 or self.unit_cost < 0 or self.waste_cost < 0:
            raise ValueError("price must be > 0, costs >= 0")

    @property
    def margin(self) -> float:
        return self.price - self.unit_cost


def critical_ratio(price: float, unit_cost: float, waste_cost: float) -> float:
    """(price - cost) / (price - cost + waste cost), clipped to [0, 1]."""
    under = max(price - unit_cost, 0.0)
    den = under + max(waste_cost, 0.0)
    if den <= 0:
        return 0.5
    return under / den


def quantile_at(levels: Sequence[float], values: Sequence[float], level: float) -> float:
    """Piecewise-linear quantile of a distribution given by (level, value) pairs.

    Outside the given levels the nearest end value is used (no extrapolation
    into the tails we did not estimate). Values are sorted to be monotone.
    """
    if len(levels) != len(values) or not levels:
        raise ValueError("levels and values must be non-empty and of equal length")
    pairs = sorted(zip(levels, values, strict=True))
    lv = [p[0] for p in pairs]
    vv = sorted(p[1] for p in pairs)  # enforce monotone quantiles
    if level <= lv[0]:
        return vv[0]
    if level >= lv[-1]:
        return vv[-1]
    for i in range(1, len(lv)):
        if level <= lv[i]:
            w = (level - lv[i - 1]) / (lv[i] - lv[i - 1])
            return vv[i - 1] + w * (vv[i] - vv[i - 1])
    return vv[-1]  # pragma: no cover


def round_up_to_batch(units: float, batch_size: int = 1) -> int:
    """Smallest multiple of ``batch_size`` >= ``units`` (never negative)."""
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    if units <= 0:
        return 0
    return math.ceil(units / batch_size - 1e-9) * batch_size


def round_to_run(units: float, batch_size: int = 1, minimum: int = 0) -> int:
    """Whole batches covering ``units``, and at least ``minimum`` units when baking at all
    (the minimum itself rounded up to whole batches); 0 when nothing is needed."""
    if minimum < 0:
        raise ValueError("minimum must be >= 0")
    qty = round_up_to_batch(units, batch_size)
    if qty == 0:
        return 0
    return max(qty, round_up_to_batch(minimum, batch_size))


@dataclass(frozen=True)
class PlanDecision:
    """How much to bake, and why."""

    quantity: int
    policy: str
    target_units: float
    reasoning: dict[str, float | int | str] = field(default_factory=dict)


def expected_cost(quantiles: Mapping[float, float], economics: Economics, supply: float) -> float:
    """E[waste cost x (supply - D)+ + margin x (D - supply)+] over the quantile function
    (linear between the given levels, evaluated on 99 equally likely points)."""
    levels = sorted(quantiles)
    values = [quantiles[k] for k in levels]
    total = 0.0
    for i in range(1, 100):
        d = quantile_at(levels, values, i / 100)
        over = max(supply - d, 0.0)
        under = max(d - supply, 0.0)
        total += economics.waste_cost * over + economics.margin * under
    return total / 99


def newsvendor_quantity(
    quantiles: Mapping[float, float],
    economics: Economics,
    usable_stock: float = 0.0,
    batch_size: int = 1,
    *,
    rounding: str = "up",
    minimum_batch: int = 0,
) -> PlanDecision:
    """Bake the critical-ratio quantile minus usable stock, in whole batches.

    ``minimum_batch``: the fewest units worth a run (the product's catalogue
    minimum): a need below it bakes the minimum (in whole batches), none bakes 0.

    ``rounding="up"``: the next batch multiple (never below the quantile).
    ``rounding="best"``: whichever neighbouring batch multiple has the lower
    expected cost under the forecast distribution (the exact newsvendor with
    batch constraints; matters when batches are large against the spread).
    """
    ratio = critical_ratio(economics.price, economics.unit_cost, economics.waste_cost)
    levels = sorted(quantiles)
    target = quantile_at(levels, [quantiles[k] for k in levels], ratio)
    stock = max(usable_stock, 0.0)
    need = max(target - stock, 0.0)
    qty = round_to_run(need, batch_size, minimum_batch)
    if rounding == "best" and qty >= batch_size and qty - batch_size >= minimum_batch:
        lower = qty - batch_size
        if expected_cost(quantiles, economics, stock + lower) < expected_cost(
            quantiles, economics, stock + qty
        ):
            qty = lower
    elif rounding not in ("up", "best"):
        raise ValueError(f"rounding must be 'up' or 'best', not {rounding!r}")
    median = quantile_at(levels, [quantiles[k] for k in levels], 0.5)
    return PlanDecision(
        quantity=qty,
        policy="newsvendor",
        target_units=target,
        reasoning={
            "critical_ratio": round(ratio, 4),
            "forecast_median": round(median, 2),
            "interval_low": round(quantiles[levels[0]], 2),
            "interval_high": round(quantiles[levels[-1]], 2),
            "interval_levels": f"{levels[0]:g}-{levels[-1]:g}",
            "quantile_units": round(target, 2),
            "usable_stock": usable_stock,
            "batch_size": batch_size,
            "minimum_batch": minimum_batch,
            "why": (
                f"demand at the {ratio:.0%} quantile is {target:.1f}; "
                f"{usable_stock:g} usable in stock; bake {qty} "
                f"(batches of {batch_size}"
                + (f", at least {minimum_batch} a run)" if minimum_batch else ")")
            ),
        },
    )


def bakers_rule(
    last_week_same_day: float, uplift: float = BAKERS_UPLIFT, batch_size: int = 1
) -> PlanDecision:
    """Last week's same weekday x 1.12, rounded up (to whole batches)."""
    target = max(last_week_same_day, 0.0) * uplift
    qty = round_up_to_batch(target, batch_size)
    return PlanDecision(
        quantity=qty,
        policy="bakers_rule",
        target_units=target,
        reasoning={
            "last_week_same_day": last_week_same_day,
            "uplift": uplift,
            "batch_size": batch_size,
            "why": f"{last_week_same_day:g} sold last week x {uplift:g} = {target:.1f}; bake {qty}",
        },
    )


@dataclass(frozen=True)
class Outcome:
    produced: float
    sold: float
    waste_units: float
    lost_units: float


def outcome(planned: float, demand: float) -> Outcome:
    """What happens when ``planned`` units meet ``demand``."""
    sold = min(planned, demand)
    return Outcome(planned, sold, max(planned - demand, 0.0), max(demand - planned, 0.0))
