"""Stream ids and idempotency keys are stored history: their spelling never changes."""

from __future__ import annotations

from datetime import date

from domain import streams as s

DAY = date(2026, 3, 7)


def test_stream_ids_keep_the_stored_spelling() -> None:
    assert s.TENANT_STREAM == "tenant"
    assert s.sale_stream("born", "T-1") == "sale-born-T-1"
    assert s.stock_stream("born", "baguette") == "stock-born-baguette"
    assert s.product_stream("barra") == "product-barra"
    assert s.recipe_stream("barra") == "recipe-barra"
    assert s.ingredient_stream("harina") == "ingredient-harina"
    assert s.supplier_stream("harinas-sur") == "supplier-harinas-sur"
    assert s.purchase_order_stream("po-1") == "po-po-1"
    assert s.production_order_stream("mo-1") == "mo-mo-1"
    assert s.alert_stream("low-stock-born-barra") == "alert-low-stock-born-barra"
    assert s.equipment_stream("fridge") == "equipment-fridge"
    assert s.forecast_stream("centro", "barra") == "forecast-centro-barra"


def test_derived_ids_keep_the_stored_spelling() -> None:
    assert s.production_lot_id("7") == "mo-7"
    assert s.batch_reference("7", "b1") == "mo-7/b1"
    assert s.forecast_id("centro", "barra", DAY) == "centro-barra-20260307"
    assert s.planned_order_id("centro", "barra", DAY) == "plan-centro-barra-20260307"
    assert s.suggested_po_id("centro", DAY, "harinas") == "sugg-centro-20260307-harinas"


def test_idempotency_keys_keep_the_stored_spelling() -> None:
    assert s.sale_key("born", "T-1") == "sale:born:T-1"
    assert s.command_key("OpenStore", "k1") == "OpenStore:k1"
    assert s.forecast_key("centro", "barra", DAY) == "centro:barra:2026-03-07"
    assert s.plan_key("centro", "barra", DAY) == "plan:centro:barra:2026-03-07"
    assert s.purchase_plan_key("sugg-1") == "purchase-plan:sugg-1"
    assert s.import_store_key("alcala") == "import-store-alcala"
    assert s.import_product_key("barra") == "import-product-barra"


def test_the_stream_type_is_the_text_before_the_first_dash() -> None:
    assert s.stream_type(s.sale_stream("born", "T-1")) == "sale"
    assert s.stream_type(s.TENANT_STREAM) == "tenant"
    assert s.stream_type("-odd") == "stream"
