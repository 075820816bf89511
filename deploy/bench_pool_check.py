"""Cost of the pools' connection check: appends/s and borrows/s with each check, same run.

``python -m deploy.bench_pool_check [--writers 32,1] [--rounds 6] [--seconds 3]``
starts a private embedded stack and, alternating the order each round, measures:

* appends as ``obrador bench store --quick`` makes them (each writer appends 1-5
  events to its own stream, fsync on), through :class:`streams.store.EventStore`
  over a pool with no check, psycopg_pool's ``check_connection``, and
  :func:`streams.pool_check.check_connection`;
* a borrow + ``SELECT 1`` loop on a one-connection pool (the check's own cost).

Prints each variant's median and its ratio to "no check" (docs/deploy.md).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import tuple_row
from psycopg_pool import AsyncConnectionPool

from deploy.scratch import scratch_schema
from deploy.settings import Settings
from deploy.stack import running_stack
from streams.envelope import NewEvent
from streams.pool_check import check_connection
from streams.store import EventStore

PAYLOAD = b'{"store_id":"s1","sku":"baguette","quantity":"2","unit_price":"1.10"}'
Check = Callable[[psycopg.AsyncConnection[Any]], Awaitable[None]] | None
CHECKS: dict[str, Check] = {
    "none": None,
    "check_connection": AsyncConnectionPool.check_connection,
    "pool_check": check_connection,
}


async def _appends(conninfo: str, check: Check, writers: int, seconds: float) -> float:
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        conninfo,
        min_size=4,
        max_size=8,
        open=False,
        kwargs={"row_factory": tuple_row},
        check=check,
    )
    await pool.open(wait=True)
    store = EventStore(pool)
    rng = random.Random(7)
    count = 0
    tag = f"w{time.monotonic_ns()}"
    deadline = time.perf_counter() + seconds

    async def writer(w: int) -> None:
        nonlocal count
        version = 0
        while time.perf_counter() < deadline:
            n = rng.randint(1, 5)
            events = [NewEvent(event_type="SaleRecorded", payload=PAYLOAD) for _ in range(n)]
            await store.append("bench", f"{tag}-{w}", events, expected_version=version)
            version += n
            count += 1

    started = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(writers)))
    elapsed = time.perf_counter() - started
    await store.close()
    return count / elapsed


async def _borrows(conninfo: str, check: Check, n: int = 2000) -> float:
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        conninfo, min_size=1, max_size=1, open=False, check=check
    )
    await pool.open(wait=True)
    started = time.perf_counter()
    for _ in range(n):
        async with pool.connection() as conn:
            await conn.execute("SELECT 1")
    elapsed = time.perf_counter() - started
    await pool.close()
    return n / elapsed


async def _compare(label: str, rounds: int, measure: Callable[[Check], Awaitable[float]]) -> None:
    runs: dict[str, list[float]] = {name: [] for name in CHECKS}
    names = list(CHECKS)
    for i in range(rounds):
        for name in names if i % 2 == 0 else names[::-1]:
            runs[name].append(await measure(CHECKS[name]))
    base = statistics.median(runs["none"])
    for name, values in runs.items():
        median = statistics.median(values)
        print(f"{label:<22} {name:<17} median {median:8.0f}/s  ratio {median / base:.3f}")


async def _main(conninfo: str, writers: list[int], rounds: int, seconds: float) -> None:
    await _compare("borrow + SELECT 1", rounds, lambda c: _borrows(conninfo, c))
    for w in writers:

        def appends(check: Check, writers: int = w) -> Awaitable[float]:
            return _appends(conninfo, check, writers, seconds)

        await _compare(f"appends, {w} writers", rounds, appends)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", default="32,1")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    writers = [int(x) for x in args.writers.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(database_url=None, nats_url=None, data_dir=Path(folder))
        with (
            running_stack(settings, log=None) as urls,
            scratch_schema(urls.database_url, "b") as url,
        ):
            asyncio.run(_main(url, writers, args.rounds, args.seconds))


if __name__ == "__main__":
    main()
