"""History export: order, filters, isolation and flat memory; HTTP and the offline CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from http_kit import BOOTSTRAP_EVENTS, NORTH, SOUTH, Tenants, scratch, tenants_on
from litestar import Litestar
from litestar.testing import AsyncTestClient
from psycopg_pool import AsyncConnectionPool

from deploy.stack import StackUrls
from read_api.app import create_app
from read_api.export import BATCH, HistoryFilter, history_lines
from streams.envelope import AppendRequest, NewEvent
from streams.store import EventStore

Client = AsyncTestClient[Litestar]
PER_APPEND = 50
NORTH_APPENDS = 50  # 2,500 events of north beyond its bootstrap: several export batches
BULK = "bulk-bakery"
BULK_EVENTS = 40_000  # a tenant whose export is ~40 times one batch


def appends() -> list[AppendRequest]:
    """North and south appends interleaved, so their global positions interleave."""
    out = []
    for i in range(NORTH_APPENDS):
        for tenant, stream in ((NORTH, f"log-{'ab'[i % 2]}"), (SOUTH, "log-a")):
            if tenant == SOUTH and i % 5:
                continue
            events = tuple(
                NewEvent(
                    event_type="Ping" if n % 3 else "Pong",
                    payload=json.dumps({"i": i, "n": n, "tenant": tenant}).encode(),
                )
                for n in range(PER_APPEND)
            )
            out.append(AppendRequest(tenant_id=tenant, stream_id=stream, events=events))
    return out


def bulk() -> list[AppendRequest]:
    payload = json.dumps({"note": "x" * 120}).encode()
    return [
        AppendRequest(
            tenant_id=BULK,
            stream_id=f"bulk-{i}",
            events=tuple(NewEvent(event_type="Ping", payload=payload) for _ in range(500)),
        )
        for i in range(BULK_EVENTS // 500)
    ]


@pytest.fixture(scope="module")
async def tenants(stack: StackUrls) -> AsyncIterator[Tenants]:
    for made in scratch(stack.database_url):
        found = await tenants_on(made.url)
        async with await EventStore.open(made.url, min_size=1, max_size=2) as store:
            results = await store.bulk_append(appends())
            results += await store.bulk_append(bulk())
            assert not [r for r in results if isinstance(r, Exception)]
        yield found


@pytest.fixture(scope="module")
async def client(tenants: Tenants) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(tenants.url)) as test_client:
        yield test_client


async def lines(client: Client, headers: dict[str, str], query: str = "") -> list[dict]:  # type: ignore[type-arg]
    answer = await client.get(f"/v1/history{query}", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in answer.text.splitlines()]


async def test_the_export_is_every_event_of_the_tenant_in_global_order(
    client: Client, tenants: Tenants
) -> None:
    north = await lines(client, tenants.north)
    assert len(north) == len(BOOTSTRAP_EVENTS) + NORTH_APPENDS * PER_APPEND
    assert len(north) > 2 * BATCH
    positions = [e["position"] for e in north]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert {e["tenant_id"] for e in north} == {NORTH}
    first_ping = next(e for e in north if e["event_type"] == "Ping")
    assert first_ping["payload"]["tenant"] == NORTH  # the payload embedded as JSON
    assert set(first_ping) >= {"event_id", "stream_id", "stream_version", "recorded_at", "actor"}
    south = await lines(client, tenants.south)
    assert {e["tenant_id"] for e in south} == {SOUTH}
    assert not {e["event_id"] for e in south} & {e["event_id"] for e in north}


async def test_filters_narrow_by_stream_type_position_and_time(
    client: Client, tenants: Tenants
) -> None:
    north = await lines(client, tenants.north)
    middle = north[len(north) // 2]["position"]
    after = await lines(client, tenants.north, f"?after={middle}")
    assert [e["position"] for e in after] == [
        e["position"] for e in north if e["position"] > middle
    ]
    upto = await lines(client, tenants.north, f"?after=0&until={middle}")
    assert len(upto) + len(after) == len(north)
    stream = await lines(client, tenants.north, "?stream=log-b&event_type=Pong")
    assert stream and all(e["stream_id"] == "log-b" and e["event_type"] == "Pong" for e in stream)
    both = await lines(client, tenants.north, "?event_type=Ping&event_type=Pong")
    assert len(both) == NORTH_APPENDS * PER_APPEND
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert await lines(client, tenants.north, f"?recorded_from={future}") == []
    assert len(await lines(client, tenants.north, f"?recorded_to={future}")) == len(north)
    backwards = await client.get(
        f"/v1/history?recorded_from={future}&recorded_to=2020-01-01T00:00:00Z",
        headers=tenants.north,
    )
    assert backwards.status_code == 422


async def test_another_tenants_stream_id_exports_nothing_and_an_auditor_may_export(
    client: Client, tenants: Tenants
) -> None:
    # "log-a" exists in both tenants: south's filter never reaches north's events.
    south = await lines(client, tenants.south, "?stream=log-a")
    assert south and {e["tenant_id"] for e in south} == {SOUTH}
    audited = await lines(client, tenants.north_auditor, "?until=3")
    assert {e["tenant_id"] for e in audited} <= {NORTH}
    assert (await client.get("/v1/history")).status_code == 401


async def test_the_generator_keeps_memory_flat_whatever_the_history_size(
    tenants: Tenants,
) -> None:
    pool: AsyncConnectionPool = AsyncConnectionPool(
        tenants.url, min_size=1, max_size=1, open=False, kwargs={"autocommit": True}
    )
    await pool.open()
    try:
        tracemalloc.start()
        try:
            exported = count = 0
            async for line in history_lines(pool, BULK, HistoryFilter()):
                exported += len(line)
                count += 1
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    finally:
        await pool.close()
    assert count == BULK_EVENTS
    # One batch of rows at a time: the peak stays a small fraction of what went out.
    assert peak < exported / 8, (peak, exported)


def test_the_cli_exports_the_same_lines_offline(tenants: Tenants, tmp_path: Path) -> None:
    out = tmp_path / "north.ndjson"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "deploy.cli",
            "history",
            "export",
            "--tenant",
            NORTH,
            "--stream",
            "log-a",
            "--after",
            "0",
            "--out",
            str(out),
        ],
        env={**os.environ, "DATABASE_URL": tenants.url, "NATS_URL": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    assert exported and {e["stream_id"] for e in exported} == {"log-a"}
    assert {e["tenant_id"] for e in exported} == {NORTH}
    positions = [e["position"] for e in exported]
    assert positions == sorted(positions)
    assert f"exported {len(exported)} events" in done.stderr
