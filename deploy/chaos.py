"""``obrador chaos``: kill -9 the relay and the projector at random moments under load.

The load appends real domain events (sales and stock receipts) while a relay
process and a projector process run; every cycle kills one of them with
SIGKILL at a random moment and starts it again. At the end, once everything
has caught up, it checks that:

- JetStream holds every event exactly once, in log order (nothing lost or doubled
  by the relay);
- every read model equals a rebuild from scratch (``verify``): no effect lost,
  none applied twice.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import nats
import psycopg

from deploy.settings import Settings
from domain.codec import encode_event
from domain.events import DomainEvent
from domain.events.inventory import ItemKind, StockReceived
from domain.events.sales import Channel, SaleLine, SaleRecorded
from domain.streams import sale_stream, stock_stream
from projections.rebuild import verify
from projections.registry import all_models
from streams.envelope import AppendRequest, NewEvent
from streams.jetstream import H_POSITION, STREAM_NAME, partition_of
from streams.store import EventStore

TENANTS = ("horno-norte", "horno-sur", "tahona", "obrador-central", "migas")
SKUS = ("barra", "croissant", "napolitana", "magdalena")


@dataclass
class ChaosReport:
    events: int
    cycles: int
    kills: dict[str, int] = field(default_factory=lambda: {"relay": 0, "projector": 0})
    seconds: float = 0.0
    jetstream_messages: int = 0
    jetstream_in_order_no_duplicates: bool = False
    models: dict[str, str] = field(default_factory=dict)
    verdict: str = "FAIL"


def _new(event: DomainEvent) -> NewEvent:
    kind, version, payload = encode_event(event)
    return NewEvent(event_type=kind, schema_version=version, payload=payload)


def load_requests(events: int, seed: int = 11) -> list[AppendRequest]:
    rng = random.Random(seed)
    day = date(2026, 11, 2)
    requests = []
    for i in range(events):
        tenant = TENANTS[i % len(TENANTS)]
        store, sku = f"s{rng.randint(1, 3)}", rng.choice(SKUS)
        at = datetime.combine(day + timedelta(days=i // 2000), datetime.min.time(), UTC)
        at += timedelta(seconds=rng.randint(6 * 3600, 21 * 3600))
        event: DomainEvent
        if i % 4 == 0:
            lot = f"{sku}-{i}"
            event = StockReceived(
                occurred_at=at,
                store_id=store,
                item_id=sku,
                item_kind=ItemKind.PRODUCT,
                lot_id=lot,
                quantity=Decimal(rng.randint(20, 60)),
                expires_on=at.date(),
                unit_cost=Decimal("0.40"),
            )
            stream = stock_stream(store, f"{sku}-{lot}")  # one stream per lot
        else:
            qty = Decimal(rng.randint(1, 4))
            event = SaleRecorded(
                occurred_at=at,
                store_id=store,
                pos_txn_id=f"T{i}",
                sold_at=at,
                channel=Channel.COUNTER,
                lines=(SaleLine(sku=sku, quantity=qty, unit_price=Decimal("1.20")),),
                total=qty * Decimal("1.20"),
            )
            stream = sale_stream(store, f"T{i}")
        requests.append(
            AppendRequest(
                tenant_id=tenant, stream_id=stream, events=(_new(event),), expected_version=0
            )
        )
    return requests


class Worker:
    """One `obrador relay` or `obrador projector` process that can be killed and restarted."""

    def __init__(self, kind: str, env: dict[str, str], log_dir: Path) -> None:
        self.kind, self.env, self.log_dir = kind, env, log_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = (self.log_dir / f"{self.kind}.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "deploy.cli", self.kind],
            env=self.env,
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
        )
        log.close()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


async def run_chaos(
    database_url: str, nats_url: str, *, events: int, cycles: int, log_dir: Path, seed: int = 5
) -> ChaosReport:
    report = ChaosReport(events=events, cycles=cycles)
    started = time.monotonic()
    env = {**os.environ, "DATABASE_URL": database_url, "NATS_URL": nats_url}
    workers = {k: Worker(k, env, log_dir) for k in ("relay", "projector")}
    for worker in workers.values():
        worker.start()
    store = await EventStore.open(database_url)
    rng = random.Random(seed)
    try:
        requests = load_requests(events)
        chunk = max(1, len(requests) // (cycles * 3 or 1))
        loader = asyncio.create_task(_load(store, requests, chunk))
        for _ in range(cycles):
            await asyncio.sleep(rng.uniform(0.2, 1.2))
            kind = rng.choice(("relay", "projector"))
            workers[kind].kill()
            report.kills[kind] += 1
            await asyncio.sleep(rng.uniform(0.0, 0.3))
            workers[kind].start()
        await loader
        head = await store.head_position()
        await caught_up(store, database_url, head, timeout=300)
        for worker in workers.values():
            worker.stop()
        report.jetstream_messages, report.jetstream_in_order_no_duplicates = await _check_stream(
            nats_url, [e.position for e in await _all(store)]
        )
        for model in all_models():
            diff = await verify(store, model)
            same = all(v == (0, 0) for v in diff.values())
            report.models[model.name] = "equal to a rebuild" if same else f"DIFFERENT {diff}"
    finally:
        for worker in workers.values():
            worker.stop()
        await store.close()
    report.seconds = round(time.monotonic() - started, 1)
    ok = (
        report.jetstream_in_order_no_duplicates
        and report.jetstream_messages == events
        and report.models
        and all(v == "equal to a rebuild" for v in report.models.values())
    )
    report.verdict = "PASS" if ok else "FAIL"
    return report


async def _load(store: EventStore, requests: list[AppendRequest], chunk: int) -> None:
    for i in range(0, len(requests), chunk):
        outcomes = await store.append_many(requests[i : i + chunk])
        failed = [o for o in outcomes if isinstance(o, Exception)]
        if failed:
            raise RuntimeError(f"load failed: {failed[0]}")
        await asyncio.sleep(0.05)


async def _all(store: EventStore) -> list[Any]:
    out, position = [], 0
    while batch := await store.read_all(after=position, limit=10_000):
        out.extend(batch)
        position = batch[-1].position
    return out


async def caught_up(
    store: EventStore, url: str, head: int, timeout: float, names: list[str] | None = None
) -> None:
    """Wait until every partition that has events has its checkpoint at its last event."""
    events = await _all(store)
    last: dict[int, int] = {}
    for event in events:
        last[partition_of(event.tenant_id)] = event.position
    names = names if names is not None else [m.name for m in all_models()]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            cur = await conn.execute(
                "SELECT projection, partition, position FROM projection_checkpoints"
            )
            have = {(str(p), int(n)): int(pos) for p, n, pos in await cur.fetchall()}
        if all(have.get((m, p), 0) >= pos for m in names for p, pos in last.items()):
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"projectors did not catch up to position {head} in {timeout:.0f} s")


async def _check_stream(nats_url: str, positions: list[int]) -> tuple[int, bool]:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(STREAM_NAME)
        seen: list[int] = []
        sub = await js.pull_subscribe("obrador.events.>", stream=STREAM_NAME)
        while len(seen) < info.state.messages:
            for msg in await sub.fetch(1000, timeout=5):
                seen.append(int((msg.headers or {})[H_POSITION]))
                await msg.ack()
        await sub.unsubscribe()
        return len(seen), seen == positions
    finally:
        await nc.close()


def main(*, events: int, cycles: int, json_output: bool, settings: Settings | None = None) -> int:
    import tempfile

    from deploy.stack import running_stack

    settings = settings or Settings.from_env()
    with tempfile.TemporaryDirectory(prefix="obrador-chaos-") as scratch:
        if not settings.database_url:  # a private stack: chaos never touches your data
            settings = Settings(
                database_url=None, nats_url=settings.nats_url, data_dir=Path(scratch) / "stack"
            )
        with running_stack(settings, log=None) as urls:
            report = asyncio.run(
                run_chaos(
                    urls.database_url,
                    urls.nats_url,
                    events=events,
                    cycles=cycles,
                    log_dir=Path(scratch),
                )
            )
    data = asdict(report)
    print(json.dumps(data) if json_output else "\n".join(f"{k:34} {v}" for k, v in data.items()))
    _record(data)
    return 0 if report.verdict == "PASS" else 1


def _record(data: dict[str, Any]) -> None:
    path = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
    marker = "<!-- chaos-rows -->"
    if not path.exists() or marker not in path.read_text():
        return
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    models = "; ".join(f"{k}: {v}" for k, v in data["models"].items())
    line = (
        f"| {stamp} | {data['events']:,} | {data['cycles']} | {data['kills']['relay']} "
        f"| {data['kills']['projector']} | {data['jetstream_messages']:,} | {models} "
        f"| {data['seconds']} | {data['verdict']} |"
    )
    text = path.read_text()
    path.write_text(text.replace(marker, marker + "\n" + line, 1))
