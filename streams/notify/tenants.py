"""Each tenant's notification settings, folded from its ``notify-settings`` stream.

The stream version (one primary-key lookup per tenant) says when to fold again.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from psycopg import AsyncConnection

from domain import notify
from domain.codec import decode_event
from domain.streams import NOTIFY_SETTINGS_STREAM
from streams.personal import open_payloads
from streams.subject_keys import read_keys

Conn = AsyncConnection[tuple[Any, ...]]


_WITH_WORK = """
WITH busy AS (
    SELECT DISTINCT tenant_id FROM rm_alerts WHERE status = 'raised'
    UNION SELECT DISTINCT tenant_id FROM notify_deliveries WHERE state = 'pending'
    UNION SELECT DISTINCT tenant_id FROM notify_messages WHERE state = 'pending'
)
SELECT s.tenant_id, s.version FROM streams s JOIN busy USING (tenant_id) WHERE s.stream_id = %s
"""


class TenantSettings:
    """A cache of :class:`domain.notify.NotifySettings` per tenant."""

    def __init__(self) -> None:
        self._cached: dict[str, tuple[int, notify.NotifySettings]] = {}

    def get(self, tenant_id: str) -> notify.NotifySettings:
        found = self._cached.get(tenant_id)
        return found[1] if found else notify.NotifySettings()

    async def configured(self, conn: Conn) -> dict[str, notify.NotifySettings]:
        """The settings of every tenant with work: a raised alert or something pending.

        Refolded only where the stream moved; tenants without settings are left out.
        """
        cur = await conn.execute(_WITH_WORK, (NOTIFY_SETTINGS_STREAM,))
        versions = {str(t): int(v) for t, v in await cur.fetchall()}
        await self._refresh(conn, versions)
        return {t: self._cached[t][1] for t in versions}

    async def _refresh(self, conn: Conn, versions: dict[str, int]) -> None:
        for tenant_id, version in versions.items():
            cached = self._cached.get(tenant_id)
            if cached is None or cached[0] != version:
                self._cached[tenant_id] = (version, await _fold(conn, tenant_id))


async def _fold(conn: Conn, tenant_id: str) -> notify.NotifySettings:
    cur = await conn.execute(
        "SELECT event_type, schema_version, payload FROM events"
        " WHERE tenant_id = %s AND stream_id = %s ORDER BY stream_version",
        (tenant_id, NOTIFY_SETTINGS_STREAM),
    )
    rows: list[tuple[Any, ...]] = await cur.fetchall()
    # E-mail addresses are sealed in the store; erased ones read "[erased]" (docs/gdpr.md).
    payloads = await open_payloads(
        partial(read_keys, conn), tenant_id, [(t, bytes(p)) for t, _, p in rows]
    )
    return notify.fold(decode_event(t, v, p) for (t, v, _), p in zip(rows, payloads, strict=True))
