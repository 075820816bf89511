"""Turn due deliveries into messages: one per urgent/high alert, one digest per channel and day.

A due delivery whose alert is no longer ``raised`` (acknowledged, snoozed or
resolved while it waited, e.g. through the quiet hours), whose channel was
removed, or that a higher escalation level of the same alert superseded, is
skipped with its reason. Everything happens in one transaction, so a crash
leaves either the messages and their composed deliveries, or neither.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import msgspec

from domain.notify import Channel, NotifySettings
from domain.notify_policy import local_day, next_digest
from streams.notify.tenants import Conn

ALERT_FIELDS = (
    "alert_id", "type", "severity", "score", "escalation", "escalation_why", "title",
    "description", "action", "consequence", "units", "euros", "deadline", "store_id",
    "item_id", "order_id", "lot_id", "supplier_id", "equipment_id", "po_id", "status",
    "occurrences", "raised_at",
)  # fmt: skip
_ENCODE = msgspec.json.Encoder(decimal_format="number").encode

_SKIP_SUPERSEDED = """
UPDATE notify_deliveries d SET state = 'skipped', skip_reason = 'superseded by a higher level'
WHERE d.state = 'pending' AND EXISTS (
    SELECT 1 FROM notify_deliveries n
    WHERE n.tenant_id = d.tenant_id AND n.alert_id = d.alert_id
      AND n.channel_id = d.channel_id AND n.level > d.level)
"""
_SKIP_NOT_RAISED = """
UPDATE notify_deliveries d SET state = 'skipped', skip_reason = 'alert ' || a.status
FROM rm_alerts a
WHERE d.state = 'pending' AND d.due_at <= %s
  AND a.tenant_id = d.tenant_id AND a.alert_id = d.alert_id AND a.status <> 'raised'
"""
_DUE = f"""
SELECT d.tenant_id, d.channel_id, d.level, {", ".join("a." + f for f in ALERT_FIELDS)}
FROM notify_deliveries d JOIN rm_alerts a USING (tenant_id, alert_id)
WHERE d.state = 'pending' AND d.mode = %s AND d.due_at <= %s
ORDER BY d.tenant_id, d.channel_id, a.score DESC, a.alert_id
FOR UPDATE OF d SKIP LOCKED
"""
_MESSAGE = """
INSERT INTO notify_messages
    (tenant_id, channel_id, channel_kind, target, kind, key, subject, body,
     next_attempt_at, created_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (tenant_id, key) DO NOTHING RETURNING message_id
"""
_WHERE_KEY = "WHERE tenant_id = %s AND alert_id = %s AND channel_id = %s AND level = %s"
_SET = "UPDATE notify_deliveries SET state = %s, message_id = %s, skip_reason = %s " + _WHERE_KEY
_POSTPONE = "UPDATE notify_deliveries SET due_at = %s " + _WHERE_KEY

Due = tuple[str, str, int, dict[str, Any]]  # tenant, channel, level, the alert


async def compose(conn: Conn, tenants: dict[str, NotifySettings], now: datetime) -> int:
    """Compose every due message; return how many were made."""
    async with conn.transaction():
        await conn.execute(_SKIP_SUPERSEDED)
        await conn.execute(_SKIP_NOT_RAISED, (now,))
        made = 0
        for tenant_id, channel_id, level, alert in await _due(conn, "now", now):
            channel = _channel(tenants, tenant_id, channel_id)
            key = f"{alert['alert_id']}:{channel_id}:{level}"
            body = {"kind": "alert", "key": key, "tenant_id": tenant_id, "level": level}
            subject = f"[Obrador {alert['severity']}] {alert['title']}"
            message_id = await _message(
                conn, tenant_id, channel, key, subject=subject, body=body, alerts=alert, now=now
            )
            made += message_id is not None
            await _settle(conn, tenant_id, channel_id, [(alert, level)], message_id=message_id)
        for (tenant_id, channel_id), due in (await _digests(conn, now)).items():
            made += await _digest(conn, tenants, (tenant_id, channel_id), due, now)
        return made


async def _digest(
    conn: Conn,
    tenants: dict[str, NotifySettings],
    target: tuple[str, str],
    due: list[tuple[dict[str, Any], int]],
    now: datetime,
) -> int:
    tenant_id, channel_id = target
    quiet = tenants[tenant_id].quiet if tenant_id in tenants else NotifySettings().quiet
    channel = _channel(tenants, tenant_id, channel_id)
    day = local_day(quiet, now)
    key = f"digest:{channel_id}:{day.isoformat()}"
    alerts = [alert for alert, _ in due]
    body = {"kind": "digest", "key": key, "tenant_id": tenant_id, "day": day.isoformat()}
    subject = f"[Obrador] Daily digest {day.isoformat()}: {len(alerts)} alert(s)"
    message_id = await _message(
        conn, tenant_id, channel, key, subject=subject, body=body, alerts=alerts, now=now
    )
    if channel is not None and message_id is None:  # today's digest went out: tomorrow's
        await _settle(
            conn, tenant_id, channel_id, due, message_id=None, postpone_to=next_digest(quiet, now)
        )
        return 0
    await _settle(conn, tenant_id, channel_id, due, message_id=message_id)
    return message_id is not None


async def _due(conn: Conn, mode: str, now: datetime) -> list[Due]:
    cur = await conn.execute(_DUE, (mode, now))
    return [
        (row[0], row[1], row[2], dict(zip(ALERT_FIELDS, row[3:], strict=True)))
        for row in await cur.fetchall()
    ]


async def _digests(
    conn: Conn, now: datetime
) -> dict[tuple[str, str], list[tuple[dict[str, Any], int]]]:
    grouped: dict[tuple[str, str], list[tuple[dict[str, Any], int]]] = defaultdict(list)
    for tenant_id, channel_id, level, alert in await _due(conn, "digest", now):
        grouped[(tenant_id, channel_id)].append((alert, level))
    return grouped


def _channel(tenants: dict[str, NotifySettings], tenant_id: str, channel_id: str) -> Channel | None:
    settings = tenants.get(tenant_id)
    return settings.channels.get(channel_id) if settings else None


async def _message(
    conn: Conn,
    tenant_id: str,
    channel: Channel | None,
    key: str,
    *,
    subject: str,
    body: dict[str, Any],
    alerts: dict[str, Any] | list[dict[str, Any]],
    now: datetime,
) -> int | None:
    """Insert the message (None when the channel is gone or the key was used)."""
    if channel is None:
        return None
    body |= {"channel_id": channel.channel_id, "subject": subject}
    body["alert" if isinstance(alerts, dict) else "alerts"] = alerts
    cur = await conn.execute(
        _MESSAGE,
        (tenant_id, channel.channel_id, channel.kind, channel.target, body["kind"], key,
         subject, _ENCODE(body), now, now),
    )  # fmt: skip
    row = await cur.fetchone()
    return int(row[0]) if row else None


async def _settle(
    conn: Conn,
    tenant_id: str,
    channel_id: str,
    due: list[tuple[dict[str, Any], int]],
    *,
    message_id: int | None,
    postpone_to: datetime | None = None,
) -> None:
    """Composed into ``message_id``; postponed; or skipped (channel removed, key used)."""
    for alert, level in due:
        key = (tenant_id, alert["alert_id"], channel_id, level)
        if postpone_to is not None:
            await conn.execute(_POSTPONE, (postpone_to, *key))
        elif message_id is not None:
            await conn.execute(_SET, ("composed", message_id, None, *key))
        else:
            await conn.execute(_SET, ("skipped", None, "channel removed or already sent", *key))
