"""Who the business is: the tenant, its stores, its users and their roles."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from domain.events.base import DomainEvent, Id


class TenantKind(StrEnum):
    SINGLE_SHOP = "single_shop"
    MULTI_SHOP = "multi_shop"
    CHAIN = "chain"  # a central workshop (obrador central) supplying outlets


class StoreKind(StrEnum):
    SHOP = "shop"  # bakes and sells
    CENTRAL = "central"  # bakes for the outlets
    OUTLET = "outlet"  # sells what the central workshop sends


class Role(StrEnum):
    OWNER = "owner"
    PLANNER = "planner"
    PRODUCTION_MANAGER = "production_manager"
    STORE_MANAGER = "store_manager"
    AUDITOR = "auditor"
    POS_DEVICE = "pos_device"


class TenantCreated(DomainEvent, frozen=True, kw_only=True):
    name: str
    kind: TenantKind


class StoreOpened(DomainEvent, frozen=True, kw_only=True):
    """v2: ``tz`` became ``timezone``; ``kind`` and ``region`` were added (see upcasters)."""

    SCHEMA_VERSION: ClassVar[int] = 2

    store_id: Id
    name: str
    kind: StoreKind
    timezone: str  # IANA name, e.g. "Europe/Madrid"
    region: str  # ISO 3166-2 subdivision for holidays, e.g. "ES-MD"


class StoreClosed(DomainEvent, frozen=True, kw_only=True):
    store_id: Id
    reason: str


class UserRegistered(DomainEvent, frozen=True, kw_only=True):
    user_id: Id
    name: str
    role: Role
    #: Stores a store manager or POS device may act on; empty means the whole tenant.
    store_ids: tuple[Id, ...] = ()
    #: The login name (lower case); empty for users registered before people could log in.
    email: str = ""


class UserRoleChanged(DomainEvent, frozen=True, kw_only=True):
    user_id: Id
    role: Role
    store_ids: tuple[Id, ...] = ()


class SessionRevocationReason(StrEnum):
    LOGOUT = "logout"
    REFRESH_REUSED = "refresh_reused"  # a spent refresh token came back: the family is burnt
    PASSWORD_CHANGED = "password_changed"
    USER_DEACTIVATED = "user_deactivated"  # an owner removed the user


class UserDeactivated(DomainEvent, frozen=True, kw_only=True):
    """An owner removed the user: no login, no token, the id is never given again."""

    user_id: Id
    reason: str = ""


class UserPasswordSet(DomainEvent, frozen=True, kw_only=True):
    """The user's password was set or changed (the hash itself is never in the history)."""

    user_id: Id


class SessionStarted(DomainEvent, frozen=True, kw_only=True):
    """A person logged in: a refresh-token family ``session_id`` began (stream ``session-…``)."""

    user_id: Id
    session_id: Id


class SessionRevoked(DomainEvent, frozen=True, kw_only=True):
    """The session's refresh tokens and access tokens stopped working."""

    user_id: Id
    session_id: Id
    reason: SessionRevocationReason
