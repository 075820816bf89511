"""What pooling a chain's bake at a workshop is worth, per store, on ddop (ADR 0021).

``python -m deploy.bench_workshop [--days 100] [--products 3]``: every ddop store
is served by one workshop; for each of the last ``--days`` days a simple forecast
per store (the mean of the last 4 same weekdays, with the empirical quantiles of
that rule's errors over the last 8) feeds four plans, costed per store (waste x
unit cost + lost sales x margin, critical ratio 0.73) against the reference of
each store baking its own newsvendor quantity, in the same run:

* ``morning``: the pooled bake (quantile of the summed demand), all sent in the
  morning by each store's need (``top_up`` off in the sharing, on in the amount);
* ``reserve+oracle``: as planned (20 % kept back), the noon run covering each
  store's true shortfall — an upper bound;
* ``reserve+noon``: as planned, the noon run covering each store's shortfall
  projected from its sales by noon (a random 35-65 % of its day, doubled).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np
import polars as pl

from deploy.sample_data import ddop_frame
from forecasting.plan import Economics, newsvendor_quantity
from forecasting.workshop_plan import StoreDemand, dependence, plan_workshop, share_out

ECON = Economics(1.10, 0.30, 0.30)


def _cost(sent: Sequence[float], demand: Sequence[float]) -> float:
    waste = sum(max(a - b, 0.0) for a, b in zip(sent, demand, strict=True))
    short = sum(max(b - a, 0.0) for a, b in zip(sent, demand, strict=True))
    return ECON.waste_cost * waste + ECON.margin * short


def _top_up(morning: list[float], reserve: float, short: Sequence[float]) -> list[float]:
    sent = list(morning)
    for i in np.argsort([-x for x in short]):
        give = float(min(np.ceil(short[i]), reserve))
        sent[i] += give
        reserve -= give
    return sent


def _day(y: np.ndarray, weekdays: list[int], t: int) -> tuple[list[StoreDemand], float]:
    same = [i for i in range(t) if weekdays[i] == weekdays[t]][-8:]
    stores, deviations = [], {}
    for s in range(y.shape[1]):
        errors = [
            y[i, s] - y[[j for j in range(i) if weekdays[j] == weekdays[i]][-4:], s].mean()
            for i in same
        ]
        level = y[same[-4:], s].mean()
        quantiles = {
            lv / 100: max(level + float(np.quantile(errors, lv / 100)), 0.0)
            for lv in range(5, 100, 5)
        }
        stores.append(StoreDemand(str(s), quantiles))
        window, days = y[t - 56 : t, s], weekdays[t - 56 : t]
        means = {k: window[[i for i in range(56) if days[i] == k]].mean() for k in range(7)}
        deviations[str(s)] = [window[i] - means[days[i]] for i in range(56)]
    return stores, dependence(deviations)


def run(days: int, products: int) -> dict[str, dict[str, float]]:
    frame = ddop_frame()
    found: dict[str, dict[str, float]] = {}
    for product in sorted(frame["product"].unique().to_list())[:products]:
        wide = (
            frame.filter(pl.col("product") == product)
            .pivot(on="store", index="date", values="demand")
            .sort("date")
            .fill_null(0)
        )
        y = wide.select(wide.columns[1:]).to_numpy().astype(float)
        weekdays = [d.weekday() for d in wide["date"].to_list()]
        cost = dict.fromkeys(("own", "morning", "reserve+oracle", "reserve+noon"), 0.0)
        for t in range(len(y) - days, len(y)):
            stores, dep = _day(y, weekdays, t)
            demand = list(y[t])
            ids = [s.store_id for s in stores]
            own = [float(newsvendor_quantity(s.quantiles, ECON).quantity) for s in stores]
            plan = plan_workshop(stores, ECON, dependence_=dep)
            needs = {s: max(o, 0.0) for s, o in zip(ids, own, strict=True)}
            whole = share_out(plan.quantity, needs)
            morning = [float(plan.transfers.get(s, 0)) for s in ids]
            rng = np.random.default_rng(t)
            share = rng.uniform(0.35, 0.65, len(ids))  # of its day a store sold by noon
            by_noon = [min(m, a * d) for m, a, d in zip(morning, share, demand, strict=True)]
            projected = [max(x / 0.5 - m, 0.0) for x, m in zip(by_noon, morning, strict=True)]
            true_short = [max(d - m, 0.0) for d, m in zip(demand, morning, strict=True)]
            for name, sent in (
                ("own", own),
                ("morning", [float(whole.get(s, 0)) for s in ids]),
                ("reserve+oracle", _top_up(morning, plan.reserve, true_short)),
                ("reserve+noon", _top_up(morning, plan.reserve, projected)),
            ):
                left = plan.reserve - (sum(sent) - sum(morning)) if "reserve" in name else 0.0
                cost[name] += _cost(sent, demand) + ECON.waste_cost * left
        found[str(product)] = {k: v / cost["own"] for k, v in cost.items()}
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=100)
    parser.add_argument("--products", type=int, default=3)
    args = parser.parse_args()
    for product, ratios in run(args.days, args.products).items():
        shown = "  ".join(f"{k} {v:.3f}" for k, v in ratios.items() if k != "own")
        print(f"product {product}: cost / each store's own newsvendor: {shown}")


if __name__ == "__main__":
    main()
