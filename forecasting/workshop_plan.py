"""The central workshop's plan: one order per product and day for all the stores it serves.

Pure functions, no I/O (ADR 0021). The sum of the stores' newsvendor
quantiles is not the newsvendor quantile of their summed demand: the
stores' errors partly cancel, so a workshop bakes for the quantile of the
*aggregated* distribution:

1. each store's forecast distribution (its calibrated quantiles, linear in
   between) is taken as ``ATOMS`` equally likely values;
2. the sum under independence is their convolution, re-quantised to
   ``ATOMS`` values after each store (exact up to that grid);
3. the sum when the stores move together (comonotonic) is the sum of the
   stores' values at the same level — what adding quantiles assumes;
4. the aggregate is the blend ``(1 - d) x independent + d x comonotonic``
   level by level, ``d`` the stores' dependence in [0, 1] (the mean
   correlation of their recent day-to-day deviations, :func:`dependence`).

Each store's demand is taken net of the stock it holds (``max(D - stock, 0)``:
a store's surplus cannot feed another store). The order is the critical-ratio
quantile of the summed net demand, rounded by the product's batch size and
minimum. Pooling only pays when stock can still move after the morning: the
workshop keeps ``RESERVE_SHARE`` of the bake back for a midday top-up run to the
stores running short (a workshop declared without a top-up run gets the sum of
the stores' own newsvendor quantities instead; ADR 0021 has the measurement). The morning
transfers share the order (less the reserve) out by each store's own need (its
newsvendor quantity net of its stock), whole units by largest remainder.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from forecasting.plan import Economics, critical_ratio, quantile_at, round_to_run

#: Equally likely values per distribution (levels 0.5 %, 1.5 %, …, 99.5 %).
ATOMS = 100
#: Share of a pooled bake kept at the workshop for the midday top-up run (ADR 0021).
RESERVE_SHARE = 0.2


@dataclass(frozen=True)
class StoreDemand:
    """One served store's forecast for the production day and its usable stock."""

    store_id: str
    quantiles: Mapping[float, float]  # level -> units
    usable_stock: float = 0.0


@dataclass(frozen=True)
class WorkshopDecision:
    quantity: int
    target_units: float  # the quantile of the summed net demand at the critical ratio
    summed_quantiles: float  # what adding the stores' own quantiles would have said
    transfers: dict[str, int]  # store -> units sent in the morning
    reserve: int = 0  # kept at the workshop for the top-up run; transfers + reserve = quantity
    reasoning: dict[str, float | int | str] = field(default_factory=dict)


def levels(n: int = ATOMS) -> np.ndarray:
    return (np.arange(n) + 0.5) / n


def atoms(quantiles: Mapping[float, float], n: int = ATOMS) -> np.ndarray:
    """``n`` equally likely values of a distribution given by its quantiles (sorted)."""
    known = sorted(quantiles)
    values = [quantiles[k] for k in known]
    return np.array([quantile_at(known, values, float(p)) for p in levels(n)])


def independent_sum(parts: Sequence[np.ndarray]) -> np.ndarray:
    """Atoms of the sum of independent variables, each given by its atoms."""
    total = np.zeros(1)
    for part in parts:
        sums = np.sort(np.add.outer(total, part).ravel())
        # the value at each level of the re-quantised grid (same n as the parts)
        index = np.minimum((levels(len(part)) * sums.size).astype(int), sums.size - 1)
        total = sums[index]
    return total


def aggregate(
    distributions: Sequence[Mapping[float, float]],
    dependence: float = 0.0,
    n: int = ATOMS,
    stocks: Sequence[float] | None = None,
) -> dict[float, float]:
    """Quantiles (level -> units) of the stores' summed demand; ``dependence`` in [0, 1].

    With ``stocks`` (one per store), of the summed *net* demand: what each store
    needs beyond the stock it holds, ``max(D - stock, 0)`` (a store's surplus
    cannot feed another store).
    """
    if not distributions:
        raise ValueError("no distribution to aggregate")
    if not 0.0 <= dependence <= 1.0:
        raise ValueError("dependence must be within [0, 1]")
    held = [0.0] * len(distributions) if stocks is None else [max(s, 0.0) for s in stocks]
    parts = [np.maximum(atoms(q, n) - s, 0.0) for q, s in zip(distributions, held, strict=True)]
    together = np.sum(parts, axis=0)
    apart = independent_sum(parts)
    blend = (1.0 - dependence) * apart + dependence * together
    return {float(p): float(v) for p, v in zip(levels(n), np.sort(blend), strict=True)}


def dependence(deviations: Mapping[str, Sequence[float]]) -> float:
    """Mean pairwise correlation of the stores' aligned deviations, clipped to [0, 1].

    ``deviations``: per store, the same days' demand minus its usual level (e.g. the
    mean of the same weekday). Fewer than 2 stores or 8 days: 0 (nothing to learn).
    """
    series = [np.asarray(v, dtype=float) for v in deviations.values()]
    if len(series) < 2 or min(len(s) for s in series) < 8:
        return 0.0
    length = min(len(s) for s in series)
    matrix = np.vstack([s[-length:] for s in series])
    if np.any(matrix.std(axis=1) == 0):
        return 0.0
    corr = np.corrcoef(matrix)
    upper = corr[np.triu_indices(len(series), k=1)]
    return float(np.clip(np.nanmean(upper), 0.0, 1.0))


def share_out(quantity: int, needs: Mapping[str, float]) -> dict[str, int]:
    """``quantity`` whole units split in proportion to ``needs`` (largest remainder).

    Stores needing nothing get nothing unless every need is 0 (then equal shares);
    ties go to the store listed first.
    """
    if quantity <= 0 or not needs:
        return {}
    weights = {s: max(n, 0.0) for s, n in needs.items()}
    total = sum(weights.values())
    if total <= 0:
        weights, total = dict.fromkeys(needs, 1.0), float(len(needs))
    exact = {s: quantity * w / total for s, w in weights.items()}
    given = {s: math.floor(x) for s, x in exact.items()}
    left = quantity - sum(given.values())
    order = sorted(exact, key=lambda s: (given[s] - exact[s], list(needs).index(s)))
    for store in order[:left]:
        given[store] += 1
    return {s: units for s, units in given.items() if units > 0}


def plan_workshop(
    stores: Sequence[StoreDemand],
    economics: Economics,
    *,
    batch_size: int = 1,
    minimum_batch: int = 0,
    dependence_: float = 0.0,
    top_up: bool = True,
    reserve_share: float = RESERVE_SHARE,
) -> WorkshopDecision:
    """The workshop's order for one product and day, and where its units go.

    ``top_up``: the workshop bakes the quantile of the stores' summed net demand,
    sends ``1 - reserve_share`` of it in the morning (shared by each store's own
    need) and keeps the rest for the midday run to the stores running short.
    Without a top-up run pooling cannot pay (stock sent in the morning stays where
    it is): each store gets its own newsvendor quantity, and the order is their sum.
    """
    ratio = critical_ratio(economics.price, economics.unit_cost, economics.waste_cost)
    own = {s.store_id: _quantile(s.quantiles, ratio) for s in stores}
    needs = {s.store_id: max(own[s.store_id] - max(s.usable_stock, 0.0), 0.0) for s in stores}
    # each store's demand net of its own stock (a store's surplus cannot feed another)
    pooled = aggregate(
        [s.quantiles for s in stores], dependence_, stocks=[s.usable_stock for s in stores]
    )
    target = quantile_at(list(pooled), list(pooled.values()), ratio)
    stock = sum(max(s.usable_stock, 0.0) for s in stores)
    planned = target if top_up else sum(needs.values())
    qty = round_to_run(planned, batch_size, minimum_batch)
    reserve = math.floor(qty * reserve_share) if top_up else 0
    shares = (
        needs
        if sum(needs.values()) > 0
        else {s.store_id: _quantile(s.quantiles, 0.5) for s in stores}
    )
    transfers = share_out(qty - reserve, shares)
    summed = sum(own.values())
    how = (
        f"pooled: the summed net demand at the {ratio:.0%} quantile is {target:.1f}, "
        f"{reserve} kept back for the midday top-up"
        if top_up
        else f"no top-up run: each store's own quantile net of stock, {sum(needs.values()):.1f}"
    )
    return WorkshopDecision(
        quantity=qty,
        target_units=target,
        summed_quantiles=summed,
        transfers=transfers,
        reserve=reserve,
        reasoning={
            "critical_ratio": round(ratio, 4),
            "stores": len(stores),
            "dependence": round(dependence_, 3),
            "pooled_quantile": round(target, 2),
            "summed_store_quantiles": round(summed, 2),  # before stock
            "usable_stock": round(stock, 2),
            "top_up": "yes" if top_up else "no",
            "reserve": reserve,
            "batch_size": batch_size,
            "minimum_batch": minimum_batch,
            "why": (
                f"{len(stores)} stores with {stock:g} usable units; {how} (the stores' own "
                f"quantiles add up to {summed:.1f} before stock; dependence "
                f"{dependence_:.2f}); bake {qty} (batches of {batch_size}"
                + (f", at least {minimum_batch} a run)" if minimum_batch else ")")
            ),
        },
    )


def _quantile(quantiles: Mapping[float, float], level: float) -> float:
    known = sorted(quantiles)
    return quantile_at(known, [quantiles[k] for k in known], level)
