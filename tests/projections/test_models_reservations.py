"""inventory read model: ingredients reserved for confirmed orders, and a fold cross-check.

Reserved = what the latest recipe of the product needs for the order quantity,
minus what the order's batches already took, while the order is confirmed or in
progress. The cross-check drives random stock decisions through the domain and
compares every projected row and lot with ``domain.stock``'s own fold.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from test_models_inventory import AT, MODEL, Books, T, stock_row
from test_models_kit import Log, project, rows

from domain import inventory
from domain.batches import complete_batch
from domain.events import (
    ManufacturingOrderCancelled,
    ManufacturingOrderCompleted,
    ManufacturingOrderConfirmed,
    ManufacturingOrderEdited,
    ManufacturingOrderStarted,
    ManufacturingOrderSuggested,
    RecipeVersioned,
)
from domain.events.catalogue import RecipeLine
from domain.events.inventory import ItemKind, WasteReason
from domain.production import fold as fold_order

D = Decimal


def recipe(version: int, flour: str) -> RecipeVersioned:
    return RecipeVersioned(
        occurred_at=AT,
        sku="baguette",
        version=version,
        yield_quantity=D(10),
        lines=(
            RecipeLine(ingredient_id="flour", quantity=D(flour)),
            RecipeLine(ingredient_id="water", quantity=D(2)),
            RecipeLine(ingredient_id="salt", quantity=D("0.06")),
        ),
    )


def suggested(order_id: str, quantity: int) -> ManufacturingOrderSuggested:
    return ManufacturingOrderSuggested(
        occurred_at=AT,
        order_id=order_id,
        sku="baguette",
        quantity=D(quantity),
        production_date=date(2026, 3, 3),
        producing_store_id="central",
        destination_store_id="born",
        reason="forecast",
    )


class Step:
    """Project only what was logged since the last call."""

    def __init__(self, pg_url: str, log: Log) -> None:
        self.pg_url, self.log, self.done = pg_url, log, 0

    async def __call__(self) -> dict[str, Decimal]:
        await project(self.pg_url, MODEL, self.log.events[self.done :])
        self.done = len(self.log.events)
        found = await rows(
            self.pg_url,
            "SELECT item_id, reserved FROM rm_inventory_stock WHERE store_id = 'central'",
        )
        return {r["item_id"]: r["reserved"] for r in found}


async def test_confirmed_orders_reserve_their_recipe_until_batches_take_it(pg_url: str) -> None:
    log = Log()
    books = Books(log)
    step = Step(pg_url, log)
    log.add(T, "recipe-baguette", recipe(1, "3"))
    books.receive("central", "flour", "F-1", "50", "0.80", date(2026, 4, 1))
    books.receive("central", "water", "W-1", "100", "0.00")
    books.receive("central", "salt", "S-1", "5", "0.40")
    mo = "mo-MO-1"
    log.add(T, mo, suggested("MO-1", 120))
    assert await step() == {"flour": 0, "water": 0, "salt": 0}  # suggested: nothing held

    log.add(T, mo, ManufacturingOrderConfirmed(occurred_at=AT, order_id="MO-1", confirmed_by="ana"))
    assert await step() == {"flour": D(36), "water": D(24), "salt": D("0.72")}
    flour = await stock_row(pg_url, "central", "flour")
    assert flour["on_hand"] == D(50) and flour["available"] == D(14)

    edited = ManufacturingOrderEdited(
        occurred_at=AT,
        order_id="MO-1",
        quantity=D(100),
        production_date=date(2026, 3, 3),
        edited_by="ana",
    )
    log.add(
        T, mo, edited, ManufacturingOrderStarted(occurred_at=AT, order_id="MO-1", started_by="pau")
    )
    assert await step() == {"flour": D(30), "water": D(20), "salt": D("0.60")}

    order = fold_order([e for r, e in log.events if r.stream_id == mo])  # type: ignore[misc]
    batch, taken = complete_batch(
        order,
        recipe(1, "3"),
        {item: books.state("central", item) for item in ("flour", "water", "salt")},
        batch_id="B1",
        planned_quantity=D(50),
        actual_yield=D(48),
        at=AT,
    )
    for consumed in taken:
        books.emit("central", consumed.item_id, consumed)
    log.add(T, mo, batch)
    assert await step() == {"flour": D(15), "water": D(10), "salt": D("0.30")}
    flour = await stock_row(pg_url, "central", "flour")
    assert flour["on_hand"] == D(35) and flour["available"] == D(20)

    log.add(
        T,
        mo,
        ManufacturingOrderCompleted(
            occurred_at=AT,
            order_id="MO-1",
            quantity_produced=D(48),
            destination_store_id="born",
            lot_id="mo-MO-1",
            expires_on=date(2026, 3, 4),
        ),
    )
    assert await step() == {"flour": 0, "water": 0, "salt": 0}
    assert await rows(pg_url, "SELECT * FROM rm_inventory_reservations") == []
    assert await rows(pg_url, "SELECT * FROM rm_inventory_orders") == []


async def test_cancelling_releases_and_a_new_recipe_reprices(pg_url: str) -> None:
    log = Log()
    step = Step(pg_url, log)
    log.add(T, "recipe-baguette", recipe(1, "3"))
    for order_id, quantity in (("MO-2", 40), ("MO-3", 10)):
        log.add(
            T,
            f"mo-{order_id}",
            suggested(order_id, quantity),
            ManufacturingOrderConfirmed(occurred_at=AT, order_id=order_id, confirmed_by="ana"),
        )
    reserved = await step()
    assert reserved["flour"] == D(15)  # 12 + 3, never received: available is negative
    flour = await stock_row(pg_url, "central", "flour")
    assert flour["on_hand"] == 0 and flour["available"] == D(-15)
    assert flour["item_kind"] == "ingredient" and flour["negative"] is False

    cancel = ManufacturingOrderCancelled(
        occurred_at=AT, order_id="MO-2", reason="oven down", cancelled_by="pau"
    )
    log.add(T, "mo-MO-2", cancel)
    assert (await step())["flour"] == D(3)

    log.add(T, "recipe-baguette", recipe(2, "3.5"))
    assert (await step())["flour"] == D("3.5")
    log.add(T, "recipe-baguette", recipe(1, "9"))  # an older version never wins
    assert (await step())["flour"] == D("3.5")


@pytest.mark.parametrize("seed", [7, 2026])
async def test_projected_stock_equals_the_domain_fold(pg_url: str, seed: int) -> None:
    rnd = random.Random(seed)
    log = Log()
    books = Books(log)
    stores, items = ("central", "born"), ("baguette", "croissant", "flour")
    tickets: list[tuple[str, str, str]] = []
    for n in range(400):
        store, item = rnd.choice(stores), rnd.choice(items)
        state = books.state(store, item)
        roll = rnd.random()
        if roll < 0.3:
            expires = (
                None if rnd.random() < 0.2 else date(2026, 3, 1) + timedelta(rnd.randint(0, 9))
            )
            cost = f"0.{rnd.randint(10, 99)}"
            qty = str(rnd.randint(1, 30))
            books.receive(store, item, f"L{n}", qty, cost, expires, kind=ItemKind.PRODUCT)
        elif roll < 0.7:
            books.sell(store, item, f"{rnd.randint(1, 12)}.{rnd.randint(0, 9)}", f"T{n}")
            tickets.append((store, item, f"T{n}"))
        elif roll < 0.8 and tickets:
            ticket = tickets.pop(rnd.randrange(len(tickets)))
            books.void(*ticket)
        elif roll < 0.9 and state.lot_quantity >= 2:
            waste = inventory.waste(
                state,
                store_id=store,
                item_id=item,
                quantity=D(2),
                reason=WasteReason.DAMAGED,
                at=AT,
            )
            books.emit(store, item, waste)
        else:
            count = inventory.adjust(
                state,
                store_id=store,
                item_id=item,
                counted_quantity=D(rnd.randint(0, 20)),
                reason="count",
                at=AT,
                surplus_lot_id=f"CNT{n}",
            )
            books.emit(store, item, count)
    sizes = [rnd.randint(1, 60) for _ in range(100)]
    await project(pg_url, MODEL, log.events, batch=sizes)

    for (store, item), state in books.states.items():
        row = await stock_row(pg_url, store, item)
        assert row["on_hand"] == state.on_hand, (store, item)
        assert row["shortfall"] == state.shortfall
        assert row["negative"] == (state.on_hand < 0)
        value = sum((lot.quantity * lot.unit_cost for lot in state.lots.values()), D(0))
        assert row["stock_value"] == value
        projected = await rows(
            pg_url,
            "SELECT lot_id, quantity, expires_on FROM rm_inventory_lots"
            " WHERE store_id = %s AND item_id = %s AND quantity > 0"
            " ORDER BY expires_on NULLS LAST, received_position",
            store,
            item,
        )
        assert [(r["lot_id"], r["quantity"], r["expires_on"]) for r in projected] == [
            (lot.lot_id, lot.quantity, lot.expires_on) for lot in state.fifo_lots()
        ]
