"""What the alert rules watch, folded from events: one small record per *subject*.

A subject is a thing alerts are about — the tenant (its clock and thresholds),
an item of the catalogue, the stock of an item in a store, a manufacturing
order, a purchase order, a piece of equipment. ``subjects_of(event)`` names the
subjects an event changes and ``domain.alert_fold`` changes them. The alerts
projection stores each record as JSON, so the records keep only what the rules
read (no ticket history). Every record also remembers the alerts it raised
(``alerts``: dedup key -> sequence number of its latest alert).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Final

import msgspec

from domain.events import (
    AlertSettingsChanged,
    ClockTicked,
    DayClosed,
    DomainEvent,
    EquipmentMaintenancePerformed,
    EquipmentMaintenanceScheduled,
    EquipmentRegistered,
    ForecastPublished,
    IngredientDefined,
    ManufacturingOrderCancelled,
    ManufacturingOrderCompleted,
    ManufacturingOrderConfirmed,
    ManufacturingOrderEdited,
    ManufacturingOrderStarted,
    ManufacturingOrderSuggested,
    ProductDefined,
    ProductDiscontinued,
    ProductRepriced,
    ProductStockPolicySet,
    PurchaseOrderApproved,
    PurchaseOrderCancelled,
    PurchaseOrderDrafted,
    PurchaseOrderReceived,
    PurchaseOrderSent,
    QualityCheckRecorded,
    RecipeVersioned,
    StockAdjusted,
    StockConsumed,
    StockExpired,
    StockReceived,
    StockReturned,
    StockTransferredIn,
    StockTransferredOut,
    StoreOpened,
    TemperatureRecorded,
    WasteRecorded,
)

ZERO: Final = Decimal(0)
TENANT: Final = "tenant"


class Facts(msgspec.Struct, kw_only=True, tag=True):
    #: dedup key -> sequence number of the latest alert raised for it.
    alerts: dict[str, int] = {}


class Settings(msgspec.Struct, kw_only=True):
    expiry_warning_days: int = 1
    delivery_due_soon_hours: int = 24
    production_start_hour: int = 5
    unconfirmed_plan_hours: int = 12


class TenantFacts(Facts, kw_only=True, tag="tenant"):
    now: datetime | None = None  # the last clock tick
    settings: Settings = msgspec.field(default_factory=Settings)
    timezones: dict[str, str] = {}  # store -> IANA time zone


class ItemFacts(Facts, kw_only=True, tag="item"):
    kind: str  # "product" or "ingredient"
    name: str
    unit: str
    price: Decimal | None  # sale price (products)
    unit_cost: Decimal
    shelf_life_days: int | None
    reorder_point: Decimal | None = None  # ingredients: the same in every store
    reorder_quantity: Decimal | None = None
    supplier_id: str | None = None
    discontinued: bool = False
    #: products, from the latest recipe version: what goes in (ingredient ids), how many
    #: units a batch yields and how long a batch takes (``batch_overdue``)
    ingredients: tuple[str, ...] = ()
    batch_yield: Decimal | None = None
    bake_minutes: int | None = None


class Lot(msgspec.Struct, array_like=True):
    quantity: Decimal
    expires_on: date | None
    unit_cost: Decimal


class DayForecast(msgspec.Struct, array_like=True):
    mean: Decimal
    lower: Decimal


class Planned(msgspec.Struct, array_like=True):
    """An open manufacturing order bringing this product to this store."""

    day: date
    quantity: Decimal
    status: str = "suggested"
    producing_store_id: str = ""


#: how many emptied lots a stock record remembers for returns (bounded, unlike the books)
EMPTIED_KEPT: Final = 16


class StockFacts(Facts, kw_only=True, tag="stock"):
    store_id: str
    item_id: str
    lots: dict[str, Lot] = {}  # lots still holding something
    shortfall: Decimal = ZERO  # sold beyond the books (book stock = lots - shortfall)
    reorder_point: Decimal | None = None  # products: per store (ProductStockPolicySet)
    target_stock: Decimal | None = None
    forecast: dict[date, DayForecast] = {}  # the latest published forecast, by day
    planned: dict[str, Planned] = {}  # open manufacturing orders for this store, by order id
    #: the last lots emptied (at most ``EMPTIED_KEPT``), so a void or refund that gives
    #: units back to one restores its expiry and cost, as ``domain.stock`` does
    emptied: dict[str, Lot] = {}

    @property
    def on_hand(self) -> Decimal:
        return sum((lot.quantity for lot in self.lots.values()), ZERO) - self.shortfall


class QualityFailure(msgspec.Struct, array_like=True):
    score: int
    issues: tuple[str, ...]
    at: datetime


class OrderFacts(Facts, kw_only=True, tag="mo"):
    order_id: str
    sku: str
    quantity: Decimal
    production_date: date
    producing_store_id: str
    destination_store_id: str
    status: str = "suggested"  # confirmed, in_progress, completed, cancelled
    started_at: datetime | None = None
    failures: dict[str, QualityFailure] = {}  # batch id (or "order") -> last failed check


class PurchaseFacts(Facts, kw_only=True, tag="po"):
    po_id: str
    supplier_id: str
    store_id: str
    expected_at: datetime
    value: Decimal  # ordered quantity x unit price
    status: str = "draft"  # approved, sent, partial, received, cancelled
    deliveries: int = 0


class TemperatureBreach(msgspec.Struct, array_like=True):
    celsius: Decimal
    min_celsius: Decimal
    max_celsius: Decimal
    at: datetime


class EquipmentFacts(Facts, kw_only=True, tag="equipment"):
    equipment_id: str
    store_id: str = ""
    name: str = ""
    kind: str = ""
    due_on: date | None = None
    maintenance: str = ""
    breach: TemperatureBreach | None = None


AnyFacts = TenantFacts | ItemFacts | StockFacts | OrderFacts | PurchaseFacts | EquipmentFacts
_DECODER = msgspec.json.Decoder(AnyFacts)
_ENCODER = msgspec.json.Encoder(decimal_format="string")


def encode(facts: AnyFacts) -> bytes:
    return _ENCODER.encode(facts)


def decode(raw: bytes | str) -> AnyFacts:
    facts: AnyFacts = _DECODER.decode(raw)
    return facts


# --- which subjects an event changes ------------------------------------------------


def item_subject(item_id: str) -> str:
    return f"item/{item_id}"


def stock_subject(store_id: str, item_id: str) -> str:
    return f"stock/{store_id}/{item_id}"


def subjects_of(ev: DomainEvent) -> list[str]:
    """The subjects ``ev`` changes (ids never contain ``/``)."""
    match ev:
        case AlertSettingsChanged() | StoreOpened() | ClockTicked():
            return [TENANT]
        case ProductDefined() | ProductRepriced() | ProductDiscontinued() | RecipeVersioned():
            return [item_subject(ev.sku)]
        case IngredientDefined():
            return [item_subject(ev.ingredient_id)]
        case ProductStockPolicySet() | ForecastPublished():
            return [stock_subject(ev.store_id, ev.sku)]
        case (
            StockReceived()
            | StockConsumed()
            | StockReturned()
            | StockTransferredOut()
            | StockTransferredIn()
            | StockAdjusted()
            | WasteRecorded()
            | StockExpired()
            | DayClosed()
        ):
            return [stock_subject(ev.store_id, ev.item_id)]
        case (
            ManufacturingOrderSuggested()
            | ManufacturingOrderConfirmed()
            | ManufacturingOrderEdited()
            | ManufacturingOrderStarted()
            | ManufacturingOrderCompleted()
            | ManufacturingOrderCancelled()
            | QualityCheckRecorded()
        ):
            return [f"mo/{ev.order_id}"]
        case (
            PurchaseOrderDrafted()
            | PurchaseOrderApproved()
            | PurchaseOrderSent()
            | PurchaseOrderReceived()
            | PurchaseOrderCancelled()
        ):
            return [f"po/{ev.po_id}"]
        case (
            EquipmentRegistered()
            | EquipmentMaintenanceScheduled()
            | EquipmentMaintenancePerformed()
            | TemperatureRecorded()
        ):
            return [f"equipment/{ev.equipment_id}"]
    return []
