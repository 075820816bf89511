"""People who log in: argon2id password hashes kept apart from the history.

A user is the ``UserRegistered`` event of the tenant stream (role, stores,
e-mail); their password hash lives only in ``auth_credentials`` (the history is
exported to auditors and must not carry it) and ``UserPasswordSet`` records
that it changed. ``create_user`` is the one way in, for the CLI, the demo and
tests: it goes through the ``RegisterUser`` command like every other writer.

Hashing: argon2-cffi's ``PasswordHasher`` (argon2id, RFC 9106 low-memory
profile), the reference binding, maintained by the hynek/pyca people; pwdlib
is a thin layer over the same library.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Final

import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from commands.handlers import handle
from commands.runtime import EventStoreLike
from commands.types import RecordPasswordSet, RegisterUser
from domain.access import Actor
from domain.errors import AlreadyExists, InvalidValue, NotFound
from domain.events.organisation import Role
from domain.organisation import check_email
from streams.store import AsyncPool, EventStore

MIN_PASSWORD_LENGTH: Final = 10
MAX_PASSWORD_LENGTH: Final = 1024
#: The actor of bootstrap writes (CLI, demo): the system acting as an owner.
SYSTEM: Final = Actor(user_id="system", role=Role.OWNER)

_HASHER = PasswordHasher()
# Verified when the e-mail is unknown, so that answer takes as long as a wrong password.
_DUMMY_HASH: Final = _HASHER.hash(secrets.token_urlsafe(16))


class NewUser(msgspec.Struct, frozen=True, kw_only=True):
    tenant_id: str
    user_id: str
    email: str
    role: Role
    store_ids: tuple[str, ...]
    #: The password to give the person: generated (one-time) unless one was passed in.
    password: str


class Credential(msgspec.Struct, frozen=True, kw_only=True):
    tenant_id: str
    user_id: str


def normalise_email(email: str) -> str:
    return check_email(email.strip().lower())


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidValue("password", f"shorter than {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidValue("password", f"longer than {MAX_PASSWORD_LENGTH} characters")


def generate_password() -> str:
    return secrets.token_urlsafe(15)  # 20 characters, 120 bits


async def hash_password(password: str) -> str:
    # Off the event loop: a hash takes tens of milliseconds by design.
    return await asyncio.to_thread(_HASHER.hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def create_user(
    store: EventStoreLike,
    pool: AsyncPool,
    *,
    tenant_id: str,
    email: str,
    name: str,
    role: Role,
    store_ids: tuple[str, ...] = (),
    password: str | None = None,
    user_id: str | None = None,
    actor: Actor = SYSTEM,
) -> NewUser:
    """Register a person who can log in; DomainError (nothing kept) when refused."""
    email = normalise_email(email)
    password = password if password is not None else generate_password()
    check_password(password)
    user_id = user_id or f"u-{secrets.token_hex(6)}"
    password_hash = await hash_password(password)
    async with pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO auth_credentials (email, tenant_id, user_id, password_hash)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (email, tenant_id, user_id, password_hash),
        )
        if cur.rowcount != 1:
            raise AlreadyExists("email", f"{email!r} already has a login")
    command = RegisterUser(user_id=user_id, name=name, role=role, store_ids=store_ids, email=email)
    try:
        await handle(command, store, tenant_id=tenant_id, actor=actor)
        await handle(RecordPasswordSet(user_id=user_id), store, tenant_id=tenant_id, actor=actor)
    except BaseException:
        async with pool.connection() as conn:
            await conn.execute("DELETE FROM auth_credentials WHERE email = %s", (email,))
        raise
    return NewUser(
        tenant_id=tenant_id,
        user_id=user_id,
        email=email,
        role=role,
        store_ids=store_ids,
        password=password,
    )


async def check_credentials(pool: AsyncPool, email: str, password: str) -> Credential | None:
    """The user behind ``email`` + ``password``, or None; equally slow either way."""
    try:
        email = normalise_email(email)
    except InvalidValue:
        email = ""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT tenant_id, user_id, password_hash FROM auth_credentials WHERE email = %s",
            (email,),
        )
        row = await cur.fetchone()
    if row is None:
        await asyncio.to_thread(_verify, _DUMMY_HASH, password)
        return None
    if not await asyncio.to_thread(_verify, row[2], password):
        return None
    if _HASHER.check_needs_rehash(row[2]):
        await _store_hash(pool, email, await hash_password(password))
    return Credential(tenant_id=row[0], user_id=row[1])


async def _store_hash(pool: AsyncPool, email: str, password_hash: str) -> None:
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE auth_credentials SET password_hash = %s, updated_at = now() WHERE email = %s",
            (password_hash, email),
        )


async def list_users(pool: AsyncPool, tenant_id: str) -> list[tuple[str, str]]:
    """``(email, user_id)`` of every login of the tenant."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT email, user_id FROM auth_credentials WHERE tenant_id = %s ORDER BY email",
            (tenant_id,),
        )
        return [(r[0], r[1]) for r in await cur.fetchall()]


def create_login(
    database_url: str,
    *,
    tenant_id: str,
    email: str,
    role: Role = Role.OWNER,
    name: str = "",
    password: str | None = None,
) -> NewUser:
    """``create_user`` for synchronous callers (the demo banner); not inside a running loop."""

    async def run() -> NewUser:
        store = await EventStore.open(database_url, min_size=1, max_size=2)
        try:
            return await create_user(
                store,
                store.pool,
                tenant_id=tenant_id,
                email=email,
                name=name or email.split("@", maxsplit=1)[0],
                role=role,
                password=password,
            )
        finally:
            await store.close()

    return asyncio.run(run())


async def email_of(pool: AsyncPool, tenant_id: str, user_id: str) -> str | None:
    """The login of a user, or None (no login: removed, or registered without one)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT email FROM auth_credentials WHERE tenant_id = %s AND user_id = %s",
            (tenant_id, user_id),
        )
        row = await cur.fetchone()
    return None if row is None else str(row[0])


async def change_password(
    store: EventStoreLike,
    pool: AsyncPool,
    *,
    tenant_id: str,
    email: str,
    password: str,
    actor: Actor,
) -> None:
    """Store a new hash for the login ``email`` and note ``UserPasswordSet`` in the history."""
    check_password(password)
    async with pool.connection() as conn:
        cur = await conn.execute(
            "UPDATE auth_credentials SET password_hash = %s, updated_at = now()"
            " WHERE email = %s AND tenant_id = %s RETURNING user_id",
            (await hash_password(password), email, tenant_id),
        )
        row = await cur.fetchone()
    if row is None:
        raise NotFound("user_id", "no such login")
    command = RecordPasswordSet(user_id=str(row[0]))
    await handle(command, store, tenant_id=tenant_id, actor=actor)


async def bump_generation(pool: AsyncPool, tenant_id: str, user_id: str) -> None:
    """Make the user's access tokens stale (their role or stores changed)."""
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE auth_credentials SET claims_generation = claims_generation + 1,"
            " updated_at = now() WHERE tenant_id = %s AND user_id = %s",
            (tenant_id, user_id),
        )


async def remove_login(pool: AsyncPool, tenant_id: str, user_id: str) -> None:
    """Delete the user's login: no password opens it, no token of theirs passes."""
    async with pool.connection() as conn:
        await conn.execute(
            "DELETE FROM auth_credentials WHERE tenant_id = %s AND user_id = %s",
            (tenant_id, user_id),
        )
