"""POS device credentials: a random token per device, stored only as its SHA-256.

``register`` returns the plain token once; ``authenticate`` maps a presented
token to the device's tenant and store (cached briefly, so a revocation takes
effect within ``cache_seconds``).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Final

from commands.handlers import handle
from commands.pos.schema import subject_token_ok
from commands.runtime import EventStoreLike
from commands.types import RegisterUser
from domain import organisation
from domain.access import Actor
from domain.codec import decode_event
from domain.errors import AlreadyExists, InvalidValue
from domain.events.organisation import Role
from streams.store import AsyncPool

TOKEN_PREFIX: Final = "obrpos_"


@dataclass(frozen=True)
class Device:
    tenant_id: str
    store_id: str
    device_id: str


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class DeviceRegistry:
    def __init__(self, pool: AsyncPool, *, cache_seconds: float = 30.0) -> None:
        self.pool = pool
        self.cache_seconds = cache_seconds
        self._cache: dict[bytes, tuple[float, Device | None]] = {}

    async def register(self, tenant_id: str, store_id: str, device_id: str) -> str:
        """A new token for the device (replacing any earlier one); shown to the caller once."""
        token = new_token()
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO pos_devices (tenant_id, device_id, store_id, token_sha256)"
                " VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (tenant_id, device_id) DO UPDATE SET store_id = excluded.store_id,"
                " token_sha256 = excluded.token_sha256, created_at = now(), revoked_at = NULL",
                (tenant_id, device_id, store_id, token_digest(token)),
            )
        return token

    async def revoke(self, tenant_id: str, device_id: str) -> bool:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE pos_devices SET revoked_at = now()"
                " WHERE tenant_id = %s AND device_id = %s AND revoked_at IS NULL",
                (tenant_id, device_id),
            )
            return cur.rowcount > 0

    async def authenticate(self, token: str | None) -> Device | None:
        """The device holding ``token``, or None (unknown, revoked or missing)."""
        if not token:
            return None
        digest = token_digest(token)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and now - cached[0] < self.cache_seconds:
            return cached[1]
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT tenant_id, store_id, device_id FROM pos_devices"
                " WHERE token_sha256 = %s AND revoked_at IS NULL",
                (digest,),
            )
            row = await cur.fetchone()
        device = Device(str(row[0]), str(row[1]), str(row[2])) if row else None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (now, device)
        return device

    async def list(self, tenant_id: str) -> list[tuple[str, str, bool]]:
        """(device, store, active) of a tenant's devices."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT device_id, store_id, revoked_at IS NULL FROM pos_devices"
                " WHERE tenant_id = %s ORDER BY device_id",
                (tenant_id,),
            )
            return [(str(r[0]), str(r[1]), bool(r[2])) for r in await cur.fetchall()]


async def register_device(
    store: EventStoreLike,
    registry: DeviceRegistry,
    *,
    tenant_id: str,
    store_id: str,
    device_id: str,
    actor: Actor,
) -> str:
    """Register the till as a ``pos_device`` user of the store (once) and issue its token.

    The tenant and the store must exist and be open; re-registering a device of
    the same store rotates its token (the old one stops working).
    """
    if not subject_token_ok(tenant_id) or not subject_token_ok(store_id):
        raise InvalidValue("store_id", "tenant and store ids used on NATS must not contain '.'")
    command = RegisterUser(
        user_id=device_id,
        name=f"POS device {device_id}",
        role=Role.POS_DEVICE,
        store_ids=(store_id,),
    )
    try:
        await handle(command, store, tenant_id=tenant_id, actor=actor)
    except AlreadyExists:
        known = organisation.fold(
            decode_event(r.event_type, r.schema_version, r.payload)
            for r in await store.read_stream(tenant_id, "tenant")
        ).users.get(device_id)
        if known is None or known[0] is not Role.POS_DEVICE or store_id not in known[1]:
            raise
    return await registry.register(tenant_id, store_id, device_id)
