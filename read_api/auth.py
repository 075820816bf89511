"""Who is calling: ``Authorization: Bearer <key>`` → the key's tenant and role.

The tenant of every query comes from here and nothing in the request can
change it. Missing, unknown or revoked keys get 401; a key whose role may not
read gets 403 (from the guard).
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from read_api.keys import READ_ROLES, Principal, find_principal

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="obrador"'}


def bearer_key(authorization: str | None) -> str | None:
    scheme, _, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return key.strip() or None


class ApiKeyAuthentication(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        key = bearer_key(connection.headers.get("authorization"))
        if key is None:
            raise NotAuthorizedException(
                "send the API key as 'Authorization: Bearer <key>'", headers=CHALLENGE
            )
        principal = await find_principal(connection.app.state.pool, key)
        if principal is None:
            raise NotAuthorizedException("unknown or revoked API key", headers=CHALLENGE)
        return AuthenticationResult(user=principal, auth=principal.key_id)


def can_read(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if connection.scope.get("method") == "OPTIONS":
        return  # answered without a key (it says which methods exist, nothing else)
    user = connection.scope.get("user")
    if not isinstance(user, Principal) or user.role not in READ_ROLES:
        raise PermissionDeniedException("this key's role may not read")
