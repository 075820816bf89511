"""Handlers for the tenant, stores, users and the catalogue."""

from __future__ import annotations

from collections.abc import Iterable

from commands.runtime import Writer
from commands.types import (
    ChangeUserRole,
    CloseStore,
    CreateTenant,
    DeactivateUser,
    DefineIngredient,
    DefineProduct,
    DiscontinueProduct,
    OpenStore,
    RecordPasswordSet,
    RegisterUser,
    RepriceProduct,
    RevokeSession,
    SetProductBatching,
    SetProductStockPolicy,
    StartSession,
    VersionRecipe,
)
from domain import catalogue, organisation
from domain.access import Permission
from domain.events import (
    Event,
    IngredientDefined,
    ProductDefined,
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
from domain.streams import (
    TENANT_STREAM,
    ingredient_stream,
    product_stream,
    recipe_stream,
    session_stream,
)


def _events(events: Iterable[Event]) -> list[Event]:
    return list(events)


async def create_tenant(cmd: CreateTenant, w: Writer) -> None:
    event = TenantCreated(occurred_at=w.now, name=cmd.name, kind=cmd.kind)
    await w.decide(
        TENANT_STREAM, organisation.fold, lambda s: organisation.create(s, event), retry=True
    )


async def open_store(cmd: OpenStore, w: Writer) -> None:
    event = StoreOpened(
        occurred_at=w.now,
        store_id=cmd.store_id,
        name=cmd.name,
        kind=cmd.kind,
        timezone=cmd.timezone,
        region=cmd.region,
    )
    await w.decide(
        TENANT_STREAM, organisation.fold, lambda s: organisation.open_store(s, event), retry=True
    )


async def close_store(cmd: CloseStore, w: Writer) -> None:
    event = StoreClosed(occurred_at=w.now, store_id=cmd.store_id, reason=cmd.reason)
    await w.decide(
        TENANT_STREAM, organisation.fold, lambda s: organisation.close_store(s, event), retry=True
    )


async def register_user(cmd: RegisterUser, w: Writer) -> None:
    event = UserRegistered(
        occurred_at=w.now,
        user_id=cmd.user_id,
        name=cmd.name,
        role=cmd.role,
        store_ids=cmd.store_ids,
        email=cmd.email,
    )
    await w.decide(
        TENANT_STREAM, organisation.fold, lambda s: organisation.register_user(s, event), retry=True
    )


async def record_password_set(cmd: RecordPasswordSet, w: Writer) -> None:
    _own_session(cmd.user_id, w)
    event = UserPasswordSet(occurred_at=w.now, user_id=cmd.user_id)
    await w.decide(
        TENANT_STREAM, organisation.fold, lambda s: organisation.set_password(s, event), retry=True
    )


async def start_session(cmd: StartSession, w: Writer) -> None:
    _own_session(cmd.user_id, w)
    tenant = await w.load(TENANT_STREAM, organisation.fold)
    event = SessionStarted(occurred_at=w.now, user_id=cmd.user_id, session_id=cmd.session_id)
    await w.decide(
        session_stream(cmd.user_id),
        organisation.fold_sessions,
        lambda s: organisation.start_session(tenant, s, event),
        retry=True,
    )


async def revoke_session(cmd: RevokeSession, w: Writer) -> None:
    _own_session(cmd.user_id, w)
    event = SessionRevoked(
        occurred_at=w.now, user_id=cmd.user_id, session_id=cmd.session_id, reason=cmd.reason
    )
    await w.decide(
        session_stream(cmd.user_id),
        organisation.fold_sessions,
        lambda s: organisation.revoke_session(s, event),
        retry=True,
    )


def _own_session(user_id: str, w: Writer) -> None:
    """A person starts and ends only their own sessions; an owner may end anyone's."""
    if w.actor.user_id != user_id:
        w.authorize(Permission.MANAGE_TENANT, None)


async def change_user_role(cmd: ChangeUserRole, w: Writer) -> None:
    event = UserRoleChanged(
        occurred_at=w.now, user_id=cmd.user_id, role=cmd.role, store_ids=cmd.store_ids
    )
    await w.decide(
        TENANT_STREAM, organisation.fold, lambda s: organisation.change_role(s, event), retry=True
    )


async def deactivate_user(cmd: DeactivateUser, w: Writer) -> None:
    event = UserDeactivated(occurred_at=w.now, user_id=cmd.user_id, reason=cmd.reason)
    await w.decide(
        TENANT_STREAM,
        organisation.fold,
        lambda s: organisation.deactivate_user(s, event),
        retry=True,
    )


async def define_product(cmd: DefineProduct, w: Writer) -> None:
    event = ProductDefined(
        occurred_at=w.now,
        sku=cmd.sku,
        name=cmd.name,
        category=cmd.category,
        price=cmd.price,
        unit_cost=cmd.unit_cost,
        shelf_life_days=cmd.shelf_life_days,
        unit=cmd.unit,
        batch_size=cmd.batch_size,
        minimum_batch=cmd.minimum_batch,
    )
    await w.decide(
        product_stream(cmd.sku),
        catalogue.fold_product,
        lambda s: catalogue.define_product(s, event),
        retry=True,
    )


async def reprice_product(cmd: RepriceProduct, w: Writer) -> None:
    await w.decide(
        product_stream(cmd.sku),
        catalogue.fold_product,
        lambda s: catalogue.reprice(s, price=cmd.price, unit_cost=cmd.unit_cost, at=w.now),
        retry=True,
    )


async def set_stock_policy(cmd: SetProductStockPolicy, w: Writer) -> None:
    await w.decide(
        product_stream(cmd.sku),
        catalogue.fold_product,
        lambda s: catalogue.set_stock_policy(
            s,
            store_id=cmd.store_id,
            reorder_point=cmd.reorder_point,
            target_stock=cmd.target_stock,
            at=w.now,
        ),
        retry=True,
    )


async def set_batching(cmd: SetProductBatching, w: Writer) -> None:
    await w.decide(
        product_stream(cmd.sku),
        catalogue.fold_product,
        lambda s: catalogue.set_batching(
            s, batch_size=cmd.batch_size, minimum_batch=cmd.minimum_batch, at=w.now
        ),
        retry=True,
    )


async def discontinue_product(cmd: DiscontinueProduct, w: Writer) -> None:
    await w.decide(
        product_stream(cmd.sku),
        catalogue.fold_product,
        lambda s: catalogue.discontinue(s, reason=cmd.reason, at=w.now),
        retry=True,
    )


async def define_ingredient(cmd: DefineIngredient, w: Writer) -> None:
    event = IngredientDefined(
        occurred_at=w.now,
        ingredient_id=cmd.ingredient_id,
        name=cmd.name,
        unit=cmd.unit,
        unit_cost=cmd.unit_cost,
        shelf_life_days=cmd.shelf_life_days,
        reorder_point=cmd.reorder_point,
        reorder_quantity=cmd.reorder_quantity,
        preferred_supplier_id=cmd.preferred_supplier_id,
    )
    await w.decide(
        ingredient_stream(cmd.ingredient_id),
        _events,
        lambda past: catalogue.define_ingredient(bool(past), event),
        retry=True,
    )


async def version_recipe(cmd: VersionRecipe, w: Writer) -> None:
    await w.decide(
        recipe_stream(cmd.sku),
        catalogue.fold_recipe,
        lambda s: catalogue.version_recipe(
            s,
            sku=cmd.sku,
            yield_quantity=cmd.yield_quantity,
            lines=cmd.lines,
            at=w.now,
            bake_minutes=cmd.bake_minutes,
        ),
        retry=True,  # the next version number is re-decided on fresh state
    )
