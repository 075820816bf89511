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
import contextlib
import json
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import nats
import nats.errors
import psycopg

from deploy.chaos_faults import Faults, inject
from deploy.settings import Settings
from domain.codec import encode_event
from domain.events import DomainEvent
from domain.events.inventory import ItemKind, StockReceived
from domain.events.sales import Channel, SaleLine, SaleRecorded
from domain.streams import sale_stream, stock_stream
from projections.rebuild import verify
from projections.registry import all_models
from streams.cluster import nats_servers
from streams.envelope import AppendRequest, NewEvent
from streams.errors import StoreUnavailable
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
    stored_events: int = 0
    retried_appends: int = 0
    relay_restarts: int = 0
    max_projector_owners: int = 0
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


async def run_chaos(
    database_url: str,
    nats_url: str,
    *,
    events: int,
    cycles: int,
    log_dir: Path,
    seed: int = 5,
    faults: Faults | None = None,
) -> ChaosReport:
    """Load ``events`` while ``cycles`` faults hit; then check JetStream and every model."""
    faults = faults or Faults()
    report = ChaosReport(events=events, cycles=cycles, kills=dict.fromkeys(faults.kinds(), 0))
    started = time.monotonic()
    faults.start_workers(database_url, nats_url, log_dir)
    store = await EventStore.open(database_url)
    rng = random.Random(seed)
    sampler = asyncio.create_task(sample_progress(database_url, log_dir / "progress.log", started))
    try:
        requests = load_requests(events)
        chunk = max(1, len(requests) // (cycles * 3 or 1))
        # The first chunk goes through every worker before any fault: each is up and
        # connected, so the faults hit working processes, not ones still starting.
        report.retried_appends += await load(store, requests[:chunk], chunk, pause=0.0)
        await caught_up(store, database_url, await store.head_position(), timeout=120)
        rest = requests[chunk:]
        pause = max(0.05, cycles * 1.5 / max(1, len(rest) // chunk))  # load spans the faults
        loader = asyncio.create_task(load(store, rest, chunk, pause=pause))
        for _ in range(cycles):
            await asyncio.sleep(rng.uniform(0.2, 1.2))
            report.max_projector_owners = max(
                report.max_projector_owners, await lease_owners(database_url)
            )
            kind = rng.choice(faults.kinds())
            at = round(time.monotonic() - started, 1)
            what = await inject(faults, kind, rng)
            report.kills[kind] += 1
            with (log_dir / "faults.log").open("a") as timeline:  # beside progress.log's t
                timeline.write(f"{at} {time.strftime('%H:%M:%S')} {what}\n")
        report.retried_appends += await loader
        head = await store.head_position()
        await caught_up(store, database_url, head, timeout=1800, stall=120)
        faults.stop_workers()
        written = await all_events(store)
        report.stored_events = len(written)
        report.jetstream_messages, report.jetstream_in_order_no_duplicates = await check_stream(
            nats_url, [e.position for e in written]
        )
        for model in all_models():
            diff = await verify(store, model)
            same = all(v == (0, 0) for v in diff.values())
            report.models[model.name] = "equal to a rebuild" if same else f"DIFFERENT {diff}"
    finally:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        faults.stop_workers()
        await store.close()
    report.relay_restarts = _count_in_logs(log_dir, "relay", "relay restarting")
    report.seconds = round(time.monotonic() - started, 1)
    ok = (
        report.jetstream_in_order_no_duplicates
        and report.jetstream_messages == events == report.stored_events
        and report.models
        and all(v == "equal to a rebuild" for v in report.models.values())
    )
    report.verdict = "PASS" if ok else "FAIL"
    return report


async def load(store: EventStore, requests: list[AppendRequest], chunk: int, pause: float) -> int:
    """Append every request once; what the store could not take is sent again, unchanged.

    A request resent after an unanswered commit is recognised by its idempotency
    key (the first event id) and stored once: a retried write never doubles.
    Returns how many appends were sent again.
    """
    retried = 0
    for i in range(0, len(requests), chunk):
        todo = requests[i : i + chunk]
        deadline = time.monotonic() + 120
        while todo:
            try:
                outcomes: list[Any] = await store.append_many(todo)
            except psycopg.OperationalError as exc:  # no connection at all (pool timeout)
                outcomes = [exc] * len(todo)
            retry = [r for r, o in zip(todo, outcomes, strict=True) if _retryable(o)]
            refused = [o for o in outcomes if isinstance(o, Exception) and not _retryable(o)]
            if refused:
                raise RuntimeError(f"load failed: {refused[0]}")
            if retry and time.monotonic() > deadline:
                raise RuntimeError(f"load: the store refused appends for 120 s: {outcomes[0]}")
            if retry:
                retried += len(retry)
                await asyncio.sleep(0.2)
            todo = retry
        await asyncio.sleep(pause)
    return retried


def _retryable(outcome: object) -> bool:
    return isinstance(outcome, StoreUnavailable | psycopg.OperationalError)


async def lease_owners(url: str) -> int:
    """The most distinct projector processes holding partitions of one model, right now."""
    try:
        async with await psycopg.AsyncConnection.connect(url, connect_timeout=2) as conn:
            cur = await conn.execute(
                "SELECT coalesce(max(n), 0) FROM (SELECT count(DISTINCT owner) AS n"
                " FROM projection_leases WHERE partition >= 0 AND expires_at > now()"
                " GROUP BY projection) AS owners"
            )
            row = await cur.fetchone()
    except psycopg.OperationalError:  # the server may be the fault of this cycle
        return 0
    return int(row[0]) if row else 0


async def sample_progress(url: str, path: Path, started: float, every: float = 5.0) -> None:
    """Every few seconds, one JSON line: the log's head, each model's slowest and fastest
    checkpoint, and how many partitions each projector holds (read after a failed run)."""
    while True:
        line: dict[str, Any] = {"t": round(time.monotonic() - started, 1)}
        try:
            async with await psycopg.AsyncConnection.connect(url, connect_timeout=2) as conn:
                cur = await conn.execute("SELECT coalesce(max(position), 0) FROM events")
                row = await cur.fetchone()
                line["head"] = int(row[0]) if row else 0
                cur = await conn.execute(
                    "SELECT projection, min(position), max(position)"
                    " FROM projection_checkpoints GROUP BY projection ORDER BY projection"
                )
                line["checkpoints"] = {str(p): [int(a), int(b)] for p, a, b in await cur.fetchall()}
                cur = await conn.execute(
                    "SELECT owner, count(*) FROM projection_leases"
                    " WHERE partition >= 0 AND expires_at > now() GROUP BY owner ORDER BY owner"
                )
                line["leases"] = {str(o): int(n) for o, n in await cur.fetchall()}
        except psycopg.Error as exc:  # the server may be the fault of this moment
            line["error"] = type(exc).__name__
        with path.open("a") as out:
            out.write(json.dumps(line) + "\n")
        await asyncio.sleep(every)


def _count_in_logs(log_dir: Path, prefix: str, needle: str) -> int:
    return sum(
        path.read_text(errors="replace").count(needle) for path in log_dir.glob(f"{prefix}*.log")
    )


async def all_events(store: EventStore) -> list[Any]:
    out, position = [], 0
    while batch := await store.read_all(after=position, limit=10_000):
        out.extend(batch)
        position = batch[-1].position
    return out


async def caught_up(
    store: EventStore,
    url: str,
    head: int,
    timeout: float,
    names: list[str] | None = None,
    *,
    stall: float | None = None,
) -> None:
    """Wait until every partition that has events has its checkpoint at its last event.

    Fails after ``timeout`` seconds, or sooner, with ``stall``, once no checkpoint has
    moved for that long: on a loaded machine catching up is slow, not stuck.
    """
    events = await all_events(store)
    last: dict[int, int] = {}
    for event in events:
        last[partition_of(event.tenant_id)] = event.position
    names = names if names is not None else [m.name for m in all_models()]
    started = moved = time.monotonic()
    seen: dict[tuple[str, int], int] = {}
    while True:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            cur = await conn.execute(
                "SELECT projection, partition, position FROM projection_checkpoints"
            )
            have = {(str(p), int(n)): int(pos) for p, n, pos in await cur.fetchall()}
        behind = {
            f"{m}/p{p}": f"{have.get((m, p), 0)} < {pos}"
            for m in names
            for p, pos in last.items()
            if have.get((m, p), 0) < pos
        }
        if not behind:
            return
        now = time.monotonic()
        if have != seen:
            seen, moved = have, now
        if now - started > timeout or (stall is not None and now - moved > stall):
            break
        await asyncio.sleep(0.2)
    why = f"nothing moved for {stall:.0f} s" if stall and now - moved > stall else "timed out"
    raise TimeoutError(
        f"projectors did not catch up to position {head} in {now - started:.0f} s ({why});"
        f" behind: {behind}"
    )


async def check_stream(
    nats_url: str, positions: list[int], ready_within: float = 60.0
) -> tuple[int, bool]:
    """Every message of the stream in order; JetStream API timeouts while a restarted
    cluster elects its leaders are retried until ``ready_within`` seconds have passed."""
    deadline = time.monotonic() + ready_within
    while True:
        try:
            return await _read_stream(nats_url, positions)
        except nats.errors.TimeoutError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def _read_stream(nats_url: str, positions: list[int]) -> tuple[int, bool]:
    nc = await nats.connect(nats_servers(nats_url))
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


def main(
    *,
    events: int,
    cycles: int,
    json_output: bool,
    settings: Settings | None = None,
    relays: int = 1,
    projectors: int = 1,
    nats_nodes: int = 0,
    restart_postgres: bool = False,
) -> int:
    """One chaos run on private servers (``DATABASE_URL`` is used if set, never restarted).

    ``nats_nodes`` ≥ 1 starts a JetStream cluster of that many nodes and kills them
    too; ``restart_postgres`` restarts the private PostgreSQL among the faults.
    """
    import logging
    import tempfile

    # the pool's "connection refused" lines while PostgreSQL restarts are the fault, not news
    logging.getLogger("psycopg.pool").setLevel(logging.ERROR)
    settings = settings or Settings.from_env()
    logs = Path(tempfile.mkdtemp(prefix="obrador-chaos-logs-"))  # kept: the workers' logs
    print(f"chaos: worker logs in {logs}", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="obrador-chaos-") as scratch_dir:
        scratch = Path(scratch_dir)
        with _servers(settings, scratch, nats_nodes, restart_postgres) as (urls, faults):
            faults.relays, faults.projectors = relays, projectors
            report = asyncio.run(
                run_chaos(
                    urls[0], urls[1], events=events, cycles=cycles, log_dir=logs, faults=faults
                )
            )
    data = asdict(report)
    print(json.dumps(data) if json_output else "\n".join(f"{k:34} {v}" for k, v in data.items()))
    _record(data, relays, projectors, nats_nodes)
    return 0 if report.verdict == "PASS" else 1


@contextlib.contextmanager
def _servers(
    settings: Settings, scratch: Path, nats_nodes: int, restart_postgres: bool
) -> Iterator[tuple[tuple[str, str], Faults]]:
    """PostgreSQL and NATS for one run: private ones unless the settings name a database."""
    from deploy.embedded.nats import EmbeddedNats
    from deploy.embedded.nats_cluster import NatsCluster
    from deploy.embedded.postgres import EmbeddedPostgres
    from migrations.runner import migrate

    faults = Faults()
    with contextlib.ExitStack() as stack:
        if settings.database_url:
            if restart_postgres:
                raise ValueError("--restart-postgres: only a private server (DATABASE_URL unset)")
            database_url = settings.database_url
        else:
            pg = EmbeddedPostgres(scratch / "stack")
            pg.start()
            stack.callback(pg.stop)
            database_url = pg.url
            faults.postgres = pg if restart_postgres else None
        migrate(database_url)
        if nats_nodes >= 1:
            cluster = NatsCluster(scratch / "nats-cluster", nats_nodes)
            stack.callback(cluster.stop)
            cluster.start()
            faults.nats, nats_url = cluster, cluster.url
        else:
            server = EmbeddedNats(scratch / "stack")
            server.start()
            stack.callback(server.stop)
            nats_url = server.url
        yield (database_url, nats_url), faults


def _record(data: dict[str, Any], relays: int, projectors: int, nats_nodes: int) -> None:
    path = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
    marker = "<!-- chaos-rows -->"
    if not path.exists() or marker not in path.read_text():
        return
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    models = "; ".join(f"{k}: {v}" for k, v in data["models"].items())
    others = ", ".join(
        f"{k} {n}" for k, n in data["kills"].items() if k not in ("relay", "projector")
    )
    setup = f"{relays} relay(s), {projectors} projector(s), NATS nodes {nats_nodes or 1}"
    if others:
        setup += f"; also killed: {others}; {data['retried_appends']} appends retried"
    line = (
        f"| {stamp} | {data['events']:,} | {data['cycles']} | {data['kills']['relay']} "
        f"| {data['kills']['projector']} | {data['jetstream_messages']:,} | {models} "
        f"| {data['seconds']} | {data['verdict']} ({setup}) |"
    )
    text = path.read_text()
    path.write_text(text.replace(marker, marker + "\n" + line, 1))
