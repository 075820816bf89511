"""Sessions: short-lived JWT access tokens and rotating refresh tokens.

A login starts a session (``SessionStarted``), which is one refresh-token
family. Each refresh spends the presented token and hands out a new one; a
spent token presented again means it was stolen (or copied): the whole family
is revoked (``SessionRevoked``, reason ``refresh_reused``), and so are the
access tokens that carry the session id (checked by the JWT middleware's
``revoked_token_handler``). Logout revokes the same way.

The role and stores put into an access token are read from the tenant stream
at login and at every refresh. The token also carries the user's claims
generation (``gen``, ``auth_credentials.claims_generation``): an owner's role
change bumps it and a removal deletes the row, and the revoked-token handler
(``Sessions.is_current``) then refuses the older tokens at once: the person
refreshes and gets the new role, or cannot.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from datetime import timedelta
from typing import Any, Final
from uuid import uuid4

import msgspec
from litestar.security.jwt import JWTAuth, Token

from commands.handlers import handle
from commands.types import RevokeSession, StartSession
from domain import organisation
from domain.access import Actor
from domain.codec import decode_event
from domain.errors import DomainError
from domain.events.organisation import Role, SessionRevocationReason
from domain.streams import TENANT_STREAM
from read_api.keys import Principal, actor_of
from read_api.lockout import Lockout, LockoutPolicy
from streams.store import AsyncPool, EventStore

log = logging.getLogger("read_api.auth")

REFRESH_PREFIX: Final = "obrrt_"
MAX_REFRESH_LENGTH: Final = 200
SECRET_ENV: Final = "OBRADOR_JWT_SECRET"


class AuthConfig(msgspec.Struct, frozen=True, kw_only=True):
    """How long tokens live and what signs them (HS256)."""

    #: Signing key; empty: ``$OBRADOR_JWT_SECRET``, else a random one per process
    #: (tokens then die with the process and workers do not share them).
    secret: str = ""
    access_ttl: timedelta = timedelta(minutes=15)
    refresh_ttl: timedelta = timedelta(days=14)
    #: Failed logins per account (read_api/lockout.py).
    lockout: LockoutPolicy = LockoutPolicy()

    def signing_key(self) -> str:
        return self.secret or os.environ.get(SECRET_ENV, "") or secrets.token_urlsafe(48)


class TokenPair(msgspec.Struct, frozen=True, kw_only=True):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"
    expires_in: int  # seconds the access token lives
    refresh_expires_in: int


class Refused(Exception):
    """The credential does not open the door (the HTTP layer answers 401)."""


def refresh_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def current_principal(
    store: EventStore, tenant_id: str, user_id: str, session_id: str = ""
) -> Principal | None:
    """The user's role and stores as the tenant stream says now (None: no such user)."""
    records = await store.read_stream(tenant_id, TENANT_STREAM)
    state = organisation.fold(
        decode_event(r.event_type, r.schema_version, r.payload) for r in records
    )
    found = state.users.get(user_id)
    if found is None:
        return None
    role, store_ids = found
    return Principal(
        tenant_id=tenant_id,
        role=role.value,
        user_id=user_id,
        store_ids=tuple(store_ids),
        session_id=session_id,
    )


class Sessions:
    """Issue, rotate and revoke; ``pool`` and ``store`` may write (the read pool may not)."""

    def __init__(self, jwt: JWTAuth[Principal, Token], store: EventStore, config: AuthConfig):
        self.jwt, self.store, self.config = jwt, store, config
        self.lockout = Lockout(store.pool, config.lockout)

    @property
    def pool(self) -> AsyncPool:
        return self.store.pool

    async def start(self, tenant_id: str, user_id: str) -> TokenPair:
        session_id = uuid4().hex
        # The generation before the role: a change landing in between only makes
        # this token stale (refused, refreshed), never a new role under an old number.
        generation = await self.generation(tenant_id, user_id)
        principal = await current_principal(self.store, tenant_id, user_id, session_id)
        if principal is None or generation is None:
            raise Refused("wrong e-mail or password")
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO auth_sessions (session_id, tenant_id, user_id) VALUES (%s, %s, %s)",
                (session_id, tenant_id, user_id),
            )
        command = StartSession(user_id=user_id, session_id=session_id)
        await handle(command, self.store, tenant_id=tenant_id, actor=actor_of(principal))
        return self._pair(principal, generation, await self._new_refresh(session_id))

    async def rotate(self, refresh_token: str) -> TokenPair:
        """Spend ``refresh_token`` for a new pair; a spent one burns its session."""
        found = await self._spend(refresh_token)
        tenant_id, user_id, session_id = found
        generation = await self.generation(tenant_id, user_id)
        principal = await current_principal(self.store, tenant_id, user_id, session_id)
        if principal is None or generation is None:
            raise Refused("the user no longer exists")
        return self._pair(principal, generation, await self._new_refresh(session_id))

    async def end(self, refresh_token: str) -> None:
        """Logout: the session of ``refresh_token`` stops working (unknown: Refused)."""
        found = await self._lookup(refresh_token)
        if found is None:
            raise Refused("unknown refresh token")
        tenant_id, user_id, session_id = found[:3]
        await self.revoke(tenant_id, user_id, session_id, SessionRevocationReason.LOGOUT)

    async def revoke(
        self, tenant_id: str, user_id: str, session_id: str, reason: SessionRevocationReason
    ) -> None:
        # The table first: the revocation takes effect before the history is written.
        async with self.pool.connection() as conn:
            await conn.execute(
                "UPDATE auth_sessions SET revoked_at = now(), revoked_reason = %s"
                " WHERE session_id = %s AND revoked_at IS NULL",
                (reason.value, session_id),
            )
        principal = await current_principal(self.store, tenant_id, user_id)
        actor = actor_of(principal) if principal else Actor(user_id="system", role=Role.OWNER)
        command = RevokeSession(user_id=user_id, session_id=session_id, reason=reason)
        try:
            await handle(command, self.store, tenant_id=tenant_id, actor=actor)
        except DomainError:
            log.exception("session %s revoked but not recorded in the history", session_id)

    async def revoke_all(
        self, tenant_id: str, user_id: str, reason: SessionRevocationReason
    ) -> list[str]:
        """End every live session of the user (password changed, user removed)."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT session_id FROM auth_sessions"
                " WHERE tenant_id = %s AND user_id = %s AND revoked_at IS NULL",
                (tenant_id, user_id),
            )
            live = [str(r[0]) for r in await cur.fetchall()]
        for session_id in live:
            await self.revoke(tenant_id, user_id, session_id, reason)
        return live

    async def generation(self, tenant_id: str, user_id: str) -> int | None:
        """The user's claims generation; None when they have no login (removed)."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT claims_generation FROM auth_credentials"
                " WHERE tenant_id = %s AND user_id = %s",
                (tenant_id, user_id),
            )
            row = await cur.fetchone()
        return None if row is None else int(row[0])

    async def is_current(self, session_id: str, generation: int) -> bool:
        """True while the session is live, its user has a login, and the claims are current."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT s.revoked_at IS NULL AND c.claims_generation = %s"
                " FROM auth_sessions AS s JOIN auth_credentials AS c USING (tenant_id, user_id)"
                " WHERE s.session_id = %s",
                (generation, session_id),
            )
            row = await cur.fetchone()
        return row is not None and bool(row[0])

    async def _lookup(self, token: str) -> tuple[str, str, str, bool, bool, bool] | None:
        """tenant, user, session, spent, expired, revoked of a refresh token."""
        if not token.startswith(REFRESH_PREFIX) or len(token) > MAX_REFRESH_LENGTH:
            return None
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT s.tenant_id, s.user_id, s.session_id, t.spent_at IS NOT NULL,"
                " t.expires_at <= now(), s.revoked_at IS NOT NULL"
                " FROM auth_refresh_tokens AS t JOIN auth_sessions AS s USING (session_id)"
                " WHERE t.token_sha256 = %s",
                (refresh_digest(token),),
            )
            row: Any = await cur.fetchone()
        return None if row is None else tuple(row)

    async def _spend(self, token: str) -> tuple[str, str, str]:
        found = await self._lookup(token)
        if found is None:
            raise Refused("unknown refresh token")
        tenant_id, user_id, session_id, spent, expired, revoked = found
        if revoked:
            raise Refused("the session has ended; log in again")
        if expired:
            raise Refused("the refresh token has expired; log in again")
        if not spent:
            async with self.pool.connection() as conn:
                cur = await conn.execute(
                    "UPDATE auth_refresh_tokens SET spent_at = now()"
                    " WHERE token_sha256 = %s AND spent_at IS NULL",
                    (refresh_digest(token),),
                )
                spent = cur.rowcount != 1  # lost a race with another use of the same token
        if spent:
            log.warning("refresh token reused: session %s of %s revoked", session_id, user_id)
            reused = SessionRevocationReason.REFRESH_REUSED
            await self.revoke(tenant_id, user_id, session_id, reused)
            raise Refused("refresh token already used; the session is revoked, log in again")
        return tenant_id, user_id, session_id

    async def _new_refresh(self, session_id: str) -> str:
        token = f"{REFRESH_PREFIX}{secrets.token_urlsafe(32)}"
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO auth_refresh_tokens (token_sha256, session_id, expires_at)"
                " VALUES (%s, %s, now() + %s)",
                (refresh_digest(token), session_id, self.config.refresh_ttl),
            )
        return token

    def _pair(self, principal: Principal, generation: int, refresh_token: str) -> TokenPair:
        access = self.jwt.create_token(
            identifier=principal.user_id,
            token_expiration=self.config.access_ttl,
            token_unique_jwt_id=uuid4().hex,
            token_extras=claims_of(principal) | {"gen": generation},
        )
        return TokenPair(
            access_token=access,
            refresh_token=refresh_token,
            expires_in=int(self.config.access_ttl.total_seconds()),
            refresh_expires_in=int(self.config.refresh_ttl.total_seconds()),
        )


def claims_of(principal: Principal) -> dict[str, Any]:
    return {
        "tenant": principal.tenant_id,
        "role": principal.role,
        "stores": list(principal.store_ids),
        "sid": principal.session_id,
    }


def principal_of(token: Token) -> Principal | None:
    """The caller an access token names, or None when its claims are not ours."""
    extras = token.extras
    tenant, role, stores, sid = (extras.get(k) for k in ("tenant", "role", "stores", "sid"))
    if not (isinstance(tenant, str) and tenant and isinstance(sid, str) and sid):
        return None
    if role not in Role.__members__.values() or not isinstance(stores, list):
        return None
    if not all(isinstance(s, str) for s in stores):
        return None
    return Principal(
        tenant_id=tenant,
        role=str(role),
        user_id=token.sub,
        store_ids=tuple(stores),
        session_id=sid,
    )
