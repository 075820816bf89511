"""``/v1/users``: an owner lists the tenant's people, changes a role, removes a user.

Each change is a command through ``commands.handle`` (``ChangeUserRole``,
``DeactivateUser``: events in the ``tenant`` stream like every other write),
then the login tables follow so the change reaches the person at once:

- a role or store change bumps the user's claims generation: their access
  tokens are refused from the next request (the client refreshes and gets the
  new role);
- a removal deletes the login (no password opens it, no token of theirs
  passes the revoked-token handler) and ends every session
  (``SessionRevoked``, reason ``user_deactivated``).

The command is decided first: a refused one (not an owner, unknown user, the
last owner) changes nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, put
from litestar.datastructures import State
from litestar.exceptions import PermissionDeniedException
from litestar.params import Body, Parameter

from commands.handlers import handle
from commands.types import ChangeUserRole, DeactivateUser
from domain import organisation
from domain.access import Permission, can
from domain.codec import decode_event
from domain.errors import DomainError
from domain.events.base import Id
from domain.events.organisation import Role, SessionRevocationReason
from domain.streams import TENANT_STREAM
from read_api.auth import SECURITY_SCHEME
from read_api.commands_http import CommandAccepted, accepted, refusal
from read_api.errors import problem_responses
from read_api.keys import Principal, actor_of
from read_api.limits import path_id
from read_api.schemas import Out
from read_api.tokens import Sessions
from read_api.users import bump_generation, remove_login

UserId = Annotated[str, path_id("a user of the tenant", "u-0123456789ab")]


class RoleChange(msgspec.Struct, frozen=True, kw_only=True):
    role: Role
    #: A store manager's stores (open stores of the tenant); empty for tenant-wide roles.
    store_ids: tuple[Id, ...] = ()


class Person(Out, frozen=True, kw_only=True):
    user_id: str
    email: str  # empty: a user who cannot log in
    role: str
    store_ids: list[str]


class People(Out, frozen=True, kw_only=True):
    items: list[Person]


def _owner(principal: Principal) -> None:
    if not can(actor_of(principal), Permission.MANAGE_TENANT):
        raise PermissionDeniedException("only an owner manages the tenant's people")


def _json(body: CommandAccepted) -> Response[bytes]:
    return Response(msgspec.json.encode(body), media_type="application/json")


class UsersController(Controller):
    path = "/users"
    tags = ["organisation"]
    security = [{SECURITY_SCHEME: []}]

    @get(
        "/",
        operation_id="listUsers",
        summary="The tenant's people: login, role and stores (owners only)",
        responses=problem_responses(403),
    )
    async def list_users(self, request: Request[Principal, Any, Any], state: State) -> People:
        _owner(request.user)
        sessions: Sessions = state.sessions
        records = await sessions.store.read_stream(request.user.tenant_id, TENANT_STREAM)
        tenant = organisation.fold(
            decode_event(r.event_type, r.schema_version, r.payload) for r in records
        )
        emails = {user: email for email, user in tenant.emails.items()}
        return People(
            items=[
                Person(
                    user_id=user_id,
                    email=emails.get(user_id, ""),
                    role=role.value,
                    store_ids=list(stores),
                )
                for user_id, (role, stores) in sorted(tenant.users.items())
            ]
        )

    @put(
        "/{user_id:str}/role",
        operation_id="changeUserRole",
        summary="Give a user another role or stores; their tokens are refreshed at once",
        status_code=200,
        responses=problem_responses(403, 404, 409, 422),
    )
    async def change_role(
        self,
        request: Request[Principal, Any, Any],
        state: State,
        user_id: UserId,
        data: Annotated[RoleChange, Body()],
    ) -> Response[bytes]:
        principal = request.user
        command = ChangeUserRole(user_id=user_id, role=data.role, store_ids=data.store_ids)
        try:
            result = await handle(
                command, state.store, tenant_id=principal.tenant_id, actor=actor_of(principal)
            )
        except DomainError as exc:
            raise refusal(exc) from exc
        await bump_generation(state.store.pool, principal.tenant_id, user_id)
        return _json(await accepted(state.store, principal.tenant_id, result))

    @delete(
        "/{user_id:str}",
        operation_id="deactivateUser",
        summary="Remove a user: no more logins, every token of theirs stops at once",
        status_code=200,
        responses=problem_responses(403, 404, 422),
    )
    async def deactivate(
        self,
        request: Request[Principal, Any, Any],
        state: State,
        user_id: UserId,
        reason: Annotated[
            str, Parameter(max_length=200, description="why, kept in the history")
        ] = "",
    ) -> Response[bytes]:
        principal = request.user
        command = DeactivateUser(user_id=user_id, reason=reason)
        try:
            result = await handle(
                command, state.store, tenant_id=principal.tenant_id, actor=actor_of(principal)
            )
        except DomainError as exc:
            raise refusal(exc) from exc
        sessions: Sessions = state.sessions
        await remove_login(sessions.pool, principal.tenant_id, user_id)
        await sessions.revoke_all(
            principal.tenant_id, user_id, SessionRevocationReason.USER_DEACTIVATED
        )
        return _json(await accepted(state.store, principal.tenant_id, result))
