"""``/v1/users``: an owner lists the tenant's people, changes a role, removes a user.

Each change is a command route like every other (``POST /v1/users/role`` with
``ChangeUserRole``, ``POST /v1/users/deactivate`` with ``DeactivateUser``: the
body is the command, ``Idempotency-Key`` honoured, events in the ``tenant``
stream), then the login tables follow so the change reaches the person at once:

- a role or store change bumps the user's claims generation: their access
  tokens are refused from the next request (the client refreshes and gets the
  new role);
- a removal deletes the login (no password opens it, no token of theirs
  passes the revoked-token handler) and ends every session
  (``SessionRevoked``, reason ``user_deactivated``).

The command is decided first: a refused one (not an owner, unknown user, the
last owner) changes nothing; a replayed one (same key) does the follow-up again,
which changes nothing more.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post, route
from litestar.datastructures import State
from litestar.enums import HttpMethod, MediaType
from litestar.exceptions import PermissionDeniedException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body

from commands.types import ChangeUserRole, DeactivateUser, RegisterUser
from domain import organisation
from domain.access import Permission, can
from domain.codec import decode_event
from domain.events.organisation import SessionRevocationReason
from domain.streams import TENANT_STREAM
from read_api.auth import SECURITY_SCHEME
from read_api.commands_http import (
    CommandAccepted,
    IdempotencyKeyHeader,
    body_invalid,
    problem_spec,
    run_command,
)
from read_api.errors import problem_responses
from read_api.keys import Principal, actor_of
from read_api.schemas import Out
from read_api.tokens import Sessions
from read_api.users import bump_generation, remove_login


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


#: What a command route answers, as ``read_api.commands_http`` documents it.
COMMAND_RESPONSES: dict[int, ResponseSpec] = {
    200: ResponseSpec(
        data_container=CommandAccepted,
        description="applied (or applied before: duplicate)",
        generate_examples=False,
    ),
    409: problem_spec(409, "conflict with the current state; current_version if any"),
    422: problem_spec(422, "the body or a value is refused (errors name the fields)"),
}


class UsersController(Controller):
    path = "/users"
    tags = ["organisation"]
    security = [{SECURITY_SCHEME: []}]

    @route(
        "/",
        http_method=[HttpMethod.OPTIONS],
        include_in_schema=False,
        exclude_from_auth=True,
        sync_to_thread=False,
    )
    def allow(self) -> Response[None]:
        # Litestar's own OPTIONS answer names only the first handler of a path (the
        # Allow of its first HTTPRoute, litestar 2.x), so GET + POST say it themselves.
        return Response(
            None,
            status_code=204,
            headers={"Allow": "GET, OPTIONS, POST"},
            media_type=MediaType.TEXT,
        )

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

    @post(
        "/",
        operation_id="registerUser",
        summary="Register a user",
        description=(
            "RegisterUser (a person who cannot log in yet: logins are made by"
            " `obrador user add`). Here rather than in the generic command table so that"
            " GET and POST /v1/users are one route (one correct Allow header)."
        ),
        status_code=200,
        exception_handlers={ValidationException: body_invalid},
        responses=COMMAND_RESPONSES,
    )
    async def register(
        self,
        request: Request[Principal, Any, Any],
        state: State,
        data: Annotated[RegisterUser, Body()],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[bytes]:
        return await run_command(request, state, data, "POST /v1/users", idempotency_key)

    @post(
        "/role",
        operation_id="changeUserRole",
        summary="Give a user another role or stores; their access tokens must be refreshed",
        description=(
            "ChangeUserRole; then the user's access tokens are refused from their next"
            " request (claims generation), and a refresh carries the new role."
        ),
        status_code=200,
        exception_handlers={ValidationException: body_invalid},
        responses=COMMAND_RESPONSES,
    )
    async def change_role(
        self,
        request: Request[Principal, Any, Any],
        state: State,
        data: Annotated[ChangeUserRole, Body()],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[bytes]:
        answer = await run_command(request, state, data, "POST /v1/users/role", idempotency_key)
        await bump_generation(state.store.pool, request.user.tenant_id, data.user_id)
        return answer

    @post(
        "/deactivate",
        operation_id="deactivateUser",
        summary="Remove a user: no more logins, every token of theirs stops at once",
        description=(
            "DeactivateUser (UserDeactivated); then the login is deleted and every session"
            " of the user revoked (SessionRevoked, reason user_deactivated)."
        ),
        status_code=200,
        exception_handlers={ValidationException: body_invalid},
        responses=COMMAND_RESPONSES,
    )
    async def deactivate(
        self,
        request: Request[Principal, Any, Any],
        state: State,
        data: Annotated[DeactivateUser, Body()],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[bytes]:
        answer = await run_command(
            request, state, data, "POST /v1/users/deactivate", idempotency_key
        )
        sessions: Sessions = state.sessions
        tenant_id = request.user.tenant_id
        await remove_login(sessions.pool, tenant_id, data.user_id)
        await sessions.revoke_all(tenant_id, data.user_id, SessionRevocationReason.USER_DEACTIVATED)
        return answer
