"""The relay: the store's global log, published to JetStream once, in order.

It keeps no checkpoint of its own. On start it asks JetStream for the newest
message and resumes right after that event's position. Every publish names
the event id it expects the stream to end with (``Nats-Expected-Last-Msg-Id``),
so the stream can only ever hold an exact prefix of the log: if one publish
fails, every later one in flight is refused too, and the relay restarts from
what JetStream holds. It never skips, never publishes twice
(docs/adr/0005-exactly-once-projections.md).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import msgspec
import nats
import psycopg
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.errors import APIError

from streams.cluster import nats_servers
from streams.hoptrace import HopTrace
from streams.jetstream import (
    H_ENVELOPE,
    H_MSG_ID,
    H_POSITION,
    STREAM_NAME,
    Envelope,
    ensure_event_stream,
    last_relayed,
    partition_of,
    partition_tails,
    subject_of,
)
from streams.relay_read import LogReader, LogRow, with_partition_prev
from streams.relay_wake import Wakeups
from streams.store import EventStore
from streams.telemetry import RELAY_LAG_SECONDS, RELAY_POSITION, RELAY_PUBLISHED, RELAY_RESTARTS

log = logging.getLogger("obrador.relay")


@dataclass
class RelayStats:
    position: int = 0
    published: int = 0
    restarts: int = 0
    last_publish_at: float = field(default_factory=time.time)
    lag_seconds: float = 0.0
    reads: int = 0  # reads of the log, empty ones included


class Relay:
    def __init__(
        self,
        store: EventStore,
        nats_url: str,
        *,
        batch: int = 2000,
        window: int = 4000,
        trace: HopTrace | None = None,
        ack_timeout: float = 10.0,
    ) -> None:
        self.store = store
        self.trace = trace  # per-hop timestamps (the freshness bench), off by default
        self.nats_url = nats_url
        self.batch = batch
        self.window = window  # publishes awaiting their ack at most
        self.ack_timeout = ack_timeout  # then the relay restarts from JetStream's tail
        self.stats = RelayStats()
        self._nc: NATS | None = None
        self._tails: dict[int, int] = {}
        self._partitions: dict[str, int] = {}  # tenant -> partition
        self._subjects: dict[tuple[str, str, str], str] = {}  # (tenant, stream kind, type)
        self._refused = asyncio.Event()  # set by the connection when JetStream refused a publish
        self._refusal = ""

    async def connect(self) -> JetStreamContext:
        self._nc = await nats.connect(
            nats_servers(self.nats_url),
            error_cb=self._on_async_error,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            name="obrador-relay",
        )
        js = self._nc.jetstream(publish_async_max_pending=self.window)
        await ensure_event_stream(js)
        return js

    async def _on_async_error(self, exc: Exception) -> None:
        if isinstance(exc, APIError):  # a refused publish (see ``_settle``)
            self._refusal = str(exc)
            self._refused.set()
        else:
            log.warning("relay: NATS connection: %r", exc)

    async def close(self) -> None:
        if self._nc is not None and not self._nc.is_closed:
            try:
                await self._nc.drain()
            except (nats.errors.Error, OSError):
                await self._nc.close()

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop`` is set; any publish failure restarts from JetStream's tail."""
        js = await self.connect()
        in_a_row, published = 0, self.stats.published
        try:
            while not stop.is_set():
                try:
                    await self._relay(js, stop)
                except (APIError, TimeoutError, nats.errors.Error, psycopg.OperationalError) as exc:
                    # the broker refused or went away, or the database did (a restart, a
                    # failover; PoolTimeout is one too): start again from JetStream's tail
                    self.stats.restarts += 1
                    RELAY_RESTARTS.inc()
                    log.warning("relay restarting from JetStream's tail after: %s", exc)
                    # the pause grows with failures in a row, and starts over after progress
                    in_a_row = 1 if self.stats.published > published else in_a_row + 1
                    published = self.stats.published
                    await asyncio.sleep(min(5.0, 0.1 * in_a_row))
        finally:
            await self.close()

    async def _relay(self, js: JetStreamContext, stop: asyncio.Event) -> None:
        """Read and publish in one task, settle acks in another; either failing ends both.

        The publisher never waits for acks (the window, nats-py's
        ``publish_async_max_pending``, bounds what is in flight): once caught up
        it goes straight back to waiting for NOTIFY while the settler collects
        the acks. A full read is followed at once by the next one, sent before
        the batch is published so PostgreSQL works while the relay publishes.
        """
        self._refused.clear()
        position, last_id = await last_relayed(js)
        self._tails = await partition_tails(js)
        self.stats.position = position
        sent: asyncio.Queue[tuple[list[asyncio.Future[js_api.PubAck]], int] | None]
        sent = asyncio.Queue()
        conninfo = str(self.store.pool.conninfo)
        reader = await LogReader.connect(conninfo)
        try:
            wake = await Wakeups.listen(conninfo)
        except BaseException:
            await reader.close()
            raise
        publisher = asyncio.create_task(
            self._publish_from(
                reader, wake, js, stop, position=position, last_id=last_id, sent=sent
            )
        )
        settler = asyncio.create_task(self._settle_from(sent))
        try:
            done, _ = await asyncio.wait({publisher, settler}, return_when=asyncio.FIRST_COMPLETED)
            if publisher in done and publisher.exception() is None:  # stopped: settle the rest
                sent.put_nowait(None)
                await settler
            for task in done:
                task.result()  # raises the failure that ended the relay
        finally:
            for task in (publisher, settler):
                task.cancel()
            await asyncio.gather(publisher, settler, return_exceptions=True)
            while not sent.empty():  # unsettled publishes: free their window slots
                item = sent.get_nowait()
                for future in item[0] if item else ():
                    future.cancel()
            await reader.close()
            await wake.close()

    async def _publish_from(
        self,
        reader: LogReader,
        wake: Wakeups,
        js: JetStreamContext,
        stop: asyncio.Event,
        *,
        position: int,
        last_id: str | None,
        sent: asyncio.Queue[tuple[list[asyncio.Future[js_api.PubAck]], int] | None],
    ) -> None:
        ahead: asyncio.Task[list[LogRow]] | None = None
        seen = wake.mark()  # notifications the coming read covers
        while not stop.is_set():
            if ahead is not None:
                rows, ahead = await ahead, None
            else:
                seen = wake.mark()
                rows = await reader.read(position, self.batch)
            self.stats.reads += 1
            if not rows:
                self.stats.lag_seconds = 0.0
                RELAY_LAG_SECONDS.set(0.0)
                await wake.wait(seen, position, 0.5)
                continue
            if self.trace is not None:
                self.trace.record("read", first=rows[0].position, last=rows[-1].position)
            full = len(rows) == self.batch
            if full:  # the next read runs in PostgreSQL while this batch is published
                seen = wake.mark()
                ahead = asyncio.create_task(reader.read(rows[-1].position, self.batch))
                await asyncio.sleep(0)  # let it send the query
            futures = []
            for row in rows:
                futures.append(await self._publish(js, row, last_id))
                last_id = row.event_id
            position = rows[-1].position
            sent.put_nowait((futures, position))
            self._note(rows[-1])
            if not full:
                await wake.wait(seen, position, 0.5)
        if ahead is not None:
            ahead.cancel()
            await asyncio.gather(ahead, return_exceptions=True)

    async def _settle_from(
        self, sent: asyncio.Queue[tuple[list[asyncio.Future[js_api.PubAck]], int] | None]
    ) -> None:
        while (item := await sent.get()) is not None:
            await self._settle(*item)

    async def _publish(
        self, js: JetStreamContext, row: LogRow, expected_last_id: str | None
    ) -> asyncio.Future[js_api.PubAck]:
        tenant = row.tenant_id
        partition = self._partitions.get(tenant)
        if partition is None:
            partition = self._partitions[tenant] = partition_of(tenant)
        key = (tenant, row.stream_id.split("-", 1)[0], row.event_type)
        subject = self._subjects.get(key)
        if subject is None:
            subject = self._subjects[key] = subject_of(tenant, row.stream_id, row.event_type)
        headers = {
            H_MSG_ID: row.event_id,
            H_POSITION: str(row.position),
            H_ENVELOPE: with_partition_prev(row.envelope, self._tails.get(partition, 0)),
        }
        self._tails[partition] = row.position
        if expected_last_id is not None:
            headers["Nats-Expected-Last-Msg-Id"] = expected_last_id
        else:
            headers["Nats-Expected-Last-Sequence"] = "0"
        return await js.publish_async(subject, row.payload, headers=headers, stream=STREAM_NAME)

    async def _settle(self, pending: list[asyncio.Future[js_api.PubAck]], upto: int) -> None:
        """Wait for acks up to position ``upto``; raise on the first refused publish.

        (The relay then restarts from JetStream's tail.)
        """
        if not pending:
            return
        # nats-py (2.16) raises a refused publish (another relay published first: wrong last
        # msg id; a duplicate still in flight) inside its reply handler instead of failing the
        # future, which then never completes. The handler's error reaches the connection's
        # error callback (``_on_async_error``), which wakes this wait at once; the timeout
        # covers a broker that went silent. Cancelling the waits frees their publish slots.
        acked: asyncio.Future[Any] = asyncio.gather(*pending, return_exceptions=True)
        acked.add_done_callback(_retrieve)  # a cancelled gather is not an error to report
        refused: asyncio.Future[Any] = asyncio.ensure_future(self._refused.wait())
        try:
            await asyncio.wait(
                {acked, refused}, timeout=self.ack_timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            refused.cancel()
        if not acked.done():
            acked.cancel()
            for future in pending:
                future.cancel()
            raise TimeoutError(
                f"publishes refused ({self._refusal})"
                if self._refused.is_set()
                else f"publishes unanswered after {self.ack_timeout:.0f} s"
            )
        for future in pending:
            error = future.exception()
            if error is not None:
                raise error if isinstance(error, Exception) else RuntimeError(str(error))
        self.stats.published += len(pending)
        RELAY_PUBLISHED.inc(len(pending))
        if self.trace is not None:
            self.trace.record("acked", last=upto)

    def _note(self, newest: LogRow) -> None:
        self.stats.position = newest.position
        self.stats.last_publish_at = time.time()
        recorded_at = _envelope_of(newest).recorded_at.timestamp()
        self.stats.lag_seconds = max(0.0, time.time() - recorded_at)
        RELAY_POSITION.set(newest.position)
        RELAY_LAG_SECONDS.set(self.stats.lag_seconds)


def _envelope_of(row: LogRow) -> Envelope:
    return msgspec.json.decode(with_partition_prev(row.envelope, 0), type=Envelope)


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
