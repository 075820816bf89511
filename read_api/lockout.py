"""Failed logins per account: too many wrong passwords lock the e-mail for a while.

Counted per e-mail address as typed (normalised), from any client address, in
PostgreSQL (``auth_login_failures``, migration 0041) so every process of a node
shares the count. Unknown addresses are counted and locked exactly like real
ones: a lock says nothing about whether an account exists. While locked, a
login is refused with 429 + ``Retry-After`` *before* the password is checked
(no guessing during the lock); each lock in a row lasts twice as long as the
one before, up to ``max_lock``. A successful login clears the count.
"""

from __future__ import annotations

import math
import random
from datetime import timedelta
from typing import Final

import msgspec
from litestar.exceptions import TooManyRequestsException

from domain.errors import InvalidValue
from read_api.users import normalise_email
from streams.store import AsyncPool

#: Counted addresses are cut to this length (the login body allows 254).
MAX_KEY_LENGTH: Final = 254
#: One failed login in this many prunes rows that have been quiet for a day.
PRUNE_ONE_IN: Final = 100


class LockoutPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """``max_failures`` wrong passwords within ``window`` lock for ``first_lock``, doubling."""

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    first_lock: timedelta = timedelta(minutes=5)
    max_lock: timedelta = timedelta(hours=1)
    #: A lock this long over is forgotten: the next one starts at ``first_lock`` again.
    forget_after: timedelta = timedelta(days=1)


def account_key(email: str) -> str:
    """The counted name: the normalised address, or the raw text when it is not one."""
    try:
        return normalise_email(email)
    except InvalidValue:
        return email.strip().lower()[:MAX_KEY_LENGTH]


def locked(seconds: float) -> TooManyRequestsException:
    wait = str(max(1, math.ceil(seconds)))
    return TooManyRequestsException(
        f"too many failed logins for this account; retry in {wait} s",
        headers={"Retry-After": wait},
    )


class Lockout:
    """The failed-login counters of one database (shared by every process)."""

    def __init__(self, pool: AsyncPool, policy: LockoutPolicy | None = None) -> None:
        self.pool, self.policy = pool, policy or LockoutPolicy()

    async def check(self, email: str) -> None:
        """Raise the 429 when the account is locked now."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT extract(epoch FROM locked_until - now()) FROM auth_login_failures"
                " WHERE email = %s AND locked_until > now()",
                (account_key(email),),
            )
            row = await cur.fetchone()
        if row is not None:
            raise locked(float(row[0]))

    async def failed(self, email: str) -> float | None:
        """Count a wrong password; the lock's length in seconds when this one locked it."""
        p, key = self.policy, account_key(email)
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "INSERT INTO auth_login_failures AS f (email, failures, window_started)"
                " VALUES (%(key)s, 1, now())"
                " ON CONFLICT (email) DO UPDATE SET"
                "  failures = CASE WHEN f.window_started <= now() - %(window)s"
                "   THEN 1 ELSE f.failures + 1 END,"
                "  window_started = CASE WHEN f.window_started <= now() - %(window)s"
                "   THEN now() ELSE f.window_started END,"
                "  lockouts = CASE WHEN f.locked_until <= now() - %(forget)s"
                "   THEN 0 ELSE f.lockouts END"
                " RETURNING failures, lockouts",
                {"key": key, "window": p.window, "forget": p.forget_after},
            )
            row = await cur.fetchone()
            assert row is not None
            failures, lockouts = int(row[0]), int(row[1])
            if failures < p.max_failures:
                lock = None
            else:
                lock = min(p.first_lock * 2 ** min(lockouts, 20), p.max_lock)
                await conn.execute(
                    "UPDATE auth_login_failures SET locked_until = now() + %s,"
                    " lockouts = lockouts + 1, failures = 0, window_started = now()"
                    " WHERE email = %s",
                    (lock, key),
                )
            if random.randrange(PRUNE_ONE_IN) == 0:
                await conn.execute(
                    "DELETE FROM auth_login_failures WHERE window_started < now() - %(forget)s"
                    " AND (locked_until IS NULL OR locked_until < now() - %(forget)s)",
                    {"forget": p.forget_after},
                )
        return None if lock is None else lock.total_seconds()

    async def succeeded(self, email: str) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(
                "DELETE FROM auth_login_failures WHERE email = %s", (account_key(email),)
            )
