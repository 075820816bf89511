"""Who is calling: ``Authorization: Bearer <credential>`` → one ``Principal``.

Two credentials open the door: a machine's API key (``obrkey_…``, looked up in
``api_keys``) and a person's access token (a JWT from ``POST /v1/auth/login``,
checked by Litestar's own ``JWTAuthenticationMiddleware`` with a
``revoked_token_handler`` that refuses tokens of ended sessions). Both become a
:class:`~read_api.keys.Principal` on ``request.user``; the tenant of every
query and command comes from it and nothing in the request can change it.
Missing, unknown, expired or revoked credentials get 401; a role that may not
read gets 403 (from the guard).
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AuthenticationResult
from litestar.security.jwt import JWTAuth, JWTAuthenticationMiddleware, Token

from domain.access import STORE_SCOPED_ROLES
from domain.events.organisation import Role
from read_api.keys import KEY_PREFIX, READ_ROLES, Principal, find_principal
from read_api.tokens import AuthConfig, Sessions, principal_of

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="obrador"'}
SECURITY_SCHEME = "apiKey"
#: People and machines whose role may read the read models (store managers: their
#: stores). A POS device's key only records sales: it reads nothing (403).
READERS = READ_ROLES | {Role.STORE_MANAGER}


def bearer_key(authorization: str | None) -> str | None:
    scheme, _, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return key.strip() or None


class FrontDoorAuthentication(JWTAuthenticationMiddleware):
    """API keys by their prefix, everything else as an access token."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        credential = bearer_key(connection.headers.get("authorization"))
        if credential is None:
            raise NotAuthorizedException(
                "send an API key or an access token as 'Authorization: Bearer <credential>'",
                headers=CHALLENGE,
            )
        if credential.startswith(KEY_PREFIX):
            principal = await find_principal(connection.app.state.pool, credential)
            if principal is None:
                raise NotAuthorizedException("unknown or revoked API key", headers=CHALLENGE)
            return AuthenticationResult(user=principal, auth=principal.key_id)
        try:
            return await self.authenticate_token(credential, connection)
        except NotAuthorizedException:
            raise NotAuthorizedException(
                "invalid, expired or revoked access token (refresh it or log in again)",
                headers=CHALLENGE,
            ) from None


async def _principal_of(token: Token, _: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    return principal_of(token)


async def _revoked(token: Token, connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """Ended session, removed user, or claims older than the last role change."""
    sessions: Sessions = connection.app.state.sessions
    sid, generation = token.extras.get("sid"), token.extras.get("gen", 0)
    if not isinstance(sid, str) or type(generation) is not int:
        return True
    return not await sessions.is_current(sid, generation)


def jwt_auth(config: AuthConfig) -> JWTAuth[Principal, Token]:
    """Litestar's JWT backend, taught to take API keys too (see the middleware)."""
    return JWTAuth[Principal, Token](
        token_secret=config.signing_key(),
        retrieve_user_handler=_principal_of,
        revoked_token_handler=_revoked,
        default_token_expiration=config.access_ttl,
        authentication_middleware_class=FrontDoorAuthentication,
        openapi_security_scheme_name=SECURITY_SCHEME,
        description=(
            "An access token from POST /v1/auth/login (people), or an API key"
            " `obrkey_…` from `obrador api-key create` (machines)."
        ),
        require_claims=["exp", "sub", "jti"],
    )


def can_read(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if connection.scope.get("method") == "OPTIONS":
        return  # answered without a key (it says which methods exist, nothing else)
    user = connection.scope.get("user")
    if not isinstance(user, Principal) or user.role not in READERS:
        raise PermissionDeniedException("this credential's role may not read")


def store_scope(principal: Principal, store: str | None) -> str | tuple[str, ...] | None:
    """The stores a query may show: as asked, or within a store manager's own.

    A store-scoped caller asking for no store gets their stores; asking for
    another store of the tenant gets 403.
    """
    if principal.role not in STORE_SCOPED_ROLES:
        return store
    if store is None:
        return principal.store_ids
    if store not in principal.store_ids:
        raise PermissionDeniedException(f"store {store!r} is not one of this credential's stores")
    return store


def tenant_wide(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard for what cannot be cut by store (operations views): not for store managers."""
    user = connection.scope.get("user")
    if isinstance(user, Principal) and user.role in STORE_SCOPED_ROLES:
        raise PermissionDeniedException("this view covers every store; this credential has some")
