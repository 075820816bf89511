"""``forecast backtest`` / ``forecast simulate`` and the forecast benchmark.

``register(subparsers)`` adds a ``forecast`` command (with ``backtest`` and
``simulate``) to an argparse CLI; each leaf sets ``func`` to a handler taking
the parsed namespace and returning an exit code. Standalone:
``python -m forecasting.cli forecast backtest CSV ...``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DDOP_CSV = "/work/shared/data/ddop-bakery/bakery_merged.csv"
DDOP_EXOG = (
    "is_schoolholiday",
    "is_holiday",
    "is_holiday_next2days",
    "rain",
    "temperature",
    "promotion_currentweek",
    "promotion_lastweek",
)
METRIC_ORDER = ("wape", "mae", "rmse", "mase", "bias")


def _clean(obj: Any) -> Any:
    """NaN -> null so the output is strict JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items() if not k.startswith("_")}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def _horizons(text: str) -> list[int]:
    try:
        hs = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"horizons must be integers, got {text!r}") from exc
    if not hs or hs[0] < 1:
        raise argparse.ArgumentTypeError("horizons must be >= 1")
    return hs


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("csv", help="daily CSV, one row per series and day")
    p.add_argument("--date-col", required=True)
    p.add_argument(
        "--series-col",
        action="append",
        required=True,
        dest="series_cols",
        help="repeat for store x product",
    )
    p.add_argument("--value-col", required=True)
    p.add_argument(
        "--exog-col",
        action="append",
        default=[],
        dest="exog_cols",
        help="exogenous column (weather columns are used lagged unless --oracle-weather); repeat",
    )
    p.add_argument(
        "--holiday-col",
        default=None,
        help="0/1 holiday column of the data (default: is_holiday if given)",
    )
    p.add_argument("--country", default=None, help="holidays package country, e.g. ES")
    p.add_argument("--subdiv", default=None, help="holidays subdivision, e.g. MD, CT, AN")
    p.add_argument("--workers", type=int, default=2, help="processes to fan out over")


def format_table(result: dict[str, Any]) -> str:
    lines = []
    for h, models in result["horizons"].items():
        lines.append(f"D+{h}")
        lines.append(f"  {'model':<16}" + "".join(f"{m:>10}" for m in METRIC_ORDER))
        for name, met in models.items():
            cells = "".join(
                f"{met[m]:>10.4f}" if met[m] is not None and math.isfinite(met[m]) else f"{'-':>10}"
                for m in METRIC_ORDER
            )
            lines.append(f"  {name:<16}{cells}")
    lines.append(
        f"series={result['series']} origins={result['origins']} seconds={result['seconds']}"
    )
    return "\n".join(lines)


def plot_backtest(raw: Any, path: Path, n_series: int = 4) -> Path:
    """PNG: actual vs D+1 forecasts over the scored days for a few big series."""
    import matplotlib  # noqa: PLC0415  (only when plotting)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415
    import numpy as np  # noqa: PLC0415

    panel = raw.panel
    h = raw.config.horizons[0]
    oi, td = raw.scored(h)
    k = 0
    y = panel.y_open[:, td]
    order = np.argsort(-np.nan_to_num(y, nan=0.0).sum(axis=1))[:n_series]
    fig, axes = plt.subplots(len(order), 1, figsize=(11, 2.6 * len(order)), sharex=True)
    axes_list = list(np.atleast_1d(axes))
    dates = panel.dates[td].astype("datetime64[D]").astype(object)
    for ax, s in zip(axes_list, order, strict=True):
        ax.plot(dates, y[s], color="black", lw=1.2, label="actual (closed days blank)")
        ax.plot(
            dates,
            raw.forecasts["obrador"][s, oi, k],
            color="tab:orange",
            lw=1,
            label=f"obrador D+{h}",
        )
        ax.plot(
            dates,
            raw.forecasts["seasonal_naive"][s, oi, k],
            color="tab:blue",
            lw=0.7,
            alpha=0.6,
            label="seasonal naive",
        )
        ax.set_title(panel.key_label(int(s)), fontsize=9)
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def cmd_backtest(args: argparse.Namespace) -> int:
    from forecasting.backtest import final_forecast_frame, run_backtest  # noqa: PLC0415

    out = run_backtest(
        args.csv,
        args.date_col,
        args.series_cols,
        args.value_col,
        args.exog_cols,
        horizons=args.horizons,
        origins=args.origins,
        workers=args.workers,
        holiday_col=args.holiday_col,
        country=args.country,
        subdiv=args.subdiv,
        prophet_series=args.prophet_series,
        prophet_origin_step=args.prophet_origin_step,
        refit_every=args.refit_every,
        oracle_weather=args.oracle_weather,
        details=args.details or not args.json,
        return_result=not args.json,
    )
    if args.json:
        print(json.dumps(_clean(out)))
        return 0
    raw = out.pop("_result")
    print(format_table(out))
    sub = out["details"]["prophet_subset"]
    print(
        f"\nprophet: default Prophet refitted at every {sub['origin_step']}th origin on "
        f"{len(sub['series'])} series; like-for-like on that subset (WAPE):"
    )
    for h, models in sub["horizons"].items():
        print(f"  D+{h}: " + "  ".join(f"{m}={v['wape']:.4f}" for m, v in models.items()))
    if args.oracle_weather:
        print(
            "\nORACLE WEATHER: observed weather of the target day was used; "
            "not comparable with honest runs"
        )
    if args.forecast_out:
        frame = final_forecast_frame(raw)
        if frame is not None:
            frame.write_csv(args.forecast_out)
            hmax = int(frame.height / max(out["series"], 1))
            print(f"\nD+1..D+{hmax} forecast with quantiles: {args.forecast_out}")
    plot = Path(args.plot or f"backtest-{Path(args.csv).stem}.png")
    plot_backtest(raw, plot)
    print(f"\nplot: {plot}")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from forecasting.simulate import run_simulation  # noqa: PLC0415

    out = run_simulation(
        args.csv,
        args.date_col,
        args.series_cols,
        args.value_col,
        args.exog_cols,
        days=args.days,
        price=args.price,
        unit_cost=args.unit_cost,
        waste_cost=args.waste_cost if args.waste_cost is not None else args.unit_cost,
        batch_size=args.batch_size,
        batch_rounding=args.batch_rounding,
        workers=args.workers,
        holiday_col=args.holiday_col,
        country=args.country,
        subdiv=args.subdiv,
    )
    if args.json:
        print(json.dumps(_clean(out)))
        return 0
    print(
        f"{out['store_product_days']} store-product-days, {out['first_day']}..{out['last_day']}"
        f" — assumed price {out['assumptions']['price']} €, cost "
        f"{out['assumptions']['unit_cost']} €, waste cost {out['assumptions']['waste_cost']} €"
    )
    cols = ("produced", "sold", "waste_units", "waste_eur", "lost_units", "lost_eur", "cost_eur")
    print(f"{'policy':<13}" + "".join(f"{c:>13}" for c in cols))
    for name, row in out["policies"].items():
        print(f"{name:<13}" + "".join(f"{row[c]:>13,.0f}" for c in cols))
    ch = out["newsvendor_vs_bakers_rule"]
    print(
        f"newsvendor vs baker's rule: waste {ch['waste_units_change']:+.1%}, lost sales "
        f"{ch['lost_units_change']:+.1%}, cost {ch['cost_eur_change']:+.1%}"
    )
    print("example:", json.dumps(out["example_decision"]["newsvendor"]["why"]))
    return 0


def bench_forecast(
    json: bool = False, csv_path: str = DDOP_CSV, workers: int = 2
) -> dict[str, Any]:
    """``obrador bench forecast``: the full ddop backtest, timed (field ``seconds``)."""
    import json as _json  # noqa: PLC0415  (parameter 'json' shadows the module)

    from forecasting.backtest import run_backtest  # noqa: PLC0415

    out = run_backtest(
        csv_path,
        "date",
        ["store", "product"],
        "demand",
        list(DDOP_EXOG),
        horizons=(1, 7, 28),
        origins=182,
        workers=workers,
    )
    if json:
        print(_json.dumps(_clean(out)))
    else:
        print(format_table(out))
    return out


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``forecast backtest`` and ``forecast simulate`` to a CLI."""
    fc = subparsers.add_parser("forecast", help="demand forecasts: backtest, simulate")
    sub = fc.add_subparsers(dest="forecast_command", required=True)

    bt = sub.add_parser("backtest", help="rolling-origin backtest with daily origins")
    _add_data_args(bt)
    bt.add_argument("--horizons", type=_horizons, default=[1, 7, 28], help="e.g. 1,7,28")
    bt.add_argument("--origins", type=int, default=182, help="daily origins per horizon")
    bt.add_argument(
        "--prophet-series",
        type=int,
        default=8,
        help="series Prophet is scored on (refit per origin is slow)",
    )
    bt.add_argument(
        "--prophet-origin-step", type=int, default=14, help="Prophet scored at every Nth origin"
    )
    bt.add_argument(
        "--refit-every", type=int, default=133, help="days between refits of the pooled model"
    )
    bt.add_argument(
        "--oracle-weather",
        action="store_true",
        help="use the observed weather of the target day (labelled, not honest)",
    )
    bt.add_argument("--details", action="store_true", help="add a details object to --json")
    bt.add_argument("--plot", default=None, help="PNG path (without --json)")
    bt.add_argument(
        "--forecast-out",
        default=None,
        help="CSV for the obrador forecast D+1..D+28 from the last day, with quantiles "
        "(without --json)",
    )
    bt.add_argument("--json", action="store_true")
    bt.set_defaults(func=cmd_backtest)

    sm = sub.add_parser("simulate", help="replay history: newsvendor plan vs baker's rule")
    _add_data_args(sm)
    sm.add_argument("--days", type=int, default=182)
    sm.add_argument("--price", type=float, default=1.00, help="assumed € per unit")
    sm.add_argument("--unit-cost", type=float, default=0.30, help="assumed € per unit")
    sm.add_argument(
        "--waste-cost", type=float, default=None, help="€ per unsold unit (default: unit cost)"
    )
    sm.add_argument("--batch-size", type=int, default=1)
    sm.add_argument(
        "--batch-rounding",
        choices=("up", "best"),
        default="up",
        help="up: next whole batch; best: the neighbouring batch multiple with "
        "the lower expected cost",
    )
    sm.add_argument("--json", action="store_true")
    sm.set_defaults(func=cmd_simulate)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m forecasting.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    bench = sub.add_parser("bench", help="benchmarks")
    bench_sub = bench.add_subparsers(dest="bench_command", required=True)
    bf = bench_sub.add_parser("forecast", help="time the full ddop backtest")
    bf.add_argument("--json", action="store_true")
    bf.set_defaults(func=lambda a: (bench_forecast(json=a.json), 0)[1])
    args = parser.parse_args(argv)
    rc: int = args.func(args)
    return rc


if __name__ == "__main__":
    sys.exit(main())
