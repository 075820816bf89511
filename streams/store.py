"""The PostgreSQL event store, asynchronous face (services, relay, projectors)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Self

import psycopg
from psycopg import errors as pg_errors
from psycopg.rows import tuple_row
from psycopg_pool import AsyncConnectionPool

from streams.append_batch import NOTIFY_CHANNEL, write_batch
from streams.envelope import AppendRequest, AppendResult, RecordedEvent
from streams.errors import StoreError
from streams.front import StoreFront
from streams.group_commit import GroupCommitter, write_with_retries
from streams.pool_check import check_connection
from streams.subject_keys import PgKeyring
from streams.telemetry import observe_appends
from streams.validation import check_atomic_group, validate_request, validate_tenant

_COLUMNS = (
    "position, event_id, tenant_id, stream_id, stream_version, event_type, schema_version,"
    " payload, recorded_at, causation_id, correlation_id, actor"
)
#: stream ids per lookup query (existing_streams, first_events)
LOOKUP_BATCH = 20_000
AsyncPool = AsyncConnectionPool[psycopg.AsyncConnection[tuple[Any, ...]]]


def _recorded(row: tuple[Any, ...]) -> RecordedEvent:
    return RecordedEvent(
        position=row[0],
        event_id=row[1],
        tenant_id=row[2],
        stream_id=row[3],
        stream_version=row[4],
        event_type=row[5],
        schema_version=row[6],
        payload=row[7],
        recorded_at=row[8],
        causation_id=row[9],
        correlation_id=row[10],
        actor=row[11],
    )


class EventStore(StoreFront):
    """Append, read by stream, read the global log in commit order, wait for new events."""

    def __init__(self, pool: AsyncPool, *, max_batch: int = 512, max_inflight: int = 2) -> None:
        self.pool = pool
        self._committer = GroupCommitter(pool, max_batch=max_batch, max_inflight=max_inflight)
        self._notifier = _Notifier(pool)
        self.keyring = PgKeyring(pool)

    @classmethod
    async def open(cls, conninfo: str, *, min_size: int = 2, max_size: int = 16) -> Self:
        pool: AsyncPool = AsyncConnectionPool(
            conninfo,
            min_size=min_size,
            max_size=max_size,
            open=False,
            kwargs={"row_factory": tuple_row},
            # a connection cut under the pool (PostgreSQL restarted, failover, idle kill)
            # is noticed when lent out and replaced, instead of failing one call each
            check=check_connection,
        )
        await pool.open(wait=True)
        return cls(pool)

    async def close(self) -> None:
        await self._committer.drain()
        await self._notifier.close()
        await self.pool.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- writing -------------------------------------------------------------

    async def _submit(self, request: AppendRequest) -> AppendResult | StoreError:
        return await self._committer.submit(request)

    async def append_many(
        self, requests: Sequence[AppendRequest], *, atomic: bool = False
    ) -> list[AppendResult | StoreError]:
        """Several appends, outcomes in order.

        By default each append is checked and idempotent on its own. With
        ``atomic=True`` they commit together or not at all (one transaction):
        any stale version raises ``AtomicAppendRefused`` and nothing is written;
        if every append was already stored, the original results come back as
        duplicates. A stream or key may appear only once in an atomic group.
        """
        for request in requests:
            validate_request(request)
        if atomic:
            return await self._append_atomic(requests)
        return list(await asyncio.gather(*(self._committer.submit(r) for r in requests)))

    async def _append_atomic(
        self, requests: Sequence[AppendRequest]
    ) -> list[AppendResult | StoreError]:
        check_atomic_group(requests)
        started = time.perf_counter()
        for attempt in range(5):
            try:
                async with self.pool.connection() as conn:
                    try:
                        outcomes = await write_batch(conn, requests, atomic=True)
                        observe_appends("atomic", outcomes, started)
                        return outcomes
                    except BaseException:
                        with contextlib.suppress(Exception):
                            await conn.execute("SELECT pg_advisory_unlock_all()")
                        raise
            except (pg_errors.DeadlockDetected, pg_errors.SerializationFailure):
                if attempt == 4:
                    raise
                await asyncio.sleep(0.001 * 2**attempt)
        raise AssertionError("unreachable")

    async def bulk_append(
        self,
        requests: Iterable[AppendRequest],
        *,
        chunk_events: int = 20_000,
        concurrency: int = 2,
        on_progress: Callable[[int], None] | None = None,
    ) -> list[AppendResult | StoreError]:
        """Import path: large transactions of set-based SQL, same invariants as append.

        Each chunk commits on its own; re-running an import after a crash skips
        what was stored (idempotency keys) and continues. Up to ``concurrency``
        chunks are written at once (one prepares while another executes), but
        a chunk touching a stream of a chunk still in flight waits for it, so
        appends to one stream keep their order. Outcomes come back in input order.
        """
        slots: list[list[AppendResult | StoreError]] = []
        inflight: dict[asyncio.Task[list[AppendResult | StoreError]], set[tuple[str, str]]] = {}

        async def submit(chunk: list[AppendRequest], streams: set[tuple[str, str]]) -> None:
            if not chunk:
                return
            while inflight and (
                len(inflight) >= concurrency or any(streams & busy for busy in inflight.values())
            ):
                done, _ = await asyncio.wait(inflight, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    del inflight[task]
            index = len(slots)
            slots.append([])

            async def run() -> list[AppendResult | StoreError]:
                slots[index] = await self._write_chunk(chunk, on_progress)
                return slots[index]

            inflight[asyncio.create_task(run())] = streams

        chunk: list[AppendRequest] = []
        seen: set[tuple[str, str]] = set()
        size = 0
        try:
            for request in requests:
                validate_request(request)
                stream = (request.tenant_id, request.stream_id)
                if size + len(request.events) > chunk_events or stream in seen:
                    await submit(chunk, seen)
                    chunk, seen, size = [], set(), 0
                chunk.append(request)
                seen.add(stream)
                size += len(request.events)
            await submit(chunk, seen)
            await asyncio.gather(*inflight)
        finally:
            for task in inflight:
                task.cancel()
            await asyncio.gather(*inflight, return_exceptions=True)
        return [outcome for chunk_outcomes in slots for outcome in chunk_outcomes]

    async def _write_chunk(
        self, chunk: list[AppendRequest], on_progress: Callable[[int], None] | None
    ) -> list[AppendResult | StoreError]:
        if not chunk:
            return []
        started = time.perf_counter()
        keys = [(r.tenant_id, r.key()) for r in chunk]
        if len(set(keys)) != len(keys):  # same key twice in a chunk: first one wins
            out: list[AppendResult | StoreError] = []
            for request in chunk:
                out.extend(await write_with_retries(self.pool, [request]))
        else:
            out = await write_with_retries(self.pool, chunk)
        observe_appends("bulk", out, started)
        if on_progress is not None:
            on_progress(sum(len(r.events) for r in chunk))
        return out

    # -- reading -------------------------------------------------------------

    async def read_stream(
        self,
        tenant_id: str,
        stream_id: str,
        *,
        from_version: int | None = None,
        backwards: bool = False,
        limit: int | None = None,
    ) -> list[RecordedEvent]:
        """Events of one stream from ``from_version`` (inclusive), forwards or backwards."""
        validate_tenant(tenant_id)
        if backwards:
            query = (
                f"SELECT {_COLUMNS} FROM events WHERE tenant_id = %s AND stream_id = %s"
                " AND stream_version <= %s ORDER BY stream_version DESC LIMIT %s"
            )
            start = from_version if from_version is not None else 2**62
        else:
            query = (
                f"SELECT {_COLUMNS} FROM events WHERE tenant_id = %s AND stream_id = %s"
                " AND stream_version >= %s ORDER BY stream_version LIMIT %s"
            )
            start = from_version if from_version is not None else 1
        async with self.pool.connection() as conn:
            cur = await conn.execute(query, (tenant_id, stream_id, start, limit))
            return [_recorded(row) for row in await cur.fetchall()]

    async def stream_version(self, tenant_id: str, stream_id: str) -> int:
        """Current version of a stream; 0 when it does not exist."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT version FROM streams WHERE tenant_id = %s AND stream_id = %s",
                (tenant_id, stream_id),
            )
            row = await cur.fetchone()
            return int(row[0]) if row else 0

    async def existing_streams(self, tenant_id: str, stream_ids: Iterable[str]) -> set[str]:
        """Which of ``stream_ids`` exist in the tenant (asked in batches; any number of ids)."""
        validate_tenant(tenant_id)
        found: set[str] = set()
        async with self.pool.connection() as conn:
            for batch in _batches(stream_ids):
                cur = await conn.execute(
                    "SELECT stream_id FROM streams WHERE tenant_id = %s AND stream_id = ANY(%s)",
                    (tenant_id, batch),
                )
                found.update(str(row[0]) for row in await cur.fetchall())
        return found

    async def first_events(
        self, tenant_id: str, stream_ids: Iterable[str]
    ) -> dict[str, RecordedEvent]:
        """The first event (version 1) of each of ``stream_ids`` that exists, by stream id."""
        validate_tenant(tenant_id)
        found: dict[str, RecordedEvent] = {}
        async with self.pool.connection() as conn:
            for batch in _batches(stream_ids):
                cur = await conn.execute(
                    f"SELECT {_COLUMNS} FROM events WHERE tenant_id = %s AND stream_version = 1"
                    " AND stream_id = ANY(%s)",
                    (tenant_id, batch),
                )
                for row in await cur.fetchall():
                    event = _recorded(row)
                    found[event.stream_id] = event
        return found

    async def has_streams(self, tenant_id: str, *, prefix: str) -> bool:
        """Whether the tenant has any stream whose id starts with ``prefix``."""
        validate_tenant(tenant_id)
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT EXISTS (SELECT 1 FROM streams WHERE tenant_id = %s AND stream_id LIKE %s)",
                (tenant_id, pattern),
            )
            row = await cur.fetchone()
            return bool(row and row[0])

    async def stream_ids(self, tenant_id: str, *, prefix: str, limit: int = 100) -> list[str]:
        """Ids of the tenant's streams starting with ``prefix`` (sorted, at most ``limit``)."""
        validate_tenant(tenant_id)
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT stream_id FROM streams WHERE tenant_id = %s AND stream_id LIKE %s"
                " ORDER BY stream_id LIMIT %s",
                (tenant_id, pattern, limit),
            )
            return [str(row[0]) for row in await cur.fetchall()]

    async def read_all(
        self, *, after: int = 0, limit: int = 1000, tenant_id: str | None = None
    ) -> list[RecordedEvent]:
        """The global log after position ``after``, in commit order, never skipping a late commit.

        Only events whose transaction is older than every still-running one are
        returned (docs/adr/0002-gap-safe-global-log.md), so once a reader has
        seen position p, no event at or below p can appear later.
        """
        tenant_clause = ""
        params: tuple[Any, ...] = (after, limit)
        if tenant_id is not None:
            validate_tenant(tenant_id)
            tenant_clause = " AND tenant_id = %s"
            params = (after, tenant_id, limit)
        query = (
            f"SELECT {_COLUMNS} FROM events WHERE position > %s{tenant_clause}"
            " AND tx_id < obrador_visible_horizon() ORDER BY position LIMIT %s"
        )
        async with self.pool.connection() as conn:
            cur = await conn.execute(query, params)
            return [_recorded(row) for row in await cur.fetchall()]

    async def head_position(self) -> int:
        """The highest position a reader can currently see (0 for an empty store)."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT coalesce(max(position), 0) FROM events"
                " WHERE tx_id < obrador_visible_horizon()"
            )
            row = await cur.fetchone()
            return int(row[0]) if row else 0

    async def wait_for_events(self, after: int, timeout: float) -> bool:
        """Wait until an event after ``after`` may be readable, or ``timeout`` s pass.

        Woken by NOTIFY from committing appends; returns True when woken early.
        Callers re-read with ``read_all``: a wake-up is a hint, the log is the truth.
        """
        return await self._notifier.wait(after, timeout)


def _batches(ids: Iterable[str], size: int = LOOKUP_BATCH) -> Iterable[list[str]]:
    batch: list[str] = []
    for stream_id in ids:
        batch.append(stream_id)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class _Notifier:
    """One LISTEN connection shared by every waiter of this store."""

    def __init__(self, pool: AsyncPool) -> None:
        self._conninfo = str(pool.conninfo)
        self._conn: psycopg.AsyncConnection[tuple[Any, ...]] | None = None
        self._latest = 0
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def wait(self, after: int, timeout: float) -> bool:
        await self._ensure_listening()
        if self._latest > after:
            return True
        self._changed.clear()
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def _ensure_listening(self) -> None:
        async with self._lock:
            if self._task is not None and not self._task.done():
                return
            self._conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
            await self._conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
            self._task = asyncio.create_task(self._listen(self._conn))

    async def _listen(self, conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> None:
        try:
            async for note in conn.notifies():
                self._latest = max(self._latest, int(note.payload or 0))
                self._changed.set()
        except psycopg.OperationalError:
            self._changed.set()  # wake waiters; the next wait reconnects

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._conn is not None:
            await self._conn.close()
