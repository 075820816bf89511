"""``obrador bench store``: concurrent durable appends, the stock eventsourcing recorder
on the same workload in the same run, and the bulk path.

Workload: 32 concurrent writers; each append carries 1-5 events (uniform, fixed
seed) to a stream of its own writer; every append is committed (fsync on)
before the writer's next one. Each figure is the median of ``--runs`` runs.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import random
import statistics
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from deploy.ceilings import copy_rows_per_s, event_rows, executemany_rows_per_s, ratio
from deploy.scratch import scratch_schema
from deploy.settings import Settings
from deploy.stack import running_stack
from streams.envelope import AppendRequest, NewEvent
from streams.store import EventStore

WRITERS = 32
PAYLOAD = b'{"store_id":"s1","sku":"baguette","quantity":"2","unit_price":"1.10"}'


@dataclass
class Figures:
    events_per_s: float
    appends_per_s: float
    p50_ms: float
    p99_ms: float
    baseline_events_per_s: float
    baseline_appends_per_s: float
    baseline_p99_ms: float
    ratio_vs_baseline: float
    executemany_rows_per_s: float
    ratio_vs_executemany: float
    bulk_events: int
    bulk_events_per_s: float
    copy_rows_per_s: float
    bulk_ratio_vs_copy: float
    seconds_per_run: float
    runs: int
    writers: int
    machine: str


async def _ours(conninfo: str, seconds: float) -> tuple[int, int, list[float]]:
    store = await EventStore.open(conninfo, min_size=4, max_size=8)
    rng = random.Random(7)
    latencies: list[float] = []
    counts = [0, 0]
    deadline = time.perf_counter() + seconds

    async def writer(w: int) -> None:
        version = 0
        while time.perf_counter() < deadline:
            n = rng.randint(1, 5)
            started = time.perf_counter()
            await store.append(
                "bench",
                f"writer-{w}",
                [NewEvent(event_type="SaleRecorded", payload=PAYLOAD) for _ in range(n)],
                expected_version=version,
            )
            latencies.append(time.perf_counter() - started)
            version += n
            counts[0] += 1
            counts[1] += n

    try:
        await asyncio.gather(*(writer(w) for w in range(WRITERS)))
    finally:
        await store.close()
    return counts[0], counts[1], latencies


def _baseline(url: str, seconds: float) -> tuple[int, int, list[float]]:
    """The eventsourcing library's stock PostgreSQL application recorder (LOCK TABLE per insert)."""
    from eventsourcing.persistence import StoredEvent
    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    params = conninfo_to_dict(url)
    schema = f"es_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    datastore = PostgresDatastore(
        dbname=str(params.get("dbname", "postgres")),
        host=str(params.get("host", "127.0.0.1")),
        port=str(params.get("port", 5432)),
        user=str(params.get("user", "postgres")),
        password=str(params.get("password", "")),
        pool_size=WRITERS,
        schema=schema,
    )
    recorder = PostgresApplicationRecorder(datastore, events_table_name="stored_events")
    recorder.create_table()
    rng = random.Random(7)
    lock = threading.Lock()
    latencies: list[float] = []
    counts = [0, 0]
    deadline = time.perf_counter() + seconds

    def writer() -> None:
        originator = uuid.uuid4()
        version = 1
        while time.perf_counter() < deadline:
            with lock:
                n = rng.randint(1, 5)
            events = [
                StoredEvent(
                    originator_id=originator,
                    originator_version=version + i,
                    topic="SaleRecorded",
                    state=PAYLOAD,
                )
                for i in range(n)
            ]
            started = time.perf_counter()
            recorder.insert_events(events)
            elapsed = time.perf_counter() - started
            version += n
            with lock:
                latencies.append(elapsed)
                counts[0] += 1
                counts[1] += n

    threads = [threading.Thread(target=writer) for _ in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    datastore.close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")
    return counts[0], counts[1], latencies


async def _bulk(conninfo: str, total: int) -> float:
    store = await EventStore.open(conninfo)
    per_stream = 4
    requests = (
        AppendRequest(
            tenant_id="bench",
            stream_id=f"sale-{i}",
            expected_version=0,
            events=tuple(
                NewEvent(event_type="SaleRecorded", payload=PAYLOAD) for _ in range(per_stream)
            ),
            idempotency_key=f"import:{i}",
        )
        for i in range(total // per_stream)
    )
    started = time.perf_counter()
    try:
        outcomes = await store.bulk_append(requests, chunk_events=50_000)
    finally:
        await store.close()
    elapsed = time.perf_counter() - started
    failed = [o for o in outcomes if isinstance(o, Exception)]
    if failed:
        raise RuntimeError(f"bulk append failed: {failed[0]}")
    return total / elapsed


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def run(url: str, *, seconds: float, runs: int, bulk_events: int) -> Figures:
    ours, base, raw, bulk, copy = [], [], [], [], []
    for _ in range(runs):
        with scratch_schema(url, "bench") as conninfo:
            appends, events, lat = asyncio.run(_ours(conninfo, seconds))
            raw.append(asyncio.run(executemany_rows_per_s(conninfo, PAYLOAD, seconds=seconds)))
        ours.append((appends / seconds, events / seconds, _pct(lat, 0.5), _pct(lat, 0.99)))
        b_appends, b_events, b_lat = _baseline(url, seconds)
        base.append((b_appends / seconds, b_events / seconds, _pct(b_lat, 0.99)))
    rows = event_rows(bulk_events, PAYLOAD)
    with scratch_schema(url, "bench") as conninfo:
        bulk.append(asyncio.run(_bulk(conninfo, bulk_events)))
        copy.append(copy_rows_per_s(conninfo, rows))
    del rows
    med = statistics.median
    events_per_s = med(o[1] for o in ours)
    baseline_events = med(b[1] for b in base)
    executemany = med(raw)
    bulk_per_s, copy_per_s = med(bulk), med(copy)
    return Figures(
        events_per_s=round(events_per_s),
        appends_per_s=round(med(o[0] for o in ours)),
        p50_ms=round(med(o[2] for o in ours), 2),
        p99_ms=round(med(o[3] for o in ours), 2),
        baseline_events_per_s=round(baseline_events),
        baseline_appends_per_s=round(med(b[0] for b in base)),
        baseline_p99_ms=round(med(b[2] for b in base), 2),
        ratio_vs_baseline=round(events_per_s / baseline_events, 2) if baseline_events else 0.0,
        executemany_rows_per_s=round(executemany),
        ratio_vs_executemany=ratio(events_per_s, executemany),
        bulk_events=bulk_events,
        bulk_events_per_s=round(bulk_per_s),
        copy_rows_per_s=round(copy_per_s),
        bulk_ratio_vs_copy=ratio(bulk_per_s, copy_per_s),
        seconds_per_run=seconds,
        runs=runs,
        writers=WRITERS,
        machine=machine(),
    )


def machine() -> str:
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = os.getloadavg()[0]
    return (
        f"{os.cpu_count()} cores, {mem_gb:.0f} GB, {platform.system()} {platform.machine()}, "
        f"load {load:.1f} at start"
    )


def main(*, json_output: bool, quick: bool, settings: Settings | None = None) -> int:
    settings = settings or Settings.from_env()
    seconds, runs, bulk_events = (0.5, 1, 5_000) if quick else (10.0, 3, 1_000_000)
    with running_stack(settings, need_nats=False, log=None) as urls:
        figures = run(urls.database_url, seconds=seconds, runs=runs, bulk_events=bulk_events)
    data: dict[str, Any] = asdict(figures)
    if json_output:
        print(json.dumps(data))
    else:
        for key, value in data.items():
            print(f"{key:24} {value}")
    if not quick:
        record(data)
    return 0


def record(data: dict[str, Any]) -> None:
    """Add the store's rows to the table of docs/benchmarks.md."""
    record_rows(
        [
            (
                f"store append, {data['writers']} writers, 1–5 events",
                f"{data['events_per_s']:,} events/s",
                f"recorder {data['baseline_events_per_s']:,} events/s;"
                f" executemany {data['executemany_rows_per_s']:,} rows/s",
                f"{data['ratio_vs_baseline']}× / {data['ratio_vs_executemany']}×",
            ),
            (
                f"bulk append {data['bulk_events']:,} events",
                f"{data['bulk_events_per_s']:,} events/s",
                f"COPY {data['copy_rows_per_s']:,} rows/s",
                f"{data['bulk_ratio_vs_copy']}×",
            ),
        ],
        data["machine"],
        f"`obrador bench store`, median of {data['runs']}",
    )


def record_rows(rows: list[tuple[str, str, str, str]], machine: str, command: str) -> None:
    """Append rows (bench, figure, reference, ratio) to the table of docs/benchmarks.md."""
    path = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
    marker = "<!-- bench-rows -->"
    if not path.exists() or marker not in path.read_text():
        return
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = "".join(
        f"\n| {bench} | {figure} | {reference} | {ratio} | {machine} | {command}, {stamp} |"
        for bench, figure, reference, ratio in rows
    )
    text = path.read_text()
    path.write_text(text.replace(marker, marker + lines, 1))
