"""Training jobs on a JetStream work-queue stream, consumed by any number of workers.

Stream ``OBRADOR_FORECAST_JOBS`` (retention WORK_QUEUE, subjects
``forecast.jobs.>``): one message per tenant x store x SKU series, on subject
``forecast.jobs.train.<partition>`` with a JSON body ``{"job_id", "tenant_id",
"store_id", "sku", "through"}``. ``Nats-Msg-Id`` is the job id, so enqueueing
the same run twice inside the duplicate window publishes each job once.

Every worker pulls from the one durable consumer ``forecast-workers``: a
message goes to one worker at a time; the worker trains, registers the version
(``forecasting.ops.registry.train_and_register``) and only then acks. A worker that
dies before the ack leaves the message to be redelivered after ``ack_wait``;
the registry refuses a second version for the same ``job_id``, so a
redelivered job is acked without training twice. A job that keeps failing is
terminated after ``FORECAST_MAX_DELIVER`` attempts. The stream and the consumer
are declared in ``streams.jetstream`` with every other JetStream stream.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import uuid
import zlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Final

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError

from forecasting.ops.keys import RegistryError, SeriesKey
from forecasting.ops.readport import list_series
from forecasting.ops.registry import ModelVersion, train_and_register
from forecasting.ops.telemetry import TRAINING
from streams.cluster import nats_servers
from streams.jetstream import (
    FORECAST_JOB_PARTITIONS,
    FORECAST_JOBS_STREAM,
    FORECAST_TRAIN_SUBJECT,
    FORECAST_WORKERS,
    ensure_forecast_jobs_stream,
)

# the stream and its consumer are declared with every other one in streams.jetstream
STREAM: Final = FORECAST_JOBS_STREAM
DURABLE: Final = FORECAST_WORKERS

log = logging.getLogger("obrador.forecast.worker")


@dataclass(frozen=True)
class TrainJob:
    job_id: str
    key: SeriesKey
    through: dt.date | None = None

    def encode(self) -> bytes:
        return json.dumps(
            {
                "job_id": self.job_id,
                "tenant_id": self.key.tenant_id,
                "store_id": self.key.store_id,
                "sku": self.key.sku,
                "through": self.through.isoformat() if self.through else None,
            }
        ).encode()

    @classmethod
    def decode(cls, data: bytes) -> TrainJob:
        body = json.loads(data)
        through = body.get("through")
        return cls(
            job_id=str(body["job_id"]),
            key=SeriesKey(str(body["tenant_id"]), str(body["store_id"]), str(body["sku"])),
            through=dt.date.fromisoformat(through) if through else None,
        )

    @property
    def subject(self) -> str:
        label = f"{self.key.tenant_id}/{self.key.store_id}/{self.key.sku}"
        return f"{FORECAST_TRAIN_SUBJECT}.p{zlib.crc32(label.encode()) % FORECAST_JOB_PARTITIONS}"


async def enqueue(
    nats_url: str,
    conninfo: str,
    tenant_id: str,
    *,
    store_id: str | None = None,
    through: dt.date | None = None,
    run_id: str | None = None,
    keys: list[SeriesKey] | None = None,
) -> list[TrainJob]:
    """Publish one training job per series of the tenant (or per series of ``keys``,
    e.g. those due for retraining); return the jobs."""
    if keys is None:
        keys = await asyncio.to_thread(list_series, conninfo, tenant_id, store_id)
    else:
        keys = [k for k in keys if store_id is None or k.store_id == store_id]
    run = run_id or uuid.uuid4().hex[:12]
    jobs = [TrainJob(f"{run}:{k.tenant_id}:{k.store_id}:{k.sku}", k, through) for k in keys]
    nc = await nats.connect(nats_servers(nats_url))
    try:
        js = nc.jetstream()
        await ensure_forecast_jobs_stream(js)
        for job in jobs:
            await js.publish(job.subject, job.encode(), headers={"Nats-Msg-Id": job.job_id})
    finally:
        await nc.close()
    return jobs


@dataclass
class WorkerStats:
    name: str
    trained: list[str] = field(default_factory=list)  # job ids this worker registered
    skipped: list[str] = field(default_factory=list)  # redelivered, already registered
    failed: list[str] = field(default_factory=list)


async def _with_heartbeat(
    msg: Msg, work: Coroutine[Any, Any, ModelVersion | None], every: float
) -> ModelVersion | None:
    task = asyncio.ensure_future(work)
    while True:
        done, _ = await asyncio.wait({task}, timeout=every)
        if done:
            return task.result()
        await msg.in_progress()


Trainer = Callable[[str, SeriesKey, dt.date | None, str], ModelVersion | None]


def _default_trainer(
    conninfo: str, key: SeriesKey, through: dt.date | None, job_id: str
) -> ModelVersion | None:
    return train_and_register(conninfo, key, through=through, job_id=job_id)


async def run_worker(
    nats_url: str,
    conninfo: str,
    *,
    name: str | None = None,
    stop: asyncio.Event | None = None,
    drain: bool = False,
    idle_timeout: float = 2.0,
    retry_delay: float = 5.0,
    heartbeat: float = 60.0,
    trainer: Trainer = _default_trainer,
) -> WorkerStats:
    """Consume training jobs until ``stop`` is set (or, with ``drain``, the queue is empty).

    Training runs in a thread; the message is acked only after the version is
    registered (or found already registered for this job id). While it trains,
    the worker tells the server every ``heartbeat`` seconds that the job is in
    progress, so a long training is not redelivered to another worker. A
    failed job is nak'ed for redelivery after ``retry_delay`` seconds.
    """
    stats = WorkerStats(name or f"worker-{uuid.uuid4().hex[:6]}")
    nc: Client = await nats.connect(nats_servers(nats_url))
    try:
        js = nc.jetstream()
        await ensure_forecast_jobs_stream(js)
        sub = await js.pull_subscribe_bind(DURABLE, STREAM)
        while stop is None or not stop.is_set():
            try:
                msgs = await sub.fetch(1, timeout=idle_timeout)
            except NatsTimeoutError:
                if drain:
                    info = await js.consumer_info(STREAM, DURABLE)
                    if info.num_pending == 0 and info.num_ack_pending == 0:
                        break
                continue
            for msg in msgs:
                try:
                    job = TrainJob.decode(msg.data)
                except (ValueError, KeyError) as exc:
                    log.error("bad job %r: %s", msg.data[:200], exc)
                    await msg.term()
                    continue
                try:
                    version = await _with_heartbeat(
                        msg,
                        asyncio.to_thread(trainer, conninfo, job.key, job.through, job.job_id),
                        heartbeat,
                    )
                except RegistryError as exc:  # nothing to train: do not retry
                    log.warning("%s: %s", job.job_id, exc)
                    stats.failed.append(job.job_id)
                    TRAINING.labels("nothing_to_train").inc()
                    await msg.term()
                    continue
                except Exception:
                    log.exception("%s: training failed, will be redelivered", job.job_id)
                    stats.failed.append(job.job_id)
                    TRAINING.labels("failed").inc()
                    await msg.nak(delay=retry_delay)
                    continue
                await msg.ack_sync()
                TRAINING.labels("skipped" if version is None else "trained").inc()
                if version is None:
                    stats.skipped.append(job.job_id)
                else:
                    stats.trained.append(job.job_id)
                    log.info(
                        "%s: %s v%d (%s)",
                        stats.name,
                        job.key.label(),
                        version.version,
                        "promoted" if version.promoted else "kept",
                    )
    finally:
        await nc.close()
    return stats
