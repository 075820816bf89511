"""Workshops and batching through the handlers: declared against the tenant's stores,
orders whose transfer plan adds up, batch sizes kept in the catalogue."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import msgspec
import pytest
from commands_kit import Run, Store, events_of, set_up_chain

from commands.types import (
    CloseStore,
    DeclareWorkshop,
    DefineProduct,
    OpenStore,
    SetProductBatching,
    SuggestWorkshopOrder,
)
from domain import catalogue, workshops
from domain.errors import AlreadyExists, DomainError, InvalidValue, NotFound
from domain.events import ManufacturingOrderSuggested, ProductBatchingSet
from domain.events.organisation import StoreKind
from domain.events.workshops import PlannedTransfer, WorkshopTransfersPlanned
from domain.streams import WORKSHOPS_STREAM, product_stream, production_order_stream

DAY = date(2026, 1, 6)


async def _open(run: Run, store_id: str, kind: StoreKind = StoreKind.OUTLET) -> None:
    await run(
        OpenStore(
            store_id=store_id, name=store_id, kind=kind, timezone="Europe/Madrid", region="ES-CT"
        )
    )


async def test_a_workshop_serves_open_stores_no_other_workshop_serves(
    run: Run, any_store: Store, tenant: str
) -> None:
    await set_up_chain(run)  # central (a workshop by kind) and the outlet born
    await _open(run, "gracia")
    with pytest.raises(NotFound) as unknown:
        await run(DeclareWorkshop(store_id="central", serves=("born", "nowhere")))
    assert unknown.value.field == "serves[1]" and "nowhere" in unknown.value.reason
    with pytest.raises(InvalidValue) as outlet:
        await run(DeclareWorkshop(store_id="born", serves=("born",)))
    assert outlet.value.field == "store_id" and "outlet" in outlet.value.reason
    with pytest.raises(InvalidValue) as twice:
        await run(DeclareWorkshop(store_id="central", serves=("born", "born")))
    assert twice.value.field == "serves[1]"

    await run(DeclareWorkshop(store_id="central", serves=("central", "born")))
    again = await run(DeclareWorkshop(store_id="central", serves=("central", "born")))
    assert not any(not a.duplicate for a in again.appended)  # the same list: nothing new
    await _open(run, "sants", StoreKind.CENTRAL)
    with pytest.raises(AlreadyExists) as taken:
        await run(DeclareWorkshop(store_id="sants", serves=("gracia", "born")))
    assert taken.value.field == "serves[1]" and "central" in taken.value.reason
    await run(CloseStore(store_id="gracia", reason="moved"))
    with pytest.raises(NotFound):
        await run(DeclareWorkshop(store_id="sants", serves=("gracia",)))
    await run(DeclareWorkshop(store_id="central", serves=("central", "born", "sants")))
    with pytest.raises(InvalidValue) as served:
        await run(DeclareWorkshop(store_id="sants", serves=("sants",)))
    assert "served by workshop 'central'" in served.value.reason
    state = workshops.fold(await events_of(any_store, tenant, WORKSHOPS_STREAM))
    assert state.served_by() == {"central": "central", "born": "central", "sants": "central"}


async def test_a_workshop_order_carries_a_transfer_plan_that_adds_up(
    run: Run, any_store: Store, tenant: str
) -> None:
    await set_up_chain(run)
    await _open(run, "gracia")
    await run(DeclareWorkshop(store_id="central", serves=("central", "born")))

    def order(*transfers: tuple[str, int], quantity: int = 30) -> SuggestWorkshopOrder:
        return SuggestWorkshopOrder(
            order_id="w-1",
            workshop_id="central",
            sku="baguette",
            quantity=Decimal(quantity),
            production_date=DAY,
            transfers=tuple(PlannedTransfer(store_id=s, quantity=Decimal(q)) for s, q in transfers),
        )

    with pytest.raises(InvalidValue) as short:
        await run(order(("central", 10), ("born", 10)))
    assert short.value.field == "transfers" and "20" in short.value.reason
    with pytest.raises(NotFound) as elsewhere:
        await run(order(("central", 10), ("gracia", 20)))
    assert elsewhere.value.field == "transfers[1].store_id"
    with pytest.raises(NotFound) as no_workshop:
        await run(
            SuggestWorkshopOrder(
                order_id="w-2",
                workshop_id="gracia",
                sku="baguette",
                quantity=Decimal(1),
                production_date=DAY,
                transfers=(PlannedTransfer(store_id="gracia", quantity=Decimal(1)),),
            )
        )
    assert no_workshop.value.field == "workshop_id"

    with pytest.raises(InvalidValue) as kept:  # reserve + transfers must make the order
        await run(msgspec.structs.replace(order(("central", 12), ("born", 12)), reserve=Decimal(7)))
    assert kept.value.field == "transfers" and "31" in kept.value.reason
    await run(msgspec.structs.replace(order(("central", 12), ("born", 12)), reserve=Decimal(6)))
    suggested, plan = await events_of(any_store, tenant, production_order_stream("w-1"))
    assert isinstance(suggested, ManufacturingOrderSuggested)
    assert suggested.producing_store_id == suggested.destination_store_id == "central"
    assert isinstance(plan, WorkshopTransfersPlanned)
    assert [(t.store_id, t.quantity) for t in plan.transfers] == [("central", 12), ("born", 12)]
    assert plan.reserve == 6
    # a workshop without a midday run has nothing to keep a reserve for
    await run(DeclareWorkshop(store_id="central", serves=("central", "born"), top_up=False))
    with pytest.raises(InvalidValue) as no_run:
        await run(
            msgspec.structs.replace(
                order(("central", 12), ("born", 12)), order_id="w-3", reserve=Decimal(6)
            )
        )
    assert no_run.value.field == "reserve"


async def test_batch_size_and_minimum_are_kept_in_the_catalogue(
    run: Run, any_store: Store, tenant: str
) -> None:
    def roll(batch_size: int, minimum_batch: int = 0) -> DefineProduct:
        return DefineProduct(
            sku="roll",
            name="Roll",
            category="bread",
            price=Decimal(1),
            unit_cost=Decimal("0.2"),
            shelf_life_days=1,
            batch_size=batch_size,
            minimum_batch=minimum_batch,
        )

    with pytest.raises(InvalidValue) as zero:
        await run(roll(batch_size=0))
    assert zero.value.field == "batch_size"
    await run(roll(batch_size=12, minimum_batch=24))
    with pytest.raises(DomainError) as negative:  # the edge's bounds refuse it first
        await run(SetProductBatching(sku="roll", batch_size=6, minimum_batch=-1))
    assert negative.value.field == "minimum_batch"
    with pytest.raises(NotFound):
        await run(SetProductBatching(sku="nope", batch_size=6))
    await run(SetProductBatching(sku="roll", batch_size=6, minimum_batch=30))
    unchanged = await run(SetProductBatching(sku="roll", batch_size=6, minimum_batch=30))
    assert not unchanged.appended
    events = await events_of(any_store, tenant, product_stream("roll"))
    assert [type(e) for e in events][-1] is ProductBatchingSet
    state = catalogue.fold_product(events)
    assert (state.batch_size, state.minimum_batch) == (6, 30)
