"""Roles and what each may do; store managers and POS devices only in their stores."""

from __future__ import annotations

from enum import StrEnum

import msgspec

from domain.errors import PermissionDenied
from domain.events.organisation import Role


class Permission(StrEnum):
    MANAGE_TENANT = "manage_tenant"  # stores, users and roles
    MANAGE_CATALOGUE = "manage_catalogue"  # products, ingredients, recipes, prices
    RECORD_SALE = "record_sale"
    CORRECT_SALE = "correct_sale"  # void and refund
    MANAGE_STOCK = "manage_stock"  # receipts, transfers, counts, waste, temperatures
    PLAN_PRODUCTION = "plan_production"  # suggest and edit manufacturing orders
    RUN_PRODUCTION = "run_production"  # confirm, start, batches, quality, complete, cancel
    MANAGE_EQUIPMENT = "manage_equipment"
    MANAGE_PURCHASING = "manage_purchasing"  # suppliers, draft, send, receive
    APPROVE_PURCHASE = "approve_purchase"
    HANDLE_ALERTS = "handle_alerts"
    PUBLISH_FORECAST = "publish_forecast"
    READ_HISTORY = "read_history"
    USE_SESSION = "use_session"  # log in, refresh, log out: one's own sessions


_ALL = frozenset(Permission)
_STORE_WORK = frozenset(
    {
        Permission.RECORD_SALE,
        Permission.CORRECT_SALE,
        Permission.MANAGE_STOCK,
        Permission.RUN_PRODUCTION,
        Permission.MANAGE_EQUIPMENT,
        Permission.MANAGE_PURCHASING,
        Permission.HANDLE_ALERTS,
        Permission.READ_HISTORY,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: _ALL,
    Role.PLANNER: frozenset(
        {
            Permission.USE_SESSION,
            Permission.PLAN_PRODUCTION,
            Permission.PUBLISH_FORECAST,
            Permission.MANAGE_PURCHASING,
            Permission.HANDLE_ALERTS,
            Permission.READ_HISTORY,
        }
    ),
    Role.PRODUCTION_MANAGER: frozenset(
        {
            Permission.USE_SESSION,
            Permission.PLAN_PRODUCTION,
            Permission.RUN_PRODUCTION,
            Permission.MANAGE_STOCK,
            Permission.MANAGE_EQUIPMENT,
            Permission.HANDLE_ALERTS,
            Permission.READ_HISTORY,
        }
    ),
    Role.STORE_MANAGER: _STORE_WORK | {Permission.USE_SESSION},
    Role.AUDITOR: frozenset({Permission.READ_HISTORY, Permission.USE_SESSION}),
    Role.POS_DEVICE: frozenset({Permission.RECORD_SALE}),
}

#: Roles that must name the stores they act on; the others act tenant-wide.
STORE_SCOPED_ROLES = frozenset({Role.STORE_MANAGER, Role.POS_DEVICE})
#: Permissions about the actor itself, not about a store: granted without a store.
NOT_STORE_BOUND = frozenset({Permission.USE_SESSION})


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """Who is asking: taken from the credential, never from the request body."""

    user_id: str
    role: Role
    store_ids: frozenset[str] = frozenset()


def can(actor: Actor, permission: Permission, store_id: str | None = None) -> bool:
    """True when ``actor``'s role grants ``permission`` (in ``store_id``, if scoped)."""
    if permission not in ROLE_PERMISSIONS[actor.role]:
        return False
    if actor.role in STORE_SCOPED_ROLES and permission not in NOT_STORE_BOUND:
        return store_id is not None and store_id in actor.store_ids
    return True


def check_permission(actor: Actor, permission: Permission, store_id: str | None = None) -> None:
    """Raise :class:`PermissionDenied` unless ``actor`` may do ``permission`` there."""
    if can(actor, permission, store_id):
        return
    where = f" in store {store_id!r}" if store_id is not None else ""
    raise PermissionDenied("actor", f"role {actor.role.value} may not {permission.value}{where}")
