"""The apscheduler PostgreSQL job store keeps jobs across scheduler restarts."""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

import psycopg
from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger

from forecasting.ops.jobs import PostgresJobStore, schedule_tenant


def _scheduler(pg_url: str) -> BackgroundScheduler:
    return BackgroundScheduler(jobstores={"default": PostgresJobStore(pg_url)}, timezone=dt.UTC)


def test_jobs_survive_a_restart(pg_url: str) -> None:
    first = _scheduler(pg_url)
    first.start(paused=True)
    ids = schedule_tenant(first, "ddop", ["Europe/Berlin", "Atlantic/Canary"], publish_at="05:30")
    before = {j.id: (j.next_run_time, str(j.trigger), j.args) for j in first.get_jobs()}
    first.shutdown(wait=False)
    assert sorted(before) == sorted(ids) and len(ids) == 4

    # a new scheduler process: the jobs come back from PostgreSQL, unchanged
    second = _scheduler(pg_url)
    second.start(paused=True)
    try:
        after = {j.id: (j.next_run_time, str(j.trigger), j.args) for j in second.get_jobs()}
        assert after == before
        publish = second.get_job("publish:ddop:Atlantic/Canary")
        assert publish is not None and publish.args == ("ddop", "Atlantic/Canary")
        local = publish.next_run_time.astimezone(ZoneInfo("Atlantic/Canary"))
        assert (local.hour, local.minute) == (5, 30)  # before 06:00 store-local
        # re-adding replaces (no duplicates); removing is persisted too
        schedule_tenant(second, "ddop", ["Europe/Berlin"])
        second.remove_job("retrain:ddop:Atlantic/Canary")
    finally:
        second.shutdown(wait=False)
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("SELECT id FROM forecast_scheduler_jobs ORDER BY id").fetchall()
    assert [r[0] for r in rows] == sorted(set(ids) - {"retrain:ddop:Atlantic/Canary"})


def test_a_job_due_while_the_scheduler_was_down_runs_after_restart(pg_url: str) -> None:
    first = _scheduler(pg_url)
    first.start(paused=True)
    run_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    first.add_job(time.monotonic, DateTrigger(run_at), id="once", misfire_grace_time=60)
    first.shutdown(wait=False)
    while dt.datetime.now(dt.UTC) <= run_at:  # the run time passes, no scheduler running
        time.sleep(0.01)

    ran: list[str] = []
    second = _scheduler(pg_url)
    second.add_listener(
        lambda e: ran.append(e.job_id) if isinstance(e, JobExecutionEvent) else None,
        EVENT_JOB_EXECUTED,
    )
    second.start()
    try:
        deadline = time.monotonic() + 10
        while not ran and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        second.shutdown(wait=True)
    assert ran == ["once"]
    with psycopg.connect(pg_url) as conn:  # a date job is removed once it ran
        assert conn.execute("SELECT count(*) FROM forecast_scheduler_jobs").fetchone() == (0,)
