"""The forecasting schedule: apscheduler 3 with a PostgreSQL job store (no SQLAlchemy).

apscheduler 3 ships job stores for SQLAlchemy, MongoDB, Redis, RethinkDB and
ZooKeeper only; SQLAlchemy is not a dependency of Obrador, so
:class:`PostgresJobStore` implements ``BaseJobStore`` over psycopg, keeping each
job's pickled state in ``forecast_scheduler_jobs`` (migration 0011) — the same
layout as apscheduler's own SQLAlchemy store (id, next_run_time as epoch
seconds, job_state bytea). Jobs, their triggers and next run times survive a
scheduler restart; a missed run within ``misfire_grace_time`` still runs once
(``coalesce``).

Per tenant and store time zone (from the read port), two cron jobs:

* ``retrain:<tenant>:<tz>`` nightly (default 01:00 local): enqueue one training
  job per series due for retraining (the backtest's refit cadence for the
  series' history length, ``forecasting.ops.cadence``) on the work queue
  (``forecasting.ops.workqueue``) when NATS is configured, else train in this
  process;
* ``publish:<tenant>:<tz>`` before 06:00 local (default 05:00): publish the
  promoted forecasts and suggested orders (``forecasting.ops.publish``).

Job arguments are only the tenant and the zone; the database and NATS addresses
come from :func:`configure` (or ``DATABASE_URL`` / ``NATS_URL``) when the job
runs, so no credentials are pickled into the table.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import pickle
from dataclasses import dataclass
from typing import Any

import psycopg
from apscheduler.job import Job
from apscheduler.jobstores.base import BaseJobStore, ConflictingIdError, JobLookupError
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger

from forecasting.ops.cadence import DEFAULT_REFIT_EVERY, refit_due
from forecasting.ops.keys import RegistryError, SeriesKey
from forecasting.ops.publish import publish_tenant
from forecasting.ops.readport import (
    list_series,
    series_spans,
    stores_in_timezone,
    tenant_timezones,
)
from forecasting.ops.registry import latest_trained, train_and_register
from forecasting.ops.telemetry import observed
from forecasting.ops.workqueue import enqueue

TABLE = "forecast_scheduler_jobs"
log = logging.getLogger("obrador.forecast.jobs")


def _ts(value: dt.datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


class PostgresJobStore(BaseJobStore):  # type: ignore[misc]
    """apscheduler 3 job store over psycopg: pickled job state in a bytea column."""

    def __init__(self, conninfo: str, pickle_protocol: int = pickle.HIGHEST_PROTOCOL) -> None:
        super().__init__()
        self.conninfo = conninfo
        self.pickle_protocol = pickle_protocol

    def _conn(self) -> psycopg.Connection[tuple[Any, ...]]:
        return psycopg.connect(self.conninfo, autocommit=True)

    def _reconstitute(self, state: bytes) -> Job:
        job_state = pickle.loads(state)  # our own table
        job_state["jobstore"] = self
        job: Job = Job.__new__(Job)
        job.__setstate__(job_state)
        job._scheduler = self._scheduler
        job._jobstore_alias = self._alias
        return job

    def _jobs(self, where: str = "", params: tuple[Any, ...] = ()) -> list[Job]:
        jobs: list[Job] = []
        failed: list[str] = []
        with self._conn() as conn:
            rows = conn.execute(
                f"SELECT id, job_state FROM {TABLE} {where} ORDER BY next_run_time NULLS LAST, id",
                params,
            ).fetchall()
            for job_id, state in rows:
                try:
                    jobs.append(self._reconstitute(state))
                except Exception:
                    self._logger.exception('Unable to restore job "%s" -- removing it', job_id)
                    failed.append(job_id)
            if failed:
                conn.execute(f"DELETE FROM {TABLE} WHERE id = ANY(%s)", (failed,))
        return jobs

    def lookup_job(self, job_id: str) -> Job | None:
        with self._conn() as conn:
            row = conn.execute(f"SELECT job_state FROM {TABLE} WHERE id = %s", (job_id,)).fetchone()
        return self._reconstitute(row[0]) if row else None

    def get_due_jobs(self, now: dt.datetime) -> list[Job]:
        return self._jobs("WHERE next_run_time <= %s", (now.timestamp(),))

    def get_next_run_time(self) -> dt.datetime | None:
        with self._conn() as conn:
            row = conn.execute(
                f"SELECT min(next_run_time) FROM {TABLE} WHERE next_run_time IS NOT NULL"
            ).fetchone()
        if row is None or row[0] is None:
            return None
        return dt.datetime.fromtimestamp(row[0], dt.UTC)

    def get_all_jobs(self) -> list[Job]:
        jobs = self._jobs()
        self._fix_paused_jobs_sorting(jobs)
        return jobs

    def add_job(self, job: Job) -> None:
        state = pickle.dumps(job.__getstate__(), self.pickle_protocol)
        with self._conn() as conn:
            try:
                conn.execute(
                    f"INSERT INTO {TABLE} (id, next_run_time, job_state) VALUES (%s, %s, %s)",
                    (job.id, _ts(job.next_run_time), state),
                )
            except psycopg.errors.UniqueViolation:
                raise ConflictingIdError(job.id) from None

    def update_job(self, job: Job) -> None:
        state = pickle.dumps(job.__getstate__(), self.pickle_protocol)
        with self._conn() as conn:
            cur = conn.execute(
                f"UPDATE {TABLE} SET next_run_time = %s, job_state = %s WHERE id = %s",
                (_ts(job.next_run_time), state, job.id),
            )
            if cur.rowcount == 0:
                raise JobLookupError(job.id)

    def remove_job(self, job_id: str) -> None:
        with self._conn() as conn:
            cur = conn.execute(f"DELETE FROM {TABLE} WHERE id = %s", (job_id,))
            if cur.rowcount == 0:
                raise JobLookupError(job_id)

    def remove_all_jobs(self) -> None:
        with self._conn() as conn:
            conn.execute(f"DELETE FROM {TABLE}")

    def shutdown(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"<{type(self).__name__} table={TABLE}>"


# ------------------------------------------------------------- job context


@dataclass(frozen=True)
class Context:
    conninfo: str
    nats_url: str | None


_context: dict[str, Context] = {}


def configure(conninfo: str, nats_url: str | None) -> None:
    """Addresses the scheduled jobs use in this process."""
    _context["current"] = Context(conninfo, nats_url)


def _ctx() -> Context:
    if "current" in _context:
        return _context["current"]
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError("forecast jobs: call configure() or set DATABASE_URL")
    return Context(url, os.environ.get("NATS_URL") or None)


# ---------------------------------------------------------- scheduled jobs


def due_series(conninfo: str, tenant_id: str, keys: list[SeriesKey]) -> list[SeriesKey]:
    """The series of ``keys`` due for a new training (:func:`forecasting.ops.cadence.refit_due`):
    never trained, or a refit day of the backtest's schedule passed since the latest
    version's window ended."""
    spans = series_spans(conninfo, tenant_id)
    trained = latest_trained(conninfo, tenant_id)
    due: list[SeriesKey] = []
    for key in keys:
        span = spans.get(key)
        if span is None:
            continue
        through, every = trained.get(key, (None, None))
        if refit_due(span[0], span[1], through, every or DEFAULT_REFIT_EVERY):
            due.append(key)
    return due


@observed("retrain")
def retrain_job(tenant_id: str, timezone: str) -> int:
    """Nightly: one training job per series of the stores in ``timezone`` that is due
    (:func:`due_series`: the backtest's refit cadence for the series' history length).

    Returns the number of jobs enqueued (or series trained in-process).
    """
    ctx = _ctx()
    stores = stores_in_timezone(ctx.conninfo, tenant_id, timezone)
    keys = [
        k for k in list_series(ctx.conninfo, tenant_id) if stores is None or k.store_id in stores
    ]
    keys = due_series(ctx.conninfo, tenant_id, keys)
    if ctx.nats_url:
        run = f"nightly-{dt.datetime.now(dt.UTC):%Y%m%d}"
        count = len(
            asyncio.run(enqueue(ctx.nats_url, ctx.conninfo, tenant_id, run_id=run, keys=keys))
        )
        log.info("retrain %s %s: %d jobs enqueued", tenant_id, timezone, count)
        return count
    trained = 0
    for key in keys:
        try:
            train_and_register(ctx.conninfo, key)
            trained += 1
        except RegistryError as exc:
            log.warning("retrain %s: %s", key.label(), exc)
    return trained


@observed("publish")
def publish_job(tenant_id: str, timezone: str, day: str | None = None) -> int:
    """Before 06:00 local: forecasts and suggested orders of the stores in ``timezone``.

    ``day`` (ISO date) replaces "today in the zone" — for replays and tests.
    """
    ctx = _ctx()
    run_day = dt.date.fromisoformat(day) if day else None
    results = asyncio.run(publish_tenant(ctx.conninfo, tenant_id, timezone=timezone, day=run_day))
    log.info("publish %s %s: %d series", tenant_id, timezone, len(results))
    return len(results)


def _hm(text: str) -> tuple[int, int]:
    hour, _, minute = text.partition(":")
    return int(hour), int(minute or 0)


def schedule_tenant(
    scheduler: BaseScheduler,
    tenant_id: str,
    timezones: list[str],
    *,
    retrain_at: str = "01:00",
    publish_at: str = "05:00",
    jobstore: str = "default",
) -> list[str]:
    """Add (or replace) the retrain and publish jobs of a tenant; return their ids."""
    ph, pm = _hm(publish_at)
    if not 0 <= ph < 6:
        raise ValueError("publish_at must be before 06:00 store-local")
    rh, rm = _hm(retrain_at)
    ids: list[str] = []
    for tz in timezones:
        for kind, func, (h, m) in (
            ("retrain", retrain_job, (rh, rm)),
            ("publish", publish_job, (ph, pm)),
        ):
            job_id = f"{kind}:{tenant_id}:{tz}"
            scheduler.add_job(
                func,
                CronTrigger(hour=h, minute=m, timezone=tz),
                args=(tenant_id, tz),
                id=job_id,
                name=f"{kind} forecasts of {tenant_id} ({tz})",
                jobstore=jobstore,
                replace_existing=True,
                coalesce=True,
                misfire_grace_time=3600,
                max_instances=1,
            )
            ids.append(job_id)
    return ids


__all__ = [
    "PostgresJobStore",
    "configure",
    "due_series",
    "publish_job",
    "retrain_job",
    "schedule_tenant",
    "tenant_timezones",  # from the read port, kept here for the schedule commands
]
