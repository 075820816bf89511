"""Where the data subjects' keys live: the ``subject_keys`` table, apart from the events.

One AES-256 key per (tenant, subject). Erasing a subject sets its key to NULL
and keeps the row as a tombstone, so a later write for the same subject is
refused instead of silently getting a fresh key (docs/gdpr.md). Keys are read
per batch and never cached: an erasure takes effect on the next read.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from typing import Any, Protocol

import psycopg
from psycopg_pool import AsyncConnectionPool

from streams.errors import StoreError

KEY_BYTES = 32
#: subject -> its key, or None when the subject was erased
Keys = dict[str, bytes | None]
Conn = psycopg.AsyncConnection[tuple[Any, ...]]


class SubjectErasedError(StoreError):
    """Personal data for a subject that was erased: refused, nothing written."""


class Keyring(Protocol):
    async def keys_for_writing(self, tenant_id: str, subjects: Collection[str]) -> dict[str, bytes]:
        """Each subject's key, created when new; SubjectErasedError for an erased one."""
        ...

    async def keys_for_reading(self, tenant_id: str, subjects: Collection[str]) -> Keys:
        """The keys known for ``subjects``: bytes, None when erased, absent when never keyed."""
        ...

    async def shred(self, tenant_id: str, subject: str) -> bool:
        """Destroy the subject's key for good; False if it was already gone."""
        ...


async def read_keys(conn: Conn, tenant_id: str, subjects: Collection[str]) -> Keys:
    cur = await conn.execute(
        "SELECT subject_id, key FROM subject_keys WHERE tenant_id = %s AND subject_id = ANY(%s)",
        (tenant_id, list(subjects)),
    )
    return {row[0]: None if row[1] is None else bytes(row[1]) for row in await cur.fetchall()}


class PgKeyring:
    """The keyring of the PostgreSQL store (table ``subject_keys``, migration 0042)."""

    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self.pool = pool

    async def keys_for_writing(self, tenant_id: str, subjects: Collection[str]) -> dict[str, bytes]:
        wanted = sorted(set(subjects))
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO subject_keys (tenant_id, subject_id, key)"
                " SELECT %s, s, k FROM unnest(%s::text[], %s::bytea[]) AS t(s, k)"
                " ON CONFLICT DO NOTHING",
                (tenant_id, wanted, [os.urandom(KEY_BYTES) for _ in wanted]),
            )
            keys = await read_keys(conn, tenant_id, wanted)
        return _writable(keys, wanted)

    async def keys_for_reading(self, tenant_id: str, subjects: Collection[str]) -> Keys:
        async with self.pool.connection() as conn:
            return await read_keys(conn, tenant_id, subjects)

    async def shred(self, tenant_id: str, subject: str) -> bool:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "INSERT INTO subject_keys AS k (tenant_id, subject_id, key, erased_at)"
                " VALUES (%s, %s, NULL, now())"
                " ON CONFLICT (tenant_id, subject_id) DO UPDATE SET key = NULL, erased_at = now()"
                " WHERE k.key IS NOT NULL",
                (tenant_id, subject),
            )
            return bool(cur.rowcount == 1)


class MemoryKeyring:
    """The same behaviour in a dict, for the in-memory store."""

    def __init__(self) -> None:
        self._keys: dict[tuple[str, str], bytes | None] = {}

    async def keys_for_writing(self, tenant_id: str, subjects: Collection[str]) -> dict[str, bytes]:
        for subject in subjects:
            self._keys.setdefault((tenant_id, subject), os.urandom(KEY_BYTES))
        return _writable(await self.keys_for_reading(tenant_id, subjects), subjects)

    async def keys_for_reading(self, tenant_id: str, subjects: Collection[str]) -> Keys:
        return {s: self._keys[(tenant_id, s)] for s in subjects if (tenant_id, s) in self._keys}

    async def shred(self, tenant_id: str, subject: str) -> bool:
        had = self._keys.get((tenant_id, subject)) is not None
        self._keys[(tenant_id, subject)] = None
        return had


def _writable(keys: Keys, subjects: Collection[str]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for subject in subjects:
        key = keys.get(subject)
        if key is None:
            raise SubjectErasedError(f"{subject} was erased: no personal data may be recorded")
        out[subject] = key
    return out
