"""``/v1/auth``: log in, refresh, log out, change one's password, and who am I.

Login answers the same 401 for an unknown e-mail and a wrong password (and
takes as long: an unknown e-mail still verifies a dummy hash), so nobody can
learn which addresses have an account. Too many wrong passwords for one
address lock it for a while (429, read_api/lockout.py), known or not.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.params import Body

from domain.errors import InvalidValue
from domain.events.organisation import SessionRevocationReason
from read_api.auth import CHALLENGE, SECURITY_SCHEME
from read_api.commands_http import refusal
from read_api.errors import problem_responses
from read_api.keys import Principal, actor_of
from read_api.tokens import Refused, Sessions, TokenPair
from read_api.users import (
    MAX_PASSWORD_LENGTH,
    change_password,
    check_credentials,
    email_of,
)

WRONG_LOGIN = "wrong e-mail or password"


class Login(msgspec.Struct, frozen=True, kw_only=True):
    email: Annotated[str, msgspec.Meta(min_length=1, max_length=254)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PASSWORD_LENGTH)]


class Refresh(msgspec.Struct, frozen=True, kw_only=True):
    refresh_token: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class PasswordChange(msgspec.Struct, frozen=True, kw_only=True):
    current_password: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PASSWORD_LENGTH)]
    new_password: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PASSWORD_LENGTH)]


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
        responses=problem_responses(401, 429),
    )
    async def login(self, state: State, data: Annotated[Login, Body()]) -> TokenPair:
        sessions = _sessions(state)
        await sessions.lockout.check(data.email)  # 429 while locked, before any hash
        found = await check_credentials(sessions.pool, data.email, data.password)
        if found is None:
            await sessions.lockout.failed(data.email)
            raise _refused(WRONG_LOGIN)
        await sessions.lockout.succeeded(data.email)
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

    @post(
        "/password",
        operation_id="changePassword",
        summary="Change one's own password: every session ends, a new one starts",
        description=(
            "Needs a person's access token and the current password. Every refresh token"
            " and access token of the user stops working (SessionRevoked, reason"
            " password_changed); the answer is a fresh token pair. Wrong current passwords"
            " count towards the account's failed-login lock."
        ),
        status_code=200,
        security=[{SECURITY_SCHEME: []}],
        responses=problem_responses(403, 422, 429),
    )
    async def change_password(
        self,
        request: Request[Principal, Any, Any],
        state: State,
        data: Annotated[PasswordChange, Body()],
    ) -> TokenPair:
        principal, sessions = request.user, _sessions(state)
        if not principal.user_id:
            raise PermissionDeniedException("an API key has no password; log in as a person")
        email = await email_of(sessions.pool, principal.tenant_id, principal.user_id)
        if email is None:
            raise _refused("this user has no login any more")
        await sessions.lockout.check(email)
        found = await check_credentials(sessions.pool, email, data.current_password)
        if found is None or found.user_id != principal.user_id:
            await sessions.lockout.failed(email)
            raise refusal(InvalidValue("current_password", "is not the current password"))
        try:
            await change_password(
                sessions.store,
                sessions.pool,
                tenant_id=principal.tenant_id,
                email=email,
                password=data.new_password,
                actor=actor_of(principal),
            )
        except InvalidValue as exc:
            raise refusal(InvalidValue("new_password", exc.reason)) from exc
        await sessions.lockout.succeeded(email)
        changed = SessionRevocationReason.PASSWORD_CHANGED
        await sessions.revoke_all(principal.tenant_id, principal.user_id, changed)
        try:
            return await sessions.start(principal.tenant_id, principal.user_id)
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
