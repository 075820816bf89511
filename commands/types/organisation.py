"""Commands on the tenant, its stores, users, products, ingredients and recipes."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from commands.types.base import Command, Text
from domain.access import Permission
from domain.events.base import Id
from domain.events.catalogue import RecipeLine
from domain.events.organisation import Role, SessionRevocationReason, StoreKind, TenantKind


class CreateTenant(Command, frozen=True, kw_only=True):
    PERMISSION: ClassVar[Permission] = Permission.MANAGE_TENANT
    name: Text
    kind: TenantKind


class OpenStore(Command, frozen=True, kw_only=True):
    PERMISSION: ClassVar[Permission] = Permission.MANAGE_TENANT
    store_id: Id
    name: Text
    kind: StoreKind
    timezone: str
    region: str


class CloseStore(Command, frozen=True, kw_only=True):
    PERMISSION: ClassVar[Permission] = Permission.MANAGE_TENANT
    store_id: Id
    reason: Text


class RegisterUser(Command, frozen=True, kw_only=True):
    PERMISSION: ClassVar[Permission] = Permission.MANAGE_TENANT
    user_id: Id
    name: Text
    role: Role
    store_ids: tuple[Id, ...] = ()
    email: str = ""  # the login name (lower case); empty: a user who cannot log in


class RecordPasswordSet(Command, frozen=True, kw_only=True):
    """Note in the history that ``user_id``'s password changed (the hash is kept apart).

    A person records their own change; an owner anyone's (like sessions).
    """

    PERMISSION: ClassVar[Permission] = Permission.USE_SESSION
    user_id: Id


class StartSession(Command, frozen=True, kw_only=True):
    PERMISSION: ClassVar[Permission] = Permission.USE_SESSION
    user_id: Id
    session_id: Id


class RevokeSession(Command, frozen=True, kw_only=True):
    PERMISSION: ClassVar[Permission] = Permission.USE_SESSION
    user_id: Id
    session_id: Id
    reason: SessionRevocationReason


class ChangeUserRole(Command, frozen=True, kw_only=True):
    PERMISSION: ClassVar[Permission] = Permission.MANAGE_TENANT
    user_id: Id
    role: Role
    store_ids: tuple[Id, ...] = ()


class DeactivateUser(Command, frozen=True, kw_only=True):
    """Remove a user: no more logins; their sessions are ended (read_api/accounts.py)."""

    PERMISSION: ClassVar[Permission] = Permission.MANAGE_TENANT
    user_id: Id
    reason: Text = ""


class DefineProduct(Command, frozen=True, kw_only=True):
    PERMISSION: ClassVar[Permission] = Permission.MANAGE_CATALOGUE
    sku: Id
    name: Text
    category: Text
    price: Decimal
    unit_cost: Decimal
    shelf_life_days: int
    unit: str = "unit"
    batch_size: int | None = None  # units per run (orders in whole batches); None: not given
    minimum_batch: int = 0  # fewest units worth a run (0: none)


class SetProductBatching(Command, frozen=True, kw_only=True):
    """How the product is baked: units per run and the fewest units worth a run."""

    PERMISSION: ClassVar[Permission] = Permission.MANAGE_CATALOGUE
    sku: Id
    batch_size: int
    minimum_batch: int = 0


class RepriceProduct(Command, frozen=True, kw_only=True):
    PERMISSION: ClassVar[Permission] = Permission.MANAGE_CATALOGUE
    sku: Id
    price: Decimal
    unit_cost: Decimal


class SetProductStockPolicy(Command, frozen=True, kw_only=True):
    PERMISSION: ClassVar[Permission] = Permission.MANAGE_CATALOGUE
    sku: Id
    store_id: Id
    reorder_point: Decimal
    target_stock: Decimal


class DiscontinueProduct(Command, frozen=True, kw_only=True):
    PERMISSION: ClassVar[Permission] = Permission.MANAGE_CATALOGUE
    sku: Id
    reason: Text


class DefineIngredient(Command, frozen=True, kw_only=True):
    PERMISSION: ClassVar[Permission] = Permission.MANAGE_CATALOGUE
    ingredient_id: Id
    name: Text
    unit: str
    unit_cost: Decimal
    shelf_life_days: int
    reorder_point: Decimal
    reorder_quantity: Decimal
    preferred_supplier_id: Id | None = None


class VersionRecipe(Command, frozen=True, kw_only=True):
    PERMISSION: ClassVar[Permission] = Permission.MANAGE_CATALOGUE
    sku: Id
    yield_quantity: Decimal
    lines: tuple[RecipeLine, ...]
    bake_minutes: int | None = None  # one batch, start to out (1-1440); for batch_overdue
