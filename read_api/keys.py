"""API keys: a random key per holder, stored only as its SHA-256.

``create_api_key`` returns the plain key once; ``find_principal`` maps a
presented key to its tenant, role and, for a store-scoped role (store manager,
POS device), its stores (None for unknown or revoked keys). A store manager's
key reads and acts only in its stores, a POS device's only records sales there.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from typing import Final

import msgspec
import psycopg

from domain import organisation
from domain.access import STORE_SCOPED_ROLES, Actor
from domain.codec import decode_event
from domain.events.organisation import Role
from domain.streams import TENANT_STREAM
from streams.store import AsyncPool, EventStore

KEY_PREFIX: Final = "obrkey_"
#: Longer presented keys are not looked up (a real one has 63 characters).
MAX_KEY_LENGTH: Final = 200
#: Roles that may read everything of their tenant.
READ_ROLES: Final = frozenset({Role.OWNER, Role.PLANNER, Role.PRODUCTION_MANAGER, Role.AUDITOR})
#: Roles a key may hold: the tenant-wide ones, and the store-scoped ones with their stores.
KEY_ROLES: Final = READ_ROLES | STORE_SCOPED_ROLES
_STORE_ID: Final = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")  # domain.events.base.Id


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


def check_key_scope(role: str, store_ids: Sequence[str]) -> tuple[str, ...]:
    """The stores of a key of ``role``; ValueError naming what is wrong."""
    if role not in KEY_ROLES:
        allowed = ", ".join(sorted(KEY_ROLES))
        raise ValueError(f"role {role!r} cannot hold an API key (one of: {allowed})")
    stores = tuple(dict.fromkeys(store_ids))
    if role in STORE_SCOPED_ROLES and not stores:
        raise ValueError(f"a {role} key needs at least one store (--store)")
    if role not in STORE_SCOPED_ROLES and stores:
        raise ValueError(f"a {role} key covers the whole tenant; stores are for store-scoped roles")
    for store in stores:
        if not _STORE_ID.match(store):
            raise ValueError(f"store {store[:60]!r} is not an id (1-128 of A-Z a-z 0-9 _ . : @ -)")
    return stores


async def unknown_stores(database_url: str, tenant_id: str, store_ids: Sequence[str]) -> list[str]:
    """Those of ``store_ids`` that are not open stores of the tenant (its ``tenant`` stream)."""
    if not store_ids:
        return []
    store = await EventStore.open(database_url, min_size=1, max_size=1)
    try:
        records = await store.read_stream(tenant_id, TENANT_STREAM)
    finally:
        await store.close()
    state = organisation.fold(
        decode_event(r.event_type, r.schema_version, r.payload) for r in records
    )
    return sorted(set(store_ids) - state.open_store_ids())


def create_api_key(
    conninfo: str, tenant_id: str, role: str, label: str = "", store_ids: Sequence[str] = ()
) -> str:
    """Store a new key for ``tenant_id`` with ``role`` (and its stores); return it (shown once).

    The stores' existence is the caller's to check (``obrador api-key create``
    checks them against the tenant's open stores).
    """
    if not tenant_id.strip():
        raise ValueError("tenant must not be empty")
    stores = check_key_scope(role, store_ids)
    key_id = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO api_keys (key_id, tenant_id, role, label, key_sha256, store_ids)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (key_id, tenant_id, role, label, key_digest(key), list(stores)),
        )
    return key


async def find_principal(pool: AsyncPool, key: str | None) -> Principal | None:
    """The holder of ``key``, or None (missing, unknown or revoked)."""
    if not key or len(key) > MAX_KEY_LENGTH or not key.startswith(KEY_PREFIX):
        return None
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT tenant_id, role, key_id, store_ids FROM api_keys"
            " WHERE key_sha256 = %s AND revoked_at IS NULL",
            (key_digest(key),),
        )
        row = await cur.fetchone()
    if row is None or row[1] not in KEY_ROLES:
        return None
    stores = tuple(row[3] or ())
    if row[1] in STORE_SCOPED_ROLES and not stores:
        return None  # a scoped key with no store could act nowhere: refuse it outright
    return Principal(tenant_id=row[0], role=row[1], key_id=row[2], store_ids=stores)


def revoke_api_key(conninfo: str, tenant_id: str, key_id: str) -> bool:
    """Stop the key working at once; False when the tenant has no such live key."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        cur = conn.execute(
            "UPDATE api_keys SET revoked_at = now()"
            " WHERE tenant_id = %s AND key_id = %s AND revoked_at IS NULL",
            (tenant_id, key_id),
        )
        return cur.rowcount > 0
