"""The write side's Python API: ``await handle(command, store, tenant_id=..., actor=...)``.

The HTTP layer, the CLI and the entry adapters (POS ingest, import) all call
``handle``; it checks the actor's permission, runs the handler registered for
the command's type and returns what was appended. The registry is at the bottom.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from commands.handlers import (
    alerts,
    day_close,
    inventory,
    notify,
    organisation,
    procurement,
    production,
    sales,
    workshops,
)
from commands.runtime import CommandResult, EventStoreLike, Writer
from commands.state_cache import StateCache
from commands.types import (
    AcknowledgeAlert,
    AddEmailRecipient,
    AddWebhookChannel,
    AdjustStock,
    ApprovePurchaseOrder,
    CancelManufacturingOrder,
    CancelPurchaseOrder,
    ChangeUserRole,
    CloseDay,
    CloseDayFromBooks,
    CloseStore,
    Command,
    CompleteManufacturingOrder,
    ConfirmManufacturingOrder,
    CreateTenant,
    DeactivateUser,
    DeclareWorkshop,
    DefineIngredient,
    DefineProduct,
    DiscontinueProduct,
    DraftPurchaseOrder,
    EditManufacturingOrder,
    ExpireStock,
    OpenStore,
    PublishForecast,
    ReceivePurchaseOrder,
    ReceiveStock,
    RecordBatch,
    RecordMaintenance,
    RecordPasswordSet,
    RecordQualityCheck,
    RecordSale,
    RecordTemperature,
    RecordWaste,
    RefundSale,
    RegisterEquipment,
    RegisterSupplier,
    RegisterUser,
    RemoveNotificationChannel,
    RepriceProduct,
    ResolveAlert,
    RevokeSession,
    ScheduleMaintenance,
    SendPurchaseOrder,
    SetAlertSettings,
    SetProductBatching,
    SetProductStockPolicy,
    SetQuietHours,
    SnoozeAlert,
    StartManufacturingOrder,
    StartSession,
    SuggestManufacturingOrder,
    SuggestWorkshopOrder,
    Tick,
    TransferStock,
    UpdateSupplierPrices,
    VersionRecipe,
    VoidSale,
)
from commands.validation import check
from domain.access import ROLE_PERMISSIONS, STORE_SCOPED_ROLES, Actor, check_permission
from domain.errors import PermissionDenied
from domain.streams import command_key, sale_key

Handler = Callable[[Any, Writer], Awaitable[None]]


async def handle(
    command: Command,
    store: EventStoreLike,
    *,
    tenant_id: str,
    actor: Actor,
    now: datetime | None = None,
    cache: StateCache | None = None,
) -> CommandResult:
    """Authorize, decide and append; raise a ``DomainError`` (nothing written) on refusal.

    Long-running callers (POS ingest, the API) pass one ``StateCache`` so hot
    streams are folded incrementally; ``now`` is the clock for ``occurred_at``.
    """
    handler = HANDLERS.get(type(command))
    if handler is None:
        raise TypeError(f"no handler for {type(command).__name__}")
    check(command)
    _authorize(command, actor)
    writer = Writer(
        store,
        tenant_id=tenant_id,
        actor=actor,
        now=command.occurred_at or now or datetime.now(UTC),
        key=idempotency_key(command),
        cache=cache,
    )
    await handler(command, writer)
    return CommandResult(command=type(command).__name__, appended=tuple(writer.appended))


def idempotency_key(command: Command) -> str | None:
    """The store key of a command: its own key per type, or the ticket for a sale."""
    if isinstance(command, RecordSale):
        return sale_key(command.store_id, command.pos_txn_id)
    if command.idempotency_key is None:
        return None
    return command_key(type(command).__name__, command.idempotency_key)


def _authorize(command: Command, actor: Actor) -> None:
    if command.SCOPE_FROM_STATE and actor.role in STORE_SCOPED_ROLES:
        # The store is known once the stream is loaded; the handler checks the scope.
        if command.PERMISSION not in ROLE_PERMISSIONS[actor.role]:
            raise PermissionDenied("actor", f"role {actor.role.value} may not do this")
        return
    check_permission(actor, command.PERMISSION, command.scope())


HANDLERS: dict[type[Command], Handler] = {
    CreateTenant: organisation.create_tenant,
    OpenStore: organisation.open_store,
    CloseStore: organisation.close_store,
    RegisterUser: organisation.register_user,
    ChangeUserRole: organisation.change_user_role,
    DeactivateUser: organisation.deactivate_user,
    RecordPasswordSet: organisation.record_password_set,
    StartSession: organisation.start_session,
    RevokeSession: organisation.revoke_session,
    DefineProduct: organisation.define_product,
    RepriceProduct: organisation.reprice_product,
    SetProductStockPolicy: organisation.set_stock_policy,
    SetProductBatching: organisation.set_batching,
    DiscontinueProduct: organisation.discontinue_product,
    DefineIngredient: organisation.define_ingredient,
    VersionRecipe: organisation.version_recipe,
    RecordSale: sales.record_sale,
    VoidSale: sales.void_sale,
    RefundSale: sales.refund_sale,
    ReceiveStock: inventory.receive_stock,
    RecordWaste: inventory.record_waste,
    AdjustStock: inventory.adjust_stock,
    TransferStock: inventory.transfer_stock,
    ExpireStock: day_close.expire_stock,
    CloseDay: day_close.close_day,
    CloseDayFromBooks: day_close.close_day_from_books,
    RegisterEquipment: inventory.register_equipment,
    RecordTemperature: inventory.record_temperature,
    ScheduleMaintenance: inventory.schedule_maintenance,
    RecordMaintenance: inventory.record_maintenance,
    SuggestManufacturingOrder: production.suggest,
    ConfirmManufacturingOrder: production.confirm,
    EditManufacturingOrder: production.edit,
    StartManufacturingOrder: production.start,
    CompleteManufacturingOrder: production.complete,
    CancelManufacturingOrder: production.cancel,
    DeclareWorkshop: workshops.declare_workshop,
    SuggestWorkshopOrder: workshops.suggest_workshop_order,
    RecordBatch: production.record_batch,
    RecordQualityCheck: production.record_quality_check,
    RegisterSupplier: procurement.register_supplier,
    UpdateSupplierPrices: procurement.update_supplier_prices,
    DraftPurchaseOrder: procurement.draft,
    ApprovePurchaseOrder: procurement.approve,
    SendPurchaseOrder: procurement.send,
    ReceivePurchaseOrder: procurement.receive,
    CancelPurchaseOrder: procurement.cancel,
    AcknowledgeAlert: alerts.acknowledge,
    SnoozeAlert: alerts.snooze,
    ResolveAlert: alerts.resolve,
    PublishForecast: alerts.publish_forecast,
    Tick: alerts.tick,
    SetAlertSettings: alerts.set_settings,
    AddWebhookChannel: notify.add_webhook,
    AddEmailRecipient: notify.add_email,
    RemoveNotificationChannel: notify.remove,
    SetQuietHours: notify.set_quiet_hours,
}
