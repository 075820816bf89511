"""Server-Sent Events against a real ``obrador api`` process: delivery, isolation, resume."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from http_kit import BOOTSTRAP_EVENTS, NORTH, SOUTH, Tenants, scratch, tenants_on

from deploy.stack import StackUrls
from streams.envelope import NewEvent
from streams.store import EventStore


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
async def tenants(stack: StackUrls) -> AsyncIterator[Tenants]:
    for made in scratch(stack.database_url):
        yield await tenants_on(made.url)


@pytest.fixture(scope="module")
def server(tenants: Tenants) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "deploy.cli", "api", "--port", str(port)],
        env={**os.environ, "DATABASE_URL": tenants.url, "NATS_URL": ""},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "api did not start"
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=15)


async def messages(
    base: str, headers: dict[str, str], count: int, query: str = ""
) -> list[dict[str, str]]:
    """The first ``count`` SSE messages (comments skipped), then disconnect."""
    found: list[dict[str, str]] = []
    current: dict[str, str] = {}
    async with (
        httpx.AsyncClient(base_url=base, timeout=10) as http,
        http.stream("GET", f"/v1/events/stream{query}", headers=headers) as answer,
    ):
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        async for line in answer.aiter_lines():
            if not line:
                if current:
                    found.append(current)
                    current = {}
                if len(found) == count:
                    return found
                continue
            field, _, value = line.partition(": ")
            if field in ("id", "event", "data"):
                current[field] = value
    return found


async def append(url: str, tenant: str, note: str) -> None:
    async with await EventStore.open(url, min_size=1, max_size=1) as store:
        await store.append(
            tenant,
            "live-log",
            [NewEvent(event_type="Noted", payload=json.dumps({"note": note}).encode())],
        )


async def test_events_arrive_live_only_the_tenants_and_resume_after_last_event_id(
    server: str, tenants: Tenants
) -> None:
    # From the start of the log: the north bootstrap (tenant, store, ingredients).
    first = await messages(server, tenants.north, len(BOOTSTRAP_EVENTS), "?after=0")
    assert [m["event"] for m in first] == list(BOOTSTRAP_EVENTS)
    assert all(json.loads(m["data"])["tenant_id"] == NORTH for m in first)
    last_seen = first[-1]["id"]

    # Live: a client waiting from "now" gets the next north event, never south's.
    async def later() -> None:
        await asyncio.sleep(0.5)
        await append(tenants.url, SOUTH, "south-1")
        await append(tenants.url, NORTH, "north-1")

    writer = asyncio.create_task(later())
    [live] = await asyncio.wait_for(messages(server, tenants.north, 1), timeout=15)
    await writer
    assert live["event"] == "Noted" and json.loads(live["data"])["payload"] == {"note": "north-1"}

    # Resume: Last-Event-ID picks up right after the last message seen, in order.
    await append(tenants.url, NORTH, "north-2")
    resumed = await messages(server, {**tenants.north, "Last-Event-ID": last_seen}, 2)
    assert [json.loads(m["data"])["payload"] for m in resumed] == [
        {"note": "north-1"},
        {"note": "north-2"},
    ]
    assert int(resumed[0]["id"]) > int(last_seen)


async def test_a_bad_last_event_id_is_a_400_and_no_key_a_401(server: str, tenants: Tenants) -> None:
    async with httpx.AsyncClient(base_url=server, timeout=10) as http:
        bad = await http.get(
            "/v1/events/stream", headers={**tenants.north, "Last-Event-ID": "yesterday"}
        )
        assert bad.status_code == 400
        assert bad.json()["errors"][0]["field"] == "Last-Event-ID"
        assert (await http.get("/v1/events/stream")).status_code == 401
