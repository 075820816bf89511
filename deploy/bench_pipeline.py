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
import bisect
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import nats
import psycopg

from deploy.bench_store import machine, record_rows
from deploy.ceilings import cursor_scan_rows_per_s, ratio, raw_publish_per_s
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
from projections.runtime import Projector
from streams.envelope import AppendRequest, NewEvent
from streams.hoptrace import HopTrace, read_trace
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


async def bench_relay(conninfo: str, nats_url: str, events: int) -> dict[str, float]:
    """Relay events/s and raw publish+ack msg/s of the same payloads on the same server.

    Both run in this process, one after the other, so each phase's CPU time per
    event (``time.process_time``) is measured too: on a loaded machine the
    throughputs drift with the other processes, the CPU per event much less
    (``cpu_ratio_vs_raw`` = raw CPU ÷ relay CPU per event).
    """
    store = await EventStore.open(conninfo)
    try:
        await store.bulk_append(lot_requests(events))
        payloads = [e.payload for r in lot_requests(events) for e in r.events]
        cpu = time.process_time()
        raw = await raw_publish_per_s(nats_url, payloads, window=Relay(store, nats_url).window)
        raw_cpu = (time.process_time() - cpu) / len(payloads)
        stop = asyncio.Event()
        relay = Relay(store, nats_url)
        cpu, started = time.process_time(), time.perf_counter()
        task = asyncio.create_task(relay.run(stop))
        while relay.stats.published < events:
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - started
        relay_cpu = (time.process_time() - cpu) / events
        stop.set()
        await task
        nc = await nats.connect(nats_url)
        held = (await nc.jetstream().stream_info(STREAM_NAME)).state.messages
        await nc.close()
        if held != events:
            raise RuntimeError(f"JetStream holds {held} messages, expected {events}")
        return {
            "events_per_s": events / elapsed,
            "raw_publish_per_s": raw,
            "relay_cpu_us_per_event": relay_cpu * 1e6,
            "raw_cpu_us_per_event": raw_cpu * 1e6,
        }
    finally:
        await store.close()


Commits = dict[int, tuple[int, float]]  # last position of an append -> (partition, commit time)


async def bench_freshness(
    conninfo: str, nats_url: str, *, rate: int, seconds: float, backlog: int, folder: Path
) -> dict[str, Any]:
    """Latency from commit to the inventory checkpoint, at ``rate`` and at half the max.

    The relay and the projector run as processes of their own with a hop trace
    (``streams.hoptrace``); every latency is read from it: the projector's
    ``committed`` record of the partition covering the append, minus the
    append's commit time in this process (both ``time.time()``).
    """
    trace_relay, trace_projector = folder / "relay.jsonl", folder / "projector.jsonl"
    env = {**os.environ, "DATABASE_URL": conninfo, "NATS_URL": nats_url}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "deploy.bench_pipeline", role, str(path)],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for role, path in (("relay", trace_relay), ("projector", trace_projector))
    ]
    store = await EventStore.open(conninfo, max_size=8)
    lot = 10**6
    try:
        await store.append_many(list(lot_requests(600, per_lot=1)))
        await _covered(conninfo, await _partition_heads(conninfo), timeout=120)
        # the maximum: a backlog appended at once, drained by relay + projector
        cpu = [_cpu_seconds(proc.pid) for proc in procs]
        started = time.time()
        await store.bulk_append(lot_requests(backlog, per_lot=1, first_lot=lot))
        lot += backlog
        await _covered(conninfo, await _partition_heads(conninfo), timeout=300)
        ends = [r["t"] for r in read_trace(trace_projector) if r["hop"] == "committed"]
        max_rate = backlog / (max(ends) - started)
        relay_cpu, projector_cpu = (
            (_cpu_seconds(proc.pid) - before) * 1e6 / backlog
            for proc, before in zip(procs, cpu, strict=True)
        )
        out: dict[str, Any] = {
            "max_events_per_s": round(max_rate),
            "backlog_events": backlog,
            "relay_cpu_us_per_event": round(relay_cpu),
            "projector_cpu_us_per_event": round(projector_cpu),
        }
        half = max(1, int(max_rate / 2))
        for label, at in (("", rate), ("_at_half_max", half)):
            commits = await _steady(store, at, seconds, lot)
            lot += int(at * seconds) + 1
            await _covered(conninfo, await _partition_heads(conninfo), timeout=300)
            figures = _latencies(commits, read_trace(trace_relay), read_trace(trace_projector))
            out |= {f"{key}{label}": value for key, value in figures.items()}
        out["half_max_rate_per_s"] = half
        out["rate_per_s"] = rate
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)
        await store.close()
    return out


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _steady(store: EventStore, rate: int, seconds: float, first_lot: int) -> Commits:
    """Append one-event lots at a steady ``rate`` for ``seconds``; the commit times."""
    requests = list(
        lot_requests(int(rate * seconds), per_lot=1, seed_day=date(2026, 3, 1), first_lot=first_lot)
    )
    per_tick = max(1, round(rate / 100))
    tick = per_tick / rate
    committed: Commits = {}
    writers: set[asyncio.Task[None]] = set()
    started = time.perf_counter()
    for n, i in enumerate(range(0, len(requests), per_tick)):
        await asyncio.sleep(max(0.0, started + n * tick - time.perf_counter()))
        task = asyncio.create_task(_append_timed(store, requests[i : i + per_tick], committed))
        writers.add(task)
        task.add_done_callback(writers.discard)
    await asyncio.gather(*writers)
    return committed


async def _append_timed(
    store: EventStore, requests: list[AppendRequest], committed: Commits
) -> None:
    for outcome in await store.append_many(requests):
        if isinstance(outcome, Exception):
            raise outcome
        committed[outcome.last_position] = (partition_of(outcome.tenant_id), time.time())


async def _partition_heads(conninfo: str) -> dict[int, int]:
    """The last position of every partition that has events."""
    async with await psycopg.AsyncConnection.connect(conninfo) as conn:
        cur = await conn.execute("SELECT tenant_id, max(position) FROM events GROUP BY tenant_id")
        heads: dict[int, int] = {}
        for tenant, position in await cur.fetchall():
            part = partition_of(str(tenant))
            heads[part] = max(heads.get(part, 0), int(position))
    return heads


async def _covered(conninfo: str, heads: dict[int, int], timeout: float) -> None:
    """Wait until the inventory checkpoint of every partition reaches its head."""
    deadline = time.monotonic() + timeout
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        while time.monotonic() < deadline:
            cur = await conn.execute(
                "SELECT partition, position FROM projection_checkpoints"
                " WHERE projection = 'inventory'"
            )
            have = {int(p): int(pos) for p, pos in await cur.fetchall()}
            if all(have.get(p, 0) >= pos for p, pos in heads.items()):
                return
            await asyncio.sleep(0.05)
    raise TimeoutError(f"the inventory projector did not reach {heads} in {timeout:.0f} s")


class _FirstCovering:
    """When did a trace first cover a position? (records in time order, ``last`` may repeat)."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        records = sorted(records, key=lambda r: r["t"])
        self.times = [float(r["t"]) for r in records]
        self.tops: list[int] = []
        top = 0
        for record in records:
            top = max(top, int(record["last"]))
            self.tops.append(top)

    def at(self, position: int) -> float | None:
        i = bisect.bisect_left(self.tops, position)
        return self.times[i] if i < len(self.times) else None


def _latencies(
    commits: Commits, relay: list[dict[str, Any]], projector: list[dict[str, Any]]
) -> dict[str, Any]:
    """p50/p99 commit → visible, and the median of each hop (ms)."""
    read = _FirstCovering([r for r in relay if r["hop"] == "read"])
    acked = _FirstCovering([r for r in relay if r["hop"] == "acked"])
    by_part: dict[int, dict[str, _FirstCovering]] = {}
    for part in {p for p, _ in commits.values()}:
        mine = [r for r in projector if r.get("partition") == part]
        by_part[part] = {
            hop: _FirstCovering([r for r in mine if r["hop"] == hop])
            for hop in ("fetched", "committed")
        }
    totals: list[float] = []
    hops: dict[str, list[float]] = {k: [] for k in ("relay_read", "publish_ack", "pull", "apply")}
    for position, (part, committed_at) in commits.items():
        marks = [
            committed_at,
            read.at(position),
            acked.at(position),
            by_part[part]["fetched"].at(position),
            by_part[part]["committed"].at(position),
        ]
        if any(m is None for m in marks):
            continue
        t = [float(m) for m in marks if m is not None]
        totals.append((t[4] - t[0]) * 1000)
        hops["relay_read"].append((t[1] - t[0]) * 1000)  # commit → relay has read it
        hops["publish_ack"].append((t[2] - t[1]) * 1000)  # read → JetStream acked
        hops["pull"].append((t[3] - t[1]) * 1000)  # read → projector has fetched it
        hops["apply"].append((t[4] - t[3]) * 1000)  # fetched → checkpoint committed
    totals.sort()
    if not totals:
        raise RuntimeError("no append was traced end to end")
    return {
        "p50_ms": round(statistics.median(totals), 1),
        "p99_ms": round(totals[int(0.99 * (len(totals) - 1))], 1),
        "max_ms": round(totals[-1], 1),
        "events": len(totals),
        "hops_p50_ms": {k: round(statistics.median(v), 1) for k, v in hops.items()},
    }


async def bench_rebuild(conninfo: str, events: int) -> tuple[float, float]:
    """(rebuild events/s, raw server-side cursor scan rows/s of the same events)."""
    store = await EventStore.open(conninfo)
    try:
        await store.bulk_append(lot_requests(events), chunk_events=50_000)
        _, scan = await asyncio.to_thread(cursor_scan_rows_per_s, conninfo)
        started = time.perf_counter()
        result = await rebuild(store, model_by_name("inventory"))
        elapsed = time.perf_counter() - started
        return result.events / elapsed, scan
    finally:
        await store.close()


def main(what: str, *, json_output: bool, quick: bool, settings: Settings | None = None) -> int:
    from deploy.stack import running_stack

    runs = 1 if quick else 3
    out: dict[str, Any] = {"benchmark": what, "machine": machine(), "runs": runs}
    with running_stack(settings or Settings.from_env(), need_nats=False, log=None) as urls:
        if what == "relay":
            n = 5_000 if quick else 100_000
            runs_out = []
            for _ in range(runs):
                with scratch(urls.database_url) as (conninfo, nats_url):
                    runs_out.append(asyncio.run(bench_relay(conninfo, nats_url, n)))
            med = {k: statistics.median(r[k] for r in runs_out) for k in runs_out[0]}
            out |= {
                "events": n,
                "events_per_s": round(med["events_per_s"]),
                "raw_publish_per_s": round(med["raw_publish_per_s"]),
                "ratio_vs_raw": ratio(med["events_per_s"], med["raw_publish_per_s"]),
                "relay_cpu_us_per_event": round(med["relay_cpu_us_per_event"], 1),
                "raw_cpu_us_per_event": round(med["raw_cpu_us_per_event"], 1),
                "cpu_ratio_vs_raw": ratio(
                    med["raw_cpu_us_per_event"], med["relay_cpu_us_per_event"]
                ),
            }
        elif what == "freshness":
            seconds, backlog = (1.0, 1_000) if quick else (20.0, 20_000)
            results = []
            for _ in range(runs):
                with (
                    scratch(urls.database_url) as (conninfo, nats_url),
                    tempfile.TemporaryDirectory(prefix="obrador-trace-") as tmp,
                ):
                    folder = os.environ.get("OBRADOR_BENCH_TRACE_DIR") or tmp  # keep to study
                    results.append(
                        asyncio.run(
                            bench_freshness(
                                conninfo,
                                nats_url,
                                rate=1000,
                                seconds=seconds,
                                backlog=backlog,
                                folder=Path(folder),
                            )
                        )
                    )
            out |= _median_of(results)
        elif what == "rebuild":
            n = 10_000 if quick else 1_000_000
            pairs = []
            for _ in range(runs if quick else 1):
                with scratch_schema(urls.database_url, "bench") as conninfo:
                    pairs.append(asyncio.run(bench_rebuild(conninfo, n)))
            ours, scan = (
                statistics.median(p[0] for p in pairs),
                statistics.median(p[1] for p in pairs),
            )
            out |= {
                "runs": len(pairs),
                "events": n,
                "events_per_s": round(ours),
                "cursor_scan_rows_per_s": round(scan),
                "ratio_vs_scan": ratio(ours, scan),
            }
        else:
            raise SystemExit(f"unknown benchmark {what!r}")
    print(json.dumps(out) if json_output else "\n".join(f"{k:14} {v}" for k, v in out.items()))
    if not quick:
        _record(out)
    return 0


def _median_of(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Field by field median of the runs (nested dicts too)."""
    out: dict[str, Any] = {}
    for key, first in results[0].items():
        if isinstance(first, dict):
            out[key] = _median_of([r[key] for r in results])
        else:
            out[key] = statistics.median(r[key] for r in results)
    return out


def _record(out: dict[str, Any]) -> None:
    """Add the figures to the table of docs/benchmarks.md."""
    what = out["benchmark"]
    if what == "relay":
        row = (
            f"relay {out['events']:,} events",
            f"{out['events_per_s']:,} events/s",
            f"raw publish+ack {out['raw_publish_per_s']:,} msg/s; CPU per event"
            f" {out['relay_cpu_us_per_event']} µs vs raw {out['raw_cpu_us_per_event']} µs",
            f"{out['ratio_vs_raw']}× (CPU {out['cpu_ratio_vs_raw']}×)",
        )
    elif what == "rebuild":
        row = (
            f"rebuild inventory, {out['events']:,} events",
            f"{out['events_per_s']:,} events/s",
            f"cursor scan {out['cursor_scan_rows_per_s']:,} rows/s",
            f"{out['ratio_vs_scan']}×",
        )
    else:
        row = (
            f"freshness at {out['rate_per_s']:,} events/s",
            f"p50 {out['p50_ms']} ms, p99 {out['p99_ms']} ms",
            f"projector max {out['max_events_per_s']:,} events/s; at half of it"
            f" p50 {out['p50_ms_at_half_max']} ms, p99 {out['p99_ms_at_half_max']} ms",
            "(latency)",
        )
    record_rows([row], out["machine"], f"`obrador bench {what}`, median of {out['runs']}")


async def _serve_traced(role: str, trace_path: Path) -> None:
    """``obrador relay`` / ``obrador projector --models inventory``, with a hop trace."""
    conninfo, nats_url = os.environ["DATABASE_URL"], os.environ["NATS_URL"]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    trace = HopTrace(trace_path)
    try:
        if role == "relay":
            store = await EventStore.open(conninfo)
            try:
                await Relay(store, nats_url, trace=trace).run(stop)
            finally:
                await store.close()
        else:
            projector = Projector(conninfo, nats_url, [model_by_name("inventory")], trace=trace)
            await projector.run(stop)
    finally:
        trace.close()


if __name__ == "__main__":
    asyncio.run(_serve_traced(sys.argv[1], Path(sys.argv[2])))
