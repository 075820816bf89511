"""The nightly retrain follows the backtest's refit cadence for the series' history length."""

from __future__ import annotations

import datetime as dt
import math

import psycopg
from psycopg.types.json import Jsonb

from forecasting.backtest import YOUNG_DAYS, YOUNG_REFIT_EVERY
from forecasting.ops.cadence import next_refit, refit_due
from forecasting.ops.jobs import configure, due_series, retrain_job
from forecasting.ops.readport import DEFAULT_TIMEZONE, list_series
from forecasting.ops.registry import SeriesKey, versions

FIRST = dt.date(2024, 1, 1)


def _day(n: int) -> dt.date:
    return FIRST + dt.timedelta(days=n)


def test_refit_due_follows_the_backtests_schedule() -> None:
    # never trained: due
    assert refit_due(FIRST, _day(10), None)
    # young history: a model trained 29 days ago is always due (cadence 28 days) ...
    for last in range(120, YOUNG_DAYS):
        assert refit_due(FIRST, _day(last), _day(last - 29)), last
    # ... and at day 199 because of the young cadence: the old schedule (91, 137, 206)
    # has no refit day in (170, 199]
    assert refit_due(FIRST, _day(199), _day(170))
    # old history (700 days): refit days 575 then 708; trained on day 670 = 29 days ago
    assert not refit_due(FIRST, _day(699), _day(670))
    assert not refit_due(FIRST, _day(707), _day(670))
    assert refit_due(FIRST, _day(708), _day(670))
    assert next_refit(FIRST, _day(670)) == _day(708)
    assert next_refit(FIRST, _day(170)) == _day(175)
    # nothing new since the training: never due
    assert not refit_due(FIRST, _day(300), _day(300))


def _load(conn: psycopg.Connection[tuple[object, ...]], tenant: str, days: int) -> SeriesKey:
    """A daily series (weekly pattern) of ``days`` days ending on ``_day(days - 1)``."""
    key = SeriesKey(tenant, "s1", "bread")
    rows = [
        (tenant, key.store_id, key.sku, _day(i), 20 + round(8 * math.sin(i * 2 * math.pi / 7)))
        for i in range(days)
    ]
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO rm_sales_daily (tenant_id, store_id, sku, sales_date, units,"
            " revenue, tickets) VALUES (%s, %s, %s, %s, %s, 0, 1)",
            rows,
        )
    return key


def _trained(
    conn: psycopg.Connection[tuple[object, ...]], key: SeriesKey, through: dt.date
) -> None:
    """Version 1 of the series, trained through ``through`` (as the registry stores it)."""
    conn.execute(
        "INSERT INTO forecast_model_versions (tenant_id, store_id, sku, version, kind, params,"
        " train_start, train_end, metrics, promoted, promoted_at)"
        " VALUES (%s, %s, %s, 1, 'obrador', %s, %s, %s, '{}', true, now())",
        (
            key.tenant_id,
            key.store_id,
            key.sku,
            Jsonb({"selection": {"gbm_refit_every": 133}}),
            FIRST,
            through,
        ),
    )


def test_retrain_job_retrains_a_young_tenant_and_not_an_old_one(pg_url: str) -> None:
    young_days, old_days = 200, 700
    with psycopg.connect(pg_url, autocommit=True) as conn:
        young = _load(conn, "young", young_days)
        old = _load(conn, "old", old_days)
        # both models trained 29 days before the last day of sales
        _trained(conn, young, _day(young_days - 1 - 29))
        _trained(conn, old, _day(old_days - 1 - 29))
    assert YOUNG_REFIT_EVERY < 29
    assert due_series(pg_url, "young", list_series(pg_url, "young")) == [young]
    assert due_series(pg_url, "old", list_series(pg_url, "old")) == []

    configure(pg_url, None)  # no NATS: the job trains in this process
    assert retrain_job("old", DEFAULT_TIMEZONE) == 0
    assert [v.version for v in versions(pg_url, "old")] == [1]
    assert retrain_job("young", DEFAULT_TIMEZONE) == 1
    trained = versions(pg_url, "young")
    assert [v.version for v in trained] == [1, 2]
    assert trained[-1].train_end == _day(young_days - 1)
    # trained through the last day: not due again the same night
    assert due_series(pg_url, "young", [young]) == []
