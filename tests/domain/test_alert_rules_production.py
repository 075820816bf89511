"""Pure alert rules on production: batches past their expected end, ingredient shortages."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import msgspec
import pytest

from domain import alert_fold, catalogue
from domain.alert_facts import ItemFacts, Lot, OrderFacts, StockFacts, TenantFacts
from domain.alert_rules import Context, evaluate
from domain.alert_rules_stock import ingredient_causes
from domain.errors import InvalidValue
from domain.events import (
    ManufacturingOrderCompleted,
    ManufacturingOrderStarted,
    ManufacturingOrderSuggested,
    ProductDefined,
    RecipeVersioned,
)
from domain.events.catalogue import RecipeLine

D = Decimal
START = datetime(2026, 3, 3, 5, 0, tzinfo=UTC)


def _product(bake_minutes: int | None) -> ItemFacts:
    defined = ProductDefined(
        occurred_at=START,
        sku="baguette",
        name="Baguette",
        category="bread",
        price=D("1.20"),
        unit_cost=D("0.30"),
        shelf_life_days=1,
    )
    item = alert_fold.fresh("item/baguette", defined)
    assert isinstance(item, ItemFacts)
    alert_fold.fold(
        item,
        RecipeVersioned(
            occurred_at=START,
            sku="baguette",
            version=1,
            yield_quantity=D(50),
            lines=(
                RecipeLine(ingredient_id="flour", quantity=D(10)),
                RecipeLine(ingredient_id="salt", quantity=D("0.2")),
            ),
            bake_minutes=bake_minutes,
        ),
    )
    return item


def _started(quantity: int = 120) -> OrderFacts:
    order = alert_fold.fresh(
        "mo/MO-1",
        ManufacturingOrderSuggested(
            occurred_at=START - timedelta(hours=20),
            order_id="MO-1",
            sku="baguette",
            quantity=D(quantity),
            production_date=START.date(),
            producing_store_id="obrador",
            destination_store_id="centro",
            reason="forecast",
        ),
    )
    assert isinstance(order, OrderFacts)
    alert_fold.fold(
        order, ManufacturingOrderStarted(occurred_at=START, order_id="MO-1", started_by="pau")
    )
    return order


def _types(order: OrderFacts, item: ItemFacts, now: datetime) -> list[str]:
    ctx = Context(now=now, tenant=TenantFacts(), items=lambda _: item)
    return [c.type for c in evaluate(order, ctx)]


class TestBatchOverdue:
    def test_the_recipe_gives_the_folded_facts(self) -> None:
        item = _product(45)
        assert item.ingredients == ("flour", "salt")
        assert (item.batch_yield, item.bake_minutes) == (D(50), 45)
        assert _started().started_at == START

    def test_fires_once_every_batch_should_be_out(self) -> None:
        item, order = _product(45), _started(120)  # 3 batches of 50 x 45 min = 2 h 15
        assert _types(order, item, START + timedelta(hours=2, minutes=15)) == []
        [cond] = evaluate(
            order,
            Context(now=START + timedelta(hours=3), tenant=TenantFacts(), items=lambda _: item),
        )
        assert cond.type == "batch_overdue" and cond.key == "batch_overdue:MO-1"
        assert cond.factors.urgency.why == "its batches were due out 1 h ago"
        assert "expected out by 2026-03-03 07:15" in cond.description
        assert cond.euros == D("144.00") and cond.related.order_id == "MO-1"

    def test_clears_when_completed(self) -> None:
        item, order = _product(45), _started(120)
        alert_fold.fold(
            order,
            ManufacturingOrderCompleted(
                occurred_at=START + timedelta(hours=4),
                order_id="MO-1",
                quantity_produced=D(120),
                destination_store_id="centro",
                lot_id="L-MO-1",
                expires_on=date(2026, 3, 4),
            ),
        )
        assert _types(order, item, START + timedelta(hours=5)) == []

    def test_a_recipe_without_minutes_never_fires(self) -> None:
        assert _types(_started(), _product(None), START + timedelta(hours=12)) == []

    def test_after_the_production_day_it_is_production_overdue_instead(self) -> None:
        item, order = _product(45), _started(120)
        assert _types(order, item, START + timedelta(hours=19)) == ["production_overdue"]


class TestRecipeMinutes:
    def test_bake_minutes_are_kept_on_the_recipe_and_checked(self) -> None:
        lines = (RecipeLine(ingredient_id="flour", quantity=D(1)),)
        state = catalogue.RecipeState()
        [ev] = catalogue.version_recipe(
            state, sku="baguette", yield_quantity=D(50), lines=lines, at=START, bake_minutes=40
        )
        assert isinstance(ev, RecipeVersioned) and ev.bake_minutes == 40
        with pytest.raises(InvalidValue) as err:
            catalogue.version_recipe(
                state, sku="baguette", yield_quantity=D(50), lines=lines, at=START, bake_minutes=0
            )
        assert err.value.field == "bake_minutes"

    def test_an_old_recipe_event_without_minutes_still_decodes(self) -> None:
        raw = (
            b'{"occurred_at":"2026-03-03T05:00:00Z","sku":"baguette","version":1,'
            b'"yield_quantity":"50","lines":[{"ingredient_id":"flour","quantity":"10"}]}'
        )
        assert msgspec.json.decode(raw, type=RecipeVersioned).bake_minutes is None


def _flour(qty: str) -> tuple[ItemFacts, StockFacts]:
    flour = ItemFacts(
        kind="ingredient",
        name="Flour",
        unit="kg",
        price=None,
        unit_cost=D("0.60"),
        shelf_life_days=180,
        reorder_point=D(50),
    )
    lots = {"F1": Lot(D(qty), None, D("0.60"))} if D(qty) > 0 else {}
    return flour, StockFacts(store_id="obrador", item_id="flour", lots=lots)


class TestIngredientChain:
    def _ctx(self, now: datetime, flour_qty: str) -> Context:
        product = _product(45)
        flour, stock = _flour(flour_qty)
        items = {"baguette": product, "flour": flour}
        stocks = {("obrador", "flour"): stock}
        return Context(
            now=now,
            tenant=TenantFacts(),
            items=items.get,
            stocks=lambda store, item: stocks.get((store, item)),
        )

    def _order(self, status: str, day: date) -> OrderFacts:
        return OrderFacts(
            order_id="MO-1",
            sku="baguette",
            quantity=D(120),
            production_date=day,
            producing_store_id="obrador",
            destination_store_id="centro",
            status=status,
        )

    def test_an_unconfirmed_plan_is_caused_by_the_ingredient_out_where_it_is_baked(self) -> None:
        ctx = self._ctx(START - timedelta(hours=6), "0")
        [plan] = evaluate(self._order("suggested", START.date()), ctx)
        assert plan.type == "plan_unconfirmed"
        assert plan.caused_by == ("stockout:obrador:flour",)
        low = self._ctx(START - timedelta(hours=6), "20")
        assert evaluate(self._order("suggested", START.date()), low)[0].caused_by == (
            "low_stock:obrador:flour",
        )

    def test_a_late_start_links_while_the_ingredient_is_short_only(self) -> None:
        late = START + timedelta(hours=1)
        [cond] = evaluate(self._order("confirmed", START.date()), self._ctx(late, "0"))
        assert cond.type == "production_late" and cond.caused_by == ("stockout:obrador:flour",)
        [cond] = evaluate(self._order("confirmed", START.date()), self._ctx(late, "80"))
        assert cond.caused_by == ()

    def test_only_suggested_or_confirmed_orders_of_today_or_tomorrow(self) -> None:
        ctx = self._ctx(START - timedelta(hours=6), "0")
        today = ctx.today("obrador")  # 2 March, 23:00
        assert ingredient_causes("baguette", "obrador", today, "confirmed", ctx) == (
            "stockout:obrador:flour",
        )
        tomorrow = today + timedelta(days=1)
        assert ingredient_causes("baguette", "obrador", tomorrow, "suggested", ctx) != ()
        later = today + timedelta(days=2)
        assert ingredient_causes("baguette", "obrador", later, "suggested", ctx) == ()
        assert ingredient_causes("baguette", "obrador", today, "in_progress", ctx) == ()
        assert ingredient_causes("baguette", "centro", today, "confirmed", ctx) == ()
