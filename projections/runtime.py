"""The projector process: durable JetStream pull consumers feeding read models.

One consumer per projection × partition (durable name ``proj_<name>_p<n>``,
explicit ack-all policy). Each fetched batch goes through
``apply_with_checkpoint`` in one Postgres transaction and is acknowledged only
after that commit. An event the model cannot apply is parked in that same
transaction and the partition goes on (ADR 0006); trouble with the database or
the broker is retried with a growing pause, shown as ``retrying`` with its error
in ``projection_status``, and never parks anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Sequence
from typing import Any

import nats
import nats.js.errors
import psycopg
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js import api as js_api
from psycopg_pool import AsyncConnectionPool

from projections.apply import Applied, Delivery, apply_partitions
from projections.heartbeat import LeaseHeartbeat
from projections.leases import Leases
from projections.model import ReadModel
from projections.parking import is_transient
from projections.status import mark
from projections.telemetry import APPLIED_EVENTS, CHECKPOINT, LAG_SECONDS, PARKED_EVENTS
from streams.cluster import nats_servers
from streams.envelope import RecordedEvent
from streams.hoptrace import HopTrace
from streams.jetstream import (
    H_POSITION,
    PARTITIONS,
    STREAM_NAME,
    ensure_event_stream,
    event_and_prev,
    partition_subject,
)
from streams.pool_check import check_connection

log = logging.getLogger("obrador.projector")
#: Pause before retrying a partition after infrastructure trouble, doubling up to the max.
RETRY_FIRST, RETRY_MAX = 0.5, 10.0
Pool = AsyncConnectionPool[psycopg.AsyncConnection[tuple[Any, ...]]]


def consumer_name(model: ReadModel, partition: int) -> str:
    return f"proj_{model.name}_p{partition}"


class PartitionWorker:
    """Feeds one projection's partition; the Postgres checkpoint decides where it reads.

    The durable consumer starts right after the checkpoint's JetStream sequence:
    at start it is bound as it is only when it stands there, and it is created
    again after a gap or a failed apply (:meth:`_subscribe`). The broker's own
    cursor is never trusted over the checkpoint.
    """

    def __init__(
        self,
        pool: Pool,
        js: JetStreamContext,
        model: ReadModel,
        partition: int,
        batch: int,
        *,
        trace: HopTrace | None = None,
        applier: SharedApplier | None = None,
    ) -> None:
        self.pool, self.js, self.model = pool, js, model
        self.partition, self.batch = partition, batch
        self.trace = trace
        self.applier = applier or SharedApplier(pool, model)
        self.created = time.monotonic()
        self.applied = 0
        self.repositions = 0  # consumers deleted and created again
        self.reuses = 0  # consumers found at the checkpoint and bound as they were
        #: Events were fetched and not acknowledged: the consumer's cursor is past them.
        self._cursor_ahead = False
        #: Set by the projector before it cancels the task: on Python 3.11 a cancellation that
        #: lands as a fetch times out can be swallowed by nats-py's ``wait_for``, and a loop that
        #: only relied on cancellation would then run on and hold up the shutdown.
        self.stopping = False

    async def run(self) -> None:
        async with self.pool.connection() as conn:
            await mark(conn, self.model.name, self.partition, "running")
        sub = await self._subscribe(reuse=not self._cursor_ahead)
        try:
            while not self.stopping:
                msgs = await self._next_batch(sub)  # broker trouble: the consumer is kept
                if not msgs:
                    continue
                if self.trace is not None:
                    self._trace("fetched", msgs[-1], stored=msgs[-1].metadata.timestamp.timestamp())
                self._cursor_ahead = True  # delivered, not acknowledged until applied
                applied = await self._apply(msgs)
                self._cursor_ahead = False
                if not applied:
                    await sub.unsubscribe()
                    sub = await self._subscribe(reuse=False)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _next_batch(self, sub: JetStreamContext.PullSubscription) -> list[Msg]:
        """Wait for one message, then take whatever else is already there.

        A single ``fetch(batch, timeout)`` waits for the whole batch or the
        timeout once the first message has arrived, which would add up to the
        timeout to every event's freshness under light traffic.
        """
        try:
            msgs = await sub.fetch(1, timeout=1.0)
        except (TimeoutError, nats.errors.TimeoutError):
            return []
        pending = msgs[0].metadata.num_pending or 0  # what the consumer still has for us
        if self.batch > 1 and pending > 0:
            with contextlib.suppress(nats.errors.TimeoutError, asyncio.TimeoutError):
                msgs += await sub.fetch(min(self.batch - 1, pending), timeout=0.005)
        return msgs

    async def _subscribe(self, reuse: bool) -> JetStreamContext.PullSubscription:
        """Bind to the partition's durable consumer, re-created unless it can be reused.

        It is reused when it stands at the checkpoint: nothing delivered waits for an
        acknowledgement and it has delivered at least up to the checkpoint. That is
        the case after a clean hand-over, a restart of the projector and a broker
        error while fetching; creating a replicated consumer is the costly part of a
        cluster's meta layer, and a fault hitting all partitions at once made every
        worker delete and create its consumer at the same moment (ADR 0020). After a
        failed apply (the cursor is past unacknowledged events) or a gap it is
        re-created to start right after the checkpoint.
        """
        seq = await self._checkpoint_seq()
        name = consumer_name(self.model, self.partition)
        if reuse:
            try:
                info: js_api.ConsumerInfo | None = await self.js.consumer_info(STREAM_NAME, name)
            except nats.js.errors.NotFoundError:
                info = None
            if info is not None and at_checkpoint(info, seq, partition_subject(self.partition)):
                self.reuses += 1
                return await self.js.pull_subscribe_bind(durable=name, stream=STREAM_NAME)
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await self.js.delete_consumer(STREAM_NAME, name)
        start = (
            {"deliver_policy": js_api.DeliverPolicy.BY_START_SEQUENCE, "opt_start_seq": seq + 1}
            if seq > 0
            else {"deliver_policy": js_api.DeliverPolicy.ALL}
        )
        await self.js.add_consumer(
            STREAM_NAME,
            js_api.ConsumerConfig(
                durable_name=name,
                filter_subject=partition_subject(self.partition),
                ack_policy=js_api.AckPolicy.ALL,
                ack_wait=30.0,
                max_ack_pending=50_000,
                **start,
            ),
        )
        self.repositions += 1
        log.info(
            "projection %s/p%d: consumer %s re-created from stream sequence %d (%d so far)",
            self.model.name,
            self.partition,
            name,
            seq + 1,
            self.repositions,
        )
        return await self.js.pull_subscribe_bind(durable=name, stream=STREAM_NAME)

    async def _checkpoint_seq(self) -> int:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT stream_seq FROM projection_checkpoints"
                " WHERE projection = %s AND partition = %s",
                (self.model.name, self.partition),
            )
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def _apply(self, msgs: Sequence[Msg]) -> bool:
        """Apply a fetched batch; False when a gap was found (the caller repositions)."""
        deliveries = [
            Delivery(*event_and_prev(m.headers or {}, m.data), m.metadata.sequence.stream)
            for m in msgs
        ]
        result = await self.applier.apply(self.partition, deliveries)
        for parked in result.parked:
            PARKED_EVENTS.labels(self.model.name, str(self.partition)).inc()
            log.error(
                "projection %s partition %d parked the event at position %d (%s, tenant %s):"
                " %s: %s",
                self.model.name,
                self.partition,
                parked.position,
                parked.event_type,
                parked.tenant_id,
                parked.error_class,
                parked.error,
            )
        if self.trace is not None and result.processed:
            self._trace("committed", msgs[result.processed - 1])
        if result.processed:
            await msgs[result.processed - 1].ack()  # ack-all: covers everything before it
            self.applied += result.processed
            self._observe(deliveries[result.processed - 1].event, result.processed)
        return not result.gap

    def _trace(self, hop: str, last: Msg, **fields: float) -> None:
        position = int((last.headers or {}).get(H_POSITION, 0))
        assert self.trace is not None
        self.trace.record(
            hop, model=self.model.name, partition=self.partition, last=position, **fields
        )

    def _observe(self, newest: RecordedEvent, applied: int) -> None:
        labels = (self.model.name, str(self.partition))
        APPLIED_EVENTS.labels(*labels).inc(applied)
        CHECKPOINT.labels(*labels).set(newest.position)
        LAG_SECONDS.labels(*labels).set(max(0.0, time.time() - newest.recorded_at.timestamp()))


def at_checkpoint(info: js_api.ConsumerInfo, seq: int, subject: str) -> bool:
    """Whether a durable consumer can go on as it is for a checkpoint at stream sequence ``seq``.

    Nothing it delivered is unacknowledged (acknowledged means committed), it is
    not behind the checkpoint (it would deliver again what is applied), and it
    reads the partition's subject with ack-all. If the checkpoint is behind it
    (a lost commit), the next event shows a gap and the consumer is re-created.
    """
    return (
        info.config.filter_subject == subject
        and info.config.ack_policy == js_api.AckPolicy.ALL
        and not info.num_ack_pending
        and info.delivered is not None
        and info.delivered.stream_seq >= seq
    )


class SharedApplier:
    """One model's batches from several partitions, sharing transactions when they queue.

    Each partition worker hands its fetched batch over and waits for its own
    outcome. Up to ``max_inflight`` transactions run at once (on 2 busy cores a
    transaction is mostly waiting for its round trips, so a few in parallel
    keep the latency down); batches that arrive while every slot is taken wait
    and then all go into the next one (``apply_partitions``), so under heavy
    traffic partitions share transactions instead of queueing behind each
    other's commits. Every partition's rows and checkpoint commit together; a
    failure rolls back that transaction's partitions and their workers retry.

    Round trips are the live path's cost (docs/adr/0019-live-path-round-trips.md):
    a transaction first runs without a savepoint, and when it holds at most
    ``pipeline_max`` deliveries in psycopg's pipeline mode, so BEGIN goes with
    the checkpoint lock, and the writes, the checkpoint move and COMMIT go in
    one round trip (the models stage rows as arrays there, never with COPY,
    which a pipeline refuses). If the model fails on the batch, that
    transaction rolls back and the batch runs again the careful way (a
    savepoint, then event by event) to park only the guilty event.
    """

    def __init__(
        self, pool: Pool, model: ReadModel, *, max_inflight: int = 4, pipeline_max: int = 64
    ) -> None:
        self.pool, self.model, self.max_inflight = pool, model, max_inflight
        self.pipeline_max = pipeline_max
        self._waiting: dict[int, tuple[list[Delivery], asyncio.Future[Applied]]] = {}
        self._running: set[asyncio.Task[None]] = set()

    async def apply(self, partition: int, deliveries: list[Delivery]) -> Applied:
        waiting = self._waiting.get(partition)
        if waiting is not None and not waiting[1].done():  # a cancelled worker's is dropped
            raise RuntimeError(f"partition {partition} already has a batch waiting")
        future: asyncio.Future[Applied] = asyncio.get_running_loop().create_future()
        self._waiting[partition] = (deliveries, future)
        self._start()
        return await future

    async def close(self) -> None:
        for task in self._running:
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)

    def _start(self) -> None:
        if not self._waiting or len(self._running) >= self.max_inflight:
            return
        taken, self._waiting = self._waiting, {}
        task = asyncio.create_task(self._apply(taken))
        self._running.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._start()  # whatever queued meanwhile goes together

    async def _apply(
        self, taken: dict[int, tuple[list[Delivery], asyncio.Future[Applied]]]
    ) -> None:
        taken = {p: item for p, item in taken.items() if not item[1].done()}
        if not taken:
            return
        batches = {p: batch for p, (batch, _) in taken.items()}
        try:
            try:
                results = await self._transaction(batches, careful=False)
            except Exception as exc:
                if is_transient(exc):
                    raise
                results = await self._transaction(batches, careful=True)  # park the guilty
        except Exception as exc:
            for _, future in taken.values():
                if not future.done():
                    future.set_exception(exc)
            return
        for partition, (_, future) in taken.items():
            if not future.done():
                future.set_result(results[partition])

    async def _transaction(
        self, batches: dict[int, list[Delivery]], *, careful: bool
    ) -> dict[int, Applied]:
        small = sum(len(batch) for batch in batches.values()) <= self.pipeline_max
        async with self.pool.connection() as conn:
            if careful:
                async with conn.transaction():
                    return await apply_partitions(conn, self.model, batches)
            async with contextlib.AsyncExitStack() as stack:
                if small:
                    await stack.enter_async_context(conn.pipeline())
                await stack.enter_async_context(conn.transaction())
                return await apply_partitions(conn, self.model, batches, isolate=False)
        raise AssertionError("unreachable")  # mypy: the context managers swallow nothing


def jitter() -> float:
    """A factor between 0.5 and 1.5: retries and turns of many tasks and processes spread out."""
    return 0.5 + random.random()


class _Session:
    """One autocommit connection of its own, opened on first use and again after a failure."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._conn: psycopg.AsyncConnection[tuple[Any, ...]] | None = None

    async def get(self) -> psycopg.AsyncConnection[tuple[Any, ...]]:
        """The connection; a new one if there is none (10 s: a starved loop connects slowly)."""
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                self.conninfo, autocommit=True, connect_timeout=10
            )
        return self._conn

    async def reset(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
        self._conn = None


async def _no_commit_wait(conn: psycopg.AsyncConnection[Any]) -> None:
    """Projector sessions don't wait for fsync at commit.

    Read models are derived data and each batch's checkpoint commits with its
    rows: a crash can only lose both together, and the projector re-applies
    from the older checkpoint (docs/adr/0005-exactly-once-projections.md).
    """
    await conn.execute("SET synchronous_commit = off")
    await conn.commit()


class Projector:
    """Runs every given read model on the partitions this process holds a lease for."""

    def __init__(
        self,
        conninfo: str,
        nats_url: str,
        models: Sequence[ReadModel],
        *,
        partitions: int = PARTITIONS,
        batch: int = 1000,
        lease_ttl: float = 6.0,
        owner: str | None = None,
        trace: HopTrace | None = None,
    ) -> None:
        self.trace = trace  # per-hop timestamps (the freshness bench), off by default
        self.conninfo, self.nats_url, self.models = conninfo, nats_url, list(models)
        self.partitions, self.batch, self.lease_ttl = partitions, batch, lease_ttl
        self.owner = owner or f"projector-{uuid.uuid4().hex[:8]}"
        self.workers: dict[tuple[str, int], asyncio.Task[None]] = {}
        self._partition_workers: dict[tuple[str, int], PartitionWorker] = {}

    async def run(self, stop: asyncio.Event) -> None:
        pool: Pool = AsyncConnectionPool(
            self.conninfo,
            min_size=2,
            max_size=2 + len(self.models) * self.partitions,  # one per partition worker
            open=False,
            configure=_no_commit_wait,
            check=check_connection,  # replaced if cut (PostgreSQL restart): streams/pool_check.py
        )
        await pool.open(wait=True)
        nc: NATS = await nats.connect(
            nats_servers(self.nats_url),
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            name=self.owner,
        )
        js = nc.jetstream()
        await ensure_event_stream(js)
        leases = [Leases(m.name, self.owner, self.partitions, self.lease_ttl) for m in self.models]
        appliers = {m.name: SharedApplier(pool, m) for m in self.models}
        session = _Session(self.conninfo)  # claims and hand-overs, never queued behind the pool
        heartbeat = LeaseHeartbeat(
            self.conninfo, self.owner, [m.name for m in self.models], self.lease_ttl, self._renewed
        )
        heartbeat.start()
        try:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    await self._balance(session, js, pool, leases, appliers)
                except psycopg.OperationalError as exc:  # a database restart: workers retry too
                    await session.reset()
                    log.warning("projector: partitions not balanced, again shortly: %s", exc)
                took = time.monotonic() - started
                if took > self.lease_ttl / 3:
                    log.info("projector %s: a balance turn took %.1f s", self.owner, took)
                with contextlib.suppress(TimeoutError):  # jittered: owners don't move in step
                    await asyncio.wait_for(stop.wait(), self.lease_ttl / 3 * jitter())
        finally:
            await heartbeat.stop()
            await self._stop_workers(list(self.workers))
            for applier in appliers.values():
                await applier.close()
            with contextlib.suppress(Exception):
                conn = await session.get()
                for lease in leases:
                    await lease.release(conn)
            await session.reset()
            await nc.close()
            await pool.close()

    def _renewed(self, held: dict[str, set[int]], sent: float) -> None:
        """Stop the workers of partitions another owner has taken (the heartbeat's report).

        A worker created after the renewal was sent may hold a lease claimed since:
        it is left alone until the next report.
        """
        for key, task in list(self.workers.items()):
            name, partition = key
            worker = self._partition_workers[key]
            if task.done() or partition in held.get(name, set()) or worker.created >= sent:
                continue
            log.warning(
                "projector %s: %s/p%d was taken over by another owner; stopping here",
                self.owner,
                name,
                partition,
            )
            worker.stopping = True
            task.cancel()

    async def _balance(
        self,
        session: _Session,
        js: JetStreamContext,
        pool: Pool,
        leases: list[Leases],
        appliers: dict[str, SharedApplier],
    ) -> None:
        for model, lease in zip(self.models, leases, strict=True):

            async def hand_over(surplus: set[int], name: str = model.name) -> None:
                """Stop the surplus partitions' workers before their leases are given back."""
                await self._stop_workers(
                    [(name, p) for p in sorted(surplus) if (name, p) in self.workers]
                )

            held = await lease.refresh(await session.get(), before_release=hand_over)
            running = {p for (m, p), t in self.workers.items() if m == model.name and not t.done()}
            if held != running:
                log.info(
                    "projector %s: %s partitions %s (starting %s, stopping %s)",
                    self.owner,
                    model.name,
                    sorted(held),
                    sorted(held - running),
                    sorted(running - held),
                )
            for partition in range(self.partitions):
                key = (model.name, partition)
                task = self.workers.get(key)
                if partition in held and (task is None or task.done()):
                    worker = PartitionWorker(
                        pool, js, model, partition, self.batch, trace=self.trace
                    )
                    self._partition_workers[key] = worker
                    self.workers[key] = asyncio.create_task(self._supervise(worker))
                elif partition not in held and task is not None and not task.done():
                    await self._stop_workers([key])

    async def _stop_workers(self, keys: list[tuple[str, int]]) -> None:
        """Stop these partition workers: flag, cancel, and cancel again until they are done."""
        tasks = [self.workers[key] for key in keys]
        for key in keys:
            self._partition_workers[key].stopping = True
        pending = {task for task in tasks if not task.done()}
        while pending:
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=1.0)
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _supervise(self, worker: PartitionWorker) -> None:
        """Run the worker; after infrastructure trouble, retry with a growing pause."""
        key = (worker.model.name, worker.partition)
        pause = RETRY_FIRST
        while not worker.stopping:
            applied = worker.applied
            try:
                await worker.run()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database, the broker, a newer schema: never parked
                log.warning("projection %s/p%d retrying in %.1f s: %s", *key, pause, exc)
                with contextlib.suppress(Exception):
                    async with worker.pool.connection(timeout=2.0) as conn:
                        await mark(conn, *key, "retrying", error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(pause * jitter())  # not every partition at the same moment
                pause = RETRY_FIRST if worker.applied > applied else min(pause * 2, RETRY_MAX)
