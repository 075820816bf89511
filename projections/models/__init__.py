"""The read models the projector runtime keeps live and ``obrador projections rebuild`` rebuilds.

Each module holds one model (see ``docs/read-models.md`` for every table and
column); their tables are created by ``migrations/0004_read_models.sql``.
"""

from __future__ import annotations

from projections.model import ReadModel
from projections.models.alerts import AlertsModel
from projections.models.forecasts import ForecastsModel
from projections.models.inventory import InventoryModel
from projections.models.production_orders import ProductionOrdersModel
from projections.models.purchase_orders import PurchaseOrdersModel
from projections.models.sales import SalesModel
from projections.models.waste import WasteModel
from projections.models.workshop_orders import WorkshopOrdersModel

ALL_MODELS: tuple[ReadModel, ...] = (
    InventoryModel(),
    SalesModel(),
    ProductionOrdersModel(),
    PurchaseOrdersModel(),
    ForecastsModel(),
    AlertsModel(),
    WasteModel(),
    WorkshopOrdersModel(),
)


def model_by_name(name: str) -> ReadModel:
    """The model called ``name``; ``KeyError`` naming the known ones otherwise."""
    for model in ALL_MODELS:
        if model.name == name:
            return model
    known = ", ".join(m.name for m in ALL_MODELS)
    raise KeyError(f"no read model {name!r} (known: {known})")


__all__ = [
    "ALL_MODELS",
    "AlertsModel",
    "ForecastsModel",
    "InventoryModel",
    "ProductionOrdersModel",
    "PurchaseOrdersModel",
    "SalesModel",
    "WasteModel",
    "WorkshopOrdersModel",
    "model_by_name",
]
