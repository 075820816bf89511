"""Real receivers for the notifier tests: an HTTP server, an SMTP server, alert rows, a clock.

No tests here. The HTTP receiver and ``aiosmtpd`` listen on free ports of
127.0.0.1; alerts are rows of the real ``rm_alerts`` table (what the alerts
projection writes), so each test picks the severity and escalation it needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg
from aiosmtpd.controller import Controller

from commands.handlers import handle
from commands.types.base import Command
from domain.access import Actor
from domain.events.organisation import Role
from streams.notify.send import RetryPolicy
from streams.notify.transport import SmtpConfig
from streams.notify.worker import Notifier
from streams.store import EventStore

OWNER = Actor(user_id="olga", role=Role.OWNER)
SECRET = "a-long-shared-secret"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An HTTP server that answers 503 to the first ``failures`` posts, then 200."""

    failures: int = 0
    got: list[Received] = field(default_factory=list)
    url: str = ""

    @contextlib.contextmanager
    def serving(self) -> Iterator[Receiver]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.got.append(Received(dict(self.headers.items()), body))
                failing = len(receiver.got) <= receiver.failures
                self.send_response(503 if failing else 200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/obrador"
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()


class Mailbox:
    """An ``aiosmtpd`` server on a free port keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    @contextlib.contextmanager
    def serving(self) -> Iterator[SmtpConfig]:
        controller = Controller(self, hostname="127.0.0.1", port=free_port())
        controller.start()
        try:
            yield SmtpConfig(host="127.0.0.1", port=controller.port, sender="alerts@obrador.test")
        finally:
            controller.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def run(pg_url: str, tenant: str, *commands: Command) -> None:
    async with await EventStore.open(pg_url, min_size=1, max_size=2) as store:
        for command in commands:
            await handle(command, store, tenant_id=tenant, actor=OWNER)


_ALERT = """
INSERT INTO rm_alerts (tenant_id, alert_id, dedup_key, subject, type, severity, score, base_score,
    escalation, escalation_why, impact, impact_why, urgency, urgency_why, agency, agency_why,
    confidence, confidence_why, title, description, action, consequence, units, euros, store_id,
    item_id, status, active, occurrences, raised_at, last_raised_at, auto_resolved, caused_by)
VALUES (%(tenant)s, %(id)s, %(id)s, 'stock:born:baguette', 'stockout', %(severity)s, %(score)s,
    %(score)s, %(escalation)s, '', 50, 'why', 50, 'why', 50, 'why', 50, 'why', %(title)s,
    'Baguette is out of stock at Born.', 'Bake 40 baguettes', 'About 60 units (€72.00) lost a day.',
    60, 72.00, 'born', 'baguette', 'raised', true, 1, %(at)s, %(at)s, false, '')
"""


async def raise_alert(
    pg_url: str, tenant: str, alert_id: str, severity: str, *, escalation: int = 0
) -> None:
    score = {"low": 30, "medium": 50, "high": 70, "urgent": 90}[severity]
    params = {
        "tenant": tenant, "id": alert_id, "severity": severity, "score": score,
        "escalation": escalation, "title": f"{severity} alert {alert_id}",
        "at": datetime(2026, 3, 1, tzinfo=UTC),
    }  # fmt: skip
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        await conn.execute(_ALERT, params)


async def sql(pg_url: str, query: str, *params: object) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        cur = await conn.execute(query, params)
        return await cur.fetchall() if cur.description else []


FAST = RetryPolicy(base=0.05, cap=0.2, max_attempts=4)


@contextlib.asynccontextmanager
async def notifier(
    pg_url: str, clock: Clock, smtp: SmtpConfig | None = None, retry: RetryPolicy = FAST
) -> AsyncIterator[Notifier]:
    """A real notifier loop (every 20 ms) until the block ends."""
    worker = Notifier(pg_url, smtp or SmtpConfig(), interval=0.02, retry=retry, clock=clock)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield worker
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
