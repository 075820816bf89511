"""The rest of the write side through handle(): catalogue, alerts, equipment, forecasts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from commands_kit import AT, Run, Store, events_of, set_up_chain

from commands.handlers import HANDLERS
from commands.types import (
    COMMAND_TYPES,
    AcknowledgeAlert,
    DiscontinueProduct,
    PublishForecast,
    RecordTemperature,
    RegisterEquipment,
    ResolveAlert,
    SetProductStockPolicy,
    SnoozeAlert,
    VersionRecipe,
)
from domain.access import Actor
from domain.errors import IllegalTransition, InvalidValue, PermissionDenied
from domain.events import RecipeVersioned, TemperatureRecorded
from domain.events.catalogue import RecipeLine
from domain.events.forecasting import ForecastPoint
from domain.events.organisation import Role

D = Decimal


def test_every_command_type_has_a_handler() -> None:
    assert set(HANDLERS) == set(COMMAND_TYPES.values())


class TestCatalogue:
    async def test_recipes_are_numbered_one_after_another(
        self, run: Run, any_store: Store, tenant: str
    ) -> None:
        for flour in ("10", "9.5"):
            await run(
                VersionRecipe(
                    sku="baguette",
                    yield_quantity=D(40),
                    lines=(RecipeLine(ingredient_id="flour", quantity=D(flour)),),
                )
            )
        versions = await events_of(any_store, tenant, "recipe-baguette")
        assert [v.version for v in versions if isinstance(v, RecipeVersioned)] == [1, 2]

    async def test_a_recipe_may_say_how_long_a_batch_takes(
        self, run: Run, any_store: Store, tenant: str
    ) -> None:
        line = (RecipeLine(ingredient_id="flour", quantity=D(10)),)
        await run(VersionRecipe(sku="baguette", yield_quantity=D(40), lines=line, bake_minutes=35))
        [recipe] = await events_of(any_store, tenant, "recipe-baguette")
        assert isinstance(recipe, RecipeVersioned) and recipe.bake_minutes == 35
        with pytest.raises(InvalidValue) as refused:
            await run(
                VersionRecipe(sku="baguette", yield_quantity=D(40), lines=line, bake_minutes=0)
            )
        assert refused.value.field == "bake_minutes"

    async def test_a_product_is_discontinued_once(self, run: Run) -> None:
        await set_up_chain(run)
        await run(DiscontinueProduct(sku="baguette", reason="seasonal"))
        with pytest.raises(IllegalTransition):
            await run(DiscontinueProduct(sku="baguette", reason="again"))

    async def test_a_target_below_the_reorder_point_is_refused(self, run: Run) -> None:
        await set_up_chain(run)
        with pytest.raises(InvalidValue) as refused:
            await run(
                SetProductStockPolicy(
                    sku="baguette", store_id="born", reorder_point=D(20), target_stock=D(10)
                )
            )
        assert refused.value.field == "target_stock"


class TestAlerts:
    async def test_acknowledge_snooze_resolve_and_nothing_after(
        self, run: Run, any_store: Store, tenant: str
    ) -> None:
        await run(AcknowledgeAlert(alert_id="low-stock-born-baguette"))
        await run(SnoozeAlert(alert_id="low-stock-born-baguette", until=AT + timedelta(hours=2)))
        await run(ResolveAlert(alert_id="low-stock-born-baguette", note="delivery arrived"))
        with pytest.raises(IllegalTransition):
            await run(AcknowledgeAlert(alert_id="low-stock-born-baguette"))
        assert len(await events_of(any_store, tenant, "alert-low-stock-born-baguette")) == 3

    async def test_a_store_manager_must_name_the_alerts_store(self, run: Run) -> None:
        manager = Actor(user_id="mar", role=Role.STORE_MANAGER, store_ids=frozenset({"born"}))
        with pytest.raises(PermissionDenied):
            await run(AcknowledgeAlert(alert_id="a1"), actor=manager)
        await run(AcknowledgeAlert(alert_id="a1", store_id="born"), actor=manager)


class TestEquipment:
    async def test_an_out_of_range_reading_is_recorded_and_flagged(
        self, run: Run, any_store: Store, tenant: str
    ) -> None:
        await run(
            RegisterEquipment(
                equipment_id="fridge-born",
                store_id="born",
                name="Cream fridge",
                kind="fridge",
                maintenance_interval_days=90,
            )
        )
        await run(RecordTemperature(equipment_id="fridge-born", celsius=D("7.5")))
        reading = (await events_of(any_store, tenant, "equipment-fridge-born"))[-1]
        assert isinstance(reading, TemperatureRecorded)
        assert (reading.within_limits, reading.max_celsius) == (False, D(5))

    async def test_a_manager_elsewhere_cannot_log_this_fridge(self, run: Run) -> None:
        await run(
            RegisterEquipment(
                equipment_id="fridge-born",
                store_id="born",
                name="Cream fridge",
                kind="fridge",
                maintenance_interval_days=90,
            )
        )
        other = Actor(user_id="eva", role=Role.STORE_MANAGER, store_ids=frozenset({"gracia"}))
        with pytest.raises(PermissionDenied):
            await run(RecordTemperature(equipment_id="fridge-born", celsius=D(3)), actor=other)


async def test_a_forecast_is_published_once_per_forecast_id(
    run: Run, any_store: Store, tenant: str
) -> None:
    forecast = PublishForecast(
        forecast_id="f-2026-01-05",
        store_id="born",
        sku="baguette",
        model="lightgbm",
        model_version="3",
        interval_level=0.8,
        points=(ForecastPoint(day=date(2026, 1, 6), mean=D(76), lower=D(67), upper=D(85)),),
    )
    await run(forecast, actor=Actor(user_id="forecaster", role=Role.PLANNER))
    await run(forecast, actor=Actor(user_id="forecaster", role=Role.PLANNER))
    assert len(await events_of(any_store, tenant, "forecast-born-baguette")) == 1
