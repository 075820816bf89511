"""Group commit: concurrent appends share transactions, so they share fsyncs.

Each append waits on a future; a few batches are in flight at once and every
append that arrives meanwhile joins the next batch. No append is acknowledged
before the transaction holding it has committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import AsyncConnectionPool

from streams.append_batch import write_batch
from streams.envelope import AppendRequest, AppendResult
from streams.errors import InvalidAppend, StoreError, StoreUnavailable
from streams.telemetry import observe_appends

Outcome = AppendResult | StoreError
_RETRYABLE = (pg_errors.DeadlockDetected, pg_errors.SerializationFailure)


class GroupCommitter:
    def __init__(
        self,
        pool: AsyncConnectionPool[psycopg.AsyncConnection[tuple[object, ...]]],
        *,
        max_batch: int = 512,
        max_inflight: int = 2,
    ) -> None:
        self._pool = pool
        self._max_batch = max_batch
        self._max_inflight = max_inflight
        self._pending: deque[tuple[AppendRequest, asyncio.Future[Outcome]]] = deque()
        self._inflight = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, request: AppendRequest) -> Outcome:
        started = time.perf_counter()
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._pending.append((request, future))
        self._kick()
        outcome = await future
        observe_appends("single", (outcome,), started)
        return outcome

    def _kick(self) -> None:
        while self._pending and self._inflight < self._max_inflight:
            batch = self._take()
            self._inflight += 1
            task = asyncio.create_task(self._run(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _take(self) -> list[tuple[AppendRequest, asyncio.Future[Outcome]]]:
        """Up to ``max_batch`` appends, at most one per stream and per idempotency key."""
        batch: list[tuple[AppendRequest, asyncio.Future[Outcome]]] = []
        later: list[tuple[AppendRequest, asyncio.Future[Outcome]]] = []
        streams: set[tuple[str, str]] = set()
        keys: set[tuple[str, str]] = set()
        while self._pending and len(batch) < self._max_batch:
            item = self._pending.popleft()
            request = item[0]
            stream = (request.tenant_id, request.stream_id)
            key = (request.tenant_id, request.key())
            if stream in streams or key in keys:
                later.append(item)
                continue
            streams.add(stream)
            keys.add(key)
            batch.append(item)
        self._pending.extendleft(reversed(later))
        return batch

    async def _run(self, batch: list[tuple[AppendRequest, asyncio.Future[Outcome]]]) -> None:
        try:
            outcomes = await write_with_retries(self._pool, [r for r, _ in batch])
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)
        except BaseException as exc:  # a bug must reach the callers, not vanish in a task
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            self._inflight -= 1
            self._kick()

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


async def write_with_retries(
    pool: AsyncConnectionPool[psycopg.AsyncConnection[tuple[object, ...]]],
    requests: list[AppendRequest],
    attempts: int = 5,
) -> list[Outcome]:
    """``write_batch`` plus the retries that are always safe (a failed batch wrote nothing)."""
    for attempt in range(attempts):
        try:
            async with pool.connection() as conn:
                # autocommit: the batch is one round trip, no BEGIN/COMMIT (write_batch)
                await conn.set_autocommit(True)
                try:
                    return await write_batch(conn, requests)
                except BaseException:
                    with contextlib.suppress(Exception):  # a cancelled reserve may hold the lock
                        await conn.execute("SELECT pg_advisory_unlock_all()")
                    raise
                finally:
                    with contextlib.suppress(Exception):  # back to the pool as it came
                        await conn.set_autocommit(False)
        except _RETRYABLE:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.001 * 2**attempt)
        except pg_errors.UniqueViolation as exc:
            if len(requests) == 1:
                return [_event_id_reused(requests[0], exc)]
            outcomes: list[Outcome] = []
            for request in requests:  # isolate the append that reused an event id
                outcomes.extend(await write_with_retries(pool, [request], attempts))
            return outcomes
        except (psycopg.OperationalError, pg_errors.AdminShutdown, OSError) as exc:
            unavailable = StoreUnavailable(
                f"database unavailable ({exc.__class__.__name__}); the append may not have "
                "been written — retrying with the same idempotency key is safe"
            )
            return [unavailable for _ in requests]
    raise AssertionError("unreachable")


def _event_id_reused(request: AppendRequest, exc: pg_errors.UniqueViolation) -> StoreError:
    if "events_event_id_key" in str(exc):
        return InvalidAppend("events[].event_id", "an event with this id is already stored")
    return StoreError(f"append to {request.stream_id!r} violated a uniqueness rule: {exc}")
