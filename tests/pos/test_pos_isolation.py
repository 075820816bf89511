"""One message cannot hang the stack (issue 8, defect 1), against a real nats-server.

A message just under the broker's max payload, without a token, is dead-lettered
(truncated, so the dead letter fits), the ingest goes on, the other tasks of the
process keep being scheduled, a closed connection is reopened without spinning,
and stopping (``stop`` in-process, SIGTERM for ``serve``) takes seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nats_proxy import NatsProxy, nats_proxy
from pos_kit import Pos, eventually, running_pos, ticket

from commands.pos.consumer import FETCH_TIMEOUT, STOP_GRACE
from commands.pos.deadletter import (
    H_DLQ_RULE,
    H_DLQ_SHA256,
    H_DLQ_SIZE,
    H_DLQ_TRUNCATED,
)
from commands.pos.schema import sales_subject
from domain.limits import DLQ_BODY_BYTES

ROOT = Path(__file__).resolve().parents[2]


class Ticker:
    """Another task of the same process: records the longest gap between its ticks."""

    def __init__(self) -> None:
        self.ticks = 0
        self.longest = 0.0

    async def run(self) -> None:
        while True:
            started = time.monotonic()
            await asyncio.sleep(0.02)
            self.longest = max(self.longest, time.monotonic() - started)
            self.ticks += 1


@contextlib.asynccontextmanager
async def ticking() -> AsyncIterator[Ticker]:
    ticker = Ticker()
    task = asyncio.create_task(ticker.run())
    try:
        yield ticker
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def near_max_payload(pos: Pos) -> bytes:
    """A body 512 bytes under the server's max payload (1 MiB by default)."""
    limit = pos.js._nc.max_payload
    return b'{"x": "' + b"A" * (limit - 512 - 10) + b'"}'


async def test_a_message_near_max_payload_without_token_is_dead_lettered_and_the_ingest_goes_on(
    pos: Pos,
) -> None:
    body = await near_max_payload(pos)
    async with ticking() as ticker:
        await pos.js.publish(sales_subject(pos.tenant, "born"), body)  # no token at all
        (letter,) = await pos.dead_letters(1)
        await pos.publish("born", ticket("after"), pos.tokens["born"])
        await pos.settled()
    headers = letter.headers
    assert headers[H_DLQ_RULE] == "message_too_large"
    assert headers[H_DLQ_TRUNCATED] == "true" and len(letter.data) == DLQ_BODY_BYTES
    assert headers[H_DLQ_SIZE] == str(len(body))
    assert headers[H_DLQ_SHA256] == hashlib.sha256(body).hexdigest()
    assert letter.data == body[:DLQ_BODY_BYTES]
    assert len(await pos.sales("born", "after")) == 1  # the connection survived
    assert pos.processor.counters.reconnects == 0
    assert ticker.ticks > 0 and ticker.longest < 0.5


async def test_stop_ends_the_ingest_within_seconds_while_big_messages_keep_coming(
    pos: Pos,
) -> None:
    body = await near_max_payload(pos)
    for _ in range(5):
        await pos.js.publish(sales_subject(pos.tenant, "born"), body)
    started = time.monotonic()
    pos.stop.set()
    await asyncio.wait_for(pos.ingest, STOP_GRACE + FETCH_TIMEOUT + 3)
    assert time.monotonic() - started < STOP_GRACE + FETCH_TIMEOUT + 3


@pytest.fixture
async def proxied(pg_url: str, nats_url: str) -> AsyncIterator[tuple[Pos, NatsProxy]]:
    async with (
        nats_proxy(nats_url) as proxy,
        running_pos(pg_url, nats_url, ingest_url=proxy.url) as pos,
    ):
        yield pos, proxy


async def test_a_connection_closed_by_a_protocol_error_is_reopened_without_spinning(
    proxied: tuple[Pos, NatsProxy],
) -> None:
    pos, proxy = proxied
    async with ticking() as ticker:
        cpu_before, wall_before = time.process_time(), time.monotonic()
        assert await proxy.poison() >= 1

        async def reconnected() -> bool:
            return pos.processor.counters.reconnects >= 1

        await eventually(reconnected, 15)
        # Published once the new connection is up (a ticket handed to the dead
        # connection's pull request would only come back after ack_wait, 30 s).
        await pos.publish("born", ticket("after-reconnect"), pos.tokens["born"])

        async def recorded() -> bool:
            return len(await pos.sales("born", "after-reconnect")) == 1

        await eventually(recorded, 30)
        cpu = time.process_time() - cpu_before
        wall = time.monotonic() - wall_before
    assert pos.processor.counters.reconnects >= 1
    assert ticker.longest < 0.5
    assert cpu < 0.6 * wall + 0.5, f"{cpu:.2f}s of CPU in {wall:.2f}s: the loop spun"


INGEST_SCRIPT = """
import asyncio, sys
from commands.pos.service import serve_ingest

asyncio.run(serve_ingest(sys.argv[1], sys.argv[2], ready=lambda _: print("ready", flush=True)))
print("stopped", flush=True)
"""

SERVE_SCRIPT = """
import asyncio, sys
from deploy.node import components
from deploy.settings import Settings
from deploy.supervisor import Supervisor

settings = Settings(database_url=sys.argv[1], nats_url=sys.argv[2], metrics_port=0)
node = Supervisor(components(["relay", "ingest"], sys.argv[1], sys.argv[2], settings))
asyncio.run(node.run(lambda: print("ready", flush=True)))
print("stopped", flush=True)
"""


@pytest.mark.parametrize("script", [SERVE_SCRIPT, INGEST_SCRIPT], ids=["node", "ingest-alone"])
async def test_sigterm_stops_the_process_within_seconds_after_an_oversized_message(
    pos: Pos, pg_url: str, script: str
) -> None:
    """A node's supervisor (relay + ingest, as ``obrador up --only relay,ingest``) and
    ``serve_ingest`` alone (``obrador ingest``) both stop cleanly on SIGTERM."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    child = subprocess.Popen(
        [sys.executable, "-c", script, pg_url, pos.nats_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(child.stdout.readline), 30)
        assert line.strip() == "ready"
        await pos.js.publish(sales_subject(pos.tenant, "born"), await near_max_payload(pos))
        await pos.dead_letters(1)  # one of the two ingests has refused it
        started = time.monotonic()
        child.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(asyncio.to_thread(child.wait), 15)
        assert code == 0 and time.monotonic() - started < 10
        assert child.stdout.read().strip() == "stopped"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
