"""The components of a node: what ``obrador up`` runs (``--only`` picks a subset).

Each is built from the addresses and the settings and handed to the supervisor. Scaling
out is "start more of these on other machines" with ``DATABASE_URL``/``NATS_URL``
pointing at shared servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import errno
import logging
import os
import socket
from collections.abc import Sequence
from typing import Any

from deploy.settings import Settings
from deploy.supervisor import Component

log = logging.getLogger("obrador.node")

NAMES = ("relay", "projector", "ingest", "api", "scheduler", "worker", "notifier")
DESCRIPTIONS = {
    "relay": "store → JetStream",
    "projector": "read models from JetStream",
    "ingest": "POS pos.<tenant>.<store>.sales → commands (docs/pos.md)",
    "api": "read API and dashboard (docs/api.md)",
    "scheduler": "forecast, day-close, expiry and alert-clock jobs (docs/forecasting-ops.md)",
    "worker": "forecast training jobs from the JetStream work queue",
    "notifier": "alerts to webhooks and e-mail (docs/alerts.md#notifications)",
}


class PortBusy(RuntimeError):
    """The read API cannot listen where the settings say."""


def parse_only(text: str | None) -> list[str]:
    """``relay,projector`` -> those names, checked; None/empty -> every component."""
    if not text:
        return list(NAMES)
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in NAMES]
    if unknown or not names:
        raise ValueError(
            f"--only: unknown component {', '.join(unknown) or text!r} (known: {', '.join(NAMES)})"
        )
    return [n for n in NAMES if n in names]


def check_api_port(settings: Settings) -> None:
    """Raise :class:`PortBusy` (one line naming the setting) when the API port is taken."""
    check_port(settings.api_host, settings.api_port, "OBRADOR_API_PORT")


def check_ports(names: Sequence[str], settings: Settings) -> None:
    """The ports this node will listen on: the API's, or the metrics port without it."""
    if "api" in names:
        check_api_port(settings)
    else:
        check_port(settings.api_host, settings.metrics_port, "OBRADOR_METRICS_PORT")


def check_port(host: str, port: int, setting: str) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            reason = "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be used: {exc}"
            raise PortBusy(
                f"{setting}: port {port} on {host} {reason};"
                f" set {setting} to a free port (or stop what listens there)"
            ) from None


def components(
    names: Sequence[str], database_url: str, nats_url: str, settings: Settings
) -> list[Component]:
    build = {
        "relay": lambda: _relay(database_url, nats_url),
        "projector": lambda: _projector(database_url, nats_url),
        "ingest": lambda: _ingest(database_url, nats_url),
        "api": lambda: _api(database_url, nats_url, settings),
        "scheduler": lambda: scheduler(database_url, nats_url, settings=settings),
        "worker": lambda: _worker(database_url, nats_url),
        "notifier": lambda: _notifier(database_url, settings),
    }
    built = [build[name]() for name in names]
    if "api" not in names:  # the API serves /metrics itself; other nodes get a small port
        built.append(_metrics(settings))
    return built


def _metrics(settings: Settings) -> Component:
    from deploy.metrics import serve_metrics

    async def run(stop: asyncio.Event) -> None:
        await serve_metrics(settings.api_host, settings.metrics_port, stop)

    return Component("metrics", run)


# Each builder imports its component's code when the node is assembled, before the
# banner: an import inside ``run`` would block the event loop (and Ctrl-C) for seconds.


def _relay(database_url: str, nats_url: str) -> Component:
    from streams.relay import Relay
    from streams.store import EventStore

    async def run(stop: asyncio.Event) -> None:
        store = await EventStore.open(database_url)
        try:
            await Relay(store, nats_url).run(stop)
        finally:
            await store.close()

    return Component("relay", run)


def _projector(database_url: str, nats_url: str, models: Sequence[str] | None = None) -> Component:
    from projections.registry import select
    from projections.runtime import Projector

    async def run(stop: asyncio.Event) -> None:
        chosen = select(",".join(models) if models else None)
        await Projector(database_url, nats_url, chosen).run(stop)

    return Component("projector", run)


def projector(database_url: str, nats_url: str, models: Sequence[str] | None) -> Component:
    """The projector component for a subset of read models (``obrador projector --models``)."""
    return _projector(database_url, nats_url, models)


def _ingest(database_url: str, nats_url: str) -> Component:
    from commands.pos.service import serve_ingest

    async def run(stop: asyncio.Event) -> None:
        await serve_ingest(database_url, nats_url, stop=stop)

    return Component("ingest", run)


def _api(database_url: str, nats_url: str, settings: Settings) -> Component:
    from read_api.app import serve_api

    async def run(stop: asyncio.Event) -> None:
        await serve_api(
            database_url, settings.api_host, settings.api_port, stop, nats_url=nats_url or None
        )

    return Component("api", run)


#: PostgreSQL advisory lock held by the one node whose scheduler runs the forecast jobs
SCHEDULER_LOCK = 0x0B7AD0_5C4ED


def scheduler(
    database_url: str,
    nats_url: str,
    check_every: float = 15.0,
    settings: Settings | None = None,
) -> Component:
    """The forecast jobs and the stores' daily jobs, on one node at a time: the others
    wait on an advisory lock (APScheduler does not share a job store between
    schedulers safely)."""

    import psycopg
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from apscheduler.schedulers.background import BackgroundScheduler

    from forecasting.ops.jobs import PostgresJobStore, configure
    from streams.store import EventStore

    times = settings or Settings.load()

    async def run(stop: asyncio.Event) -> None:
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            waiting_logged = False
            while not await _holds(conn, "SELECT pg_try_advisory_lock(%s)"):
                if not waiting_logged:
                    log.info("scheduler: another node runs the forecast jobs; standing by")
                    waiting_logged = True
                if await _stopped(stop, check_every):
                    return
            configure(database_url, nats_url or None)
            scheduler = BackgroundScheduler(
                jobstores={"default": PostgresJobStore(database_url)}, timezone=dt.UTC
            )
            scheduler.start()
            log.info("scheduler: this node runs the forecast jobs")
            store = await EventStore.open(database_url, min_size=1, max_size=4)
            daily = AsyncIOScheduler(timezone=dt.UTC)
            daily.start()
            try:
                await _schedule_store_jobs(daily, store, times)
                while not await _stopped(stop, check_every):
                    await conn.execute("SELECT 1")  # lock lost with the connection: restart
            finally:
                daily.shutdown(wait=False)
                await store.close()
                await asyncio.to_thread(scheduler.shutdown, wait=False)

    return Component("scheduler", run)


async def _schedule_store_jobs(daily: Any, store: Any, settings: Settings) -> None:
    """Per store time zone: the automatic close and the expiry at their local times; the
    hourly clock tick of the alerts. New zones are picked up by an hourly refresh."""
    from apscheduler.triggers.cron import CronTrigger

    from deploy import jobs_daily

    def now() -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    async def close(zone: str) -> None:
        report = await jobs_daily.close_days(
            store, now(), close_at=settings.day_close_at, timezone=zone
        )
        log.info("day close %s: %d stores, %d items closed", zone, report.stores, report.written)

    async def expire(zone: str) -> None:
        report = await jobs_daily.expire_stores(store, now(), timezone=zone)
        log.info("expiry %s: %d stores, %d items expired", zone, report.stores, report.written)

    async def tick() -> None:
        await jobs_daily.tick_tenants(store, now())

    async def refresh() -> None:
        zones = {shop.timezone for shop in await jobs_daily.open_stores(store)}
        for zone in sorted(zones):
            for kind, job, at in (
                ("day-close", close, settings.day_close_at),
                ("expiry", expire, settings.expire_at),
            ):
                if daily.get_job(f"{kind}:{zone}") is None:
                    daily.add_job(
                        job,
                        CronTrigger(hour=at.hour, minute=at.minute, timezone=zone),
                        args=(zone,),
                        id=f"{kind}:{zone}",
                        coalesce=True,
                        misfire_grace_time=3600,
                        max_instances=1,
                    )

    daily.add_job(tick, CronTrigger(minute=0), id="alert-clock", coalesce=True, max_instances=1)
    daily.add_job(refresh, CronTrigger(minute=1), id="store-zones", max_instances=1)
    await refresh()
    log.info(
        "scheduler: store jobs at %s (close) and %s (expiry) store-local, alert clock hourly",
        settings.day_close_at.strftime("%H:%M"),
        settings.expire_at.strftime("%H:%M"),
    )


async def _holds(conn: Any, query: str) -> bool:
    cur = await conn.execute(query, (SCHEDULER_LOCK,))
    row = await cur.fetchone()
    return bool(row and row[0])


async def _stopped(stop: asyncio.Event, seconds: float) -> bool:
    """Wait up to ``seconds`` for ``stop``; True once it is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()


def _worker(database_url: str, nats_url: str) -> Component:
    from forecasting.ops.workqueue import run_worker

    async def run(stop: asyncio.Event) -> None:
        name = f"{socket.gethostname()}-{os.getpid()}"
        await run_worker(nats_url, database_url, name=name, stop=stop)

    return Component("worker", run)


def _notifier(database_url: str, settings: Settings) -> Component:
    from streams.notify.transport import SmtpConfig
    from streams.notify.worker import Notifier

    smtp = SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_from,
        starttls=settings.smtp_starttls,
        user=settings.smtp_user,
        password=settings.smtp_password,
    )

    async def run(stop: asyncio.Event) -> None:
        await Notifier(database_url, smtp).run(stop)

    return Component("notifier", run)
