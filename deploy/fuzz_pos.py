"""POS fuzzer: random and boundary messages through real NATS to a running ingest.

Starts its own scratch PostgreSQL schema and nats-server, a tenant with two
stores and tills, and ``serve_ingest``; publishes the messages of
``deploy.fuzz_pos_cases`` (valid tickets, resends, conflicting pairs racing,
poison numbers and dates, deep JSON, NUL, too many lines, messages near the
size limits and the broker's max payload, wrong tokens and subjects, garbage);
then accounts for every message: recorded with exactly its lines, or on the
dead letters (by rule). **Lost** (neither) must be 0, **unexpected** (a valid
ticket refused, a poison one recorded) too, and the ingest must still be
healthy: responsive event loop, a last ticket recorded, a prompt stop.

``python -m deploy.fuzz_pos [--messages N] [--seconds S] [--seed N] [--json]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import random
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
from nats.js import JetStreamContext

from commands.handlers import handle
from commands.pos.deadletter import H_DLQ_RULE, H_DLQ_SEQ
from commands.pos.devices import DeviceRegistry, register_device
from commands.pos.ingest import DLQ_STREAM_NAME, DURABLE, POS_STREAM_NAME, TicketProcessor
from commands.pos.schema import H_TOKEN, sales_subject
from commands.pos.service import serve_ingest
from commands.types import CreateTenant, OpenStore
from deploy.fuzz_pos_cases import STORES, Message, cases
from domain.access import Actor
from domain.codec import decode_event
from domain.events import SaleRecorded
from domain.events.organisation import Role, StoreKind, TenantKind
from domain.streams import sale_stream
from streams.store import EventStore

OWNER = Actor(user_id="fuzz", role=Role.OWNER)
ROW_MARKER = "<!-- fuzz-pos-rows -->"


@dataclass
class FuzzReport:
    seed: int
    messages_sent: int
    recorded: int
    dead_lettered: int
    lost: int
    unexpected: int
    healthy: bool
    by_rule: dict[str, int] = field(default_factory=dict)
    by_kind: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    loop_max_gap_ms: float = 0.0
    reconnects: int = 0
    stop_seconds: float = 0.0
    seconds: float = 0.0


async def run_fuzz(
    database_url: str,
    nats_url: str,
    *,
    messages: int = 300,
    seconds: float = 120.0,
    seed: int | None = None,
) -> FuzzReport:
    """Fuzz one running ingest; ``seconds`` bounds the publishing, then up to 60 s to settle."""
    seed = seed if seed is not None else random.randrange(2**32)
    started = time.monotonic()
    tenant = f"fuzz-{uuid.uuid4().hex[:8]}"
    store = await EventStore.open(database_url)
    tokens = await _set_up(store, tenant)
    stop = asyncio.Event()
    ready: asyncio.Future[TicketProcessor] = asyncio.get_running_loop().create_future()
    ingest = asyncio.create_task(
        serve_ingest(database_url, nats_url, stop=stop, ready=ready.set_result)
    )
    gap = _LoopWatch()
    watch = asyncio.create_task(gap.run())
    nc = await nats.connect(nats_url)
    report = FuzzReport(seed, 0, 0, 0, 0, 0, False)
    try:
        processor = await asyncio.wait_for(asyncio.shield(ready), 60)
        js = nc.jetstream()
        sent = await _publish_all(
            js, tenant, tokens, count=messages, seconds=seconds, rng=random.Random(seed)
        )
        report.messages_sent = len(sent)
        for kind in (m.kind for m, _ in sent):
            report.by_kind[kind] = report.by_kind.get(kind, 0) + 1
        await _settled(js, deadline=time.monotonic() + 60)
        for _ in range(10):  # a delayed redelivery may still be on its way: look again
            await _account(report, js, store, tenant, sent)
            if report.lost == 0:
                break
            await asyncio.sleep(2)
        report.healthy = await _still_healthy(js, store, tenant, tokens, ingest)
        report.reconnects = processor.counters.reconnects
    finally:
        stopping = time.monotonic()
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ingest, 30)
        report.stop_seconds = round(time.monotonic() - stopping, 2)
        report.healthy = report.healthy and report.stop_seconds < 10
        watch.cancel()
        report.loop_max_gap_ms = round(gap.longest * 1000, 1)
        await nc.close()
        await store.close()
    report.seconds = round(time.monotonic() - started, 1)
    return report


async def _set_up(store: EventStore, tenant: str) -> dict[str, str]:
    await handle(
        CreateTenant(name="Fuzz", kind=TenantKind.CHAIN), store, tenant_id=tenant, actor=OWNER
    )
    registry = DeviceRegistry(store.pool)
    tokens: dict[str, str] = {}
    for store_id in STORES:
        opened = OpenStore(
            store_id=store_id,
            name=store_id,
            kind=StoreKind.OUTLET,
            timezone="Europe/Madrid",
            region="ES-CT",
        )
        await handle(opened, store, tenant_id=tenant, actor=OWNER)
        tokens[store_id] = await register_device(
            store,
            registry,
            tenant_id=tenant,
            store_id=store_id,
            device_id=f"till-{store_id}",
            actor=OWNER,
        )
    return tokens


async def _publish_all(
    js: JetStreamContext,
    tenant: str,
    tokens: dict[str, str],
    *,
    count: int,
    seconds: float,
    rng: random.Random,
) -> list[tuple[Message, int]]:
    """Publish group by group (a group at once), ~32 messages in flight; return (message, seq)."""
    deadline = time.monotonic() + seconds
    sent: list[tuple[Message, int]] = []
    pending: list[Message] = []

    async def flush() -> None:
        acks = await asyncio.gather(*(_publish(js, tenant, tokens, m) for m in pending))
        sent.extend(zip(pending, acks, strict=True))
        pending.clear()

    for group in cases(rng, count, datetime.now(UTC)):
        if time.monotonic() > deadline:
            break
        pending.extend(group)
        if len(pending) >= 32:
            await flush()
    await flush()
    return sent


async def _publish(js: JetStreamContext, tenant: str, tokens: dict[str, str], m: Message) -> int:
    token = tokens.get(m.token, "obrpos_forged") if m.token is not None else None
    headers = {H_TOKEN: token} if token is not None else None
    subject_tenant = f"{tenant}-other" if m.foreign_tenant else tenant
    ack = await js.publish(
        sales_subject(subject_tenant, m.store), m.body, headers=headers, timeout=30
    )
    return int(ack.seq)


async def _settled(js: JetStreamContext, *, deadline: float) -> None:
    """Every message published so far has been acked by the ingest (or the deadline passed)."""
    last = (await js.stream_info(POS_STREAM_NAME)).state.last_seq
    while time.monotonic() < deadline:
        info = await js.consumer_info(POS_STREAM_NAME, DURABLE)
        if (
            info.num_pending == 0
            and info.num_ack_pending == 0
            and (info.delivered.stream_seq or 0) >= last
        ):
            return
        await asyncio.sleep(0.2)


async def _account(
    report: FuzzReport,
    js: JetStreamContext,
    store: EventStore,
    tenant: str,
    sent: list[tuple[Message, int]],
) -> None:
    """Each message recorded with its own lines, or dead-lettered; nothing else."""
    rules = await _dead_letters(js)
    report.recorded = report.dead_lettered = report.lost = report.unexpected = 0
    report.by_rule = {}
    report.examples = []
    for message, seq in sent:
        rule = rules.get(seq)
        if rule is not None:
            report.dead_lettered += 1
            report.by_rule[rule] = report.by_rule.get(rule, 0) + 1
            if message.expect == "recorded":
                _note(
                    report,
                    "unexpected",
                    f"{message.kind} refused as {rule}: {message.body[:120]!r}",
                )
            continue
        if message.txn is not None and await _recorded_as(store, tenant, message):
            report.recorded += 1
            if message.expect == "refused":
                _note(report, "unexpected", f"{message.kind} recorded: {message.body[:120]!r}")
        else:
            _note(report, "lost", f"{message.kind} seq {seq}: {message.body[:120]!r}")


def _note(report: FuzzReport, what: str, example: str) -> None:
    setattr(report, what, getattr(report, what) + 1)
    if len(report.examples) < 10:
        report.examples.append(f"{what}: {example}")


async def _recorded_as(store: EventStore, tenant: str, message: Message) -> bool:
    if message.txn is None:
        return False
    records = await store.read_stream(tenant, sale_stream(message.store, message.txn))
    for record in records:
        event = decode_event(record.event_type, record.schema_version, record.payload)
        if isinstance(event, SaleRecorded):
            lines = tuple((x.sku, x.quantity, x.unit_price, x.discount) for x in event.lines)
            return lines == message.lines
    return False


async def _dead_letters(js: JetStreamContext) -> dict[int, str]:
    """Original stream sequence -> rule, for every dead letter."""
    total = (await js.stream_info(DLQ_STREAM_NAME)).state.messages
    sub = await js.pull_subscribe("pos.*.*.dlq.*", stream=DLQ_STREAM_NAME)
    rules: dict[int, str] = {}
    seen = 0
    try:
        while seen < total:
            for msg in await sub.fetch(min(500, total - seen), timeout=10):
                seen += 1
                headers = msg.headers or {}
                rules[int(headers[H_DLQ_SEQ])] = headers[H_DLQ_RULE]
                await msg.ack()
    finally:
        await sub.unsubscribe()
    return rules


async def _still_healthy(
    js: JetStreamContext,
    store: EventStore,
    tenant: str,
    tokens: dict[str, str],
    ingest: asyncio.Task[Any],
) -> bool:
    """The ingest still runs and records a last ticket within 15 s."""
    if ingest.done():
        return False
    body = json.dumps(
        {
            "schema_version": 1,
            "pos_txn_id": "canary",
            "sold_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "lines": [{"sku": "baguette", "quantity": "1", "unit_price": "1.20"}],
        }
    ).encode()
    await js.publish(sales_subject(tenant, "born"), body, headers={H_TOKEN: tokens["born"]})
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if await store.read_stream(tenant, sale_stream("born", "canary")):
            return not ingest.done()
        await asyncio.sleep(0.1)
    return False


class _LoopWatch:
    """The longest the event loop left another task waiting (a spin would show here)."""

    def __init__(self) -> None:
        self.longest = 0.0

    async def run(self) -> None:
        while True:
            started = time.monotonic()
            await asyncio.sleep(0.02)
            self.longest = max(self.longest, time.monotonic() - started - 0.02)


def main(
    *,
    messages: int = 2000,
    seconds: float = 180.0,
    seed: int | None = None,
    json_output: bool = False,
) -> int:
    from deploy.scratch import scratch
    from deploy.settings import Settings
    from deploy.stack import running_stack

    logging.getLogger("obrador.pos").setLevel(logging.ERROR)
    settings = Settings.from_env()
    with tempfile.TemporaryDirectory(prefix="obrador-fuzz-") as folder:
        if not settings.database_url:
            settings = Settings(database_url=None, nats_url=None, data_dir=Path(folder) / "stack")
        with (
            running_stack(settings, log=None) as urls,
            scratch(urls.database_url) as (db, nats_url),
        ):
            report = asyncio.run(
                run_fuzz(db, nats_url, messages=messages, seconds=seconds, seed=seed)
            )
    data = asdict(report)
    print(json.dumps(data) if json_output else "\n".join(f"{k:18} {v}" for k, v in data.items()))
    record(report)
    return 0 if report.lost == 0 and report.unexpected == 0 and report.healthy else 1


def record(report: FuzzReport, path: Path | None = None) -> None:
    """Append the run's row to docs/benchmarks.md (under its marker)."""
    path = path or Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
    if not path.exists() or ROW_MARKER not in path.read_text():
        return
    from deploy.bench_store import machine

    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rules = ", ".join(f"{k} {v}" for k, v in sorted(report.by_rule.items()))
    line = (
        f"| {stamp} | {machine()} "
        f"| `python -m deploy.fuzz_pos --messages {report.messages_sent} --seed {report.seed}` "
        f"| {report.messages_sent:,} | {report.recorded:,} | {report.dead_lettered:,} ({rules}) "
        f"| **{report.lost}** | {report.unexpected} | {'yes' if report.healthy else '**no**'} "
        f"(loop gap {report.loop_max_gap_ms} ms, stop {report.stop_seconds} s)"
        f" | {report.seconds} s |"
    )
    text = path.read_text()
    path.write_text(text.replace(ROW_MARKER, ROW_MARKER + "\n" + line, 1))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        prog="python -m deploy.fuzz_pos", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=180.0, help="bound on the publishing time")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sys.exit(
        main(messages=args.messages, seconds=args.seconds, seed=args.seed, json_output=args.json)
    )
