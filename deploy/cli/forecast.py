"""``obrador forecast …``: modelling (backtest, simulate) and operations (train, the work queue,
publish, the registry, the schedule) — one group for one subsystem.

The modelling stack (LightGBM, statsforecast, Prophet…) takes ~2 s to import: each command
imports what it needs, so ``obrador --help`` and every other command don't pay for it.
See docs/forecasting.md and docs/forecasting-ops.md.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from deploy.cli.common import (
    Command,
    emit,
    fail,
    json_option,
    show_progress,
    store_option,
    tenant_option,
    with_stack,
    working,
)
from deploy.stack import StackUrls

if TYPE_CHECKING:
    from forecasting.ops import registry

METRIC_ORDER = ("wape", "mae", "rmse", "mase", "bias", "pinball", "coverage80")


@click.group()
def forecast() -> None:
    """Demand forecasts: model, train, publish plans, registry, schedule."""


# -- shared options and output ------------------------------------------------------------


def clean_json(obj: Any) -> Any:
    """NaN -> null (and ``_private`` keys dropped) so the output is strict JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: clean_json(v) for k, v in obj.items() if not k.startswith("_")}
    if isinstance(obj, list | tuple):
        return [clean_json(v) for v in obj]
    return obj


def _horizons(ctx: click.Context, param: click.Parameter, text: str) -> list[int]:
    try:
        hs = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError as exc:
        raise click.BadParameter(f"horizons must be integers, got {text!r}") from exc
    if not hs or hs[0] < 1:
        raise click.BadParameter("horizons must be >= 1")
    return hs


def _day(ctx: click.Context, param: click.Parameter, text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise click.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)") from exc


def _data_options(fn: Command) -> Command:
    """The daily CSV and how to read it (backtest and simulate)."""
    options = [
        click.argument("csv", type=click.Path(exists=True, dir_okay=False)),
        click.option("--date-col", required=True),
        click.option(
            "--series-col",
            "series_cols",
            multiple=True,
            required=True,
            help="repeat for store x product",
        ),
        click.option("--value-col", required=True),
        click.option(
            "--exog-col",
            "exog_cols",
            multiple=True,
            help="exogenous column, repeat (weather is used lagged unless --oracle-weather)",
        ),
        click.option(
            "--holiday-col", help="0/1 holiday column of the data (default: is_holiday if given)"
        ),
        click.option("--country", help="holidays package country, e.g. ES"),
        click.option("--subdiv", help="holidays subdivision, e.g. MD, CT, AN"),
        click.option("--workers", type=int, default=2, show_default=True, help="processes"),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


NOT_SCORED = "not scored"


def scored(value: Any, spec: str = ".4f") -> str:
    """A metric as text; "not scored" where nothing was scored (None, NaN, missing)."""
    if isinstance(value, int | float) and math.isfinite(value):
        return format(value, spec)
    return NOT_SCORED


def format_table(result: dict[str, Any]) -> str:
    lines = []
    for h, models in result["horizons"].items():
        lines.append(f"D+{h}")
        lines.append(f"  {'model':<16}" + "".join(f"{m:>11}" for m in METRIC_ORDER))
        for name, met in models.items():
            cells = "".join(f"{scored(met.get(m)):>11}" for m in METRIC_ORDER)
            lines.append(f"  {name:<16}{cells}")
    lines.append(
        f"series={result['series']} origins={result['origins']} seconds={result['seconds']}"
    )
    return "\n".join(lines)


# -- modelling ----------------------------------------------------------------------------


@forecast.command()
@_data_options
@click.option("--horizons", default="1,7,28", callback=_horizons, show_default=True)
@click.option("--origins", type=int, default=182, show_default=True, help="daily origins")
@click.option(
    "--prophet-series",
    type=int,
    default=8,
    show_default=True,
    help="series Prophet is scored on (refit per origin is slow)",
)
@click.option(
    "--prophet-origin-step", type=int, default=14, show_default=True, help="every Nth origin"
)
@click.option("--refit-every", type=int, default=133, show_default=True, help="days between refits")
@click.option(
    "--peer-refit-every",
    type=int,
    default=91,
    show_default=True,
    help="days between AutoETS/AutoTheta re-estimations",
)
@click.option(
    "--oracle-weather",
    is_flag=True,
    help="use the observed weather of the target day (labelled, not honest)",
)
@click.option("--details", is_flag=True, help="add a details object to --json")
@click.option(
    "--plot", type=click.Path(dir_okay=False), help="write a PNG of actual vs forecast here"
)
@click.option(
    "--forecast-out",
    type=click.Path(dir_okay=False),
    help="CSV of the D+1..D+28 forecast from the last day, with quantiles (without --json)",
)
@json_option
def backtest(
    *,
    csv: str,
    date_col: str,
    series_cols: tuple[str, ...],
    value_col: str,
    exog_cols: tuple[str, ...],
    holiday_col: str | None,
    country: str | None,
    subdiv: str | None,
    workers: int,
    horizons: list[int],
    origins: int,
    prophet_series: int,
    prophet_origin_step: int,
    refit_every: int,
    peer_refit_every: int,
    oracle_weather: bool,
    details: bool,
    plot: str | None,
    forecast_out: str | None,
    as_json: bool,
) -> None:
    """Rolling-origin backtest with daily origins (--plot FILE: a PNG)."""
    from forecasting.backtest import final_forecast_frame, run_backtest
    from forecasting.plot import plot_backtest

    with working(f"backtest of {Path(csv).name}", show_progress(as_json)):
        out = run_backtest(
            csv,
            date_col,
            list(series_cols),
            value_col,
            list(exog_cols),
            horizons=horizons,
            origins=origins,
            workers=workers,
            holiday_col=holiday_col,
            country=country,
            subdiv=subdiv,
            prophet_series=prophet_series,
            prophet_origin_step=prophet_origin_step,
            refit_every=refit_every,
            peer_refit_every=peer_refit_every,
            oracle_weather=oracle_weather,
            details=details or not as_json,
            return_result=not as_json or plot is not None,
        )
    raw = out.pop("_result", None)
    if plot is not None:
        plot_backtest(raw, Path(plot))
    if as_json:
        print(json.dumps(clean_json(out)))
        return
    print(format_table(out))
    sub = out["details"]["prophet_subset"]
    print(
        f"\nprophet: Prophet (with the data's holidays) refitted at every "
        f"{sub['origin_step']}th origin on {len(sub['series'])} series; "
        "like-for-like on that subset (WAPE):"
    )
    for h, models in sub["horizons"].items():
        print(f"  D+{h}: " + "  ".join(f"{m}={scored(v.get('wape'))}" for m, v in models.items()))
    if oracle_weather:
        print(
            "\nORACLE WEATHER: observed weather of the target day was used; "
            "not comparable with honest runs"
        )
    if forecast_out:
        frame = final_forecast_frame(raw)
        if frame is not None:
            frame.write_csv(forecast_out)
            hmax = int(frame.height / max(out["series"], 1))
            print(f"\nD+1..D+{hmax} forecast with quantiles: {forecast_out}")
    if plot is not None:
        print(f"\nplot: {plot}")


@forecast.command()
@_data_options
@click.option("--days", type=int, default=182, show_default=True)
@click.option("--price", type=float, default=1.00, show_default=True, help="assumed € per unit")
@click.option("--unit-cost", type=float, default=0.30, show_default=True, help="€ per unit")
@click.option("--waste-cost", type=float, help="€ per unsold unit (default: unit cost)")
@click.option("--batch-size", type=int, default=1, show_default=True)
@click.option(
    "--batch-rounding",
    type=click.Choice(["up", "best"]),
    default="up",
    show_default=True,
    help="up: next whole batch; best: the neighbouring batch multiple with the lower expected cost",
)
@json_option
def simulate(
    *,
    csv: str,
    date_col: str,
    series_cols: tuple[str, ...],
    value_col: str,
    exog_cols: tuple[str, ...],
    holiday_col: str | None,
    country: str | None,
    subdiv: str | None,
    workers: int,
    days: int,
    price: float,
    unit_cost: float,
    waste_cost: float | None,
    batch_size: int,
    batch_rounding: str,
    as_json: bool,
) -> None:
    """Replay history: newsvendor plan vs baker's rule."""
    from forecasting.simulate import run_simulation

    out = run_simulation(
        csv,
        date_col,
        list(series_cols),
        value_col,
        list(exog_cols),
        days=days,
        price=price,
        unit_cost=unit_cost,
        waste_cost=waste_cost if waste_cost is not None else unit_cost,
        batch_size=batch_size,
        batch_rounding=batch_rounding,
        workers=workers,
        holiday_col=holiday_col,
        country=country,
        subdiv=subdiv,
    )
    if as_json:
        print(json.dumps(clean_json(out)))
        return
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


# -- operations ---------------------------------------------------------------------------


def _version_line(v: registry.ModelVersion) -> str:
    m = v.metrics
    return (
        f"{v.key.store_id}/{v.key.sku} v{v.version} {v.kind:<13} "
        f"{v.train_start}..{v.train_end} wape {scored(m.get('wape'))} "
        f"(snaive {scored(m.get('seasonal_naive_wape'))}){'  PROMOTED' if v.promoted else ''}"
        f"{'  rolled back' if v.rolled_back_at else ''}"
    )


@forecast.command()
@tenant_option()
@store_option()
@click.option("--sku")
@click.option("--through", callback=_day, help="last day of history (default: latest)")
@json_option
@with_stack(nats=False)
def train(
    urls: StackUrls,
    *,
    tenant: str,
    store: str | None,
    sku: str | None,
    through: dt.date | None,
    as_json: bool,
) -> None:
    """Train + backtest + register series in this process."""
    from tqdm import tqdm

    from forecasting.ops import registry
    from forecasting.ops.registry import RegistryError

    keys = registry.list_series(urls.database_url, tenant, store)
    if sku:
        keys = [k for k in keys if k.sku == sku]
    out = []
    bar = tqdm(keys, desc="train", unit="series", disable=not show_progress(as_json))
    for key in bar:
        try:
            v = registry.train_and_register(urls.database_url, key, through=through)
        except RegistryError as exc:
            bar.write(f"{key.label()}: {exc}", file=sys.stderr)
            continue
        assert v is not None
        out.append(v.as_dict())
        if not as_json:
            bar.write(_version_line(v), file=sys.stdout)
    if as_json:
        print(json.dumps(out, default=str))


@forecast.command()
@tenant_option()
@store_option()
@click.option("--through", callback=_day, help="last day of history (default: latest)")
@click.option("--run-id", help="dedupe key of this run (default: random)")
@json_option
@with_stack()
async def enqueue(
    urls: StackUrls,
    *,
    tenant: str,
    store: str | None,
    through: dt.date | None,
    run_id: str | None,
    as_json: bool,
) -> None:
    """One training job per series on the JetStream queue."""
    from forecasting.ops.workqueue import enqueue as put

    jobs = await put(
        urls.nats_url, urls.database_url, tenant, store_id=store, through=through, run_id=run_id
    )
    emit({"jobs": [j.job_id for j in jobs]}, as_json, f"{len(jobs)} training jobs enqueued")


@forecast.command()
@click.option("--name", help="worker name (default: random)")
@click.option("--drain", is_flag=True, help="exit when the queue is empty")
@json_option
@with_stack()
async def worker(urls: StackUrls, name: str | None, drain: bool, as_json: bool) -> None:
    """Consume training jobs (any number of workers)."""
    from forecasting.ops.workqueue import run_worker

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    stats = await run_worker(urls.nats_url, urls.database_url, name=name, stop=stop, drain=drain)
    emit(
        {
            "name": stats.name,
            "trained": stats.trained,
            "skipped": stats.skipped,
            "failed": stats.failed,
        },
        as_json,
        f"{stats.name}: {len(stats.trained)} trained, {len(stats.skipped)} skipped, "
        f"{len(stats.failed)} failed",
    )


@forecast.command()
@tenant_option()
@click.option(
    "--day",
    callback=_day,
    help="the day to plan (default: the day after the tenant's last sales day, printed)",
)
@click.option("--batch", type=int, default=1, show_default=True, help="batch size to round up to")
@click.option("--price", type=float, help="override catalogue economics")
@click.option("--unit-cost", type=float)
@click.option("--waste-cost", type=float)
@json_option
@with_stack(nats=False)
async def publish(
    urls: StackUrls,
    *,
    tenant: str,
    day: dt.date | None,
    batch: int,
    price: float | None,
    unit_cost: float | None,
    waste_cost: float | None,
    as_json: bool,
) -> int:
    """Publish forecasts + suggested orders for a day (default: after the last sale)."""
    from forecasting.ops.publish import publish_plan
    from forecasting.plan import Economics

    if day is None:
        day = _day_after_last_sale(urls.database_url, tenant)
        if day is None:
            return fail(f"--tenant {tenant}: no sales recorded, nothing to plan from", 1)
        print(
            f"planning {day}, the day after {tenant}'s last sales day (pass --day to choose)",
            file=sys.stderr,
        )
    economics = None
    if price is not None:
        cost = unit_cost if unit_cost is not None else 0.0
        economics = Economics(price, cost, waste_cost if waste_cost else cost)
    plan = await publish_plan(
        urls.database_url, tenant, day=day, batch_size=batch, economics=economics
    )
    results = plan.series
    emit(
        [r.as_dict() for r in results],  # workshop orders: `obrador workshop orders --json`
        as_json,
        lambda: "\n".join(
            [
                f"{r.key.store_id}/{r.key.sku} {r.day}: forecast {r.forecast_id}"
                f"{'' if r.forecast_appended else ' (already published)'}; "
                + (
                    f"baked by workshop {r.served_by}"
                    if r.served_by
                    else f"bake {r.quantity} ({r.order_id or 'no order'})"
                )
                for r in results
            ]
            + [
                f"workshop {w.workshop_id}/{w.sku} {w.production_day}: bake {w.quantity} "
                f"({w.order_id or 'no order'}"
                f"{'' if w.order_appended or not w.order_id else ', already suggested'}); "
                + (", ".join(f"{s} {u}" for s, u in w.transfers.items()) or "no transfers")
                + (f"; {w.reserve} kept for the midday top-up" if w.reserve else "")
                for w in plan.workshops
            ]
        ),
    )
    return 0


def _day_after_last_sale(database_url: str, tenant: str) -> dt.date | None:
    """The day after the last day any store of the tenant sold something."""
    from forecasting.ops import registry

    last: dt.date | None = None
    seen: set[str] = set()
    for key in registry.list_series(database_url, tenant):
        if key.store_id in seen:  # one series per store: its frame runs to the store's last day
            continue
        seen.add(key.store_id)
        frame = registry.load_series(database_url, key)
        if frame.height:
            day = frame["date"][-1]
            last = day if last is None or day > last else last
    return None if last is None else last + dt.timedelta(days=1)


@forecast.command()
@tenant_option()
@store_option()
@click.option("--sku")
@json_option
@with_stack(nats=False, quiet=True)
def models(
    urls: StackUrls, *, tenant: str, store: str | None, sku: str | None, as_json: bool
) -> None:
    """List model versions."""
    from forecasting.ops import registry

    rows = registry.versions(urls.database_url, tenant, store, sku)
    emit([v.as_dict() for v in rows], as_json, lambda: "\n".join(_version_line(v) for v in rows))


def _one_series(fn: Command) -> Command:
    fn = click.option("--sku", required=True)(fn)
    fn = store_option(required=True)(fn)
    return tenant_option()(fn)


@forecast.command()
@_one_series
@click.argument("version", type=int)
@json_option
@with_stack(nats=False, quiet=True)
def promote(
    urls: StackUrls, *, tenant: str, store: str, sku: str, version: int, as_json: bool
) -> int:
    """Promote one version of a series."""
    from forecasting.ops import registry

    return _registry_change(
        lambda: registry.promote(
            urls.database_url, registry.SeriesKey(tenant, store, sku), version
        ),
        as_json,
    )


@forecast.command()
@_one_series
@json_option
@with_stack(nats=False, quiet=True)
def rollback(urls: StackUrls, *, tenant: str, store: str, sku: str, as_json: bool) -> int:
    """Re-promote the previously promoted version."""
    from forecasting.ops import registry

    return _registry_change(
        lambda: registry.rollback(urls.database_url, registry.SeriesKey(tenant, store, sku)),
        as_json,
    )


def _registry_change(change: Callable[[], registry.ModelVersion], as_json: bool) -> int:
    from forecasting.ops.registry import RegistryError

    try:
        v = change()
    except RegistryError as exc:
        return fail(str(exc))
    emit(v.as_dict(), as_json, _version_line(v))
    return 0


@forecast.command()
@click.argument("action", type=click.Choice(["add", "list", "remove", "run"]))
@tenant_option(required=False, help="tenant id (add: required; remove: that tenant's jobs)")
@click.option("--timezone", multiple=True, help="IANA zone (default: the stores'); repeat")
@click.option("--retrain-at", default="01:00", show_default=True, help="store-local HH:MM")
@click.option("--publish-at", default="05:00", show_default=True, help="store-local HH:MM")
@click.option("--no-queue", is_flag=True, help="retrain in-process, not via NATS")
@json_option
def schedule(
    *,
    action: str,
    tenant: str | None,
    timezone: tuple[str, ...],
    retrain_at: str,
    publish_at: str,
    no_queue: bool,
    as_json: bool,
) -> int:
    """Persistent schedule: add/list/remove jobs, or run them (= up --only scheduler)."""
    if action == "add" and not tenant:
        return fail("schedule add needs --tenant", 2)
    run = _run_schedule if action == "run" else _edit_schedule
    return run(
        action=action,
        tenant=tenant,
        timezones=list(timezone),
        retrain_at=retrain_at,
        publish_at=publish_at,
        no_queue=no_queue,
        as_json=as_json,
    )


def _run_schedule(
    *,
    action: str,
    tenant: str | None,
    timezones: list[str],
    retrain_at: str,
    publish_at: str,
    no_queue: bool,
    as_json: bool,
) -> int:
    @with_stack(nats=not no_queue)
    def run(urls: StackUrls) -> None:
        from deploy.node import scheduler
        from deploy.supervisor import Supervisor

        component = scheduler(urls.database_url, "" if no_queue else urls.nats_url)
        print("forecast scheduler running (Ctrl-C to stop)", flush=True)
        asyncio.run(Supervisor([component]).run())

    return run()


def _edit_schedule(
    *,
    action: str,
    tenant: str | None,
    timezones: list[str],
    retrain_at: str,
    publish_at: str,
    no_queue: bool,
    as_json: bool,
) -> int:
    @with_stack(nats=False)
    def edit(urls: StackUrls) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        from forecasting.ops.jobs import PostgresJobStore, schedule_tenant, tenant_timezones

        sched = BackgroundScheduler(
            jobstores={"default": PostgresJobStore(urls.database_url)}, timezone=dt.UTC
        )
        sched.start(paused=True)
        try:
            if action == "add" and tenant:
                tzs = timezones or tenant_timezones(urls.database_url, tenant)
                schedule_tenant(sched, tenant, tzs, retrain_at=retrain_at, publish_at=publish_at)
            elif action == "remove" and tenant:
                for job in sched.get_jobs():
                    if job.args and job.args[0] == tenant:
                        job.remove()
            jobs = [
                {
                    "id": j.id,
                    "name": j.name,
                    "next_run_time": j.next_run_time,
                    "trigger": str(j.trigger),
                }
                for j in sched.get_jobs()
            ]
        finally:
            sched.shutdown(wait=False)
        emit(
            jobs,
            as_json,
            lambda: "\n".join(
                f"{j['id']:<45} next {j['next_run_time']}  {j['trigger']}" for j in jobs
            ),
        )

    return edit()


COMMANDS = [forecast]
