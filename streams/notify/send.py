"""Send the due messages and record every attempt; failures retry with backoff and jitter.

An attempt row is written with the message's new state in one transaction after
the send returns, so a notifier stopped mid-send sends that message again on
restart (at least once: receivers dedup on ``X-Obrador-Delivery``); one that
stops after the record never sends it again.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from domain.notify_policy import backoff
from streams.notify.tenants import Conn, TenantSettings
from streams.notify.transport import Outcome, Outgoing, Transport

#: Messages sent concurrently per cycle.
BATCH = 32
_DUE = """
SELECT message_id, tenant_id, channel_id, key, subject, body, attempts FROM notify_messages
WHERE state = 'pending' AND next_attempt_at <= %s
ORDER BY next_attempt_at, message_id LIMIT %s
"""
_ATTEMPT = """
INSERT INTO notify_attempts (message_id, attempt, at, status, http_status, error, duration_ms)
VALUES (%s, %s, %s, %s, %s, %s, %s)
"""
_UPDATE = """
UPDATE notify_messages SET state = %s, attempts = %s, next_attempt_at = %s, sent_at = %s
WHERE message_id = %s
"""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retry ``n`` waits about ``base·2^(n-1)`` seconds (capped); after ``max_attempts``: dead."""

    base: float = 2.0
    cap: float = 3600.0
    max_attempts: int = 12
    rand: Callable[[], float] = field(default=random.random)

    def delay(self, attempt: int) -> timedelta:
        return timedelta(seconds=backoff(attempt, self.base, self.cap, self.rand))


async def send_due(
    conn: Conn, tenants: TenantSettings, transport: Transport, now: datetime, retry: RetryPolicy
) -> int:
    """Send what is due now; return how many were delivered."""
    cur = await conn.execute(_DUE, (now, BATCH))
    rows = await cur.fetchall()
    ready: list[tuple[Any, ...]] = []
    for row in rows:
        channel = tenants.get(row[1]).channels.get(row[2])
        if channel is None:
            await _record(conn, row, Outcome(False, error="channel removed"), 0, now, retry)
        else:
            ready.append((row, Outgoing(row[0], row[3], channel, row[4], bytes(row[5]))))
    results = await asyncio.gather(*(_timed(transport, out) for _, out in ready))
    for (row, _), (outcome, millis) in zip(ready, results, strict=True):
        await _record(conn, row, outcome, millis, now, retry)
    return sum(outcome.ok for outcome, _ in results)


async def _timed(transport: Transport, out: Outgoing) -> tuple[Outcome, int]:
    started = time.perf_counter()
    try:
        outcome = await transport.send(out)
    except Exception as exc:  # one bad message must not block the others: record, retry
        outcome = Outcome(False, error=f"{type(exc).__name__}: {exc}"[:500])
    return outcome, round((time.perf_counter() - started) * 1000)


async def _record(  # noqa: PLR0917 - one attempt's facts
    conn: Conn,
    row: tuple[Any, ...],
    outcome: Outcome,
    millis: int,
    now: datetime,
    retry: RetryPolicy,
) -> None:
    message_id, attempt = row[0], row[6] + 1
    if outcome.ok:
        status, state, next_at, sent_at = "delivered", "sent", now, now
    elif outcome.error == "channel removed":
        status, state, next_at, sent_at = "dropped", "dropped", now, None
    else:
        dead = attempt >= retry.max_attempts
        status, state, sent_at = "failed", "dead" if dead else "pending", None
        next_at = now if dead else now + retry.delay(attempt)
    async with conn.transaction():
        await conn.execute(
            _ATTEMPT, (message_id, attempt, now, status, outcome.http_status, outcome.error, millis)
        )
        await conn.execute(_UPDATE, (state, attempt, next_at, sent_at, message_id))
