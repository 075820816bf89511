"""``obrador pos replay FILE``: play a CSV of ticket lines as a till would, over real NATS.

The CSV has one row per ticket line: ``ticket, sold_at, sku, quantity,
unit_price`` and optionally ``discount``, ``promotion``, ``channel``. Rows of
one ticket are grouped (in order of first appearance) and published as one
schema-v1 ticket to ``pos.<tenant>.<store>.sales`` with the device token, and
``Nats-Msg-Id = <store>:<ticket>`` so JetStream itself drops a quick resend.
"""

from __future__ import annotations

import asyncio
import csv
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import msgspec
import nats

from commands.pos.schema import CURRENT_VERSION, H_MSG_ID, H_TOKEN, sales_subject
from streams.cluster import nats_servers

REQUIRED: Final = ("ticket", "sold_at", "sku", "quantity", "unit_price")
IN_FLIGHT: Final = 256


@dataclass
class ReplayResult:
    tickets: int
    published: int
    duplicates: int  # dropped by JetStream's duplicate window
    seconds: float


def read_tickets(path: Path) -> list[dict[str, Any]]:
    """Group the CSV's lines into ticket bodies (schema_version 1)."""
    tickets: dict[str, dict[str, Any]] = {}
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
        for row in reader:
            ticket = tickets.setdefault(
                row["ticket"],
                {
                    "schema_version": CURRENT_VERSION,
                    "pos_txn_id": row["ticket"],
                    "sold_at": row["sold_at"],
                    "channel": row.get("channel") or "counter",
                    "lines": [],
                },
            )
            line = {"sku": row["sku"], "quantity": row["quantity"], "unit_price": row["unit_price"]}
            if row.get("discount"):
                line["discount"] = row["discount"]
            if row.get("promotion"):
                line["promotion"] = row["promotion"]
            ticket["lines"].append(line)
    return list(tickets.values())


async def replay(
    nats_url: str,
    path: Path,
    *,
    tenant_id: str,
    store_id: str,
    token: str,
    rate: float | None = None,
    on_publish: Callable[[], None] | None = None,
) -> ReplayResult:
    """Publish every ticket (``rate`` tickets per second, or as fast as acks come back)."""
    tickets = read_tickets(path)
    subject = sales_subject(tenant_id, store_id)
    nc = await nats.connect(nats_servers(nats_url))
    js = nc.jetstream()
    gate = asyncio.Semaphore(IN_FLIGHT)
    counts = [0, 0]
    started = time.perf_counter()
    loop = asyncio.get_running_loop()

    async def send(ticket: dict[str, Any]) -> None:
        try:
            ack = await js.publish(
                subject,
                msgspec.json.encode(ticket),
                headers={H_TOKEN: token, H_MSG_ID: f"{store_id}:{ticket['pos_txn_id']}"},
            )
            counts[1 if ack.duplicate else 0] += 1
            if on_publish is not None:
                on_publish()
        finally:
            gate.release()

    try:
        pending: list[asyncio.Task[None]] = []
        begin = loop.time()
        for index, ticket in enumerate(tickets):
            if rate:
                delay = begin + index / rate - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)  # pacing, not waiting for a condition
            await gate.acquire()
            pending.append(asyncio.create_task(send(ticket)))
        await asyncio.gather(*pending)
    finally:
        await nc.close()
    return ReplayResult(
        tickets=len(tickets),
        published=counts[0],
        duplicates=counts[1],
        seconds=time.perf_counter() - started,
    )
