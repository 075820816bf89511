"""The chain's cost in the database alone: group-commit-sized batches replayed on one connection.

``python -m deploy.bench_chain_replay [--rounds N] [--batches B]`` appends B batches
(12 appends of 1–5 events, the store benchmark's payload) through ``write_batch``
on one connection, to a schema without the chain (migrations below 0026) and to
one with it, rounds alternated, and prints the medians of the server process's
CPU seconds (``/proc/<backend pid>/stat``) and of the wall time. Unlike
``deploy.bench_chain`` nothing else competes for the connection, so on a busy
machine the CPU figure still isolates what the append functions cost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import time

import psycopg
from psycopg.rows import tuple_row

from deploy.bench_chain import _schema
from deploy.bench_store import PAYLOAD
from deploy.settings import Settings
from deploy.stack import running_stack
from streams.append_batch import write_batch
from streams.envelope import AppendRequest, NewEvent

APPENDS = 12
STREAMS = 32
Conn = psycopg.AsyncConnection[tuple[object, ...]]


def _backend_cpu(conn: Conn) -> float:
    with open(f"/proc/{conn.info.backend_pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _batch(conn: Conn, rng: random.Random, versions: list[int]) -> None:
    requests = []
    for w in rng.sample(range(STREAMS), APPENDS):
        n = rng.randint(1, 5)
        events = tuple(NewEvent(event_type="SaleRecorded", payload=PAYLOAD) for _ in range(n))
        requests.append(
            AppendRequest(
                tenant_id="bench",
                stream_id=f"writer-{w}",
                events=events,
                expected_version=versions[w],
            )
        )
        versions[w] += n
    for outcome in await write_batch(conn, requests):
        if isinstance(outcome, Exception):
            raise outcome


async def replay(conninfo: str, batches: int) -> tuple[float, float]:
    """(wall seconds, backend CPU seconds) of ``batches`` batches after 5 warm-up ones."""
    rng, versions = random.Random(7), [0] * STREAMS
    async with await psycopg.AsyncConnection.connect(conninfo, row_factory=tuple_row) as conn:
        for _ in range(5):
            await _batch(conn, rng, versions)
        cpu, started = _backend_cpu(conn), time.perf_counter()
        for _ in range(batches):
            await _batch(conn, rng, versions)
        return time.perf_counter() - started, _backend_cpu(conn) - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batches", type=int, default=200)
    args = parser.parse_args()
    runs: dict[str, list[tuple[float, float]]] = {"without": [], "with": []}
    with running_stack(Settings.from_env(), need_nats=False, log=None) as urls:
        for r in range(args.rounds):
            for chained in (False, True) if r % 2 == 0 else (True, False):
                with _schema(urls.database_url, chained=chained) as conninfo:
                    runs["with" if chained else "without"].append(
                        asyncio.run(replay(conninfo, args.batches))
                    )
    cpu = {side: statistics.median(c for _, c in r) for side, r in runs.items()}
    wall = {side: statistics.median(w for w, _ in r) for side, r in runs.items()}
    with open("/proc/loadavg") as loadavg:
        load = loadavg.read().split()[:3]
    result = {
        "db_cpu_s": {k: round(v, 3) for k, v in cpu.items()},
        "wall_s": {k: round(v, 3) for k, v in wall.items()},
        "db_cpu_ratio": round(cpu["with"] / cpu["without"], 3),
        "wall_ratio": round(wall["with"] / wall["without"], 3),
        "load": load,
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
