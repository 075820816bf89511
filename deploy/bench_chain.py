"""What the hash chain costs appends: the same workloads on two schemas of one server,
one migrated without the chain (migrations below 0026) and one with it.

``python -m deploy.bench_chain [--runs N] [--seconds S] [--bulk EVENTS] [--verify EVENTS]
[--record]`` uses the store benchmark's workloads (``deploy.bench_store``): 32
concurrent group-committed writers, and the bulk import path.

On a machine other work keeps busy, wall-clock throughput of one run says more
about the neighbours than about the chain (paired runs spread 0.6–1.4). So each
round runs both sides back to back, in alternating order, and besides
events/s it reads the **database server's CPU time** per event: every process
of the (local) PostgreSQL, the postmaster's reaped children included, from
``/proc`` — work done, which waiting for a core does not inflate. Each figure is
the median of the rounds' paired ratios (with vs without), with their
interquartile range. ``--record`` adds the rows to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from deploy.bench_store import PAYLOAD, WRITERS, _bulk, machine, record_rows
from deploy.settings import Settings
from deploy.stack import running_stack
from migrations.runner import MIGRATIONS_DIR, migrate
from streams.envelope import AppendRequest, NewEvent
from streams.store import EventStore

FIRST_CHAIN_MIGRATION = 26


@contextlib.contextmanager
def _schema(url: str, *, chained: bool) -> Iterator[str]:
    name = f"chain_{'on' if chained else 'off'}_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as folder:
        for path in MIGRATIONS_DIR.glob("*.sql"):
            if chained or int(path.name[:4]) < FIRST_CHAIN_MIGRATION:
                shutil.copy(path, Path(folder) / path.name)
        migrate(url, schema=name, directory=Path(folder))
    try:
        yield make_conninfo(url, options=f"-c search_path={name}")
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


def postmaster_pid(url: str) -> int | None:
    """The server's postmaster, when it runs on this machine (its backend's parent)."""
    with psycopg.connect(url) as conn:
        backend = conn.info.backend_pid
    try:
        return int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):  # another machine, or no /proc
        return None


def server_cpu(postmaster: int) -> float:
    """CPU seconds used so far by the server: the postmaster, its reaped children and
    its live ones (backends, WAL writer, checkpointer, autovacuum)."""
    tick = os.sysconf("SC_CLK_TCK")

    def fields(pid: int | str) -> list[str]:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()

    own = fields(postmaster)  # utime stime cutime cstime are fields 14-17 (11-14 here)
    total = sum(int(x) for x in own[11:15])
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            child = fields(entry.name)
        except OSError:  # gone meanwhile: its time is in the postmaster's cutime now
            continue
        if child[1] == str(postmaster):
            total += int(child[11]) + int(child[12])
    return total / tick


def _one(
    url: str,
    chained: bool,
    workload: str,
    *,
    seconds: float,
    bulk: int,
    postmaster: int | None,
) -> tuple[float, float | None]:
    """(events/s, server CPU µs per event) of one run on a fresh schema."""
    with _schema(url, chained=chained) as conninfo:
        run = _appends(conninfo, seconds, postmaster) if workload == "appends" else None
        events, wall, used = asyncio.run(run or _bulk_import(conninfo, bulk, postmaster))
    return events / wall, (used * 1e6 / events if used is not None else None)


def _cpu(postmaster: int | None) -> float | None:
    return server_cpu(postmaster) if postmaster else None


async def _appends(
    conninfo: str, seconds: float, postmaster: int | None
) -> tuple[int, float, float | None]:
    """The store bench's 32 group-committed writers (``bench_store._ours``), measured with
    the pool open: no backend exits inside the window."""
    store = await EventStore.open(conninfo, min_size=4, max_size=8)
    rng = random.Random(7)
    events = [0]
    try:
        cpu, started = _cpu(postmaster), time.perf_counter()
        deadline = started + seconds

        async def writer(w: int) -> None:
            version = 0
            while time.perf_counter() < deadline:
                n = rng.randint(1, 5)
                batch = [NewEvent(event_type="SaleRecorded", payload=PAYLOAD) for _ in range(n)]
                await store.append("bench", f"writer-{w}", batch, expected_version=version)
                version += n
                events[0] += n

        await asyncio.gather(*(writer(w) for w in range(WRITERS)))
        wall, end = time.perf_counter() - started, _cpu(postmaster)
    finally:
        await store.close()
    return events[0], wall, (end - cpu if end is not None and cpu is not None else None)


async def _bulk_import(
    conninfo: str, total: int, postmaster: int | None
) -> tuple[int, float, float | None]:
    """The store bench's bulk path (``bench_store._bulk``), measured with the pool open."""
    store = await EventStore.open(conninfo)
    requests = (
        AppendRequest(
            tenant_id="bench",
            stream_id=f"sale-{i}",
            expected_version=0,
            events=tuple(NewEvent(event_type="SaleRecorded", payload=PAYLOAD) for _ in range(4)),
            idempotency_key=f"import:{i}",
        )
        for i in range(total // 4)
    )
    try:
        cpu, started = _cpu(postmaster), time.perf_counter()
        outcomes = await store.bulk_append(requests, chunk_events=50_000)
        wall, end = time.perf_counter() - started, _cpu(postmaster)
    finally:
        await store.close()
    failed = [o for o in outcomes if isinstance(o, Exception)]
    if failed:
        raise RuntimeError(f"bulk append failed: {failed[0]}")
    return total // 4 * 4, wall, (end - cpu if end is not None and cpu is not None else None)


def _spread(values: list[float]) -> dict[str, float]:
    q1, _, q3 = statistics.quantiles(values, n=4) if len(values) > 1 else values * 3
    return {"median": round(statistics.median(values), 3), "q1": round(q1, 3), "q3": round(q3, 3)}


def measure(url: str, *, runs: int, seconds: float, bulk: int) -> dict[str, object]:
    postmaster = postmaster_pid(url)
    loads = [os.getloadavg()[0]]
    result: dict[str, object] = {"runs": runs, "machine": machine()}
    for workload in ("appends", "bulk"):
        raw: dict[str, list[tuple[float, float | None]]] = {"without": [], "with": []}
        for run in range(runs):
            for chained in (False, True) if run % 2 == 0 else (True, False):
                raw["with" if chained else "without"].append(
                    _one(url, chained, workload, seconds=seconds, bulk=bulk, postmaster=postmaster)
                )
        pairs = list(zip(raw["with"], raw["without"], strict=True))
        figure: dict[str, object] = {
            "events_per_s": {
                side: round(statistics.median(r for r, _ in runs_)) for side, runs_ in raw.items()
            },
            "wall_ratio": _spread([w[0] / o[0] for w, o in pairs]),
        }
        if postmaster:
            figure["server_cpu_us_per_event"] = {
                side: round(statistics.median(c or 0.0 for _, c in runs_), 1)
                for side, runs_ in raw.items()
            }
            figure["cpu_ratio"] = _spread([(w[1] or 0.0) / (o[1] or 1.0) for w, o in pairs])
        figure["raw"] = raw
        result[workload] = figure
        loads.append(os.getloadavg()[0])
    result["load"] = [round(x, 1) for x in loads]
    return result


def verify_rate(url: str, events: int) -> dict[str, float]:
    """Events per second of ``audit verify`` and ``audit seal`` over a bulk-imported tenant."""
    from deploy.audit import seal_tenants, verify

    with _schema(url, chained=True) as conninfo:
        asyncio.run(_bulk(conninfo, events))
        started = time.perf_counter()
        (report,) = asyncio.run(verify(conninfo, tenant="bench"))
        verified = time.perf_counter() - started
        if report.findings or report.events != events:
            raise RuntimeError(f"verify found {report.findings[:3]} in {report.events} events")
        started = time.perf_counter()
        asyncio.run(seal_tenants(conninfo, tenant="bench"))
        sealed = time.perf_counter() - started
    return {"verify_events_per_s": round(events / verified), "seal_seconds": round(sealed, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--bulk", type=int, default=40_000)
    parser.add_argument("--verify", type=int, default=0, help="also time audit verify on N events")
    parser.add_argument("--record", action="store_true", help="add rows to docs/benchmarks.md")
    args = parser.parse_args()
    with running_stack(Settings.from_env(), need_nats=False, log=None) as urls:
        result = measure(urls.database_url, runs=args.runs, seconds=args.seconds, bulk=args.bulk)
        if args.verify:
            result["verify"] = verify_rate(urls.database_url, args.verify)
    print(json.dumps(result, indent=1))
    if args.record:
        record(
            result,
            f"`python -m deploy.bench_chain --runs {args.runs} --seconds "
            f"{args.seconds:g} --bulk {args.bulk}`",
        )


def record(result: dict[str, Any], command: str) -> None:
    """The chain's rows in docs/benchmarks.md: server CPU per event and wall, with / without."""
    rows = []
    for workload, label in (
        ("appends", "hash chain: group-commit appends, 32 writers"),
        ("bulk", "hash chain: bulk append"),
    ):
        fig = result[workload]
        cpu, wall = fig.get("cpu_ratio"), fig["wall_ratio"]
        per_event = fig.get("server_cpu_us_per_event", {})
        figure = (
            f"DB CPU {per_event.get('with')} µs/event; {fig['events_per_s']['with']:,} events/s"
        )
        reference = (
            f"without the chain: {per_event.get('without')} µs/event; "
            f"{fig['events_per_s']['without']:,} events/s"
        )
        ratio = (
            f"CPU {cpu['median']}× (IQR {cpu['q1']}–{cpu['q3']}); " if cpu else ""
        ) + f"wall {wall['median']}× (IQR {wall['q1']}–{wall['q3']})"
        rows.append((label, figure, reference, ratio))
    load = "–".join(str(x) for x in (min(result["load"]), max(result["load"])))
    record_rows(
        rows,
        f"{result['machine']}, load {load} during",
        f"{command}, {result['runs']} paired rounds",
    )


if __name__ == "__main__":
    main()
