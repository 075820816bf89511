"""``Idempotency-Key`` on command routes: the first answer of a key, kept forever.

Decision (docs/api.md, "Idempotency"): two layers.

1. The key is also the command's own ``idempotency_key``, so the event store's
   permanent idempotency stores the events once even when two resends race.
2. The first successful answer is kept in ``http_idempotency`` by tenant and
   key, with a fingerprint of the request (route + canonical command JSON). A
   resend with the same fingerprint gets that answer byte for byte (with
   ``Idempotent-Replayed: true``); the same key on a different request is a 422.

Refusals are not stored: nothing was written, so the client may fix and resend.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Final

from psycopg_pool import AsyncConnectionPool

#: Idempotency-Key values: 1–200 visible ASCII characters (a UUID is typical).
KEY_PATTERN: Final = r"^[!-~]{1,200}$"
MAX_KEY_LENGTH: Final = 200


@dataclass(frozen=True)
class StoredAnswer:
    fingerprint: bytes
    status: int
    body: bytes


def fingerprint(route: str, canonical: bytes) -> bytes:
    return hashlib.sha256(route.encode() + b"\n" + canonical).digest()


async def find_answer(
    pool: AsyncConnectionPool[Any], tenant_id: str, key: str
) -> StoredAnswer | None:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT fingerprint, status, body FROM http_idempotency"
            " WHERE tenant_id = %s AND key = %s",
            (tenant_id, key),
        )
        row = await cur.fetchone()
    if row is None:
        return None
    return StoredAnswer(bytes(row[0]), int(row[1]), bytes(row[2]))


async def keep_first_answer(
    pool: AsyncConnectionPool[Any], tenant_id: str, key: str, answer: StoredAnswer
) -> StoredAnswer:
    """Store ``answer`` unless the key already has one; return the one kept (the first)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO http_idempotency (tenant_id, key, fingerprint, status, body)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (tenant_id, key) DO NOTHING"
            " RETURNING fingerprint",
            (tenant_id, key, answer.fingerprint, answer.status, answer.body),
        )
        if await cur.fetchone() is not None:
            return answer
    kept = await find_answer(pool, tenant_id, key)
    assert kept is not None  # the conflicting row exists: rows are never deleted
    return kept
