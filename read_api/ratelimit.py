"""Rate limits: per client address, per caller (user or key), and stricter on login.

An equivalent of Litestar's ``RateLimitMiddleware`` that costs O(1) per
request: Litestar's keeps every request time of the window as a JSON list in
its store and re-encodes it under one lock on each request (≈ 0.25 ms at 6,000
per minute, serialising the whole API), ours keeps two counters per key (a
sliding-window estimate: this window's count plus the previous window's,
weighted by how much of it still overlaps, rounded up). A refused request is a 429 problem
document with ``Retry-After`` and ``RateLimit-*`` headers.

Counts are decided in memory, per process, and **shared through PostgreSQL**
(``SharedCounts``): once a second each process adds its new hits to the
``rate_limit_hits`` table (one statement for every key it saw) and reads back
the totals of every process, which its windows then count as well. Windows
are aligned on the wall clock, so every process means the same minute. A
burst within one second may pass the limit by what the other processes let
through in that second; after that the budget is the node's, not the worker's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Final, Literal

import msgspec
from litestar.enums import ScopeType
from litestar.exceptions import TooManyRequestsException
from litestar.middleware import DefineMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from read_api.keys import Principal
from streams.store import AsyncPool

log = logging.getLogger("read_api.ratelimit")

LOGIN_PATHS: Final = frozenset({"/v1/auth/login", "/v1/auth/refresh"})
Unit = Literal["second", "minute", "hour"]
SECONDS: Final[dict[str, int]] = {"second": 1, "minute": 60, "hour": 3600}
Rate = tuple[Unit, int]
#: Counters of windows older than the previous one are dropped past this many keys.
PRUNE_AT: Final = 10_000


class RateLimits(msgspec.Struct, frozen=True, kw_only=True):
    """Requests allowed per window; ``None`` switches that limit off."""

    per_address: Rate | None = ("minute", 6000)
    per_caller: Rate | None = ("minute", 3000)
    #: Login and refresh attempts per client address (password guessing).
    login_per_address: Rate | None = ("minute", 10)

    @classmethod
    def off(cls) -> RateLimits:
        """No limits (benchmarks, tests that are not about limits)."""
        return cls(per_address=None, per_caller=None, login_per_address=None)


class Window:
    """A sliding-window counter per key: ``hit`` says how long to wait, or None.

    ``name`` identifies the limit among processes (``SharedCounts``); windows are
    numbered on ``clock``, the wall clock by default, so processes agree on them.
    """

    def __init__(
        self, rate: Rate, clock: Callable[[], float] = time.time, *, name: str = ""
    ) -> None:
        self.limit, self.seconds, self.clock = rate[1], SECONDS[rate[0]], clock
        self.name = name or f"{rate[1]}/{rate[0]}"
        self._counts: dict[str, tuple[int, int, int]] = {}  # key -> window, previous, current
        #: Hits of the other processes, from the last sync: key -> window, previous, current.
        self._others: dict[str, tuple[int, int, int]] = {}
        #: Own hits not yet added to the shared table: (key, window) -> hits.
        self.pending: dict[tuple[str, int], int] = {}

    def _own(self, key: str, index: int) -> tuple[int, int]:
        last, previous, current = self._counts.get(key, (index, 0, 0))
        if last != index:
            previous, current = (current if last == index - 1 else 0), 0
        return previous, current

    def _of_others(self, key: str, index: int) -> tuple[int, int]:
        last, previous, current = self._others.get(key, (index, 0, 0))
        if last == index:
            return previous, current
        return (current if last == index - 1 else 0), 0

    def learn(self, key: str, index: int, totals: tuple[int, int], own: tuple[int, int]) -> None:
        """The shared (previous, current) totals of ``key`` less ``own``: the others' hits."""
        self._others[key] = (index, max(0, totals[0] - own[0]), max(0, totals[1] - own[1]))

    def own(self, key: str, index: int) -> tuple[int, int]:
        """This process's (previous, current) hits of ``key`` in window ``index``."""
        return self._own(key, index)

    def hit(self, key: str) -> float | None:
        now = self.clock()
        window, into = divmod(now, self.seconds)
        index = int(window)
        previous, current = self._own(key, index)
        others_previous, others_current = self._of_others(key, index)
        own_current = current
        previous, current = previous + others_previous, current + others_current
        overlap = 1.0 - into / self.seconds
        # Rounded up, so a burst at the end of one window is not let through again
        # right after the next one starts.
        weighted = math.ceil(previous * overlap - 1e-9)
        if weighted + current >= self.limit:
            self._counts[key] = (index, previous - others_previous, own_current)
            until_next = self.seconds - into
            if current + 1 >= self.limit or not previous:
                return until_next  # at least: this window must end
            # Until enough of the previous window has slid out to leave one slot.
            room = self.limit - current - 1
            wait = (previous * overlap - room) / previous * self.seconds
            return min(max(wait, 1.0), until_next)
        self._counts[key] = (index, previous - others_previous, own_current + 1)
        self.pending[key, index] = self.pending.get((key, index), 0) + 1
        if len(self._counts) > PRUNE_AT:
            self._prune(index)
        return None

    def active(self) -> tuple[int, list[str]]:
        """The current window and the keys counted in it or the one before."""
        index = int(self.clock() // self.seconds)
        return index, [k for k, v in self._counts.items() if v[0] >= index - 1]

    def _prune(self, index: int) -> None:
        self._counts = {k: v for k, v in self._counts.items() if v[0] >= index - 1}
        self._others = {k: v for k, v in self._others.items() if v[0] >= index - 1}


Identify = Callable[[Scope], str | None]


class RateLimit:
    """ASGI middleware: count the request under ``identify(scope)`` (None: not counted)."""

    def __init__(self, app: ASGIApp, *, window: Window, identify: Identify) -> None:
        # One ``window`` for every route: Litestar builds a middleware stack per route.
        self.app, self.identify, self.window = app, identify, window
        self.policy = f"{window.limit};w={window.seconds}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = self.identify(scope) if scope["type"] == ScopeType.HTTP else None
        if key is not None and (wait := self.window.hit(key)) is not None:
            raise TooManyRequestsException(
                f"too many requests; retry in {math.ceil(wait)} s",
                headers={
                    "Retry-After": str(math.ceil(wait)),
                    "RateLimit-Policy": self.policy,
                    "RateLimit-Limit": str(self.window.limit),
                    "RateLimit-Remaining": "0",
                    "RateLimit-Reset": str(math.ceil(wait)),
                },
            )
        await self.app(scope, receive, send)


def _client(scope: Scope) -> str:
    client: Any = scope.get("client")
    return str(client[0]) if client else "unknown"


def _address(scope: Scope) -> str | None:
    return f"address:{_client(scope)}"


def _login_address(scope: Scope) -> str | None:
    return f"login:{_client(scope)}" if scope.get("path") in LOGIN_PATHS else None


def _caller(scope: Scope) -> str | None:
    user = scope.get("user")
    return f"caller:{user.tenant_id}:{user.subject}" if isinstance(user, Principal) else None


class SharedCounts:
    """Every window of an app, synchronised with the other processes through PostgreSQL."""

    def __init__(self, every: float = 1.0) -> None:
        self.windows: list[Window] = []
        self.every = every

    def add(self, rate: Rate, name: str) -> Window:
        window = Window(rate, name=f"{name}:{rate[1]}/{rate[0]}")
        self.windows.append(window)
        return window

    async def sync(self, pool: AsyncPool) -> None:
        """Add our new hits to the shared table; learn everyone's totals of our keys."""
        for window in self.windows:
            pending, window.pending = window.pending, {}
            index, keys = window.active()
            # Every hit so far is in ``pending`` or already shared: this is our part of the totals.
            own = {key: window.own(key, index) for key in keys}
            if not pending and not keys:
                continue
            try:
                rows = await self._exchange(pool, window, pending, index, keys)
            except BaseException:
                for slot, hits in pending.items():  # shared next time
                    window.pending[slot] = window.pending.get(slot, 0) + hits
                raise
            totals: dict[str, list[int]] = {k: [0, 0] for k in keys}
            for key, number, hits in rows:
                if key in totals and number in (index - 1, index):
                    totals[key][number - index + 1] = hits
            for key, (previous, current) in totals.items():
                window.learn(key, index, (previous, current), own[key])

    async def _exchange(
        self,
        pool: AsyncPool,
        window: Window,
        pending: dict[tuple[str, int], int],
        index: int,
        keys: list[str],
    ) -> list[tuple[str, int, int]]:
        async with pool.connection() as conn:
            if pending:
                await conn.execute(
                    "INSERT INTO rate_limit_hits AS h (limit_name, key, window_index, hits)"
                    " SELECT %s, k, w, n FROM unnest(%s::text[], %s::bigint[], %s::int[])"
                    " AS u(k, w, n)"
                    " ON CONFLICT (limit_name, key, window_index)"
                    " DO UPDATE SET hits = h.hits + excluded.hits",
                    (
                        window.name,
                        [k for k, _ in pending],
                        [w for _, w in pending],
                        list(pending.values()),
                    ),
                )
            cur = await conn.execute(
                "SELECT key, window_index, hits FROM rate_limit_hits"
                " WHERE limit_name = %s AND key = ANY(%s) AND window_index >= %s",
                (window.name, keys, index - 1),
            )
            rows = [(str(r[0]), int(r[1]), int(r[2])) for r in await cur.fetchall()]
            if index % 10 == 0:
                await conn.execute(
                    "DELETE FROM rate_limit_hits WHERE limit_name = %s AND window_index < %s",
                    (window.name, index - 1),
                )
        return rows

    @contextlib.asynccontextmanager
    async def syncing(self, pool: AsyncPool) -> AsyncIterator[None]:
        """Sync every ``every`` seconds while the app runs (a failed sync is logged, retried)."""

        async def loop() -> None:
            while True:
                await asyncio.sleep(self.every)
                try:
                    await self.sync(pool)
                except Exception:
                    log.warning("rate-limit counts not shared this time", exc_info=True)

        task = asyncio.create_task(loop()) if self.windows else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


def _limit(shared: SharedCounts, rate: Rate, name: str, identify: Identify) -> DefineMiddleware:
    return DefineMiddleware(RateLimit, window=shared.add(rate, name), identify=identify)


def address_limits(limits: RateLimits, shared: SharedCounts) -> list[DefineMiddleware]:
    """App-wide, before authentication: every request counts against its address."""
    found = []
    if limits.per_address is not None:
        found.append(_limit(shared, limits.per_address, "address", _address))
    if limits.login_per_address is not None:
        found.append(_limit(shared, limits.login_per_address, "login", _login_address))
    return found


def caller_limits(limits: RateLimits, shared: SharedCounts) -> list[DefineMiddleware]:
    """After authentication (on the /v1 router): each user or key has its own budget."""
    if limits.per_caller is None:
        return []
    return [_limit(shared, limits.per_caller, "caller", _caller)]
