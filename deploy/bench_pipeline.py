"""``obrador bench relay|freshness|rebuild``: the streaming side's figures.

- relay: 100,000 events already in the store; time until JetStream has acked all.
- freshness: appends at a steady 1,000 events/s while a relay process and an
  inventory projector process run; latency from the append's commit to the
  inventory checkpoint covering it (the checkpoint moves in the same
  transaction as the read-model rows, so that is when readers can see it).
- rebuild: 1,000,000 inventory events in the store; `rebuild inventory` time.

Every run uses a private database schema and a private nats-server.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import nats
import psycopg

from deploy.chaos import caught_up
from deploy.scratch import scratch, scratch_schema
from deploy.settings import Settings
from domain.codec import encode_event
from domain.events import DomainEvent
from domain.events.inventory import (
    ConsumptionCause,
    ItemKind,
    LotAllocation,
    StockConsumed,
    StockReceived,
)
from domain.streams import sale_stream, stock_stream
from projections.models import model_by_name
from projections.rebuild import rebuild
from streams.envelope import AppendRequest, NewEvent
from streams.jetstream import STREAM_NAME, partition_of
from streams.relay import Relay
from streams.store import EventStore

TENANTS = ("horno-norte", "horno-sur", "tahona", "obrador-central", "migas", "pan-de-pueblo")


def _new(event: DomainEvent) -> NewEvent:
    kind, version, payload = encode_event(event)
    return NewEvent(event_type=kind, schema_version=version, payload=payload)


def lot_requests(
    total: int, per_lot: int = 10, seed_day: date = date(2026, 1, 5), first_lot: int = 0
) -> Iterator[AppendRequest]:
    """A lot received, then consumed by sales in small amounts: real inventory traffic."""
    at = datetime.combine(seed_day, datetime.min.time(), UTC)
    for n in range(first_lot, first_lot + total // per_lot):
        tenant = TENANTS[n % len(TENANTS)]
        store, item = f"s{n % 7}", f"sku{n % 23}"
        lot = f"L{n}"
        when = at + timedelta(minutes=n)
        events = [
            _new(
                StockReceived(
                    occurred_at=when,
                    store_id=store,
                    item_id=item,
                    item_kind=ItemKind.PRODUCT,
                    lot_id=lot,
                    quantity=Decimal(100),
                    expires_on=when.date() + timedelta(days=2),
                    unit_cost=Decimal("0.35"),
                )
            )
        ]
        events += [
            _new(
                StockConsumed(
                    occurred_at=when + timedelta(seconds=i),
                    store_id=store,
                    item_id=item,
                    quantity=Decimal(2),
                    allocations=(LotAllocation(lot_id=lot, quantity=Decimal(2)),),
                    cause=ConsumptionCause.SALE,
                    reference=sale_stream(store, f"T{n}-{i}"),
                )
            )
            for i in range(per_lot - 1)
        ]
        yield AppendRequest(
            tenant_id=tenant,
            stream_id=stock_stream(store, f"{item}-{lot}"),  # one stream per lot
            events=tuple(events),
            expected_version=0,
        )


async def bench_relay(conninfo: str, nats_url: str, events: int) -> float:
    store = await EventStore.open(conninfo)
    try:
        await store.bulk_append(lot_requests(events))
        stop = asyncio.Event()
        relay = Relay(store, nats_url)
        started = time.perf_counter()
        task = asyncio.create_task(relay.run(stop))
        while relay.stats.published < events:
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - started
        stop.set()
        await task
        nc = await nats.connect(nats_url)
        held = (await nc.jetstream().stream_info(STREAM_NAME)).state.messages
        await nc.close()
        if held != events:
            raise RuntimeError(f"JetStream holds {held} messages, expected {events}")
        return events / elapsed
    finally:
        await store.close()


async def bench_freshness(
    conninfo: str, nats_url: str, rate: int, seconds: float
) -> dict[str, float]:
    env = {**os.environ, "DATABASE_URL": conninfo, "NATS_URL": nats_url}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "deploy.cli", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for args in (["relay"], ["projector", "--models", "inventory"])
    ]
    store = await EventStore.open(conninfo, max_size=8)
    committed: dict[int, tuple[int, float]] = {}  # position -> (partition, commit time)
    waiting: dict[int, tuple[int, float]] = {}  # committed, not yet visible
    visible: dict[int, float] = {}
    try:
        warm = list(lot_requests(600, per_lot=1))
        await store.append_many(warm)
        await caught_up(store, conninfo, 0, timeout=60, names=["inventory"])
        requests = list(
            lot_requests(int(rate * seconds), per_lot=1, seed_day=date(2026, 3, 1), first_lot=10**6)
        )
        done = asyncio.Event()
        poller = asyncio.create_task(_poll(conninfo, waiting, visible, done))
        tick, per_tick = 0.01, max(1, rate // 100)
        writers: set[asyncio.Task[None]] = set()
        started = time.perf_counter()
        for i in range(0, len(requests), per_tick):
            target = started + (i // per_tick) * tick
            await asyncio.sleep(max(0.0, target - time.perf_counter()))
            task = asyncio.create_task(
                _append_timed(store, requests[i : i + per_tick], committed, waiting)
            )
            writers.add(task)
            task.add_done_callback(writers.discard)
        while len(visible) < len(requests):
            await asyncio.sleep(0.05)
            if time.perf_counter() - started > seconds + 60:
                break
        done.set()
        await poller
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)
        await store.close()
    latencies = sorted((visible[p] - t) * 1000 for p, (_, t) in committed.items() if p in visible)
    return {
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))], 1),
        "max_ms": round(latencies[-1], 1),
        "events": len(latencies),
        "rate_per_s": rate,
    }


async def _append_timed(
    store: EventStore,
    requests: list[AppendRequest],
    committed: dict[int, tuple[int, float]],
    waiting: dict[int, tuple[int, float]],
) -> None:
    for outcome in await store.append_many(requests):
        if isinstance(outcome, Exception):
            raise outcome
        entry = (partition_of(outcome.tenant_id), time.perf_counter())
        committed[outcome.last_position] = entry
        waiting[outcome.last_position] = entry


async def _poll(
    conninfo: str,
    waiting: dict[int, tuple[int, float]],
    visible: dict[int, float],
    done: asyncio.Event,
) -> None:
    """Every millisecond: which committed events does the inventory checkpoint cover now?"""
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        while not done.is_set():
            cur = await conn.execute(
                "SELECT partition, position FROM projection_checkpoints"
                " WHERE projection = 'inventory'"
            )
            now = time.perf_counter()
            checkpoints = {int(p): int(pos) for p, pos in await cur.fetchall()}
            for position, (partition, _) in list(waiting.items()):
                if checkpoints.get(partition, 0) >= position:
                    visible[position] = now
                    del waiting[position]
            await asyncio.sleep(0.001)


async def bench_rebuild(conninfo: str, events: int) -> float:
    store = await EventStore.open(conninfo)
    try:
        await store.bulk_append(lot_requests(events), chunk_events=50_000)
        started = time.perf_counter()
        result = await rebuild(store, model_by_name("inventory"))
        elapsed = time.perf_counter() - started
        return result.events / elapsed
    finally:
        await store.close()


def main(what: str, *, json_output: bool, quick: bool, settings: Settings | None = None) -> int:
    from deploy.bench_store import machine
    from deploy.stack import running_stack

    runs = 1 if quick else 3
    out: dict[str, Any] = {"benchmark": what, "machine": machine(), "runs": runs}
    with running_stack(settings or Settings.from_env(), need_nats=False, log=None) as urls:
        if what == "relay":
            n = 10_000 if quick else 100_000
            figures = []
            for _ in range(runs):
                with scratch(urls.database_url) as (conninfo, nats_url):
                    figures.append(asyncio.run(bench_relay(conninfo, nats_url, n)))
            out |= {"events": n, "events_per_s": round(statistics.median(figures))}
        elif what == "freshness":
            seconds = 5.0 if quick else 20.0
            results = []
            for _ in range(runs):
                with scratch(urls.database_url) as (conninfo, nats_url):
                    results.append(asyncio.run(bench_freshness(conninfo, nats_url, 1000, seconds)))
            out |= {k: statistics.median(r[k] for r in results) for k in results[0]}
        elif what == "rebuild":
            n = 50_000 if quick else 1_000_000
            figures = []
            for _ in range(runs if quick else 1):
                with scratch_schema(urls.database_url, "bench") as conninfo:
                    figures.append(asyncio.run(bench_rebuild(conninfo, n)))
            out |= {
                "runs": len(figures),
                "events": n,
                "events_per_s": round(statistics.median(figures)),
            }
        else:
            raise SystemExit(f"unknown benchmark {what!r}")
    print(json.dumps(out) if json_output else "\n".join(f"{k:14} {v}" for k, v in out.items()))
    if not quick:
        _record(out)
    return 0


def _record(out: dict[str, Any]) -> None:
    path = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
    marker = "<!-- bench-pipeline-rows -->"
    if not path.exists() or marker not in path.read_text():
        return
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    figures = ", ".join(f"{k}={v}" for k, v in out.items() if k not in ("benchmark", "machine"))
    line = f"| {stamp} | {out['machine']} | `obrador bench {out['benchmark']}` | {figures} |"
    text = path.read_text()
    path.write_text(text.replace(marker, marker + "\n" + line, 1))
