"""Two workers on the real JetStream work queue: every series trained exactly once."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

import nats

from forecasting.ops import registry
from forecasting.ops.registry import ModelVersion, SeriesKey
from forecasting.ops.workqueue import DURABLE, STREAM, enqueue, run_worker


async def test_two_workers_train_every_series_once(
    pg_url: str,
    nats_url: str,
    load_sales: Callable[[list[tuple[int, int]]], list[SeriesKey]],
) -> None:
    keys = load_sales([(2, 101), (2, 109), (3, 101), (3, 110)])
    jobs = await enqueue(nats_url, pg_url, "ddop", run_id="night1")
    assert sorted(j.key for j in jobs) == sorted(keys)
    # the same run enqueued again inside the duplicate window adds nothing
    await enqueue(nats_url, pg_url, "ddop", run_id="night1")

    a, b = await asyncio.gather(
        run_worker(nats_url, pg_url, name="a", drain=True, idle_timeout=1.0),
        run_worker(nats_url, pg_url, name="b", drain=True, idle_timeout=1.0),
    )
    trained = a.trained + b.trained
    assert sorted(trained) == sorted(j.job_id for j in jobs)  # each job once, by one worker
    assert not set(a.trained) & set(b.trained)
    assert a.trained and b.trained  # both workers took part
    assert not a.failed and not b.failed and not a.skipped and not b.skipped

    versions = registry.versions(pg_url, "ddop")
    assert sorted((v.key, v.version) for v in versions) == sorted((k, 1) for k in keys)
    assert {v.job_id for v in versions} == {j.job_id for j in jobs}
    assert all(v.promoted for v in versions)

    # acked messages are gone from the work-queue stream
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        assert (await js.stream_info(STREAM)).state.messages == 0
        info = await js.consumer_info(STREAM, DURABLE)
        assert info.num_pending == 0 and info.num_ack_pending == 0
    finally:
        await nc.close()


async def test_a_job_redelivered_after_a_crash_is_not_trained_twice(
    pg_url: str,
    nats_url: str,
    load_sales: Callable[[list[tuple[int, int]]], list[SeriesKey]],
) -> None:
    (key,) = load_sales([(5, 101)])
    (job,) = await enqueue(nats_url, pg_url, "ddop", run_id="night2")
    crashed: list[str] = []

    def crash_after_register(
        conninfo: str, k: SeriesKey, through: dt.date | None, job_id: str
    ) -> ModelVersion | None:
        version = registry.train_and_register(conninfo, k, through=through, job_id=job_id)
        if not crashed:  # the worker "dies" between registering and acking
            crashed.append(job_id)
            raise RuntimeError("lost before the ack")
        return version

    stats = await run_worker(
        nats_url,
        pg_url,
        drain=True,
        idle_timeout=0.5,
        retry_delay=0.2,
        trainer=crash_after_register,
    )
    assert crashed == [job.job_id] and stats.failed == [job.job_id]
    assert stats.skipped == [job.job_id] and stats.trained == []  # redelivered, not retrained
    assert [(v.version, v.job_id) for v in registry.versions(pg_url, "ddop")] == [(1, job.job_id)]
    assert key == job.key
