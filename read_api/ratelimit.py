"""Rate limits: per client address, per caller (user or key), and stricter on login.

Litestar's ``RateLimitMiddleware`` (a sliding window in the app's
``rate_limit`` store, in memory per process) with ``Retry-After`` added to its
429, which the problem-details plugin answers as a problem document. Each
limit prefixes its own keys, so the three share one store without mixing.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec
from litestar import Request
from litestar.exceptions import TooManyRequestsException
from litestar.middleware import DefineMiddleware
from litestar.middleware.rate_limit import (
    DurationUnit,
    RateLimitConfig,
    RateLimitMiddleware,
    get_remote_address,
)
from litestar.types import Receive, Scope, Send

from read_api.keys import Principal

LOGIN_PATHS: Final = frozenset({"/v1/auth/login", "/v1/auth/refresh"})
Rate = tuple[DurationUnit, int]


class RateLimits(msgspec.Struct, frozen=True, kw_only=True):
    """Requests allowed per window; ``None`` switches that limit off."""

    per_address: Rate | None = ("minute", 6000)
    per_caller: Rate | None = ("minute", 3000)
    #: Login and refresh attempts per client address (password guessing).
    login_per_address: Rate | None = ("minute", 10)


class RetryAfterRateLimit(RateLimitMiddleware):
    """The 429 also says ``Retry-After`` (seconds until the window frees a slot)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except TooManyRequestsException as exc:
            headers = dict(exc.headers or {})
            if "Retry-After" not in headers:
                reset = headers.get(self.config.rate_limit_reset_header_key, "1")
                headers["Retry-After"] = str(max(1, int(reset) if reset.isdigit() else 1))
                exc.headers = headers
            raise


def _address(request: Request[Any, Any, Any]) -> str:
    return f"address:{get_remote_address(request)}"


def _login_address(request: Request[Any, Any, Any]) -> str:
    return f"login:{get_remote_address(request)}"


def _caller(request: Request[Any, Any, Any]) -> str:
    user = request.scope.get("user")
    if isinstance(user, Principal):
        return f"caller:{user.tenant_id}:{user.subject}"
    return _address(request)


def _is_login(request: Request[Any, Any, Any]) -> bool:
    return request.url.path in LOGIN_PATHS


def _has_caller(request: Request[Any, Any, Any]) -> bool:
    return isinstance(request.scope.get("user"), Principal)


def _config(rate: Rate, identify: Any, check: Any = None) -> DefineMiddleware:
    return RateLimitConfig(
        rate_limit=rate,
        identifier_for_request=identify,
        check_throttle_handler=check,
        middleware_class=RetryAfterRateLimit,
    ).middleware


def address_limits(limits: RateLimits) -> list[DefineMiddleware]:
    """App-wide, before authentication: every request counts against its address."""
    found = []
    if limits.per_address is not None:
        found.append(_config(limits.per_address, _address))
    if limits.login_per_address is not None:
        found.append(_config(limits.login_per_address, _login_address, _is_login))
    return found


def caller_limits(limits: RateLimits) -> list[DefineMiddleware]:
    """After authentication (on the /v1 router): each user or key has its own budget."""
    if limits.per_caller is None:
        return []
    return [_config(limits.per_caller, _caller, _has_caller)]
