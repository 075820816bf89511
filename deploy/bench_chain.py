"""What the hash chain costs appends: the same workloads on two schemas of one server,
one migrated without the chain (migrations below 0026) and one with it, runs alternated.

``python -m deploy.bench_chain [--runs N] [--seconds S] [--bulk EVENTS] [--verify EVENTS]``
prints the median of each side and the ratio (and how fast ``audit verify`` walks N events).
Uses the store benchmark's workloads (``deploy.bench_store``): 32 concurrent
group-committed writers, and the bulk import path.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from deploy.bench_store import _bulk, _ours, machine
from deploy.settings import Settings
from deploy.stack import running_stack
from migrations.runner import MIGRATIONS_DIR, migrate

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


def measure(url: str, *, runs: int, seconds: float, bulk: int) -> dict[str, object]:
    figures: dict[str, dict[str, list[float]]] = {
        side: {"appends": [], "bulk": []} for side in ("without", "with")
    }
    for run in range(runs):
        order = (False, True) if run % 2 == 0 else (True, False)
        for chained in order:
            side = "with" if chained else "without"
            with _schema(url, chained=chained) as conninfo:
                _, events, _ = asyncio.run(_ours(conninfo, seconds))
                figures[side]["appends"].append(events / seconds)
            with _schema(url, chained=chained) as conninfo:
                figures[side]["bulk"].append(asyncio.run(_bulk(conninfo, bulk)))
    med = {side: {k: statistics.median(v) for k, v in f.items()} for side, f in figures.items()}
    return {
        "appends_events_per_s": {s: round(m["appends"]) for s, m in med.items()},
        "bulk_events_per_s": {s: round(m["bulk"]) for s, m in med.items()},
        "appends_ratio": round(med["with"]["appends"] / med["without"]["appends"], 3),
        "bulk_ratio": round(med["with"]["bulk"] / med["without"]["bulk"], 3),
        "runs": runs,
        "raw": figures,
        "machine": machine(),
    }


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
    args = parser.parse_args()
    with running_stack(Settings.from_env(), need_nats=False, log=None) as urls:
        result = measure(urls.database_url, runs=args.runs, seconds=args.seconds, bulk=args.bulk)
        if args.verify:
            result["verify"] = verify_rate(urls.database_url, args.verify)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
