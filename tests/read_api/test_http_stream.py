"""``/v1/stream`` on the real stack (store, relay, JetStream, projectors, API over HTTP):
a sale's stockout alert arrives within a second, changes name their keys, a client
resumes with Last-Event-ID, another tenant sees nothing, and disconnects leak nothing."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from http_kit import scratch
from litestar import Litestar

from commands.handlers import handle
from commands.types import (
    CreateTenant,
    DefineProduct,
    OpenStore,
    ReceiveStock,
    SetProductStockPolicy,
)
from deploy.fuzz_api import projecting
from deploy.stack import StackUrls
from domain.access import Actor
from domain.events.inventory import ItemKind
from domain.events.organisation import Role, StoreKind, TenantKind
from projections.models import ALL_MODELS
from read_api.app import create_app
from read_api.changes import STREAM_CLIENTS, CheckpointWatch
from read_api.keys import create_api_key
from read_api.ratelimit import RateLimits
from streams.jetstream import partition_of
from streams.store import EventStore
from tests.eventually import eventually

OWNER = Actor(user_id="olga", role=Role.OWNER)
HORNO, RIVAL = "horno-live", "rival-live"
D = Decimal


@dataclass
class Live:
    base: str
    url: str
    app: Litestar
    loop: asyncio.AbstractEventLoop
    horno: dict[str, str]
    rival: dict[str, str]


async def setup_tenant(url: str, tenant: str) -> None:
    async with await EventStore.open(url, min_size=1, max_size=1) as store:
        for command in (
            CreateTenant(name=tenant, kind=TenantKind.SINGLE_SHOP),
            OpenStore(
                store_id="centro",
                name="Centro",
                kind=StoreKind.SHOP,
                timezone="Europe/Madrid",
                region="ES-MD",
            ),
            DefineProduct(
                sku="tarta",
                name="Tarta",
                category="pastry",
                price=D("45.00"),
                unit_cost=D("9.00"),
                shelf_life_days=2,
            ),
            SetProductStockPolicy(
                sku="tarta", store_id="centro", reorder_point=D(20), target_stock=D(60)
            ),
            ReceiveStock(
                store_id="centro",
                item_id="tarta",
                item_kind=ItemKind.PRODUCT,
                lot_id="L1",
                quantity=D(8),
                unit_cost=D("9.00"),
            ),
        ):
            await handle(command, store, tenant_id=tenant, actor=OWNER)


async def projected(url: str) -> bool:
    """Every read model has passed each tenant's newest event in the tenant's partition."""
    async with await psycopg.AsyncConnection.connect(url) as conn:
        for tenant in (HORNO, RIVAL):
            cur = await conn.execute(
                "SELECT (SELECT max(position) FROM events WHERE tenant_id = %s),"
                " (SELECT min(position) FROM projection_checkpoints WHERE partition = %s),"
                " (SELECT count(*) FROM projection_checkpoints WHERE partition = %s)",
                (tenant, partition_of(tenant), partition_of(tenant)),
            )
            head, passed, models = await cur.fetchone() or (None, None, 0)
            if passed is None or models < len(ALL_MODELS) or passed < head:
                return False
    return True


def keep_loop(app: Litestar) -> None:
    """Startup hook: the server's loop, to look at its tasks from the test."""
    app.state.loop = asyncio.get_running_loop()


@pytest.fixture(scope="module")
def live(stack: StackUrls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    for made in scratch(stack.database_url):
        asyncio.run(setup_tenant(made.url, HORNO))
        asyncio.run(setup_tenant(made.url, RIVAL))
        horno = {"Authorization": f"Bearer {create_api_key(made.url, HORNO, 'owner', 'o')}"}
        rival = {"Authorization": f"Bearer {create_api_key(made.url, RIVAL, 'owner', 'o')}"}
        with projecting(made.url, Path(tmp_path_factory.mktemp("nats"))):
            app = create_app(made.url, rate_limits=RateLimits.off())
            app.on_startup.append(keep_loop)
            server = uvicorn.Server(
                uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
            )
            thread = threading.Thread(target=server.run, daemon=True)
            thread.start()
            deadline = time.monotonic() + 30
            while not server.started:
                assert thread.is_alive() and time.monotonic() < deadline, "api did not start"
                time.sleep(0.05)
            port = server.servers[0].sockets[0].getsockname()[1]
            try:
                asyncio.run(eventually(partial(projected, made.url), timeout=60))
                yield Live(f"http://127.0.0.1:{port}", made.url, app, app.state.loop, horno, rival)
            finally:
                server.should_exit = True
                thread.join(15)


class Reader:
    """An SSE client in the background: every message with the wall time it arrived."""

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        self.base, self.headers = base, headers
        self.log: list[tuple[float, dict[str, Any]]] = []
        self.arrived = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Reader:
        self.task = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)

    async def _read(self) -> None:
        async with (
            httpx.AsyncClient(base_url=self.base, timeout=30) as http,
            http.stream("GET", "/v1/stream", headers=self.headers) as answer,
        ):
            assert answer.status_code == 200, await answer.aread()
            current: dict[str, Any] = {}
            async for line in answer.aiter_lines():
                if not line:
                    if "data" in current:
                        current["data"] = json.loads(current["data"])
                        self.log.append((time.time(), current))
                        self.arrived.set()
                    current = {}
                    continue
                field, _, value = line.partition(": ")
                if field in ("id", "event", "data"):
                    current[field] = value

    async def find(
        self,
        event: str,
        where: Callable[[dict[str, Any]], bool] = lambda _: True,
        timeout: float = 10,
    ) -> tuple[float, dict[str, Any]]:
        """The first message (from the start of the stream) of ``event`` that ``where`` likes."""
        async with asyncio.timeout(timeout):
            checked = 0
            while True:
                for at, message in self.log[checked:]:
                    if message["event"] == event and where(message["data"]):
                        return at, message
                checked = len(self.log)
                self.arrived.clear()
                await self.arrived.wait()


async def sell(live: Live, txn: str, quantity: int) -> int:
    body = {
        "store_id": "centro",
        "pos_txn_id": txn,
        "sold_at": datetime.now(UTC).isoformat(),
        "lines": [{"sku": "tarta", "quantity": str(quantity), "unit_price": "45.00"}],
    }
    async with httpx.AsyncClient(base_url=live.base, timeout=10) as http:
        answer = await http.post("/v1/sales", json=body, headers=live.horno)
    assert answer.status_code == 200, answer.text
    position: int = answer.json()["position"]
    return position


async def recorded_at(url: str, position: int) -> float:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute("SELECT recorded_at FROM events WHERE position = %s", (position,))
        row = await cur.fetchone()
    assert row is not None
    return float(row[0].timestamp())


async def test_a_stockout_alert_arrives_within_a_second_of_the_sale(live: Live) -> None:
    async with Reader(live.base, live.horno) as horno, Reader(live.base, live.rival) as rival:
        _, snapshot = await horno.find("alerts")
        assert [a["type"] for a in snapshot["data"]["open"]] == ["low_stock"]
        await rival.find("alerts")
        warm = await sell(live, "warm-up", 1)  # 8 -> 7: still low, the stream is warm
        await horno.find("change", lambda d: d["model"] == "inventory" and d["position"] >= warm)

        position = await sell(live, "t-2", 7)  # 7 -> 0: out of stock
        appended = await recorded_at(live.url, position)
        arrived, message = await horno.find("alert", lambda d: d["alert"]["type"] == "stockout")
        assert message["data"]["change"] == "raised"
        assert message["data"]["alert"]["severity"] == "urgent"
        assert message["data"]["alert"]["store_id"] == "centro"
        assert message["data"]["position"] >= position
        late = arrived - appended
        assert late < 1.0, f"the alert arrived {late:.3f} s after the sale was appended"

        _, change = await horno.find(
            "change", lambda d: d["model"] == "inventory" and d["position"] >= position
        )
        assert {"store_id": "centro", "item_id": "tarta"} in change["data"]["keys"]
        _, sales = await horno.find(  # the sale itself, before its stock events
            "change", lambda d: d["model"] == "sales" and d["position"] > warm
        )
        assert sales["data"]["keys"] == [{"store_id": "centro"}]
        ids = [int(m["id"]) for _, m in horno.log if "id" in m]
        assert ids == sorted(ids) and ids[-1] >= position - 1
    # the other tenant heard nothing of it
    assert [m["event"] for _, m in rival.log] == ["alerts"]


async def test_last_event_id_resumes_with_the_changes_after_it(live: Live) -> None:
    async with Reader(live.base, live.horno) as first:
        _, hello = await first.find("alerts")
    resume_from = int(hello["id"])
    position = await sell(live, "t-3", 1)
    headers = {**live.horno, "Last-Event-ID": str(resume_from)}
    async with Reader(live.base, headers) as again:
        await again.find("change", lambda d: d["model"] == "sales" and d["position"] > resume_from)
        await again.find(
            "change", lambda d: d["model"] == "inventory" and d["position"] >= position
        )
    changes = [m["data"] for _, m in again.log if m["event"] == "change"]
    assert all(c["position"] > resume_from for c in changes)
    ids = [int(m["id"]) for _, m in again.log if "id" in m]
    assert ids == sorted(ids) and ids[0] >= resume_from  # never behind where it resumed


async def _server_state(live: Live) -> tuple[int, int, int]:
    """(open streams, connections lent out by the read pool, tasks) in the server's loop."""

    async def inside() -> tuple[int, int, int]:
        watch: CheckpointWatch = live.app.state.checkpoint_watch
        stats = live.app.state.pool.get_stats()
        lent = stats.get("pool_size", 0) - stats.get("pool_available", 0)
        return watch.clients, lent, len(asyncio.all_tasks())

    return asyncio.run_coroutine_threadsafe(inside(), live.loop).result(10)


async def test_clients_that_go_away_leak_no_stream_connection_or_task(live: Live) -> None:
    await eventually(lambda: _idle(live), timeout=10)
    before = await _server_state(live)
    readers = [Reader(live.base, live.horno) for _ in range(12)]
    for reader in readers:
        await reader.__aenter__()
    for reader in readers:
        await reader.find("alerts")
    opened = await _server_state(live)
    assert opened[0] == before[0] + 12
    assert STREAM_CLIENTS._value.get() >= 12
    for reader in readers:
        await reader.__aexit__()

    async def back() -> bool:
        now = await _server_state(live)
        return now[0] == before[0] and now[1] == 0 and now[2] <= before[2]

    await eventually(back, timeout=10)


async def _idle(live: Live) -> bool:
    streams, lent, _ = await _server_state(live)
    return streams == 0 and lent == 0
