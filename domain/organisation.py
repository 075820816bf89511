"""The tenant (stream ``tenant``): the business, its stores, its users and their roles."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from domain.access import STORE_SCOPED_ROLES
from domain.errors import AlreadyExists, IllegalTransition, InvalidValue, NotFound
from domain.events import (
    Event,
    SessionRevoked,
    SessionStarted,
    StoreClosed,
    StoreOpened,
    TenantCreated,
    UserDeactivated,
    UserPasswordSet,
    UserRegistered,
    UserRoleChanged,
)
from domain.events.organisation import Role
from domain.events.personal import SubjectErased

#: "Area/City" IANA names or UTC; the command edge also checks the zone exists.
_TIMEZONE = re.compile(r"^(UTC|[A-Z][A-Za-z_]+(/[A-Za-z0-9_+-]+){1,2})$")
_REGION = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")
#: Deliberately loose: one "@" with something on both sides, no spaces, lower case.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_EMAIL_LENGTH = 254


@dataclass
class TenantState:
    tenant: TenantCreated | None = None
    stores: dict[str, StoreOpened] = field(default_factory=dict)
    closed: set[str] = field(default_factory=set)
    users: dict[str, tuple[Role, tuple[str, ...]]] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)  # email -> user id
    #: Users an owner removed: gone from ``users``, their ids never given again.
    deactivated: set[str] = field(default_factory=set)
    version: int = 0

    def open_store_ids(self) -> set[str]:
        return set(self.stores) - self.closed

    def apply(self, event: Event) -> None:
        self.version += 1
        match event:
            case TenantCreated():
                self.tenant = event
            case StoreOpened():
                self.stores[event.store_id] = event
            case StoreClosed():
                self.closed.add(event.store_id)
            case UserRegistered() | UserRoleChanged():
                self.users[event.user_id] = (event.role, event.store_ids)
                if isinstance(event, UserRegistered) and event.email:
                    self.emails[event.email] = event.user_id
            case UserDeactivated():
                self.users.pop(event.user_id, None)
                self.deactivated.add(event.user_id)
                self.emails = {e: u for e, u in self.emails.items() if u != event.user_id}
            case SubjectErased(subject_id=subject) if subject.startswith("user:"):
                erased = subject.removeprefix("user:")
                self.emails = {e: u for e, u in self.emails.items() if u != erased}


def fold(events: Iterable[Event]) -> TenantState:
    state = TenantState()
    for event in events:
        state.apply(event)
    return state


def _created(state: TenantState) -> TenantCreated:
    if state.tenant is None:
        raise NotFound("tenant", "the tenant has not been created")
    return state.tenant


def create(state: TenantState, event: TenantCreated) -> list[Event]:
    if state.tenant is not None:
        raise AlreadyExists("tenant", "the tenant already exists")
    if not event.name.strip():
        raise InvalidValue("name", "must not be empty")
    return [event]


def open_store(state: TenantState, event: StoreOpened) -> list[Event]:
    _created(state)
    if event.store_id in state.stores:
        raise AlreadyExists("store_id", f"store {event.store_id!r} already exists")
    if not _TIMEZONE.match(event.timezone):
        raise InvalidValue("timezone", f"{event.timezone!r} is not an IANA time zone name")
    if not _REGION.match(event.region):
        raise InvalidValue("region", f"{event.region!r} is not an ISO 3166 code like ES-MD")
    return [event]


def close_store(state: TenantState, event: StoreClosed) -> list[Event]:
    _created(state)
    if event.store_id not in state.stores:
        raise NotFound("store_id", f"no store {event.store_id!r}")
    if event.store_id in state.closed:
        raise IllegalTransition("store_id", "closed", "close")
    return [event]


def _check_scope(state: TenantState, role: Role, store_ids: tuple[str, ...]) -> None:
    if role in STORE_SCOPED_ROLES and not store_ids:
        raise InvalidValue("store_ids", f"a {role.value} must be given at least one store")
    unknown = sorted(set(store_ids) - state.open_store_ids())
    if unknown:
        raise NotFound("store_ids", f"no open store {', '.join(unknown)}")


def check_email(email: str) -> str:
    """The login name as stored: lower case; InvalidValue when it is not an address."""
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.match(email):
        raise InvalidValue("email", f"{email[:60]!r} is not an e-mail address")
    if email != email.lower():
        raise InvalidValue("email", "must be lower case")
    return email


def register_user(state: TenantState, event: UserRegistered) -> list[Event]:
    _created(state)
    if event.user_id in state.users:
        raise AlreadyExists("user_id", f"user {event.user_id!r} already exists")
    if event.user_id in state.deactivated:
        raise AlreadyExists("user_id", f"user {event.user_id!r} was removed; ids are not reused")
    if event.email:
        check_email(event.email)
        if event.email in state.emails:
            raise AlreadyExists("email", f"{event.email!r} already belongs to a user")
    _check_scope(state, event.role, event.store_ids)
    return [event]


def set_password(state: TenantState, event: UserPasswordSet) -> list[Event]:
    _created(state)
    if event.user_id not in state.users:
        raise NotFound("user_id", f"no user {event.user_id!r}")
    return [event]


def _last_owner(state: TenantState, user_id: str) -> bool:
    return [u for u, (role, _) in state.users.items() if role is Role.OWNER] == [user_id]


def change_role(state: TenantState, event: UserRoleChanged) -> list[Event]:
    _created(state)
    if event.user_id not in state.users:
        raise NotFound("user_id", f"no user {event.user_id!r}")
    _check_scope(state, event.role, event.store_ids)
    if _last_owner(state, event.user_id) and event.role is not Role.OWNER:
        raise InvalidValue("role", "the last owner cannot give up the owner role")
    return [event]


def deactivate_user(state: TenantState, event: UserDeactivated) -> list[Event]:
    """Remove a user for good (their logins and tokens are ended by the caller)."""
    _created(state)
    if event.user_id not in state.users:
        raise NotFound("user_id", f"no user {event.user_id!r}")
    if _last_owner(state, event.user_id):
        raise InvalidValue("user_id", "the last owner cannot be removed")
    return [event]


# --- sessions (stream ``session-<user>``): a refresh-token family per login ----


@dataclass
class SessionsState:
    started: set[str] = field(default_factory=set)
    revoked: set[str] = field(default_factory=set)

    def apply(self, event: Event) -> None:
        match event:
            case SessionStarted():
                self.started.add(event.session_id)
            case SessionRevoked():
                self.revoked.add(event.session_id)


def fold_sessions(events: Iterable[Event]) -> SessionsState:
    state = SessionsState()
    for event in events:
        state.apply(event)
    return state


def start_session(tenant: TenantState, state: SessionsState, event: SessionStarted) -> list[Event]:
    if event.user_id not in tenant.users:
        raise NotFound("user_id", f"no user {event.user_id!r}")
    if event.session_id in state.started:
        raise AlreadyExists("session_id", f"session {event.session_id!r} already started")
    return [event]


def revoke_session(state: SessionsState, event: SessionRevoked) -> list[Event]:
    """Revoking twice is a no-op (two tabs logging out, a reuse after a logout)."""
    if event.session_id not in state.started:
        raise NotFound("session_id", f"no session {event.session_id!r}")
    if event.session_id in state.revoked:
        return []
    return [event]
