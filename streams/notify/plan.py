"""Promise a delivery for every raised alert × channel × escalation level not yet promised.

A raised alert (not acknowledged, snoozed or resolved) is new to a channel until a
delivery exists for its current ``escalation``; the primary key of
``notify_deliveries`` refuses a second one, so concurrent or restarted notifiers
never promise twice. When it goes out follows ``domain.notify_policy.plan``.
"""

from __future__ import annotations

from datetime import datetime

from domain.notify import NotifySettings
from domain.notify_policy import plan
from streams.notify.tenants import Conn

_NEW = """
WITH ch AS (SELECT * FROM unnest(%s::text[], %s::text[]) AS c(tenant_id, channel_id))
SELECT a.tenant_id, a.alert_id, ch.channel_id, a.escalation, a.severity
FROM rm_alerts a JOIN ch USING (tenant_id)
WHERE a.status = 'raised' AND NOT EXISTS (
    SELECT 1 FROM notify_deliveries d
    WHERE d.tenant_id = a.tenant_id AND d.alert_id = a.alert_id
      AND d.channel_id = ch.channel_id AND d.level = a.escalation)
"""
_INSERT = """
INSERT INTO notify_deliveries
    (tenant_id, alert_id, channel_id, level, severity, mode, due_at, created_at)
SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::int[], %s::text[], %s::text[],
                     %s::timestamptz[], %s::timestamptz[])
ON CONFLICT DO NOTHING
"""


async def plan_deliveries(conn: Conn, tenants: dict[str, NotifySettings], now: datetime) -> int:
    """Insert the deliveries the raised alerts need; return how many were new."""
    pairs = [(t, c) for t, s in tenants.items() for c in s.channels]
    if not pairs:
        return 0
    cur = await conn.execute(_NEW, ([t for t, _ in pairs], [c for _, c in pairs]))
    rows = await cur.fetchall()
    if not rows:
        return 0
    columns: list[list[object]] = [[] for _ in range(8)]
    for tenant_id, alert_id, channel_id, level, severity in rows:
        when = plan(str(severity), now, tenants[tenant_id].quiet)
        row = (tenant_id, alert_id, channel_id, level, severity, when.mode, when.due_at, now)
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    cur = await conn.execute(_INSERT, columns)
    return cur.rowcount
