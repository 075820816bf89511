"""The POS ingest's transport: a JetStream pull loop that cannot spin, starve or hang.

One durable pull consumer (``obrador-pos-ingest``, explicit acks). Each batch
is handled store by store: stores concurrently, one store's tickets in order
(they consume the same stock streams, so running them together only makes
them conflict). A message is acked only once its sale is committed or
its dead letter has been stored by JetStream (the publish is acknowledged).
What keeps the rest of the process alive (issue 8, defect 1):

- every wait is a real ``await`` with a timeout, and a lost or closed
  connection is reopened after a growing, jittered pause: never a busy loop;
- transient failures (database or broker down) are nacked with a delay and
  make the loop pause before its next fetch (a circuit breaker);
- ``stop`` ends the loop after the batch in hand, or cancels it after
  ``STOP_GRACE`` seconds: unacked messages simply come back later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import replace
from typing import Any, Final

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import BadRequestError

from commands.pos import telemetry
from commands.pos.deadletter import Refusal, dead_letter
from commands.pos.ingest import (
    DLQ_STREAM_NAME,
    DURABLE,
    MAX_UNEXPECTED_DELIVERIES,
    POS_STREAM_NAME,
    TRANSIENT,
    TicketProcessor,
)
from commands.pos.schema import DLQ_TOKEN, SALES_TOKEN, SUBJECT_ROOT, dlq_subject
from streams.cluster import add_stream_replicated, nats_servers

log = logging.getLogger("obrador.pos")

#: Seconds a fetch waits for messages (also the longest delay before ``stop`` is seen).
FETCH_TIMEOUT: Final = 1.0
#: Seconds the batch in hand may take to finish once ``stop`` is set.
STOP_GRACE: Final = 3.0
#: Pause bounds after a lost connection or a batch with transient failures (seconds).
BACKOFF_FIRST: Final = 0.2
BACKOFF_MAX: Final = 10.0


def pos_stream_config() -> StreamConfig:
    return StreamConfig(
        name=POS_STREAM_NAME,
        description="Tickets published by POS adapters",
        subjects=[f"{SUBJECT_ROOT}.*.*.{SALES_TOKEN}"],
        storage=StorageType.FILE,
        duplicate_window=120.0,  # a till resending with the same Nats-Msg-Id is dropped early
        max_age=30 * 86_400.0,
    )


def dlq_stream_config() -> StreamConfig:
    return StreamConfig(
        name=DLQ_STREAM_NAME,
        description="POS messages refused by the ingest, with the reason in headers",
        subjects=[f"{SUBJECT_ROOT}.*.*.{DLQ_TOKEN}.*"],
        storage=StorageType.FILE,
        duplicate_window=600.0,  # a redelivered refusal is dead-lettered once
    )


def consumer_config() -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=DURABLE,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=30.0,
        max_deliver=-1,
        deliver_policy=DeliverPolicy.ALL,
        max_ack_pending=1000,
    )


class Backoff:
    """0.2 s doubling to 10 s, with jitter; ``reset`` after a success."""

    def __init__(self, first: float = BACKOFF_FIRST, cap: float = BACKOFF_MAX) -> None:
        self.first, self.cap, self.failures = first, cap, 0

    def next(self) -> float:
        self.failures += 1
        delay: float = min(self.cap, self.first * 2.0 ** min(self.failures - 1, 30))
        return delay * random.uniform(0.8, 1.2)

    def reset(self) -> None:
        self.failures = 0


class IngestConsumer:
    """Feeds ``processor`` from JetStream until ``stop`` is set."""

    def __init__(self, nats_url: str, processor: TicketProcessor, *, batch_size: int = 64) -> None:
        self.nats_url = nats_url
        self.processor = processor
        self.batch_size = batch_size
        self.connected = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        loop_task = asyncio.create_task(self._sessions(stop))
        stopped = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({loop_task, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not loop_task.done():
                await asyncio.wait({loop_task}, timeout=STOP_GRACE)
        finally:
            stopped.cancel()
            if not loop_task.done():
                log.warning("ingest: batch still running %.0fs after stop; cancelled", STOP_GRACE)
                loop_task.cancel()
            await asyncio.gather(loop_task, stopped, return_exceptions=True)
        if not loop_task.cancelled() and loop_task.exception() is not None:
            raise loop_task.exception()  # type: ignore[misc]

    async def _sessions(self, stop: asyncio.Event) -> None:
        """Connect, consume, and on any connection failure pause and connect again."""
        backoff = Backoff()
        first = True
        while not stop.is_set():
            nc: Client | None = None
            try:
                nc = await nats.connect(
                    nats_servers(self.nats_url),
                    name="obrador-pos-ingest",
                    connect_timeout=2,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    error_cb=_log_nats_error,
                    allow_reconnect=True,
                )
                if not first:
                    self.processor.counters.reconnects += 1
                first = False
                await self._session(nc, stop, backoff)
            except (NatsError, OSError, TimeoutError) as exc:
                delay = backoff.next()
                log.warning("ingest: NATS connection lost (%r); again in %.1fs", exc, delay)
                await _pause(stop, delay)
            except Exception:  # never let a surprise end the ingest silently: log, pause, go on
                delay = backoff.next()
                log.exception("ingest: consumer loop failed; again in %.1fs", delay)
                await _pause(stop, delay)
            finally:
                self.connected.clear()
                if nc is not None and not nc.is_closed:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(nc.close(), 2.0)

    async def _session(self, nc: Client, stop: asyncio.Event, backoff: Backoff) -> None:
        js = nc.jetstream()
        await _ensure_stream(js, pos_stream_config())
        await _ensure_stream(js, dlq_stream_config())
        sub = await js.pull_subscribe(
            f"{SUBJECT_ROOT}.*.*.{SALES_TOKEN}",
            durable=DURABLE,
            stream=POS_STREAM_NAME,
            config=consumer_config(),
        )
        self.connected.set()
        backoff.reset()
        while not stop.is_set():
            if nc.is_closed:
                raise nats.errors.ConnectionClosedError
            asked = time.monotonic()
            try:
                messages = await sub.fetch(self.batch_size, timeout=FETCH_TIMEOUT)
            except (NatsTimeout, TimeoutError):  # nothing to fetch (nats-py raises either)
                if time.monotonic() - asked < FETCH_TIMEOUT / 2:  # gave up without waiting:
                    await _pause(stop, FETCH_TIMEOUT / 2)  # never turn that into a busy loop
                continue
            by_store: dict[str, list[Msg]] = {}
            for message in messages:
                by_store.setdefault(message.subject, []).append(message)
            outcomes = await asyncio.gather(
                *(self._handle_in_order(js, nc, group) for group in by_store.values())
            )
            if all(outcomes):
                backoff.reset()
            else:  # the store or the broker is failing: give it room before fetching more
                await _pause(stop, backoff.next())

    async def _handle_in_order(self, js: Any, nc: Client, messages: list[Msg]) -> bool:
        """One store's messages one after the other: its tickets share stock streams."""
        outcomes = [await self._handle(js, nc, message) for message in messages]
        return all(outcomes)

    async def _handle(self, js: Any, nc: Client, msg: Msg) -> bool:
        """Handle one message; False when it met a failure (nacked, it comes back)."""
        try:
            return await self._handle_one(js, nc, msg)
        except Exception as exc:
            log.exception("ingest: message on %s not handled", msg.subject)
            return await self._retry(msg, 1, exc)

    async def _handle_one(self, js: Any, nc: Client, msg: Msg) -> bool:
        counters = self.processor.counters
        headers = dict(msg.headers or {})
        tenant_id, store_id = _tokens(msg.subject)
        meta = msg.metadata
        try:
            refusal = await self.processor.process(tenant_id, store_id, headers, msg.data)
        except TRANSIENT as exc:
            return await self._retry(msg, meta.num_delivered, exc)
        except Exception as exc:  # a bug must not lose the ticket: retried, then dead-lettered
            if meta.num_delivered < MAX_UNEXPECTED_DELIVERIES:
                log.exception("ticket on %s failed (delivery %d)", msg.subject, meta.num_delivered)
                await _quietly(msg.nak(delay=1.0))
                return True
            refusal = Refusal("$", "internal_error", f"{type(exc).__name__}: {exc}")
        if refusal is not None:
            letter = dead_letter(
                headers,
                msg.data,
                refusal,
                subject=msg.subject,
                seq=meta.sequence.stream,
                max_payload=nc.max_payload,
            )
            try:
                await js.publish(
                    dlq_subject(tenant_id, store_id, refusal.rule),
                    letter.body,
                    headers=letter.headers,
                    stream=DLQ_STREAM_NAME,
                    timeout=5.0,
                )
            except (NatsError, OSError, TimeoutError) as exc:
                return await self._retry(msg, meta.num_delivered, exc)
            counters.dead_lettered[refusal.rule] += 1
            telemetry.DEAD_LETTERED.labels(refusal.rule).inc()
            log.info(
                "dead-lettered %s seq %s: %s (%s) %s",
                msg.subject,
                meta.sequence.stream,
                refusal.field,
                refusal.rule,
                refusal.reason,
            )
        await _quietly(msg.ack())
        return True

    async def _retry(self, msg: Msg, delivered: int, exc: BaseException) -> bool:
        self.processor.counters.retried += 1
        delay = min(30.0, 0.5 * 2 ** min(delivered, 6))
        log.warning("ticket on %s not handled yet (%r); retry in %.1fs", msg.subject, exc, delay)
        await _quietly(msg.nak(delay=delay))
        return False


async def _ensure_stream(js: Any, config: StreamConfig) -> None:
    try:
        await add_stream_replicated(js, config)  # three copies on a cluster, one on a server
    except BadRequestError:  # it exists with another configuration: bring it up to date
        current = await js.stream_info(config.name)  # ... keeping the replicas it has
        await js.update_stream(replace(config, num_replicas=current.config.num_replicas))


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    """Sleep, but wake up at once when ``stop`` is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _quietly(ack: Any) -> None:
    """Ack or nak; if the connection is gone the message simply comes back after ack_wait."""
    try:
        await ack
    except (NatsError, OSError) as exc:
        log.warning("ingest: could not ack/nak (%r); JetStream will redeliver", exc)


async def _log_nats_error(exc: Exception) -> None:
    log.warning("ingest: NATS error: %r", exc)


def _tokens(subject: str) -> tuple[str, str]:
    parts = subject.split(".")
    return parts[1], parts[2]
