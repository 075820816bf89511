"""The event catalogue: every domain event in one tagged union (tag field ``type``).

Add a new event type to its module and to ``Event`` below; ``EVENT_TYPES`` and
the JSON Schema export follow from the union.
"""

from __future__ import annotations

from typing import Union, get_args

from domain.events.alerts import (
    AlertAcknowledged,
    AlertResolved,
    AlertSettingsChanged,
    AlertSnoozed,
    ClockTicked,
)
from domain.events.base import DomainEvent
from domain.events.catalogue import (
    IngredientDefined,
    ProductDefined,
    ProductDiscontinued,
    ProductRepriced,
    ProductStockPolicySet,
    RecipeVersioned,
)
from domain.events.forecasting import ForecastPublished
from domain.events.inventory import (
    StockAdjusted,
    StockConsumed,
    StockReceived,
    StockReturned,
    StockTransferredIn,
    StockTransferredOut,
    TemperatureRecorded,
    WasteRecorded,
)
from domain.events.organisation import (
    StoreClosed,
    StoreOpened,
    TenantCreated,
    UserRegistered,
    UserRoleChanged,
)
from domain.events.procurement import (
    PurchaseOrderApproved,
    PurchaseOrderCancelled,
    PurchaseOrderDrafted,
    PurchaseOrderReceived,
    PurchaseOrderSent,
    SupplierPriceListUpdated,
    SupplierRegistered,
)
from domain.events.production import (
    BatchCompleted,
    EquipmentMaintenancePerformed,
    EquipmentMaintenanceScheduled,
    EquipmentRegistered,
    ManufacturingOrderCancelled,
    ManufacturingOrderCompleted,
    ManufacturingOrderConfirmed,
    ManufacturingOrderEdited,
    ManufacturingOrderStarted,
    ManufacturingOrderSuggested,
    QualityCheckRecorded,
)
from domain.events.sales import SaleRecorded, SaleRefunded, SaleVoided

Event = Union[  # noqa: UP007 - a runtime union object msgspec can decode into
    TenantCreated,
    StoreOpened,
    StoreClosed,
    UserRegistered,
    UserRoleChanged,
    ProductDefined,
    ProductRepriced,
    ProductStockPolicySet,
    ProductDiscontinued,
    IngredientDefined,
    RecipeVersioned,
    SaleRecorded,
    SaleVoided,
    SaleRefunded,
    StockReceived,
    StockConsumed,
    StockReturned,
    StockTransferredOut,
    StockTransferredIn,
    StockAdjusted,
    WasteRecorded,
    TemperatureRecorded,
    ManufacturingOrderSuggested,
    ManufacturingOrderConfirmed,
    ManufacturingOrderEdited,
    ManufacturingOrderStarted,
    ManufacturingOrderCompleted,
    ManufacturingOrderCancelled,
    BatchCompleted,
    QualityCheckRecorded,
    EquipmentRegistered,
    EquipmentMaintenanceScheduled,
    EquipmentMaintenancePerformed,
    SupplierRegistered,
    SupplierPriceListUpdated,
    PurchaseOrderDrafted,
    PurchaseOrderApproved,
    PurchaseOrderSent,
    PurchaseOrderReceived,
    PurchaseOrderCancelled,
    AlertAcknowledged,
    AlertSnoozed,
    AlertResolved,
    ForecastPublished,
    ClockTicked,
    AlertSettingsChanged,
]

#: Event type name (the ``type`` tag) -> class.
EVENT_TYPES: dict[str, type[DomainEvent]] = {cls.__name__: cls for cls in get_args(Event)}

__all__ = [
    "EVENT_TYPES",
    "AlertAcknowledged",
    "AlertResolved",
    "AlertSettingsChanged",
    "AlertSnoozed",
    "BatchCompleted",
    "ClockTicked",
    "DomainEvent",
    "EquipmentMaintenancePerformed",
    "EquipmentMaintenanceScheduled",
    "EquipmentRegistered",
    "Event",
    "ForecastPublished",
    "IngredientDefined",
    "ManufacturingOrderCancelled",
    "ManufacturingOrderCompleted",
    "ManufacturingOrderConfirmed",
    "ManufacturingOrderEdited",
    "ManufacturingOrderStarted",
    "ManufacturingOrderSuggested",
    "ProductDefined",
    "ProductDiscontinued",
    "ProductRepriced",
    "ProductStockPolicySet",
    "PurchaseOrderApproved",
    "PurchaseOrderCancelled",
    "PurchaseOrderDrafted",
    "PurchaseOrderReceived",
    "PurchaseOrderSent",
    "QualityCheckRecorded",
    "RecipeVersioned",
    "SaleRecorded",
    "SaleRefunded",
    "SaleVoided",
    "StockAdjusted",
    "StockConsumed",
    "StockReceived",
    "StockReturned",
    "StockTransferredIn",
    "StockTransferredOut",
    "StoreClosed",
    "StoreOpened",
    "SupplierPriceListUpdated",
    "SupplierRegistered",
    "TemperatureRecorded",
    "TenantCreated",
    "UserRegistered",
    "UserRoleChanged",
    "WasteRecorded",
]
