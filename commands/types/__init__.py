"""Every command in one tagged union (tag field ``type``): what the HTTP API and CLI accept."""

from __future__ import annotations

from typing import Union, get_args

from commands.types.alerts import (
    AcknowledgeAlert,
    PublishForecast,
    ResolveAlert,
    SnoozeAlert,
)
from commands.types.base import Command
from commands.types.inventory import (
    AdjustStock,
    ReceiveStock,
    RecordMaintenance,
    RecordTemperature,
    RecordWaste,
    RegisterEquipment,
    ScheduleMaintenance,
    TransferStock,
)
from commands.types.organisation import (
    ChangeUserRole,
    CreateTenant,
    DefineIngredient,
    DefineProduct,
    OpenStore,
    RegisterUser,
    RepriceProduct,
    VersionRecipe,
)
from commands.types.procurement import (
    ApprovePurchaseOrder,
    CancelPurchaseOrder,
    DraftPurchaseOrder,
    ReceivePurchaseOrder,
    RegisterSupplier,
    SendPurchaseOrder,
)
from commands.types.production import (
    CancelManufacturingOrder,
    CompleteManufacturingOrder,
    ConfirmManufacturingOrder,
    EditManufacturingOrder,
    RecordBatch,
    RecordQualityCheck,
    StartManufacturingOrder,
    SuggestManufacturingOrder,
)
from commands.types.sales import (
    RecordSale,
    RefundSale,
    VoidSale,
)

AnyCommand = Union[  # noqa: UP007 - a runtime union object msgspec can decode into
    AcknowledgeAlert,
    SnoozeAlert,
    ResolveAlert,
    PublishForecast,
    ReceiveStock,
    RecordWaste,
    AdjustStock,
    TransferStock,
    RegisterEquipment,
    RecordTemperature,
    ScheduleMaintenance,
    RecordMaintenance,
    CreateTenant,
    OpenStore,
    RegisterUser,
    ChangeUserRole,
    DefineProduct,
    RepriceProduct,
    DefineIngredient,
    VersionRecipe,
    RegisterSupplier,
    DraftPurchaseOrder,
    ApprovePurchaseOrder,
    SendPurchaseOrder,
    ReceivePurchaseOrder,
    CancelPurchaseOrder,
    SuggestManufacturingOrder,
    ConfirmManufacturingOrder,
    EditManufacturingOrder,
    StartManufacturingOrder,
    CompleteManufacturingOrder,
    CancelManufacturingOrder,
    RecordBatch,
    RecordQualityCheck,
    RecordSale,
    VoidSale,
    RefundSale,
]

#: Command type name (the ``type`` tag) -> class.
COMMAND_TYPES: dict[str, type[Command]] = {cls.__name__: cls for cls in get_args(AnyCommand)}

__all__ = [
    "COMMAND_TYPES",
    "AcknowledgeAlert",
    "AdjustStock",
    "AnyCommand",
    "ApprovePurchaseOrder",
    "CancelManufacturingOrder",
    "CancelPurchaseOrder",
    "ChangeUserRole",
    "Command",
    "CompleteManufacturingOrder",
    "ConfirmManufacturingOrder",
    "CreateTenant",
    "DefineIngredient",
    "DefineProduct",
    "DraftPurchaseOrder",
    "EditManufacturingOrder",
    "OpenStore",
    "PublishForecast",
    "ReceivePurchaseOrder",
    "ReceiveStock",
    "RecordBatch",
    "RecordMaintenance",
    "RecordQualityCheck",
    "RecordSale",
    "RecordTemperature",
    "RecordWaste",
    "RefundSale",
    "RegisterEquipment",
    "RegisterSupplier",
    "RegisterUser",
    "RepriceProduct",
    "ResolveAlert",
    "ScheduleMaintenance",
    "SendPurchaseOrder",
    "SnoozeAlert",
    "StartManufacturingOrder",
    "SuggestManufacturingOrder",
    "TransferStock",
    "VersionRecipe",
    "VoidSale",
]
