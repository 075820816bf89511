"""``obrador bench api``: the HTTP front door under load, against references of the same run.

Three processes: the API server (``create_app`` under uvicorn, one worker, no
rate limits, the same process also answers ``/bench/trivial`` from a bare
Litestar app of one handler), a load generator (asyncio keep-alive HTTP/1.1
connections, in a process of its own), and this driver.

- **trivial** (the reference): ``GET /bench/trivial``, 32 connections — what
  Litestar + uvicorn answer on this machine at all; also the generator's own
  ceiling (``generator_cpu_share_trivial`` near 1.0 means the generator, not
  the server, was the limit).
- **query**: ``GET /v1/inventory?store=…`` with an API key, 32 connections:
  authentication, a pooled read-only SQL query, JSON of 20 rows.
  ``query_ratio_vs_trivial`` (target ≥ 0.5), ``query_p99_ms`` (≤ 25 ms).
- **command**: ``POST /v1/sales`` (``RecordSale``), 64 concurrent clients, each
  sale a new ticket of one line spread over 4 stores × 20 products; every 2xx is
  sent after its events are committed (the sale stream and the stock stream).
  The reference is the store's own append benchmark (``obrador bench store``'s
  32 writers) in the same run: ``command_ratio_vs_store_appends``.

Trivial and query alternate run by run (median of ``runs``), so a change of
machine load hits both alike. The generator is a few dozen lines of asyncio
streams rather than httpx (~10× the CPU per request): a fast client keeps the
ceiling above the server's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

import httpx

from deploy.bench_store import machine, record_rows
from deploy.ceilings import ratio
from deploy.scratch import scratch_schema
from deploy.settings import Settings

TENANT: Final = "bench-bakery"
TRIVIAL_PATH: Final = "/bench/trivial"
QUERY_CONNECTIONS: Final = 32
COMMAND_CLIENTS: Final = 64
KEY_ENV: Final = "OBRADOR_BENCH_KEY"


@dataclass(frozen=True)
class Sizes:
    stores: int
    skus: int
    seconds: float
    warmup: float
    runs: int


FULL = Sizes(stores=4, skus=20, seconds=10.0, warmup=2.0, runs=3)
QUICK = Sizes(stores=4, skus=20, seconds=1.5, warmup=0.5, runs=1)


@dataclass
class Figures:
    trivial_req_per_s: float
    trivial_p99_ms: float
    query_req_per_s: float
    query_p50_ms: float
    query_p99_ms: float
    query_ratio_vs_trivial: float
    command_per_s: float
    command_p50_ms: float
    command_p99_ms: float
    store_appends_per_s: float
    store_events_per_s: float
    command_ratio_vs_store_appends: float
    generator_cpu_share_trivial: float
    server_cpu_share_trivial: float
    server_cpu_share_query: float
    server_cpu_share_command: float
    non_2xx: int
    #: Answers by status, per workload, over every run.
    statuses: dict[str, dict[str, int]]
    query_rows: int
    query_connections: int
    command_clients: int
    seconds_per_run: float
    runs: int
    machine: str


# --- the server process -------------------------------------------------------


def _serve(conninfo: str) -> None:
    """Run the API and the trivial endpoint on a free port; print the port, serve until killed."""
    import uvicorn
    from litestar import Litestar, get

    from read_api.app import create_app
    from read_api.ratelimit import RateLimits
    from read_api.tokens import AuthConfig

    @get(TRIVIAL_PATH, sync_to_thread=False)
    def trivial() -> dict[str, bool]:
        return {"ok": True}

    bare = Litestar(route_handlers=[trivial], openapi_config=None)
    api = create_app(
        conninfo, auth=AuthConfig(secret="bench-" + "x" * 40), rate_limits=RateLimits.off()
    )

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == TRIVIAL_PATH:
            await bare(scope, receive, send)
        else:
            await api(scope, receive, send)

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


# --- the load generator process -----------------------------------------------


def _sale_body(conn: int, seq: int, *, stores: int, skus: int, sold_at: str, run: str) -> bytes:
    sale = {
        "store_id": f"s{(conn + seq) % stores}",
        "pos_txn_id": f"t{run}-{conn}-{seq}",  # new tickets in every run
        "sold_at": sold_at,
        "lines": [{"sku": f"sku{(conn * 7 + seq) % skus}", "quantity": "1", "unit_price": "1.10"}],
    }
    return json.dumps(sale).encode()


def _request(method: str, path: str, port: int, key: str, body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    if key:
        head += f"Authorization: Bearer {key}\r\n"
    if method == "POST":
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


async def _load(
    port: int,
    *,
    connections: int,
    seconds: float,
    warmup: float,
    next_request: Callable[[int, int], bytes],
) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    started = time.perf_counter()
    measure_from, deadline = started + warmup, started + warmup + seconds

    async def client(conn: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        seq = 0
        try:
            while (sent := time.perf_counter()) < deadline:
                writer.write(next_request(conn, seq))
                head = await reader.readuntil(b"\r\n\r\n")
                await reader.readexactly(_content_length(head))
                answered = time.perf_counter()
                # Answers of the measured window count, whenever their request was sent.
                if measure_from <= answered <= deadline:
                    latencies.append(answered - sent)
                    statuses[int(head[9:12])] += 1
                seq += 1
        finally:
            writer.close()

    cpu = time.process_time()
    await asyncio.gather(*(client(c) for c in range(connections)))
    cpu = time.process_time() - cpu
    wall = time.perf_counter() - started
    latencies.sort()
    done = len(latencies)
    return {
        "requests": done,
        "req_per_s": done / seconds,
        "p50_ms": latencies[done // 2] * 1000 if done else 0.0,
        "p99_ms": latencies[min(done - 1, int(0.99 * done))] * 1000 if done else 0.0,
        "statuses": {str(k): v for k, v in statuses.items()},
        "cpu_share": cpu / wall if wall else 0.0,
        "wall": wall,
    }


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
        if name.strip().lower() == b"transfer-encoding":
            raise RuntimeError("chunked answers are not read by this generator")
    return 0


def _generate(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--warmup", type=float, default=0.0)
    parser.add_argument("--get", default=None)
    parser.add_argument("--sales", default=None, metavar="STORES,SKUS")
    args = parser.parse_args(argv)
    key = os.environ.get(KEY_ENV, "")
    if args.get:
        fixed = _request("GET", args.get, args.port, key)

        def next_request(conn: int, seq: int) -> bytes:
            return fixed
    else:
        stores, skus = (int(n) for n in args.sales.split(","))
        sold_at = datetime.now(UTC).isoformat()
        run = uuid.uuid4().hex[:8]

        def next_request(conn: int, seq: int) -> bytes:
            body = _sale_body(conn, seq, stores=stores, skus=skus, sold_at=sold_at, run=run)
            return _request("POST", "/v1/sales", args.port, key, body)

    out = asyncio.run(
        _load(
            args.port,
            connections=args.connections,
            seconds=args.seconds,
            warmup=args.warmup,
            next_request=next_request,
        )
    )
    print(json.dumps(out), flush=True)


# --- the driver -----------------------------------------------------------------


async def _set_up(conninfo: str, sizes: Sizes) -> None:
    """A tenant with stores and products, a lot of each product in each store, projected."""
    from commands.handlers import handle
    from commands.types import CreateTenant, DefineProduct, OpenStore, ReceiveStock
    from domain.events.inventory import ItemKind
    from domain.events.organisation import StoreKind, TenantKind
    from projections.models import model_by_name
    from projections.rebuild import rebuild
    from read_api.users import SYSTEM
    from streams.store import EventStore

    store = await EventStore.open(conninfo, min_size=1, max_size=2)
    try:

        async def run(command: Any) -> None:
            await handle(command, store, tenant_id=TENANT, actor=SYSTEM)

        await run(CreateTenant(name="Bench", kind=TenantKind.MULTI_SHOP))
        for s in range(sizes.stores):
            await run(
                OpenStore(
                    store_id=f"s{s}",
                    name=f"Store {s}",
                    kind=StoreKind.SHOP,
                    timezone="Europe/Madrid",
                    region="ES-MD",
                )
            )
        for k in range(sizes.skus):
            await run(
                DefineProduct(
                    sku=f"sku{k}",
                    name=f"Product {k}",
                    category="bread",
                    price=Decimal("1.10"),
                    unit_cost=Decimal("0.35"),
                    shelf_life_days=2,
                )
            )
            for s in range(sizes.stores):
                await run(
                    ReceiveStock(
                        store_id=f"s{s}",
                        item_id=f"sku{k}",
                        item_kind=ItemKind.PRODUCT,
                        lot_id=f"L{s}-{k}",
                        quantity=Decimal(100_000),
                        unit_cost=Decimal("0.35"),
                    )
                )
        await rebuild(store, model_by_name("inventory"))
    finally:
        await store.close()


@contextmanager
def _server(conninfo: str) -> Iterator[tuple[int, int]]:
    """(port, pid) of a fresh API server process, answering /health; stopped afterwards."""
    process = subprocess.Popen(
        [sys.executable, "-m", "deploy.bench_api", "serve", conninfo],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the API server did not start")
            time.sleep(0.1)
        yield port, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _generator(
    port: int, key: str, server_pid: int, args: list[str], sizes: Sizes
) -> dict[str, Any]:
    before = _cpu_seconds(server_pid)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "deploy.bench_api",
            "load",
            "--port",
            str(port),
            "--seconds",
            str(sizes.seconds),
            "--warmup",
            str(sizes.warmup),
            *args,
        ],
        env={**os.environ, KEY_ENV: key},
        capture_output=True,
        text=True,
        check=True,
        timeout=sizes.seconds + sizes.warmup + 120,
    )
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    # The server is idle but for the generator's load: its CPU over the load's wall time.
    wall = float(out["wall"])
    out["server_cpu_share"] = (_cpu_seconds(server_pid) - before) / wall if wall else 0.0
    return out


def _non_2xx(out: dict[str, Any]) -> int:
    return sum(n for status, n in out["statuses"].items() if not status.startswith("2"))


def run(database_url: str, sizes: Sizes) -> Figures:
    from deploy.bench_store import _ours
    from read_api.keys import create_api_key

    trivials: list[dict[str, Any]] = []
    queries: list[dict[str, Any]] = []
    commands: list[dict[str, Any]] = []
    appends: list[tuple[float, float]] = []
    with scratch_schema(database_url, "benchapi") as conninfo:
        asyncio.run(_set_up(conninfo, sizes))
        key = create_api_key(conninfo, TENANT, "owner", "bench api")
        with _server(conninfo) as (port, pid):
            # Settle the server (first requests import and warm caches) before measuring.
            _generator(port, key, pid, ["--connections", "4", "--get", TRIVIAL_PATH], QUICK)
            query = f"/v1/inventory?store=s{sizes.stores - 1}"
            rows = len(
                httpx.get(
                    f"http://127.0.0.1:{port}{query}", headers={"Authorization": f"Bearer {key}"}
                ).json()["items"]
            )
            for _ in range(sizes.runs):
                connections = ["--connections", str(QUERY_CONNECTIONS)]
                trivials.append(
                    _generator(port, key, pid, [*connections, "--get", TRIVIAL_PATH], sizes)
                )
                queries.append(_generator(port, key, pid, [*connections, "--get", query], sizes))
            for _ in range(sizes.runs):
                commands.append(
                    _generator(
                        port,
                        key,
                        pid,
                        [
                            "--connections",
                            str(COMMAND_CLIENTS),
                            "--sales",
                            f"{sizes.stores},{sizes.skus}",
                        ],
                        sizes,
                    )
                )
    for _ in range(sizes.runs):
        with scratch_schema(database_url, "benchapi") as conninfo:
            count, events, _latencies = asyncio.run(_ours(conninfo, sizes.seconds))
        appends.append((count / sizes.seconds, events / sizes.seconds))
    med = statistics.median
    trivial, query, command = (
        med(o["req_per_s"] for o in trivials),
        med(o["req_per_s"] for o in queries),
        med(o["req_per_s"] for o in commands),
    )
    store_appends = med(a[0] for a in appends)
    return Figures(
        trivial_req_per_s=round(trivial),
        trivial_p99_ms=round(med(o["p99_ms"] for o in trivials), 2),
        query_req_per_s=round(query),
        query_p50_ms=round(med(o["p50_ms"] for o in queries), 2),
        query_p99_ms=round(med(o["p99_ms"] for o in queries), 2),
        query_ratio_vs_trivial=ratio(query, trivial),
        command_per_s=round(command),
        command_p50_ms=round(med(o["p50_ms"] for o in commands), 2),
        command_p99_ms=round(med(o["p99_ms"] for o in commands), 2),
        store_appends_per_s=round(store_appends),
        store_events_per_s=round(med(a[1] for a in appends)),
        command_ratio_vs_store_appends=ratio(command, store_appends),
        generator_cpu_share_trivial=round(med(o["cpu_share"] for o in trivials), 2),
        server_cpu_share_trivial=round(med(o["server_cpu_share"] for o in trivials), 2),
        server_cpu_share_query=round(med(o["server_cpu_share"] for o in queries), 2),
        server_cpu_share_command=round(med(o["server_cpu_share"] for o in commands), 2),
        non_2xx=sum(_non_2xx(o) for o in (*trivials, *queries, *commands)),
        statuses={
            name: dict(sum((Counter(o["statuses"]) for o in outs), Counter()))
            for name, outs in (("trivial", trivials), ("query", queries), ("command", commands))
        },
        query_rows=rows,
        query_connections=QUERY_CONNECTIONS,
        command_clients=COMMAND_CLIENTS,
        seconds_per_run=sizes.seconds,
        runs=sizes.runs,
        machine=machine(),
    )


def main(*, json_output: bool, quick: bool, settings: Settings | None = None) -> int:
    from deploy.stack import running_stack

    settings = settings or Settings.from_env()
    sizes = QUICK if quick else FULL
    with running_stack(settings, need_nats=False, log=None) as urls:
        figures = run(urls.database_url, sizes)
    data: dict[str, Any] = asdict(figures)
    if json_output:
        print(json.dumps(data))
    else:
        for name, value in data.items():
            print(f"{name:32} {value}")
    if not quick:
        record(data)
    return 0 if figures.non_2xx == 0 else 1


def record(data: dict[str, Any]) -> None:
    """Add the API's rows to the table of docs/benchmarks.md."""
    record_rows(
        [
            (
                f"API query: inventory of a store ({data['query_rows']} rows),"
                f" {data['query_connections']} connections, one worker",
                f"{data['query_req_per_s']:,} req/s, p99 {data['query_p99_ms']} ms",
                f"trivial Litestar endpoint {data['trivial_req_per_s']:,} req/s"
                f" (generator CPU {data['generator_cpu_share_trivial']})",
                f"{data['query_ratio_vs_trivial']}×",
            ),
            (
                f"API command: RecordSale, {data['command_clients']} clients, durable before 2xx",
                f"{data['command_per_s']:,} commands/s, p99 {data['command_p99_ms']} ms",
                f"store append bench {data['store_appends_per_s']:,} appends/s"
                f" ({data['store_events_per_s']:,} events/s)",
                f"{data['command_ratio_vs_store_appends']}×",
            ),
        ],
        data["machine"],
        f"`obrador bench api`, median of {data['runs']}",
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        _serve(sys.argv[2])
    elif sys.argv[1:2] == ["load"]:
        _generate(sys.argv[2:])
    else:
        sys.exit("usage: python -m deploy.bench_api serve CONNINFO | load …")
