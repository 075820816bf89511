"""The alerts read model: each rule fires and clears by itself, scored and explained.

Events go through the real codec into the model on a real PostgreSQL schema
(``test_models_kit``); the clock is ``ClockTicked`` events, never the machine.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from test_models_kit import Log, dump, project, rows, wipe

from domain.events import (
    AlertAcknowledged,
    AlertResolved,
    AlertSettingsChanged,
    AlertSnoozed,
    ClockTicked,
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
    ProductStockPolicySet,
    PurchaseOrderApproved,
    PurchaseOrderDrafted,
    PurchaseOrderReceived,
    PurchaseOrderSent,
    QualityCheckRecorded,
    RecipeVersioned,
    StockAdjusted,
    StockConsumed,
    StockReceived,
    StoreOpened,
    TemperatureRecorded,
    WasteRecorded,
)
from domain.events.catalogue import RecipeLine
from domain.events.forecasting import ForecastPoint
from domain.events.inventory import ConsumptionCause, ItemKind, LotAllocation, WasteReason
from domain.events.organisation import StoreKind
from domain.events.procurement import PurchaseOrderLine, ReceivedLine
from projections.models import AlertsModel

T = "forn-sant-joan"
D = Decimal
AT = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
MODEL = AlertsModel()


def at(hours: float) -> datetime:
    return AT + timedelta(hours=hours)


class History:
    """A tenant's log with a few helpers; ``alerts()`` projects it and reads ``rm_alerts``."""

    def __init__(self, pg_url: str) -> None:
        self.pg_url, self.log, self.projected = pg_url, Log(), 0
        self.lot = "L1"

    def add(self, stream: str, *events: DomainEvent) -> History:
        self.log.add(T, stream, *events)
        return self

    def tick(self, hours: float) -> History:
        return self.add(f"clock-{at(hours):%Y%m%d}", ClockTicked(occurred_at=at(hours)))

    async def alerts(self, where: str = "TRUE", *params: Any) -> list[dict[str, Any]]:
        await project(self.pg_url, MODEL, self.log.events[self.projected :], batch=3)
        self.projected = len(self.log.events)
        return await rows(
            self.pg_url,
            f"SELECT * FROM rm_alerts WHERE tenant_id = %s AND {where} ORDER BY raised_at, type",
            T,
            *params,
        )

    async def open_types(self) -> list[str]:
        return [a["type"] for a in await self.alerts("status <> 'resolved'")]


def product(sku: str = "croissant", price: str = "1.50", shelf_life: int = 1) -> ProductDefined:
    return ProductDefined(
        occurred_at=at(0),
        sku=sku,
        name=sku.capitalize(),
        category="viennoiserie",
        price=D(price),
        unit_cost=D("0.40"),
        shelf_life_days=shelf_life,
    )


def received(qty: int, hours: float = 0, lot: str = "L1", expires: date | None = None) -> Any:
    return StockReceived(
        occurred_at=at(hours),
        store_id="centro",
        item_id="croissant",
        item_kind=ItemKind.PRODUCT,
        lot_id=lot,
        quantity=D(qty),
        expires_on=expires,
        unit_cost=D("0.40"),
    )


def sold(qty: int, hours: float, lot: str = "L1", shortfall: int = 0) -> StockConsumed:
    allocations = (LotAllocation(lot_id=lot, quantity=D(qty - shortfall)),)
    return StockConsumed(
        occurred_at=at(hours),
        store_id="centro",
        item_id="croissant",
        quantity=D(qty),
        allocations=allocations if qty > shortfall else (),
        shortfall=D(shortfall),
        cause=ConsumptionCause.SALE,
        reference=f"sale-{hours}",
    )


STOCK = "stock-centro-croissant"


class TestStockLevels:
    async def test_low_stock_then_stockout_then_replenished(self, pg_url: str) -> None:
        h = History(pg_url).add("product-croissant", product())
        h.add(
            STOCK,
            ProductStockPolicySet(
                occurred_at=at(0),
                sku="croissant",
                store_id="centro",
                reorder_point=D(10),
                target_stock=D(30),
            ),
            received(20),
        )
        assert await h.open_types() == []

        h.add(STOCK, sold(12, 1))
        [low] = await h.alerts("status <> 'resolved'")
        assert low["type"] == "low_stock" and low["status"] == "raised"
        assert low["units"] == D(22) and low["store_id"] == "centro"
        assert low["item_id"] == "croissant" and low["raised_at"] == at(1)
        assert "below the reorder point of 10" in low["description"]
        assert low["euros"] == D("45.00")  # target 30 a day x €1.50 (no forecast yet)

        h.add(STOCK, sold(8, 2))
        [out] = await h.alerts("status <> 'resolved'")
        assert out["type"] == "stockout" and out["urgency"] == 90
        [gone] = await h.alerts("type = 'low_stock'")
        assert gone["status"] == "resolved" and gone["auto_resolved"] is True
        assert gone["resolved_by"] == "system" and gone["resolved_at"] == at(2)

        h.add(STOCK, received(40, 3, lot="L2"))
        assert await h.open_types() == []
        [closed] = await h.alerts("type = 'stockout'")
        assert closed["status"] == "resolved" and closed["cleared_at"] == at(3)

    async def test_score_is_the_weighted_factors_each_explained(self, pg_url: str) -> None:
        h = History(pg_url).add("product-croissant", product())
        h.add(
            "forecast-centro-croissant",
            ForecastPublished(
                occurred_at=at(0),
                forecast_id="f1",
                store_id="centro",
                sku="croissant",
                model="ets",
                model_version="1",
                interval_level=0.8,
                points=(ForecastPoint(day=date(2026, 3, 3), mean=D(60), lower=D(50), upper=D(70)),),
            ),
        )
        h.add(
            STOCK,
            ProductStockPolicySet(
                occurred_at=at(0),
                sku="croissant",
                store_id="centro",
                reorder_point=D(10),
                target_stock=D(30),
            ),
            received(5),
            sold(5, 1),
        )
        [out] = await h.alerts("type = 'stockout'")
        assert out["type"] == "stockout"
        # 60 a day forecast x €1.50 = €90 of sales a day: impact 15 + 20 log10(91) = 54
        assert out["euros"] == D("90.00")
        assert (out["impact"], out["urgency"], out["agency"], out["confidence"]) == (54, 90, 80, 70)
        assert out["base_score"] == round(0.4 * 54 + 0.3 * 90 + 0.2 * 80 + 0.1 * 70) == 72
        assert out["score"] == 72 and out["severity"] == "high" and out["escalation"] == 0
        assert "€90.00" in out["impact_why"] and out["urgency_why"] == "the stock is out now"
        assert out["agency_why"] and out["confidence_why"]
        assert "€90.00" in out["consequence"] and out["action"].startswith("Bake or transfer")

    async def test_items_without_a_reorder_point_never_raise_stock_levels(
        self, pg_url: str
    ) -> None:
        h = History(pg_url).add("product-croissant", product())
        h.add(STOCK, received(5), sold(5, 1))
        assert await h.open_types() == []

    async def test_ingredient_reorder_point_from_the_catalogue(self, pg_url: str) -> None:
        h = History(pg_url).add(
            "stock-centro-flour",
            StockReceived(
                occurred_at=at(0),
                store_id="centro",
                item_id="flour",
                item_kind=ItemKind.INGREDIENT,
                lot_id="F1",
                quantity=D(40),
                expires_on=None,
                unit_cost=D("0.60"),
            ),
        )
        assert await h.open_types() == []
        h.add(
            "ingredient-flour",
            IngredientDefined(
                occurred_at=at(1),
                ingredient_id="flour",
                name="Flour",
                unit="kg",
                unit_cost=D("0.60"),
                shelf_life_days=180,
                reorder_point=D(50),
                reorder_quantity=D(100),
                preferred_supplier_id="harinera",
            ),
        )
        [low] = await h.alerts()
        assert low["type"] == "low_stock" and low["item_id"] == "flour"
        assert low["action"] == "Order 100 kg of Flour from harinera"
        assert low["impact"] == 50 and "would stop" in low["impact_why"]


class TestNegativeStock:
    async def test_sold_beyond_the_books_until_counted(self, pg_url: str) -> None:
        h = History(pg_url).add("product-croissant", product())
        h.add(STOCK, received(3), sold(5, 1, shortfall=2))
        [neg] = await h.alerts()
        assert neg["type"] == "negative_stock" and neg["units"] == D(2)
        assert neg["euros"] == D("0.80") and neg["action"].startswith("Count Croissant")
        h.add(
            STOCK,
            StockAdjusted(
                occurred_at=at(2),
                store_id="centro",
                item_id="croissant",
                counted_quantity=D(0),
                book_quantity=D(-2),
                delta=D(2),
                reason="count",
            ),
        )
        assert await h.open_types() == []


class TestExpiringLots:
    async def test_fires_on_its_last_day_then_expired_then_clears_when_wasted(
        self, pg_url: str
    ) -> None:
        h = History(pg_url).add("product-croissant", product(shelf_life=3))
        h.add(STOCK, received(10, expires=date(2026, 3, 4))).tick(1)
        assert await h.open_types() == []  # 2 March: expires in 2 days, default warns 1 day
        h.tick(24)  # 3 March: still a day left
        assert await h.open_types() == []
        h.tick(44)  # 4 March 00:00 UTC: expires today
        [lot] = await h.alerts()
        assert lot["type"] == "lot_expiring" and lot["lot_id"] == "L1"
        assert lot["title"] == "Croissant expiring today at centro"
        assert lot["deadline"] == datetime(2026, 3, 5, tzinfo=UTC)
        assert lot["units"] == D(10) and lot["euros"] == D("4.00")
        # within 24 h of the deadline: +15
        assert lot["escalation"] == 15 and lot["score"] == lot["base_score"] + 15
        h.tick(68)  # 5 March: expired
        [lot] = await h.alerts()
        assert lot["title"] == "Expired Croissant at centro" and lot["urgency"] == 95
        assert lot["escalation"] == 30 and "deadline passed" in lot["escalation_why"]
        h.add(
            STOCK,
            WasteRecorded(
                occurred_at=at(69),
                store_id="centro",
                item_id="croissant",
                quantity=D(10),
                reason=WasteReason.EXPIRED,
                allocations=(LotAllocation(lot_id="L1", quantity=D(10)),),
            ),
        )
        assert await h.open_types() == []

    async def test_one_alert_per_item_and_store_whatever_the_number_of_lots(
        self, pg_url: str
    ) -> None:
        h = History(pg_url).add("product-croissant", product(shelf_life=5))
        h.add("alert-settings", AlertSettingsChanged(occurred_at=at(0), expiry_warning_days=2))
        h.add(
            STOCK,
            received(4, lot="A", expires=date(2026, 3, 2)),
            received(6, lot="B", expires=date(2026, 3, 3)),
            received(9, lot="C", expires=date(2026, 3, 9)),
        ).tick(1)
        [lot] = await h.alerts()
        assert (lot["units"], lot["euros"], lot["lot_id"]) == (D(10), D("4.00"), "A")
        assert lot["title"] == "Croissant expiring today at centro"
        assert (
            "in 2 lot(s) expiring by 2026-03-03: A (4, 2026-03-02), B (6, 2026-03-03)"
            in (lot["description"])
        )

        def waste(hours: float, lot_id: str, qty: int) -> WasteRecorded:
            return WasteRecorded(
                occurred_at=at(hours),
                store_id="centro",
                item_id="croissant",
                quantity=D(qty),
                reason=WasteReason.EXPIRED,
                allocations=(LotAllocation(lot_id=lot_id, quantity=D(qty)),),
            )

        h.add(STOCK, waste(2, "A", 4))
        [lot] = await h.alerts()
        assert lot["title"] == "Croissant expiring tomorrow at centro" and lot["units"] == D(6)
        h.add(STOCK, waste(3, "B", 6))
        assert await h.open_types() == []

    async def test_the_warning_days_are_a_tenant_setting(self, pg_url: str) -> None:
        h = History(pg_url).add("product-croissant", product(shelf_life=5))
        h.add("alert-settings", AlertSettingsChanged(occurred_at=at(0), expiry_warning_days=3))
        h.add(STOCK, received(10, expires=date(2026, 3, 4))).tick(1)
        [lot] = await h.alerts()
        assert lot["title"] == "Croissant expiring in 2 days at centro"

    async def test_store_local_day(self, pg_url: str) -> None:
        h = History(pg_url).add(
            "tenant",
            StoreOpened(
                occurred_at=at(0),
                store_id="centro",
                name="Centro",
                kind=StoreKind.SHOP,
                timezone="Europe/Madrid",
                region="ES-MD",
            ),
        )
        h.add("product-croissant", product(shelf_life=3))
        h.add(STOCK, received(10, expires=date(2026, 3, 4)))
        h.tick(43.5)  # 3 March 23:30 UTC is already 4 March in Madrid
        [lot] = await h.alerts()
        assert lot["deadline"] == datetime(2026, 3, 4, 23, 0, tzinfo=UTC)


def order_suggested(qty: int = 100) -> ManufacturingOrderSuggested:
    return ManufacturingOrderSuggested(
        occurred_at=at(0),
        order_id="MO-1",
        sku="croissant",
        quantity=D(qty),
        production_date=date(2026, 3, 3),
        producing_store_id="centro",
        destination_store_id="centro",
        reason="forecast",
    )


class TestProduction:
    async def test_unconfirmed_plan_then_late_start_clear_when_acted_on(self, pg_url: str) -> None:
        h = History(pg_url).add("product-croissant", product())
        h.add("mo-MO-1", order_suggested()).tick(12)  # 2 March 16:00; start 3 March 05:00
        assert await h.open_types() == []
        h.tick(17)  # 21:00: 8 h before the start (default: 12 h)
        [plan] = await h.alerts()
        assert plan["type"] == "plan_unconfirmed" and plan["order_id"] == "MO-1"
        assert plan["deadline"] == datetime(2026, 3, 3, 5, tzinfo=UTC)
        assert plan["euros"] == D("150.00") and plan["urgency_why"] == "it starts in 8 h"
        h.add(
            "mo-MO-1",
            ManufacturingOrderConfirmed(occurred_at=at(18), order_id="MO-1", confirmed_by="ana"),
        )
        assert await h.open_types() == []
        h.tick(26)  # 3 March 06:00: an hour past the start, not started
        assert await h.open_types() == ["production_late"]
        h.add(
            "mo-MO-1",
            ManufacturingOrderStarted(occurred_at=at(26.5), order_id="MO-1", started_by="pau"),
        )
        assert await h.open_types() == []

    async def test_failed_quality_check_until_a_passing_one(self, pg_url: str) -> None:
        h = History(pg_url).add("product-croissant", product())

        def check(hours: float, passed: bool) -> QualityCheckRecorded:
            return QualityCheckRecorded(
                occurred_at=at(hours),
                order_id="MO-1",
                batch_id="B1",
                score=55 if not passed else 90,
                passed=passed,
                issues=("underbaked",) if not passed else (),
                checked_by="pau",
            )

        h.add("mo-MO-1", order_suggested(), check(1, False))
        [q] = await h.alerts()
        assert q["type"] == "quality_failed" and "score 55 (underbaked)" in q["description"]
        h.add("mo-MO-1", check(2, True))
        assert await h.open_types() == []

    async def test_batches_past_their_expected_end_until_completed(self, pg_url: str) -> None:
        h = History(pg_url).add("product-croissant", product())
        h.add(
            "recipe-croissant",
            RecipeVersioned(
                occurred_at=at(0),
                sku="croissant",
                version=1,
                yield_quantity=D(60),
                lines=(RecipeLine(ingredient_id="butter", quantity=D(3)),),
                bake_minutes=50,
            ),
        )
        h.add(
            "mo-MO-1",
            order_suggested(),  # 100 croissants: 2 batches of 60 x 50 min
            ManufacturingOrderConfirmed(occurred_at=at(1), order_id="MO-1", confirmed_by="ana"),
            ManufacturingOrderStarted(occurred_at=at(25), order_id="MO-1", started_by="pau"),
        )
        h.tick(26)  # 3 March 06:00: due out at 06:40
        assert await h.open_types() == []
        h.tick(27)
        [late] = await h.alerts()
        assert late["type"] == "batch_overdue" and late["order_id"] == "MO-1"
        assert late["urgency_why"] == "its batches were due out 0 h ago"
        assert late["euros"] == D("150.00") and late["score"] == 65
        h.add(
            "mo-MO-1",
            ManufacturingOrderCompleted(
                occurred_at=at(27.5),
                order_id="MO-1",
                quantity_produced=D(100),
                destination_store_id="centro",
                lot_id="L-MO-1",
                expires_on=date(2026, 3, 4),
            ),
        )
        [done] = await h.alerts()
        assert done["status"] == "resolved" and done["auto_resolved"]

    async def test_cancelled_order_clears_its_alerts(self, pg_url: str) -> None:
        h = History(pg_url).add("mo-MO-1", order_suggested()).tick(20)
        assert await h.open_types() == ["plan_unconfirmed"]
        h.add(
            "mo-MO-1",
            ManufacturingOrderCancelled(
                occurred_at=at(21), order_id="MO-1", reason="oven down", cancelled_by="ana"
            ),
        )
        assert await h.open_types() == []


class TestShortageRisk:
    async def test_tomorrows_supply_below_the_forecast_until_the_plan_covers_it(
        self, pg_url: str
    ) -> None:
        h = History(pg_url).add("product-croissant", product())
        h.add(
            "forecast-centro-croissant",
            ForecastPublished(
                occurred_at=at(0),
                forecast_id="f1",
                store_id="centro",
                sku="croissant",
                model="ets",
                model_version="1",
                interval_level=0.8,
                points=(
                    ForecastPoint(day=date(2026, 3, 2), mean=D(90), lower=D(70), upper=D(110)),
                    ForecastPoint(day=date(2026, 3, 3), mean=D(100), lower=D(80), upper=D(120)),
                ),
            ),
        )
        h.add(STOCK, received(10)).add("mo-MO-1", order_suggested(60)).tick(1)
        assert await h.alerts() == []  # 24 h before the start: the plan may still change
        h.tick(17)  # 2 March 21:00, 8 h before
        [risk] = await h.alerts("type = 'shortage_risk'")
        assert risk["type"] == "shortage_risk" and risk["units"] == D(30)
        assert risk["euros"] == D("45.00") and risk["confidence"] == 80  # 70 < lower bound 80
        assert "forecast 100 unit for 2026-03-03; 10 in stock and 60 planned" in risk["description"]
        assert risk["deadline"] == datetime(2026, 3, 3, 5, tzinfo=UTC)
        assert (
            risk["urgency"] == 60
            and risk["urgency_why"] == "production for 2026-03-03 starts in 8 h"
        )
        h.add(STOCK, received(15, 18, lot="L2"))  # 85: inside the interval now
        [risk] = await h.alerts("type = 'shortage_risk'")
        assert risk["units"] == D(15) and risk["confidence"] == 50
        h.add(
            "mo-MO-1",
            ManufacturingOrderEdited(
                occurred_at=at(3),
                order_id="MO-1",
                quantity=D(80),
                production_date=date(2026, 3, 3),
                edited_by="ana",
            ),
        )
        assert await h.open_types() == ["plan_unconfirmed"]

    async def test_a_completed_order_counts_until_its_lot_arrives(self, pg_url: str) -> None:
        h = History(pg_url).add("product-croissant", product())
        h.add("mo-MO-1", order_suggested(60)).tick(17)
        h.add(
            "forecast-centro-croissant",
            ForecastPublished(
                occurred_at=at(17),
                forecast_id="f1",
                store_id="centro",
                sku="croissant",
                model="ets",
                model_version="1",
                interval_level=0.8,
                points=(ForecastPoint(day=date(2026, 3, 3), mean=D(50), lower=D(40), upper=D(60)),),
            ),
        )
        h.add(
            "mo-MO-1",
            ManufacturingOrderCompleted(
                occurred_at=at(18),
                order_id="MO-1",
                quantity_produced=D(60),
                destination_store_id="centro",
                lot_id="mo-MO-1",
                expires_on=None,
            ),
        )
        h.add(
            STOCK,
            StockReceived(
                occurred_at=at(18),
                store_id="centro",
                item_id="croissant",
                item_kind=ItemKind.PRODUCT,
                lot_id="mo-MO-1",
                quantity=D(60),
                expires_on=None,
                unit_cost=D("0.40"),
                manufacturing_order_id="MO-1",
            ),
        ).tick(19)
        # never raised, not even between the two events
        assert await h.alerts("type = 'shortage_risk'") == []
        h.add(STOCK, sold(30, 19.5, lot="mo-MO-1"))
        assert await h.open_types() == ["shortage_risk"]  # 30 left for a forecast of 50


def butter(qty: int, hours: float, lot: str) -> StockReceived:
    return StockReceived(
        occurred_at=at(hours),
        store_id="centro",
        item_id="butter",
        item_kind=ItemKind.INGREDIENT,
        lot_id=lot,
        quantity=D(qty),
        expires_on=None,
        unit_cost=D("8.00"),
    )


def _butter_history(pg_url: str) -> History:
    """Croissants need butter; butter and croissants low at Centro; MO-1 confirmed."""
    h = History(pg_url).add("product-croissant", product())
    h.add(
        "recipe-croissant",
        RecipeVersioned(
            occurred_at=at(0),
            sku="croissant",
            version=1,
            yield_quantity=D(60),
            lines=(RecipeLine(ingredient_id="butter", quantity=D(3)),),
        ),
    )
    h.add(
        "ingredient-butter",
        IngredientDefined(
            occurred_at=at(0),
            ingredient_id="butter",
            name="Butter",
            unit="kg",
            unit_cost=D("8.00"),
            shelf_life_days=30,
            reorder_point=D(5),
            reorder_quantity=D(20),
        ),
    )

    h.add("stock-centro-butter", butter(2, 0, "B1"))
    h.add(
        STOCK,
        received(5),
        ProductStockPolicySet(
            occurred_at=at(0),
            sku="croissant",
            store_id="centro",
            reorder_point=D(10),
            target_stock=D(30),
        ),
    )
    h.add(
        "mo-MO-1",
        order_suggested(),
        ManufacturingOrderConfirmed(occurred_at=at(1), order_id="MO-1", confirmed_by="ana"),
    )
    return h


class TestChaining:
    async def test_a_shortage_links_to_the_late_production_that_should_refill_it(
        self, pg_url: str
    ) -> None:
        h = History(pg_url).add("product-croissant", product())
        h.add(
            STOCK,
            received(5),
            ProductStockPolicySet(
                occurred_at=at(0),
                sku="croissant",
                store_id="centro",
                reorder_point=D(10),
                target_stock=D(30),
            ),
        )
        h.add(
            "mo-MO-1",
            order_suggested(),
            ManufacturingOrderConfirmed(occurred_at=at(1), order_id="MO-1", confirmed_by="ana"),
        )
        [low] = await h.alerts()
        assert low["type"] == "low_stock" and low["caused_by"] == ""  # on time so far
        h.tick(26)  # 3 March 06:00: the order should have started at 05:00
        low, late = await h.alerts()
        assert late["type"] == "production_late"
        assert low["caused_by"] == late["dedup_key"] == "production_late:MO-1"
        h.add(
            "mo-MO-1",
            ManufacturingOrderStarted(occurred_at=at(26.5), order_id="MO-1", started_by="pau"),
        )
        [low] = await h.alerts("status <> 'resolved'")
        assert low["caused_by"] == ""

    async def test_an_ingredient_shortage_links_to_the_production_it_holds_up(
        self, pg_url: str
    ) -> None:
        h = _butter_history(pg_url)
        assert await h.open_types() == ["low_stock", "low_stock"]
        h.tick(26)  # 3 March 06:00: the order should have started at 05:00
        alerts = {a["dedup_key"]: a for a in await h.alerts()}
        late = alerts["production_late:MO-1"]
        assert late["caused_by"] == "low_stock:centro:butter"
        assert alerts["low_stock:centro:croissant"]["caused_by"] == "production_late:MO-1"
        assert alerts["low_stock:centro:butter"]["caused_by"] == ""
        h.add("stock-centro-butter", butter(20, 26.2, "B2"))
        h.tick(27)  # butter is back: the late start is no longer the butter's doing
        alerts = {a["dedup_key"]: a for a in await h.alerts()}
        assert alerts["low_stock:centro:butter"]["status"] == "resolved"
        assert alerts["production_late:MO-1"]["caused_by"] == ""


class TestDeliveries:
    async def test_due_soon_overdue_incomplete_received(self, pg_url: str) -> None:
        po = "po-PO-7"
        h = (
            History(pg_url)
            .add(
                po,
                PurchaseOrderDrafted(
                    occurred_at=at(0),
                    po_id="PO-7",
                    supplier_id="harinera",
                    store_id="centro",
                    lines=(
                        PurchaseOrderLine(item_id="flour", quantity=D(100), unit_price=D("0.6")),
                    ),
                    expected_delivery_at=at(48),
                    drafted_by="ana",
                ),
                PurchaseOrderApproved(occurred_at=at(0), po_id="PO-7", approved_by="olga"),
                PurchaseOrderSent(occurred_at=at(0), po_id="PO-7", sent_by="ana"),
            )
            .tick(1)
        )
        assert await h.open_types() == []
        h.tick(30)
        [soon] = await h.alerts()
        assert soon["type"] == "delivery_due_soon" and soon["severity"] == "low"
        assert soon["supplier_id"] == "harinera" and soon["euros"] == D("60.0")
        h.tick(50)
        assert await h.open_types() == ["delivery_overdue"]

        def receipt(hours: float, qty: int, complete: bool) -> PurchaseOrderReceived:
            line = ReceivedLine(
                item_id="flour",
                quantity=D(qty),
                lot_id=f"F{hours}",
                expires_on=None,
                unit_cost=D("0.6"),
            )
            return PurchaseOrderReceived(
                occurred_at=at(hours),
                po_id="PO-7",
                delivery_id=f"d{hours}",
                lines=(line,),
                complete=complete,
                received_by="pau",
            )

        h.add(po, receipt(51, 60, False))
        assert await h.open_types() == ["receipt_incomplete"]
        h.add(po, receipt(52, 40, True))
        assert await h.open_types() == []


class TestEquipment:
    async def test_temperature_breach_until_back_in_range(self, pg_url: str) -> None:
        def reading(hours: float, celsius: str) -> TemperatureRecorded:
            c = D(celsius)
            return TemperatureRecorded(
                occurred_at=at(hours),
                store_id="centro",
                equipment_id="fridge-1",
                celsius=c,
                min_celsius=D(0),
                max_celsius=D(5),
                within_limits=D(0) <= c <= D(5),
            )

        h = History(pg_url).add(
            "equipment-fridge-1",
            EquipmentRegistered(
                occurred_at=at(0),
                equipment_id="fridge-1",
                store_id="centro",
                name="Cream fridge",
                kind="fridge",
                maintenance_interval_days=90,
            ),
            reading(1, "4"),
            reading(2, "9.5"),
        )
        [temp] = await h.alerts()
        assert temp["type"] == "temperature" and temp["severity"] in ("high", "urgent")
        assert "9.5 °C" in temp["description"] and temp["equipment_id"] == "fridge-1"
        h.add("equipment-fridge-1", reading(3, "3"))
        assert await h.open_types() == []

    async def test_maintenance_due_until_performed(self, pg_url: str) -> None:
        h = (
            History(pg_url)
            .add(
                "equipment-oven-1",
                EquipmentRegistered(
                    occurred_at=at(0),
                    equipment_id="oven-1",
                    store_id="centro",
                    name="Deck oven",
                    kind="oven",
                    maintenance_interval_days=90,
                ),
                EquipmentMaintenanceScheduled(
                    occurred_at=at(0),
                    equipment_id="oven-1",
                    due_on=date(2026, 3, 5),
                    description="Burner check",
                ),
            )
            .tick(1)
        )
        assert await h.open_types() == []
        h.tick(48)  # 4 March: due tomorrow
        [due] = await h.alerts()
        assert due["title"] == "Maintenance due: Deck oven"
        h.tick(96)  # 6 March: overdue
        [due] = await h.alerts()
        assert due["title"] == "Maintenance overdue: Deck oven" and due["urgency"] == 70
        h.add(
            "equipment-oven-1",
            EquipmentMaintenancePerformed(
                occurred_at=at(97),
                equipment_id="oven-1",
                performed_on=date(2026, 3, 6),
                next_due_on=date(2026, 6, 4),
            ),
        )
        assert await h.open_types() == []


async def _stockout(h: History, hours: float) -> None:
    h.add(STOCK, sold(5, hours, lot=h.lot))


def _restock(h: History, hours: float) -> None:
    h.lot = f"L{hours}"
    h.add(STOCK, received(5, hours, lot=h.lot))


def _stocked(pg_url: str) -> History:
    h = History(pg_url).add("product-croissant", product())
    h.add(
        STOCK,
        received(5, 0, lot="L1"),
        ProductStockPolicySet(
            occurred_at=at(0),
            sku="croissant",
            store_id="centro",
            reorder_point=D(1),
            target_stock=D(5),
        ),
        sold(5, 1, lot="L1"),
    )
    return h


class TestLifecycle:
    async def test_acknowledge_snooze_wake_resolve(self, pg_url: str) -> None:
        h = _stocked(pg_url)
        [out] = await h.alerts()
        aid = out["alert_id"]
        assert aid.startswith("al-") and aid.endswith("-1")
        h.add(f"alert-{aid}", AlertAcknowledged(occurred_at=at(2), alert_id=aid, by="ana"))
        [out] = await h.alerts()
        assert (out["status"], out["acknowledged_by"]) == ("acknowledged", "ana")
        h.add(f"alert-{aid}", AlertSnoozed(occurred_at=at(3), alert_id=aid, by="ana", until=at(6)))
        h.tick(5)
        [out] = await h.alerts()
        assert out["status"] == "snoozed" and out["snoozed_until"] == at(6)
        h.tick(6)
        [out] = await h.alerts()
        assert out["status"] == "acknowledged" and out["snoozed_until"] is None
        h.add(
            f"alert-{aid}",
            AlertResolved(
                occurred_at=at(7), alert_id=aid, by="ana", note="moved stock from Gracia"
            ),
        )
        [out] = await h.alerts()
        assert (out["status"], out["resolution"]) == ("resolved", "moved stock from Gracia")
        assert out["auto_resolved"] is False and out["active"] is True
        h.tick(8)  # the condition still holds: a person resolved it, it stays resolved
        assert await h.open_types() == []

    async def test_unacknowledged_alerts_escalate_at_48_and_72_hours(self, pg_url: str) -> None:
        h = _stocked(pg_url)
        [out] = await h.alerts()
        base = out["base_score"]
        h.tick(48)
        assert (await h.alerts())[0]["score"] == base
        h.tick(49)
        [out] = await h.alerts()
        assert (
            out["score"] == base + 10 and out["escalation_why"] == "unacknowledged for 48 h (+10)"
        )
        h.tick(73)
        assert (await h.alerts())[0]["score"] == min(100, base + 20)
        aid = out["alert_id"]
        h.add(f"alert-{aid}", AlertAcknowledged(occurred_at=at(74), alert_id=aid, by="ana"))
        assert (await h.alerts())[0]["score"] == base

    async def test_repeats_within_24_hours_merge_later_ones_open_a_new_alert(
        self, pg_url: str
    ) -> None:
        h = _stocked(pg_url)  # out at 1 h
        _restock(h, 2)
        await _stockout(h, 3)
        [one] = await h.alerts()
        assert one["occurrences"] == 2 and one["status"] == "raised" and one["raised_at"] == at(1)
        _restock(h, 4)
        await _stockout(h, 29)  # cleared at 4 h, back 25 h later: a new alert
        first, second = await h.alerts()
        assert first["status"] == "resolved" and first["occurrences"] == 2
        assert second["status"] == "raised" and second["occurrences"] == 1
        assert second["alert_id"].endswith("-2") and second["dedup_key"] == first["dedup_key"]


class TestDeterminism:
    async def test_batches_do_not_change_the_result(self, pg_url: str) -> None:
        h = _stocked(pg_url)
        _restock(h, 2)
        await _stockout(h, 3)
        h.add("mo-MO-1", order_suggested()).tick(20).tick(50)
        h.add(STOCK, received(10, 51, lot="X", expires=date(2026, 3, 4))).tick(70)
        await project(pg_url, MODEL, h.log.events, batch=1)
        one_by_one = await dump(pg_url, [MODEL])
        assert any(
            '"plan_unconfirmed"' in r or "plan_unconfirmed" in r for r in one_by_one["rm_alerts"]
        )
        for sizes in (None, [2, 5, 3], 1000):
            await wipe(pg_url, [MODEL])
            await project(pg_url, MODEL, h.log.events, batch=sizes)  # type: ignore[arg-type]
            assert await dump(pg_url, [MODEL]) == one_by_one

    async def test_the_ingredient_chain_does_not_depend_on_batches(self, pg_url: str) -> None:
        h = _butter_history(pg_url).tick(26).tick(30)
        await project(pg_url, MODEL, h.log.events, batch=1)
        one_by_one = await dump(pg_url, [MODEL])
        assert any("low_stock:centro:butter" in str(r) for r in one_by_one["rm_alerts"])
        for sizes in ([2, 5, 3], 1000):
            await wipe(pg_url, [MODEL])
            await project(pg_url, MODEL, h.log.events, batch=sizes)  # type: ignore[arg-type]
            assert await dump(pg_url, [MODEL]) == one_by_one
