"""Read API keys: a random key per holder, stored only as its SHA-256.

``create_api_key`` returns the plain key once; ``find_principal`` maps a
presented key to its tenant and role (None for unknown or revoked keys).
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Final

import msgspec
import psycopg

from domain.access import Actor
from domain.events.organisation import Role
from streams.store import AsyncPool

KEY_PREFIX: Final = "obrkey_"
#: Longer presented keys are not looked up (a real one has 63 characters).
MAX_KEY_LENGTH: Final = 200
# Roles that may read everything of their tenant. A store manager is scoped to
# stores and a POS device only writes sales: neither gets a read key until
# store scoping exists.
READ_ROLES: Final = frozenset({Role.OWNER, Role.PLANNER, Role.PRODUCTION_MANAGER, Role.AUDITOR})


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """Who is calling, from an API key or a person's access token (``request.user``).

    Everything a request may know about its caller: the tenant (only ever from
    the credential), the role, who (``user_id`` for people, ``key_id`` for
    machines) and, for store-scoped roles, the stores they may see and act on.
    """

    tenant_id: str
    role: str
    key_id: str = ""
    user_id: str = ""
    #: Stores a store-scoped role (store manager, POS device) is limited to.
    store_ids: tuple[str, ...] = ()
    #: The login session an access token belongs to (empty for API keys).
    session_id: str = ""

    @property
    def subject(self) -> str:
        """``user:<id>`` or ``key:<id>``: who, for logs and rate limits."""
        return f"user:{self.user_id}" if self.user_id else f"key:{self.key_id}"


def actor_of(principal: Principal) -> Actor:
    """The domain's view of the caller, for ``commands.handle`` (HTTP command routes)."""
    return Actor(
        user_id=principal.user_id or principal.key_id,
        role=Role(principal.role),
        store_ids=frozenset(principal.store_ids),
    )


def key_digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def create_api_key(conninfo: str, tenant_id: str, role: str, label: str = "") -> str:
    """Store a new key for ``tenant_id`` with ``role``; return the plain key (shown once)."""
    if not tenant_id.strip():
        raise ValueError("tenant must not be empty")
    if role not in READ_ROLES:
        allowed = ", ".join(sorted(READ_ROLES))
        raise ValueError(f"role {role!r} cannot hold a read key (one of: {allowed})")
    key_id = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO api_keys (key_id, tenant_id, role, label, key_sha256)"
            " VALUES (%s, %s, %s, %s, %s)",
            (key_id, tenant_id, role, label, key_digest(key)),
        )
    return key


async def find_principal(pool: AsyncPool, key: str | None) -> Principal | None:
    """The holder of ``key``, or None (missing, unknown or revoked)."""
    if not key or len(key) > MAX_KEY_LENGTH or not key.startswith(KEY_PREFIX):
        return None
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT tenant_id, role, key_id FROM api_keys"
            " WHERE key_sha256 = %s AND revoked_at IS NULL",
            (key_digest(key),),
        )
        row = await cur.fetchone()
    if row is None or row[1] not in READ_ROLES:
        return None
    return Principal(tenant_id=row[0], role=row[1], key_id=row[2])


def revoke_api_key(conninfo: str, tenant_id: str, key_id: str) -> bool:
    """Stop the key working at once; False when the tenant has no such live key."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        cur = conn.execute(
            "UPDATE api_keys SET revoked_at = now()"
            " WHERE tenant_id = %s AND key_id = %s AND revoked_at IS NULL",
            (tenant_id, key_id),
        )
        return cur.rowcount > 0
