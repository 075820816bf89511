"""Stream ids and idempotency keys: the one place that spells them.

Every path that records a fact (HTTP, POS, import, demo, forecasting) and every
reader that loads a stream calls these functions, so a stream has one name. The
strings are part of the stored history: never change what a function returns.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Final

TENANT_STREAM: Final = "tenant"
"""The tenant's own stream: its creation, stores and users."""


# --- stream ids ---------------------------------------------------------------


def sale_stream(store_id: str, pos_txn_id: str) -> str:
    """A ticket: ``sale-<store>-<pos_txn_id>``."""
    return f"sale-{store_id}-{pos_txn_id}"


def stock_stream(store_id: str, item_id: str) -> str:
    """The stock of one item (product or ingredient) at one store."""
    return f"stock-{store_id}-{item_id}"


def product_stream(sku: str) -> str:
    return f"product-{sku}"


def recipe_stream(sku: str) -> str:
    return f"recipe-{sku}"


def ingredient_stream(ingredient_id: str) -> str:
    return f"ingredient-{ingredient_id}"


def supplier_stream(supplier_id: str) -> str:
    return f"supplier-{supplier_id}"


def purchase_order_stream(po_id: str) -> str:
    return f"po-{po_id}"


def production_order_stream(order_id: str) -> str:
    return f"mo-{order_id}"


def alert_stream(alert_id: str) -> str:
    return f"alert-{alert_id}"


def clock_stream(day: date) -> str:
    """The scheduler's clock ticks of one UTC day: ``clock-<yyyymmdd>``."""
    return f"clock-{day:%Y%m%d}"


ALERT_SETTINGS_STREAM: Final = "alert-settings"
"""The tenant's alert thresholds (never an alert id: those start with ``al-``)."""

NOTIFY_SETTINGS_STREAM: Final = "notify-settings"
"""The tenant's notification channels and quiet hours (``domain.notify``)."""

WORKSHOPS_STREAM: Final = "workshops"
"""The tenant's central workshops and the stores each bakes for (``domain.workshops``)."""


def equipment_stream(equipment_id: str) -> str:
    return f"equipment-{equipment_id}"


def forecast_stream(store_id: str, sku: str) -> str:
    return f"forecast-{store_id}-{sku}"


def session_stream(user_id: str) -> str:
    """A person's logins and revocations (one refresh-token family per session)."""
    return f"session-{user_id}"


def stream_type(stream_id: str) -> str:
    """The kind of a stream (``sale``, ``stock``, ``tenant`` …): the text before the first dash."""
    return stream_id.split("-", 1)[0] or "stream"


# --- ids derived from other ids -----------------------------------------------


def production_lot_id(order_id: str) -> str:
    """The lot a production order's output is received under."""
    return f"mo-{order_id}"


def close_surplus_lot_id(day: date) -> str:
    """The lot that takes what a day-close count found beyond the books."""
    return f"close-{day:%Y%m%d}"


def batch_reference(order_id: str, batch_id: str) -> str:
    """What a batch's ingredient consumptions point back to."""
    return f"mo-{order_id}/{batch_id}"


def forecast_id(store_id: str, sku: str, day: date) -> str:
    """The id of the forecast published for one series on one run day."""
    return f"{store_id}-{sku}-{day:%Y%m%d}"


def planned_order_id(
    store_id: str, sku: str, production_day: date, model_version: int | None = None
) -> str:
    """The production order the nightly plan proposes for one product and day.

    Plans since the workshop change name the model version that made them
    (``…-v3``), so a day re-planned after a rollback is a new order; without a
    version: the id of the plans made before.
    """
    day = f"plan-{store_id}-{sku}-{production_day:%Y%m%d}"
    return day if model_version is None else f"{day}-v{model_version}"


WORKSHOP_PLAN_PREFIX: Final = "wplan-"
"""How every planned workshop order's id starts (the dashboard's overnight plan lists them)."""


def workshop_order_id(workshop_id: str, sku: str, production_day: date, models: str) -> str:
    """A workshop's planned order of one product and day, made from the ``models`` of its
    stores (``forecasting.ops.workshop.models_tag``: a digest of each store's model version)."""
    return f"{WORKSHOP_PLAN_PREFIX}{workshop_id}-{sku}-{production_day:%Y%m%d}-{models}"


def suggested_po_id(store_id: str, day: date, supplier_id: str) -> str:
    """The purchase order the nightly plan suggests to one supplier for one day."""
    return f"sugg-{store_id}-{day:%Y%m%d}-{supplier_id}"


# --- idempotency keys ---------------------------------------------------------


def sale_key(store_id: str, pos_txn_id: str) -> str:
    """A ticket is recorded once per store and POS transaction, whatever the path."""
    return f"sale:{store_id}:{pos_txn_id}"


def command_key(command_type: str, key: str) -> str:
    """A command's own key, scoped by its type."""
    return f"{command_type}:{key}"


def tick_key(at: datetime) -> str:
    """One clock tick per tenant and instant, however often the scheduler retries."""
    return f"tick:{at.astimezone(UTC).isoformat()}"


def forecast_key(store_id: str, sku: str, day: date) -> str:
    """One published forecast per store, product and run day."""
    return f"{store_id}:{sku}:{day.isoformat()}"


def plan_key(
    store_id: str, sku: str, production_day: date, model_version: int | None = None
) -> str:
    """One planned production order per store, product, production day (and model version)."""
    day = f"plan:{store_id}:{sku}:{production_day.isoformat()}"
    return day if model_version is None else f"{day}:v{model_version}"


def workshop_plan_key(order_id: str) -> str:
    """One planned workshop order per id (the id names the day and the models)."""
    return f"workshop-plan:{order_id}"


def purchase_plan_key(po_id: str) -> str:
    """One suggested purchase order per id."""
    return f"purchase-plan:{po_id}"


def import_store_key(store_id: str) -> str:
    """The importer opens an unknown store once."""
    return f"import-store-{store_id}"


def import_product_key(sku: str) -> str:
    """The importer defines an unknown product once."""
    return f"import-product-{sku}"
