"""The notifier on the real stack: signed webhooks, retries, SMTP, digest, quiet hours, restarts.

Alerts are rows of the real ``rm_alerts``; channels are added through the real
command handlers; the receivers are a real HTTP server and a real ``aiosmtpd``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from eventually import eventually
from notify_kit import (
    SECRET,
    Clock,
    Mailbox,
    Receiver,
    notifier,
    raise_alert,
    run,
    sql,
)

from commands.types import AddEmailRecipient, AddWebhookChannel, SetQuietHours

T = "forn-sant-joan"
MORNING = datetime(2026, 3, 2, 10, tzinfo=UTC)
DOCS = Path(__file__).parents[2] / "docs" / "alerts.md"


def docs_verifier() -> Any:
    """The receiver's verification script, exactly as ``docs/alerts.md`` shows it."""
    block = re.search(r"```python\n(.*?)```", DOCS.read_text().split("## Notifications")[1], re.S)
    assert block, "docs/alerts.md: Notifications has no python block"
    scope: dict[str, Any] = {}
    exec(block.group(1), scope)
    return scope["verify_obrador"]


async def attempts(pg_url: str) -> list[tuple[Any, ...]]:
    return await sql(
        pg_url,
        "SELECT m.channel_id, a.attempt, a.status, a.http_status, a.error IS NOT NULL, m.state"
        " FROM notify_attempts a JOIN notify_messages m USING (message_id)"
        " ORDER BY m.channel_id, a.attempt",
    )


async def test_an_urgent_alert_reaches_the_webhook_signed_and_the_docs_script_verifies_it(
    pg_url: str,
) -> None:
    with Receiver().serving() as hook:
        await run(pg_url, T, AddWebhookChannel(channel_id="ops", url=hook.url, secret=SECRET))
        await raise_alert(pg_url, T, "al-1", "urgent")
        async with notifier(pg_url, Clock(MORNING)):
            await eventually(lambda: len(hook.got) == 1, timeout=10)
            await eventually(lambda: _sent(pg_url), timeout=10)
    got = hook.got[0]
    verify = docs_verifier()
    assert verify(SECRET, got.headers, got.body)
    assert not verify(SECRET, got.headers, got.body.replace(b"urgent", b"low  "))
    assert not verify("another-secret-000", got.headers, got.body)
    assert got.headers["X-Obrador-Delivery"] == "al-1:ops:0"
    assert b'"kind":"alert"' in got.body and b'"alert_id":"al-1"' in got.body
    assert await attempts(pg_url) == [("ops", 1, "delivered", 200, False, "sent")]


async def _sent(pg_url: str, count: int = 1) -> bool:
    rows = await sql(pg_url, "SELECT count(*) FROM notify_messages WHERE state = 'sent'")
    return bool(rows[0][0] == count)


async def test_a_failing_receiver_is_retried_and_every_attempt_recorded(pg_url: str) -> None:
    with Receiver().serving() as gone:
        dead_url = gone.url  # nobody listens there any more
    with Receiver(failures=2).serving() as flaky:
        await run(
            pg_url,
            T,
            AddWebhookChannel(channel_id="flaky", url=flaky.url, secret=SECRET),
            AddWebhookChannel(channel_id="gone", url=dead_url, secret=SECRET),
        )
        await raise_alert(pg_url, T, "al-1", "urgent")
        async with notifier(pg_url, Clock(MORNING)) as worker:
            clock = worker.clock
            assert isinstance(clock, Clock)
            for _ in range(8):  # each retry waits 50-200 ms of the notifier's clock
                clock.now += timedelta(seconds=1)
                await eventually(lambda: _next_attempts_due(pg_url, clock.now), timeout=10)
            await eventually(lambda: _states(pg_url, {"sent", "dead"}), timeout=10)
    assert len(flaky.got) == 3
    assert await attempts(pg_url) == [
        ("flaky", 1, "failed", 503, True, "sent"),
        ("flaky", 2, "failed", 503, True, "sent"),
        ("flaky", 3, "delivered", 200, False, "sent"),
        ("gone", 1, "failed", None, True, "dead"),
        ("gone", 2, "failed", None, True, "dead"),
        ("gone", 3, "failed", None, True, "dead"),
        ("gone", 4, "failed", None, True, "dead"),
    ]


async def _next_attempts_due(pg_url: str, now: datetime) -> bool:
    """Every pending message has been tried up to ``now`` (its next attempt is later)."""
    rows = await sql(
        pg_url,
        "SELECT count(*) FROM notify_messages WHERE state = 'pending' AND next_attempt_at <= %s",
        now,
    )
    return bool(rows[0][0] == 0)


async def _states(pg_url: str, states: set[str]) -> bool:
    rows = await sql(pg_url, "SELECT DISTINCT state FROM notify_messages")
    return {r[0] for r in rows} == states


async def test_email_urgent_at_once_low_and_medium_in_one_daily_digest(pg_url: str) -> None:
    mailbox = Mailbox()
    clock = Clock(MORNING)
    with mailbox.serving() as smtp:
        await run(
            pg_url,
            T,
            SetQuietHours(start_hour=22, end_hour=6, timezone="Europe/Madrid", digest_hour=7),
            AddEmailRecipient(channel_id="olga", address="olga@forn.example"),
        )
        for alert_id, severity in (("al-u", "urgent"), ("al-l", "low"), ("al-m", "medium")):
            await raise_alert(pg_url, T, alert_id, severity)
        async with notifier(pg_url, clock, smtp):
            await eventually(lambda: len(mailbox.messages) == 1, timeout=10)
            urgent = mailbox.messages[0]
            assert urgent["Subject"] == "[Obrador urgent] urgent alert al-u"
            assert urgent["To"] == "olga@forn.example"
            assert "What to do: Bake 40 baguettes" in urgent.get_payload()
            await raise_alert(pg_url, T, "al-l2", "low")
            await eventually(lambda: _pending_deliveries(pg_url, 3), timeout=10)
            clock.now = datetime(2026, 3, 3, 6, 0, 1, tzinfo=UTC)  # 07:00:01 in Madrid
            await eventually(lambda: len(mailbox.messages) == 2, timeout=10)
            clock.now += timedelta(hours=30)  # the next day's digest hour: nothing new
            await eventually(lambda: _sent(pg_url, 2), timeout=10)
            await raise_alert(pg_url, T, "al-sync", "urgent")
            await eventually(lambda: len(mailbox.messages) == 3, timeout=10)
    digest = mailbox.messages[1]
    assert digest["Subject"] == "[Obrador] Daily digest 2026-03-03: 3 alert(s)"
    text = digest.get_payload()
    assert text.index("medium alert al-m") < text.index("low alert al-l")
    assert "al-u" not in text
    assert mailbox.messages[2]["Subject"] == "[Obrador urgent] urgent alert al-sync"


async def _pending_deliveries(pg_url: str, count: int) -> bool:
    rows = await sql(pg_url, "SELECT count(*) FROM notify_deliveries WHERE state = 'pending'")
    return bool(rows[0][0] == count)


async def test_quiet_hours_hold_high_alerts_but_not_urgent_ones(pg_url: str) -> None:
    clock = Clock(datetime(2026, 3, 2, 23, tzinfo=UTC))
    with Receiver().serving() as hook:
        await run(
            pg_url,
            T,
            SetQuietHours(start_hour=22, end_hour=6),
            AddWebhookChannel(channel_id="ops", url=hook.url, secret=SECRET),
        )
        await raise_alert(pg_url, T, "al-high", "high")
        await raise_alert(pg_url, T, "al-seen", "high")
        await raise_alert(pg_url, T, "al-urgent", "urgent")
        async with notifier(pg_url, clock):
            await eventually(lambda: len(hook.got) == 1, timeout=10)
            assert b'"alert_id":"al-urgent"' in hook.got[0].body
            held = await sql(
                pg_url, "SELECT alert_id, due_at FROM notify_deliveries WHERE state = 'pending'"
            )
            at_six = datetime(2026, 3, 3, 6, tzinfo=UTC)
            assert sorted(held) == [("al-high", at_six), ("al-seen", at_six)]
            await sql(
                pg_url, "UPDATE rm_alerts SET status = 'acknowledged' WHERE alert_id = 'al-seen'"
            )
            clock.now = at_six
            await eventually(lambda: len(hook.got) == 2, timeout=10)
            await eventually(lambda: _pending_deliveries(pg_url, 0), timeout=10)
    assert b'"alert_id":"al-high"' in hook.got[1].body
    skipped = await sql(
        pg_url, "SELECT alert_id, skip_reason FROM notify_deliveries WHERE state = 'skipped'"
    )
    assert skipped == [("al-seen", "alert acknowledged")]


async def test_never_twice_to_a_channel_across_restarts_once_more_per_escalation(
    pg_url: str,
) -> None:
    clock = Clock(MORNING)
    with Receiver().serving() as hook:
        await run(pg_url, T, AddWebhookChannel(channel_id="ops", url=hook.url, secret=SECRET))
        await raise_alert(pg_url, T, "al-1", "urgent")
        async with notifier(pg_url, clock):
            await eventually(lambda: _sent(pg_url, 1), timeout=10)
        async with notifier(pg_url, clock):  # a restarted notifier
            await raise_alert(pg_url, T, "al-2", "urgent")
            await eventually(lambda: _sent(pg_url, 2), timeout=10)
            await sql(pg_url, "UPDATE rm_alerts SET escalation = 10 WHERE alert_id = 'al-1'")
            await eventually(lambda: _sent(pg_url, 3), timeout=10)
    keys = sorted(r.headers["X-Obrador-Delivery"] for r in hook.got)
    assert keys == ["al-1:ops:0", "al-1:ops:10", "al-2:ops:0"]
    with pytest.raises(psycopg.errors.UniqueViolation):
        await sql(
            pg_url,
            "INSERT INTO notify_deliveries (tenant_id, alert_id, channel_id, level, severity, mode,"
            " due_at, created_at) VALUES (%s, 'al-1', 'ops', 0, 'urgent', 'now', now(), now())",
            T,
        )


async def test_a_retry_pending_at_a_restart_is_sent_by_the_next_notifier(pg_url: str) -> None:
    clock = Clock(MORNING)
    with Receiver(failures=1).serving() as hook:
        await run(pg_url, T, AddWebhookChannel(channel_id="ops", url=hook.url, secret=SECRET))
        await raise_alert(pg_url, T, "al-1", "urgent")
        async with notifier(pg_url, clock):
            await eventually(lambda: _attempt_count(pg_url, 1), timeout=10)
        clock.now += timedelta(seconds=1)  # past the backoff (at most 50 ms)
        async with notifier(pg_url, clock):
            await eventually(lambda: _sent(pg_url), timeout=10)
    assert await attempts(pg_url) == [
        ("ops", 1, "failed", 503, True, "sent"),
        ("ops", 2, "delivered", 200, False, "sent"),
    ]
    assert [r.headers["X-Obrador-Delivery"] for r in hook.got] == ["al-1:ops:0"] * 2


async def _attempt_count(pg_url: str, count: int) -> bool:
    rows = await sql(pg_url, "SELECT count(*) FROM notify_attempts")
    return bool(rows[0][0] == count)
