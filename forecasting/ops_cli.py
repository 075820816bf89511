"""``obrador forecasts …``: train, publish, the work queue, the registry and the schedule.

Registered under the plural ``forecasts`` (``obrador forecast`` is the
modelling CLI: backtest, simulate). Every sub-command finds PostgreSQL and NATS
like the rest of obrador (``DATABASE_URL`` / ``NATS_URL``, else the embedded
stack of ``OBRADOR_DATA_DIR``). See docs/forecasting-ops.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from deploy.settings import Settings
from deploy.stack import StackUrls, running_stack

if TYPE_CHECKING:
    from forecasting.ops import registry

# The modelling stack (LightGBM, statsforecast, Prophet…) takes ~2 s to import:
# each command imports what it needs, so `obrador --help` and every other
# sub-command don't pay for it.


@contextmanager
def _stack(need_nats: bool) -> Iterator[StackUrls]:
    with running_stack(Settings.from_env(), need_nats=need_nats) as urls:
        yield urls


def _print(obj: Any, as_json: bool, text: str) -> None:
    print(json.dumps(obj, indent=None, default=str) if as_json else text)


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def cmd_train(args: argparse.Namespace) -> int:
    from forecasting.ops import registry
    from forecasting.ops.registry import RegistryError

    with _stack(need_nats=False) as urls:
        keys = registry.list_series(urls.database_url, args.tenant, args.store)
        if args.sku:
            keys = [k for k in keys if k.sku == args.sku]
        out = []
        for key in keys:
            try:
                v = registry.train_and_register(urls.database_url, key, through=args.through)
            except RegistryError as exc:
                print(f"{key.label()}: {exc}", file=sys.stderr)
                continue
            assert v is not None
            out.append(v.as_dict())
            if not args.json:
                print(_version_line(v))
    if args.json:
        print(json.dumps(out, default=str))
    return 0


def cmd_enqueue(args: argparse.Namespace) -> int:
    from forecasting.ops.workqueue import enqueue

    with _stack(need_nats=True) as urls:
        jobs = asyncio.run(
            enqueue(
                urls.nats_url,
                urls.database_url,
                args.tenant,
                store_id=args.store,
                through=args.through,
                run_id=args.run_id,
            )
        )
    _print({"jobs": [j.job_id for j in jobs]}, args.json, f"{len(jobs)} training jobs enqueued")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from forecasting.ops.workqueue import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    async def run(urls: StackUrls) -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        stats = await run_worker(
            urls.nats_url, urls.database_url, name=args.name, stop=stop, drain=args.drain
        )
        _print(
            {
                "name": stats.name,
                "trained": stats.trained,
                "skipped": stats.skipped,
                "failed": stats.failed,
            },
            args.json,
            f"{stats.name}: {len(stats.trained)} trained, {len(stats.skipped)} skipped, "
            f"{len(stats.failed)} failed",
        )
        return 0

    with _stack(need_nats=True) as urls:
        return asyncio.run(run(urls))


def cmd_publish(args: argparse.Namespace) -> int:
    from forecasting.ops.publish import publish_tenant
    from forecasting.plan import Economics

    economics = None
    if args.price is not None:
        cost = args.unit_cost if args.unit_cost is not None else 0.0
        economics = Economics(args.price, cost, args.waste_cost if args.waste_cost else cost)
    with _stack(need_nats=False) as urls:
        results = asyncio.run(
            publish_tenant(
                urls.database_url,
                args.tenant,
                day=args.day,
                batch_size=args.batch,
                economics=economics,
            )
        )
    if args.json:
        print(json.dumps([r.as_dict() for r in results]))
    else:
        for r in results:
            print(
                f"{r.key.store_id}/{r.key.sku} {r.day}: forecast {r.forecast_id}"
                f"{'' if r.forecast_appended else ' (already published)'}; "
                f"bake {r.quantity} ({r.order_id or 'no order'})"
            )
    return 0


def _version_line(v: registry.ModelVersion) -> str:
    m = v.metrics
    return (
        f"{v.key.store_id}/{v.key.sku} v{v.version} {v.kind:<13} "
        f"{v.train_start}..{v.train_end} wape {m.get('wape')} "
        f"(snaive {m.get('seasonal_naive_wape')}){'  PROMOTED' if v.promoted else ''}"
        f"{'  rolled back' if v.rolled_back_at else ''}"
    )


def cmd_models(args: argparse.Namespace) -> int:
    from forecasting.ops import registry

    with _stack(need_nats=False) as urls:
        rows = registry.versions(urls.database_url, args.tenant, args.store, args.sku)
    if args.json:
        print(json.dumps([v.as_dict() for v in rows], default=str))
    else:
        for v in rows:
            print(_version_line(v))
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    from forecasting.ops import registry
    from forecasting.ops.registry import RegistryError, SeriesKey

    with _stack(need_nats=False) as urls:
        try:
            v = registry.promote(
                urls.database_url, SeriesKey(args.tenant, args.store, args.sku), args.version
            )
        except RegistryError as exc:
            print(exc, file=sys.stderr)
            return 1
    _print(v.as_dict(), args.json, _version_line(v))
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from forecasting.ops import registry
    from forecasting.ops.registry import RegistryError, SeriesKey

    with _stack(need_nats=False) as urls:
        try:
            v = registry.rollback(urls.database_url, SeriesKey(args.tenant, args.store, args.sku))
        except RegistryError as exc:
            print(exc, file=sys.stderr)
            return 1
    _print(v.as_dict(), args.json, _version_line(v))
    return 0


def cmd_schedule(args: argparse.Namespace) -> int:
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    from forecasting.ops.jobs import (
        PostgresJobStore,
        configure,
        schedule_tenant,
        tenant_timezones,
    )

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with _stack(need_nats=args.action == "run" and not args.no_queue) as urls:
        store = PostgresJobStore(urls.database_url)
        if args.action == "run":
            configure(urls.database_url, None if args.no_queue else urls.nats_url)
            blocking = BlockingScheduler(jobstores={"default": store}, timezone=dt.UTC)
            print("forecast scheduler running (Ctrl-C to stop)", flush=True)
            try:
                blocking.start()
            except (KeyboardInterrupt, SystemExit):
                blocking.shutdown(wait=False)
            return 0
        sched = BackgroundScheduler(jobstores={"default": store}, timezone=dt.UTC)
        sched.start(paused=True)
        try:
            if args.action == "add":
                if not args.tenant:
                    print("schedule add needs TENANT", file=sys.stderr)
                    return 2
                tzs = args.timezone or tenant_timezones(urls.database_url, args.tenant)
                schedule_tenant(
                    sched, args.tenant, tzs, retrain_at=args.retrain_at, publish_at=args.publish_at
                )
            elif args.action == "remove" and args.tenant:
                for job in sched.get_jobs():
                    if job.args and job.args[0] == args.tenant:
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
    if args.json:
        print(json.dumps(jobs, default=str))
    else:
        for j in jobs:
            print(f"{j['id']:<45} next {j['next_run_time']}  {j['trigger']}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``forecasts`` (train, enqueue, worker, publish, models, promote, rollback, schedule)."""
    top = subparsers.add_parser(
        "forecasts", help="forecast operations: registry, work queue, schedule, publish"
    )
    sub = top.add_subparsers(dest="forecasts_command", required=True)

    def json_flag(p: argparse.ArgumentParser) -> None:
        p.add_argument("--json", action="store_true", help="print JSON")

    tr = sub.add_parser("train", help="train + backtest + register series in this process")
    tr.add_argument("tenant")
    tr.add_argument("--store")
    tr.add_argument("--sku")
    tr.add_argument("--through", type=_date, help="last day of history (default: latest)")
    json_flag(tr)
    tr.set_defaults(func=cmd_train)

    en = sub.add_parser("enqueue", help="one training job per series on the JetStream queue")
    en.add_argument("tenant")
    en.add_argument("--store")
    en.add_argument("--through", type=_date)
    en.add_argument("--run-id", help="dedupe key of this run (default: random)")
    json_flag(en)
    en.set_defaults(func=cmd_enqueue)

    wk = sub.add_parser("worker", help="consume training jobs (any number of workers)")
    wk.add_argument("--name")
    wk.add_argument("--drain", action="store_true", help="exit when the queue is empty")
    json_flag(wk)
    wk.set_defaults(func=cmd_worker)

    pb = sub.add_parser("publish", help="publish forecasts + suggested orders now")
    pb.add_argument("tenant")
    pb.add_argument("--day", type=_date, help="store-local run day (default: today)")
    pb.add_argument("--batch", type=int, default=1, help="batch size to round up to")
    pb.add_argument("--price", type=float, help="override catalogue economics")
    pb.add_argument("--unit-cost", type=float)
    pb.add_argument("--waste-cost", type=float)
    json_flag(pb)
    pb.set_defaults(func=cmd_publish)

    md = sub.add_parser("models", help="list model versions")
    md.add_argument("tenant")
    md.add_argument("store", nargs="?")
    md.add_argument("sku", nargs="?")
    json_flag(md)
    md.set_defaults(func=cmd_models)

    pr = sub.add_parser("promote", help="promote one version of a series")
    for name in ("tenant", "store", "sku"):
        pr.add_argument(name)
    pr.add_argument("version", type=int)
    json_flag(pr)
    pr.set_defaults(func=cmd_promote)

    rb = sub.add_parser("rollback", help="re-promote the previously promoted version")
    for name in ("tenant", "store", "sku"):
        rb.add_argument(name)
    json_flag(rb)
    rb.set_defaults(func=cmd_rollback)

    _register_schedule(sub, json_flag)


def _register_schedule(
    sub: argparse._SubParsersAction,  # type: ignore[type-arg]
    json_flag: Callable[[argparse.ArgumentParser], None],
) -> None:
    sc = sub.add_parser("schedule", help="persistent schedule: add/list/remove jobs, or run")
    sc.add_argument("action", choices=["add", "list", "remove", "run"])
    sc.add_argument("tenant", nargs="?")
    sc.add_argument("--timezone", action="append", help="IANA zone (default: the stores')")
    sc.add_argument("--retrain-at", default="01:00", help="store-local HH:MM")
    sc.add_argument("--publish-at", default="05:00", help="store-local HH:MM, before 06:00")
    sc.add_argument("--no-queue", action="store_true", help="retrain in-process, not via NATS")
    json_flag(sc)
    sc.set_defaults(func=cmd_schedule)


def main(argv: list[str] | None = None) -> int:
    """Run ``forecasts …`` on its own (the tests; ``obrador forecasts`` once registered)."""
    parser = argparse.ArgumentParser(prog="obrador")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(["forecasts", *(argv if argv is not None else sys.argv[1:])])
    rc: int = args.func(args)
    return rc
