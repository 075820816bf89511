"""Manufacturing orders through their life, the stock they make and the flour they use."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from commands_kit import Run, Store, events_of, set_up_chain, stock_of

from commands.runtime import ConcurrencyConflict
from commands.types import (
    CancelManufacturingOrder,
    CompleteManufacturingOrder,
    ConfirmManufacturingOrder,
    DefineIngredient,
    EditManufacturingOrder,
    ReceiveStock,
    RecordBatch,
    RecordQualityCheck,
    StartManufacturingOrder,
    SuggestManufacturingOrder,
    VersionRecipe,
)
from domain.access import Actor
from domain.errors import IllegalTransition, InsufficientStock, InvalidValue, PermissionDenied
from domain.events import BatchCompleted, ManufacturingOrderCompleted
from domain.events.catalogue import RecipeLine
from domain.events.inventory import ItemKind
from domain.events.organisation import Role

D = Decimal
BAKER = Actor(user_id="pau", role=Role.PRODUCTION_MANAGER)
OUTLET_MANAGER = Actor(user_id="mar", role=Role.STORE_MANAGER, store_ids=frozenset({"born"}))


def suggested(order_id: str = "mo-1", qty: int = 80) -> SuggestManufacturingOrder:
    return SuggestManufacturingOrder(
        order_id=order_id,
        sku="baguette",
        quantity=D(qty),
        production_date=date(2026, 1, 6),
        producing_store_id="central",
        destination_store_id="born",
        reason="forecast 76 ± 9",
    )


async def in_progress(run: Run, order_id: str = "mo-1") -> None:
    await set_up_chain(run)
    await run(suggested(order_id))
    await run(ConfirmManufacturingOrder(order_id=order_id), actor=BAKER)
    await run(StartManufacturingOrder(order_id=order_id), actor=BAKER)


class TestLifecycle:
    async def test_completing_raises_product_stock_at_the_destination(
        self, run: Run, any_store: Store, tenant: str
    ) -> None:
        await in_progress(run)
        result = await run(
            CompleteManufacturingOrder(order_id="mo-1", quantity_produced=D(78)), actor=BAKER
        )
        assert [a.stream_id for a in result.appended] == ["mo-mo-1", "stock-born-baguette"]
        stock = await stock_of(any_store, tenant, "born", "baguette")
        assert stock.on_hand == D(78)
        lot = stock.lots["mo-mo-1"]
        assert (lot.expires_on, lot.unit_cost) == (date(2026, 1, 7), D("0.35"))

    async def test_completion_and_its_lot_commit_together_or_not_at_all(
        self, run: Run, any_store: Store, tenant: str
    ) -> None:
        await in_progress(run)
        # someone slips a write into the destination stock between read and append:
        # the atomic group is refused as a whole and re-decided on fresh state
        original = any_store.append_many
        calls: list[bool] = []

        async def racing(requests, *, atomic=False):  # type: ignore[no-untyped-def]
            calls.append(atomic)
            if atomic and len(calls) == 1:
                from datetime import UTC, datetime

                from domain.codec import encode_event
                from domain.events.inventory import ItemKind, StockReceived
                from streams.envelope import NewEvent

                kind, version, payload = encode_event(
                    StockReceived(
                        occurred_at=datetime(2026, 1, 5, 6, tzinfo=UTC),
                        store_id="born",
                        item_id="baguette",
                        item_kind=ItemKind.PRODUCT,
                        lot_id="manual-1",
                        quantity=D(3),
                        expires_on=None,
                        unit_cost=D("0.35"),
                    )
                )
                await any_store.append(
                    tenant,
                    "stock-born-baguette",
                    [NewEvent(event_type=kind, schema_version=version, payload=payload)],
                )
            return await original(requests, atomic=atomic)

        any_store.append_many = racing  # type: ignore[method-assign]
        result = await run(
            CompleteManufacturingOrder(order_id="mo-1", quantity_produced=D(78)), actor=BAKER
        )
        assert calls == [True, True]  # refused once (nothing written), then both together
        assert [a.stream_id for a in result.appended] == ["mo-mo-1", "stock-born-baguette"]
        completions = [
            e
            for e in await events_of(any_store, tenant, "mo-mo-1")
            if isinstance(e, ManufacturingOrderCompleted)
        ]
        assert len(completions) == 1

    async def test_completing_a_cancelled_order_is_refused_and_writes_nothing(
        self, run: Run, any_store: Store, tenant: str
    ) -> None:
        await in_progress(run)
        await run(CancelManufacturingOrder(order_id="mo-1", reason="oven down"), actor=BAKER)
        with pytest.raises(IllegalTransition, match="cancelled"):
            await run(
                CompleteManufacturingOrder(order_id="mo-1", quantity_produced=D(5)), actor=BAKER
            )
        assert await any_store.read_stream(tenant, "stock-born-baguette") == []

    async def test_an_order_cannot_start_before_it_is_confirmed(self, run: Run) -> None:
        await set_up_chain(run)
        await run(suggested())
        with pytest.raises(IllegalTransition) as refused:
            await run(StartManufacturingOrder(order_id="mo-1"), actor=BAKER)
        assert (refused.value.field, refused.value.current) == ("status", "suggested")

    async def test_cancelling_needs_a_reason(self, run: Run) -> None:
        await set_up_chain(run)
        await run(suggested())
        with pytest.raises(InvalidValue) as refused:
            await run(CancelManufacturingOrder(order_id="mo-1", reason=" "), actor=BAKER)
        assert refused.value.field == "reason"

    async def test_a_resent_completion_makes_the_lot_once(
        self, run: Run, any_store: Store, tenant: str
    ) -> None:
        await in_progress(run)
        complete = CompleteManufacturingOrder(
            order_id="mo-1", quantity_produced=D(78), idempotency_key="tablet-42"
        )
        await run(complete, actor=BAKER)
        again = await run(complete, actor=BAKER)
        assert again.duplicate
        assert (await stock_of(any_store, tenant, "born", "baguette")).on_hand == D(78)
        completions = [
            e
            for e in await events_of(any_store, tenant, "mo-mo-1")
            if isinstance(e, ManufacturingOrderCompleted)
        ]
        assert len(completions) == 1


class TestEditing:
    async def test_quantity_and_date_can_change_while_confirmed(
        self, run: Run, any_store: Store, tenant: str
    ) -> None:
        await set_up_chain(run)
        await run(suggested())
        await run(ConfirmManufacturingOrder(order_id="mo-1"), actor=BAKER)
        await run(EditManufacturingOrder(order_id="mo-1", quantity=D(60)), actor=BAKER)
        await run(StartManufacturingOrder(order_id="mo-1"), actor=BAKER)
        with pytest.raises(IllegalTransition):
            await run(EditManufacturingOrder(order_id="mo-1", quantity=D(70)), actor=BAKER)

    async def test_an_edit_against_a_stale_version_is_a_conflict(self, run: Run) -> None:
        await set_up_chain(run)
        await run(suggested())  # version 1
        await run(ConfirmManufacturingOrder(order_id="mo-1"), actor=BAKER)  # version 2
        with pytest.raises(ConcurrencyConflict) as conflict:
            await run(
                EditManufacturingOrder(order_id="mo-1", quantity=D(60), expected_version=1),
                actor=BAKER,
            )
        assert conflict.value.field == "expected_version"


class TestScope:
    async def test_a_store_manager_cannot_run_another_stores_production(self, run: Run) -> None:
        await set_up_chain(run)
        await run(suggested())
        with pytest.raises(PermissionDenied, match="central"):
            await run(ConfirmManufacturingOrder(order_id="mo-1"), actor=OUTLET_MANAGER)

    async def test_an_auditor_cannot_suggest_orders(self, run: Run) -> None:
        with pytest.raises(PermissionDenied):
            await run(suggested(), actor=Actor(user_id="aud", role=Role.AUDITOR))


async def with_recipe_and_flour(run: Run, flour_kg: int) -> None:
    await run(
        DefineIngredient(
            ingredient_id="flour",
            name="Flour T65",
            unit="kg",
            unit_cost=D("0.60"),
            shelf_life_days=180,
            reorder_point=D(50),
            reorder_quantity=D(200),
        )
    )
    await run(
        DefineIngredient(
            ingredient_id="salt",
            name="Salt",
            unit="kg",
            unit_cost=D("0.30"),
            shelf_life_days=720,
            reorder_point=D(1),
            reorder_quantity=D(10),
        )
    )
    await run(
        VersionRecipe(
            sku="baguette",
            yield_quantity=D(40),
            lines=(
                RecipeLine(ingredient_id="flour", quantity=D(10)),
                RecipeLine(ingredient_id="salt", quantity=D("0.2")),
            ),
        )
    )
    for item, qty, expires in (("flour", flour_kg, date(2026, 3, 1)), ("salt", 5, None)):
        await run(
            ReceiveStock(
                store_id="central",
                item_id=item,
                item_kind=ItemKind.INGREDIENT,
                lot_id=f"{item}-lot-1",
                quantity=D(qty),
                expires_on=expires,
                unit_cost=D("0.60"),
            )
        )


class TestBatches:
    async def test_a_batch_takes_ingredients_per_the_recipe_and_records_yield(
        self, run: Run, any_store: Store, tenant: str
    ) -> None:
        await in_progress(run)
        await with_recipe_and_flour(run, flour_kg=25)
        await run(
            RecordBatch(order_id="mo-1", batch_id="b1", planned_quantity=D(80), actual_yield=D(77)),
            actor=BAKER,
        )
        assert (await stock_of(any_store, tenant, "central", "flour")).on_hand == D(5)
        assert (await stock_of(any_store, tenant, "central", "salt")).on_hand == D("4.6")
        batch = (await events_of(any_store, tenant, "mo-mo-1"))[-1]
        assert isinstance(batch, BatchCompleted)
        assert (batch.recipe_version, batch.actual_yield) == (1, D(77))
        assert {c.ingredient_id: c.quantity for c in batch.consumed} == {
            "flour": D(20),
            "salt": D("0.4"),
        }

    async def test_a_batch_without_enough_flour_is_refused_and_takes_nothing(
        self, run: Run, any_store: Store, tenant: str
    ) -> None:
        await in_progress(run)
        await with_recipe_and_flour(run, flour_kg=15)
        with pytest.raises(InsufficientStock):
            await run(
                RecordBatch(
                    order_id="mo-1", batch_id="b1", planned_quantity=D(80), actual_yield=D(80)
                ),
                actor=BAKER,
            )
        assert (await stock_of(any_store, tenant, "central", "salt")).on_hand == D(5)
        assert (await stock_of(any_store, tenant, "central", "flour")).on_hand == D(15)

    async def test_a_failed_quality_check_needs_a_corrective_action(self, run: Run) -> None:
        await in_progress(run)
        with pytest.raises(InvalidValue) as refused:
            await run(RecordQualityCheck(order_id="mo-1", score=40, passed=False), actor=BAKER)
        assert refused.value.field == "corrective_action"
        await run(
            RecordQualityCheck(
                order_id="mo-1",
                score=40,
                passed=False,
                issues=("underproofed",),
                corrective_action="longer proof",
            ),
            actor=BAKER,
        )
