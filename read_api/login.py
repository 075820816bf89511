"""``/v1/auth``: log in, refresh, log out, and who am I.

Login answers the same 401 for an unknown e-mail and a wrong password (and
takes as long: an unknown e-mail still verifies a dummy hash), so nobody can
learn which addresses have an account.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.exceptions import NotAuthorizedException
from litestar.params import Body

from read_api.auth import CHALLENGE, SECURITY_SCHEME
from read_api.errors import problem_responses
from read_api.keys import Principal
from read_api.tokens import Refused, Sessions, TokenPair
from read_api.users import MAX_PASSWORD_LENGTH, check_credentials

WRONG_LOGIN = "wrong e-mail or password"


class Login(msgspec.Struct, frozen=True, kw_only=True):
    email: Annotated[str, msgspec.Meta(min_length=1, max_length=254)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PASSWORD_LENGTH)]


class Refresh(msgspec.Struct, frozen=True, kw_only=True):
    refresh_token: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class Me(msgspec.Struct, frozen=True, kw_only=True):
    tenant_id: str
    role: str
    kind: str  # "user" (access token) or "key" (API key)
    user_id: str | None
    key_id: str | None
    store_ids: list[str]


def _sessions(state: State) -> Sessions:
    sessions: Sessions = state.sessions
    return sessions


def _refused(reason: str) -> NotAuthorizedException:
    return NotAuthorizedException(reason, headers=CHALLENGE)


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]

    @post(
        "/login",
        operation_id="login",
        summary="Trade an e-mail and password for an access token and a refresh token",
        exclude_from_auth=True,
        status_code=200,
        security=[],
        responses=problem_responses(401),
    )
    async def login(self, state: State, data: Annotated[Login, Body()]) -> TokenPair:
        sessions = _sessions(state)
        found = await check_credentials(sessions.pool, data.email, data.password)
        if found is None:
            raise _refused(WRONG_LOGIN)
        try:
            return await sessions.start(found.tenant_id, found.user_id)
        except Refused:
            raise _refused(WRONG_LOGIN) from None

    @post(
        "/refresh",
        operation_id="refreshToken",
        summary="Spend a refresh token for a new pair (reusing one ends its session)",
        exclude_from_auth=True,
        status_code=200,
        security=[],
        responses=problem_responses(401),
    )
    async def refresh(self, state: State, data: Annotated[Refresh, Body()]) -> TokenPair:
        try:
            return await _sessions(state).rotate(data.refresh_token)
        except Refused as refused:
            raise _refused(str(refused)) from None

    @post(
        "/logout",
        operation_id="logout",
        summary="End the session of a refresh token (its access tokens stop working too)",
        exclude_from_auth=True,
        status_code=204,
        security=[],
        responses=problem_responses(401),
    )
    async def logout(self, state: State, data: Annotated[Refresh, Body()]) -> None:
        try:
            await _sessions(state).end(data.refresh_token)
        except Refused as refused:
            raise _refused(str(refused)) from None

    @get(
        "/me",
        operation_id="whoAmI",
        summary="The caller as the API sees it: tenant, role, user or key, stores",
        security=[{SECURITY_SCHEME: []}],
    )
    async def me(self, request: Request[Principal, Any, Any]) -> Me:
        p = request.user
        return Me(
            tenant_id=p.tenant_id,
            role=p.role,
            kind="user" if p.user_id else "key",
            user_id=p.user_id or None,
            key_id=p.key_id or None,
            store_ids=list(p.store_ids),
        )
