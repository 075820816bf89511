"""The notifier loop: plan, compose, send, every ``interval`` seconds, on one node at a time.

Several nodes may run it: one holds a PostgreSQL advisory lock (per schema) and
works, the others stand by. The clock is the machine's (notifications are side
effects, not read models); tests pass their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from streams.notify.compose import compose
from streams.notify.plan import plan_deliveries
from streams.notify.send import RetryPolicy, send_due
from streams.notify.tenants import Conn, TenantSettings
from streams.notify.transport import SmtpConfig, Transport

log = logging.getLogger("obrador.notifier")
_LOCK = "SELECT pg_try_advisory_lock(hashtext(current_schema() || '.obrador-notifier'))"


@dataclass(frozen=True, slots=True)
class Cycle:
    planned: int
    composed: int
    delivered: int


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Notifier:
    def __init__(
        self,
        database_url: str,
        smtp: SmtpConfig,
        *,
        interval: float = 1.0,
        retry: RetryPolicy | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.database_url, self.smtp, self.interval = database_url, smtp, interval
        self.retry = retry or RetryPolicy()
        self.clock = clock
        self.tenants = TenantSettings()

    async def run(self, stop: asyncio.Event) -> None:
        async with await psycopg.AsyncConnection.connect(
            self.database_url, autocommit=True
        ) as conn:
            if not await self._lead(conn, stop):
                return
            async with Transport(self.smtp) as transport:
                while not stop.is_set():
                    try:
                        await self.cycle(conn, transport)
                    except psycopg.OperationalError:
                        raise  # the connection is gone: the supervisor restarts us
                    except Exception:  # one bad cycle must not stop notifications
                        log.exception("notifier: cycle failed; retrying")
                    await _wait(stop, self.interval)

    async def cycle(self, conn: Conn, transport: Transport) -> Cycle:
        now = self.clock()
        tenants = await self.tenants.configured(conn)
        planned = await plan_deliveries(conn, tenants, now)
        composed = await compose(conn, tenants, now)
        delivered = await send_due(conn, self.tenants, transport, now, self.retry)
        if planned or composed or delivered:
            log.info(
                "notifier: %d planned, %d composed, %d delivered", planned, composed, delivered
            )
        return Cycle(planned, composed, delivered)

    async def _lead(self, conn: Conn, stop: asyncio.Event) -> bool:
        """Wait for the advisory lock; False when stopped first."""
        announced = False
        while not await _holds(conn):
            if not announced:
                log.info("notifier: another node sends the notifications; standing by")
                announced = True
            if await _wait(stop, 5.0):
                return False
        return True


async def _holds(conn: Any) -> bool:
    cur = await conn.execute(_LOCK)
    row = await cur.fetchone()
    return bool(row and row[0])


async def _wait(stop: asyncio.Event, seconds: float) -> bool:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()
