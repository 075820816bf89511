"""What the system holds about one data subject (GDPR art. 15), and forgetting their login.

``export_subject`` gathers, for ``user:<id>``, ``supplier:<id>`` or
``recipient:<channel id>`` (an e-mail recipient of alerts): the
personal fields (opened with the subject's key; none once erased), the events
that concern the subject with their personal fields, the login (e-mail) and
sessions of a user, and how many events they recorded as the actor. The event
history itself only holds sealed tokens (``streams.personal``).
"""

from __future__ import annotations

from typing import Any

import msgspec

from domain.personal import ERASED, PERSONAL_FIELDS, parse_subject, subject_stream
from domain.streams import session_stream
from streams.envelope import RecordedEvent
from streams.personal import open_records
from streams.store import AsyncPool, EventStore

_ABOUT_USER = frozenset({"UserRegistered", "UserRoleChanged", "UserPasswordSet"})


async def export_subject(store: EventStore, tenant_id: str, subject: str) -> dict[str, Any]:
    """Everything held about ``subject`` as plain JSON-ready values."""
    kind, entity = parse_subject(subject)
    keys = await store.keyring.keys_for_reading(tenant_id, [subject])
    status = "unknown" if subject not in keys else "erased" if keys[subject] is None else "active"
    streams = [subject_stream(subject)] + ([session_stream(entity)] if kind == "user" else [])
    records = [r for s in streams for r in await store.read_stream(tenant_id, s)]
    records = await open_records(store.keyring.keys_for_reading, records)
    about = [r for r in records if _concerns(r, kind, entity, subject)]
    personal: dict[str, str] = {}
    for record in about:
        for field, value in _personal_fields(record).items():
            if value and value != ERASED:
                personal[field] = value
    export: dict[str, Any] = {
        "tenant_id": tenant_id,
        "subject": subject,
        "status": status,
        "personal": personal,
        "events": [_event(r) for r in about],
    }
    if kind == "user":
        export |= await _login(store.pool, tenant_id, entity)
    if kind == "recipient":
        export |= await _messages(store.pool, tenant_id, entity)
    return export


async def forget_login(pool: AsyncPool, tenant_id: str, user_id: str) -> int:
    """Delete the user's login (e-mail, password hash, failed-login counter), end their sessions.

    Returns how many sessions were ended.
    """
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(  # failed-login counters are keyed by the address (migration 0041)
            "DELETE FROM auth_login_failures WHERE email IN"
            " (SELECT email FROM auth_credentials WHERE tenant_id = %s AND user_id = %s)",
            (tenant_id, user_id),
        )
        await conn.execute(
            "DELETE FROM auth_credentials WHERE tenant_id = %s AND user_id = %s",
            (tenant_id, user_id),
        )
        cur = await conn.execute(
            "UPDATE auth_sessions SET revoked_at = now(), revoked_reason = 'erased'"
            " WHERE tenant_id = %s AND user_id = %s AND revoked_at IS NULL",
            (tenant_id, user_id),
        )
        return cur.rowcount


async def forget_recipient(pool: AsyncPool, tenant_id: str, channel_id: str) -> int:
    """Blank the address in the notifier's outbox and drop what was not sent yet; rows touched."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "UPDATE notify_messages SET target = %s,"
            " state = CASE WHEN state = 'pending' THEN 'dropped' ELSE state END"
            " WHERE tenant_id = %s AND channel_id = %s AND channel_kind = 'email'",
            (ERASED, tenant_id, channel_id),
        )
        return cur.rowcount


async def _messages(pool: AsyncPool, tenant_id: str, channel_id: str) -> dict[str, Any]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT target, state, count(*) FROM notify_messages"
            " WHERE tenant_id = %s AND channel_id = %s AND channel_kind = 'email'"
            " GROUP BY target, state ORDER BY target, state",
            (tenant_id, channel_id),
        )
        rows = await cur.fetchall()
    return {
        "messages": [
            {"to": r[0], "state": r[1], "count": int(r[2])} for r in rows if r[0] != ERASED
        ]
    }


def _concerns(record: RecordedEvent, kind: str, entity: str, subject: str) -> bool:
    data = msgspec.json.decode(record.payload)
    if record.event_type == "SubjectErased":
        return bool(data.get("subject_id") == subject)
    if kind == "user":
        in_tenant = record.event_type in _ABOUT_USER and data.get("user_id") == entity
        return in_tenant or record.stream_id.startswith("session-")
    if kind == "recipient":  # the tenant's notify-settings stream: this channel's events
        return bool(data.get("channel_id") == entity)
    return True  # the supplier's own stream


def _personal_fields(record: RecordedEvent) -> dict[str, str]:
    personal = PERSONAL_FIELDS.get(record.event_type)
    if personal is None:
        return {}
    data = msgspec.json.decode(record.payload)
    return {f: str(data.get(f) or "") for f in personal.fields}


def _event(record: RecordedEvent) -> dict[str, Any]:
    return {
        "position": record.position,
        "stream_id": record.stream_id,
        "type": record.event_type,
        "recorded_at": record.recorded_at.isoformat(),
        "payload": msgspec.json.decode(record.payload),
    }


async def _login(pool: AsyncPool, tenant_id: str, user_id: str) -> dict[str, Any]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT email, updated_at FROM auth_credentials WHERE tenant_id = %s AND user_id = %s",
            (tenant_id, user_id),
        )
        login = await cur.fetchone()
        cur = await conn.execute(
            "SELECT session_id, started_at, revoked_at, revoked_reason FROM auth_sessions"
            " WHERE tenant_id = %s AND user_id = %s ORDER BY started_at",
            (tenant_id, user_id),
        )
        sessions = await cur.fetchall()
        cur = await conn.execute(
            "SELECT event_type, count(*) FROM events WHERE tenant_id = %s AND actor = %s"
            " GROUP BY event_type ORDER BY event_type",
            (tenant_id, f"user:{user_id}"),
        )
        acted = await cur.fetchall()
    return {
        "login": None if login is None else {"email": login[0], "updated_at": str(login[1])},
        "sessions": [
            {"session_id": s[0], "started_at": str(s[1]), "revoked_at": s[2] and str(s[2])}
            for s in sessions
        ],
        "recorded_as_actor": {row[0]: int(row[1]) for row in acted},
    }
