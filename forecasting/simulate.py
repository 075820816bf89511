"""Replay a real sales history day by day: newsvendor plan vs the baker's rule.

For each of the last ``days`` open store-days and each product:

* **newsvendor**: the D+1 ``obrador`` forecast made the evening before (only
  data up to that day), turned into a distribution by the series' own recent
  out-of-sample errors (quantiles of actual / forecast over the previous
  ``calibration_days`` days — all known at the origin), then
  :func:`forecasting.plan.newsvendor_quantity` at the critical ratio;
* **baker's rule**: last week's same weekday x 1.12, rounded up;
* **median**: the point forecast rounded up (for reference).

Planned vs actual sales give waste (units, and euros at ``waste_cost``) and
lost sales (units, and euros of lost margin ``price - unit_cost``). Fresh
bakery goods are assumed to have a shelf life of one day, so usable stock
is 0 every morning. Closed days (declared closures) bake nothing and are not
counted. Recorded sales are censored by what was on the shelf, so lost sales
are a lower bound for every policy alike.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from forecasting.backtest import BacktestConfig, backtest_panel
from forecasting.models.baselines import last_open_same_weekday
from forecasting.models.gbm import QUANTILES, GbmConfig, HolidaySpec
from forecasting.plan import Economics, bakers_rule, newsvendor_quantity, outcome, round_up_to_batch
from forecasting.series import Panel, load_panel

FloatArray = npt.NDArray[np.float64]

#: ddop has no prices. Assumed for every product: a bakery item sold at 1.00 €
#: that costs 0.30 € to make; an unsold unit is thrown away (waste cost = cost).
DEFAULT_ECONOMICS = Economics(price=1.00, unit_cost=0.30, waste_cost=0.30)


@dataclass(frozen=True)
class SimulationConfig:
    days: int = 182
    calibration_days: int = 91
    min_calibration: int = 28
    batch_size: int = 1
    batch_rounding: str = "up"
    workers: int = 2
    refit_every: int = 91


def ratio_quantiles(
    actual: FloatArray,
    forecast: FloatArray,
    *,
    j: int,
    window: int,
    min_obs: int,
    levels: Sequence[float] = QUANTILES,
) -> FloatArray:
    """Per-series quantiles of actual/forecast over targets j-window .. j-1 (shape (S, L))."""
    lo = max(0, j - window)
    a = actual[:, lo:j]
    f = forecast[:, lo:j]
    with np.errstate(all="ignore"):
        r = np.where(np.isfinite(a) & (f > 0), a / f, np.nan)
    n_ok = np.isfinite(r).sum(axis=1)
    pooled = np.nanquantile(r, levels) if np.isfinite(r).any() else np.ones(len(levels))
    out = np.tile(pooled, (r.shape[0], 1))
    enough = n_ok >= min_obs
    if enough.any():
        out[enough] = np.nanquantile(r[enough], levels, axis=1).T
    return out


def d1_forecasts(
    panel: Panel,
    span: int,
    config: SimulationConfig,
    gbm: GbmConfig | None = None,
    model: str = "obrador",
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """The D+1 forecast (of ``model``) of each of the last ``span`` days, made the day before.

    Returns (target day indices, forecasts of shape (n_series, span)).
    """
    bt = BacktestConfig(
        horizons=(1,),
        origins=span,
        workers=config.workers,
        refit_every=config.refit_every,
        prophet_series=0,
        run_ets=False,
        gbm=gbm or GbmConfig(),
    )
    res = backtest_panel(panel, bt, final_forecast=False)
    oi, targets = res.scored(1)  # res.origins also holds unscored warm-up origins
    if not (res.origins[oi] + 1 == targets).all():  # pragma: no cover - invariant
        raise AssertionError("forecast origins misaligned with target days")
    return targets, res.forecasts[model][:, oi, 0]


def simulate_panel(
    panel: Panel,
    config: SimulationConfig,
    economics: Mapping[str, Economics] | Economics = DEFAULT_ECONOMICS,
    gbm: GbmConfig | None = None,
) -> dict[str, Any]:
    t0 = time.perf_counter()
    span = config.days + config.calibration_days
    targets, fc = d1_forecasts(panel, span, config, gbm)
    actual = panel.y_open[:, targets]
    last_same = last_open_same_weekday(panel.y_open)

    def econ(s: int) -> Economics:
        if isinstance(economics, Economics):
            return economics
        product = panel.keys[s][-1]
        return economics.get(product, economics.get("*", DEFAULT_ECONOMICS))

    policies = ("newsvendor", "bakers_rule", "median")
    tot = {
        p: dict.fromkeys(
            ("produced", "sold", "waste_units", "lost_units", "waste_eur", "lost_eur"), 0.0
        )
        for p in policies
    }
    example: dict[str, Any] = {}
    scored_days = 0
    for j in range(config.calibration_days, span):
        d = int(targets[j])
        rq = ratio_quantiles(
            actual, fc, j=j, window=config.calibration_days, min_obs=config.min_calibration
        )
        for s in range(panel.n_series):
            if panel.closed[s, d]:
                continue
            demand = float(panel.y[s, d])
            e = econ(s)
            point = max(float(fc[s, j]), 0.0)
            qs = {lv: point * float(rq[s, k]) for k, lv in enumerate(QUANTILES)}
            nv = newsvendor_quantity(
                qs,
                e,
                usable_stock=0.0,
                batch_size=config.batch_size,
                rounding=config.batch_rounding,
            )
            lw = float(np.nan_to_num(last_same[s, d - 7], nan=0.0))
            br = bakers_rule(lw, batch_size=config.batch_size)
            med = round_up_to_batch(point, config.batch_size)
            for name, qty in (
                ("newsvendor", nv.quantity),
                ("bakers_rule", br.quantity),
                ("median", med),
            ):
                o = outcome(qty, demand)
                acc = tot[name]
                acc["produced"] += o.produced
                acc["sold"] += o.sold
                acc["waste_units"] += o.waste_units
                acc["lost_units"] += o.lost_units
                acc["waste_eur"] += o.waste_units * e.waste_cost
                acc["lost_eur"] += o.lost_units * e.margin
            scored_days += 1
            if j == span - 1 and not example:
                example = {
                    "series": panel.key_label(s),
                    "date": str(panel.dates[d]),
                    "actual": demand,
                    "newsvendor": {"quantity": nv.quantity, **nv.reasoning},
                    "bakers_rule": {"quantity": br.quantity, **br.reasoning},
                }
    out_pol: dict[str, dict[str, float]] = {}
    for name, acc in tot.items():
        row = {k: round(v, 2) for k, v in acc.items()}
        row["cost_eur"] = round(acc["waste_eur"] + acc["lost_eur"], 2)
        out_pol[name] = row
    ref = out_pol["bakers_rule"]
    nv_row = out_pol["newsvendor"]
    single = economics if isinstance(economics, Economics) else None
    return {
        "days": config.days,
        "series": panel.n_series,
        "store_product_days": scored_days,
        "first_day": str(panel.dates[int(targets[config.calibration_days])]),
        "last_day": str(panel.dates[int(targets[-1])]),
        "assumptions": {
            "price": single.price if single else "per product",
            "unit_cost": single.unit_cost if single else "per product",
            "waste_cost": single.waste_cost if single else "per product",
            "usable_stock": 0,
            "batch_size": config.batch_size,
            "batch_rounding": config.batch_rounding,
            "note": "ddop has no prices: assumed economics; recorded sales are censored "
            "demand, so lost sales are a lower bound",
        },
        "policies": out_pol,
        "newsvendor_vs_bakers_rule": {
            "waste_units_change": _pct(nv_row["waste_units"], ref["waste_units"]),
            "lost_units_change": _pct(nv_row["lost_units"], ref["lost_units"]),
            "cost_eur_change": _pct(nv_row["cost_eur"], ref["cost_eur"]),
        },
        "example_decision": example,
        "seconds": round(time.perf_counter() - t0, 2),
    }


def _pct(new: float, old: float) -> float:
    return round((new - old) / old, 4) if old else float("nan")


def run_simulation(
    csv_path: str | Path,
    date_col: str,
    series_cols: Sequence[str],
    value_col: str,
    exog_cols: Sequence[str] = (),
    *,
    days: int = 182,
    price: float = DEFAULT_ECONOMICS.price,
    unit_cost: float = DEFAULT_ECONOMICS.unit_cost,
    waste_cost: float = DEFAULT_ECONOMICS.waste_cost,
    batch_size: int = 1,
    batch_rounding: str = "up",
    workers: int = 2,
    holiday_col: str | None = None,
    country: str | None = None,
    subdiv: str | None = None,
) -> dict[str, Any]:
    """``forecast simulate``: load the CSV and replay the last ``days`` days."""
    panel = load_panel(csv_path, date_col, list(series_cols), value_col, list(exog_cols))
    if holiday_col is None and country is None:
        holiday_col = next((c for c in exog_cols if c.lower() in ("is_holiday", "holiday")), None)
    gbm = GbmConfig(holidays=HolidaySpec(flag_col=holiday_col, country=country, subdiv=subdiv))
    cfg = SimulationConfig(
        days=days, batch_size=batch_size, batch_rounding=batch_rounding, workers=workers
    )
    return simulate_panel(panel, cfg, Economics(price, unit_cost, waste_cost), gbm)
