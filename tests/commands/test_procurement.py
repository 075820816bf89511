"""Purchase orders from draft to (partial) receipt, and the lots each delivery adds."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from commands_kit import AT, Run, Store, events_of, set_up_chain, stock_of

from commands.types import (
    ApprovePurchaseOrder,
    CancelPurchaseOrder,
    DraftPurchaseOrder,
    ReceivePurchaseOrder,
    SendPurchaseOrder,
)
from domain.access import Actor
from domain.errors import (
    AlreadyExists,
    IllegalTransition,
    InvalidValue,
    NotFound,
    PermissionDenied,
)
from domain.events import PurchaseOrderReceived
from domain.events.organisation import Role
from domain.events.procurement import PurchaseOrderLine, ReceivedLine
from domain.procurement import PurchaseStatus
from domain.procurement import fold as fold_po

D = Decimal
PLANNER = Actor(user_id="nuria", role=Role.PLANNER)


def delivered(delivery: str, item: str, qty: int, cost: str = "0.60") -> ReceivePurchaseOrder:
    return ReceivePurchaseOrder(
        po_id="po-1",
        delivery_id=delivery,
        lines=(
            ReceivedLine(
                item_id=item,
                quantity=D(qty),
                lot_id=f"{item}-{delivery}",
                expires_on=date(2026, 4, 1),
                unit_cost=D(cost),
            ),
        ),
    )


async def sent_order(run: Run) -> None:
    await set_up_chain(run)
    await run(
        DraftPurchaseOrder(
            po_id="po-1",
            supplier_id="harinera",
            store_id="central",
            lines=(
                PurchaseOrderLine(item_id="flour", quantity=D(200), unit_price=D("0.60")),
                PurchaseOrderLine(item_id="butter", quantity=D(20), unit_price=D("6.10")),
            ),
            expected_delivery_at=AT,
        ),
        actor=PLANNER,
    )
    await run(ApprovePurchaseOrder(po_id="po-1"))
    await run(SendPurchaseOrder(po_id="po-1"), actor=PLANNER)


class TestPurchaseOrders:
    async def test_the_drafter_cannot_approve_their_own_order(self, run: Run) -> None:
        owner_drafts = Actor(user_id="olga", role=Role.OWNER)
        await set_up_chain(run)
        await run(
            DraftPurchaseOrder(
                po_id="po-1",
                supplier_id="harinera",
                store_id="central",
                lines=(PurchaseOrderLine(item_id="flour", quantity=D(1), unit_price=D(1)),),
                expected_delivery_at=AT,
            ),
            actor=owner_drafts,
        )
        with pytest.raises(InvalidValue, match="cannot approve"):
            await run(ApprovePurchaseOrder(po_id="po-1"), actor=owner_drafts)

    async def test_a_planner_cannot_approve(self, run: Run) -> None:
        with pytest.raises(PermissionDenied):
            await run(ApprovePurchaseOrder(po_id="po-1"), actor=PLANNER)

    async def test_a_partial_delivery_leaves_the_order_open_and_adds_its_lot(
        self, run: Run, any_store: Store, tenant: str
    ) -> None:
        await sent_order(run)
        await run(delivered("d1", "flour", 120), actor=PLANNER)
        order = fold_po(await events_of(any_store, tenant, "po-po-1"))
        assert order.status is PurchaseStatus.PARTIALLY_RECEIVED
        assert order.outstanding() == {"flour": D(80), "butter": D(20)}
        assert (await stock_of(any_store, tenant, "central", "flour")).on_hand == D(120)

    async def test_the_last_delivery_receives_the_order_and_notes_discrepancies(
        self, run: Run, any_store: Store, tenant: str
    ) -> None:
        await sent_order(run)
        await run(delivered("d1", "flour", 210), actor=PLANNER)
        await run(delivered("d2", "butter", 20, cost="6.40"), actor=PLANNER)
        history = await events_of(any_store, tenant, "po-po-1")
        receipts = [e for e in history if isinstance(e, PurchaseOrderReceived)]
        assert [r.complete for r in receipts] == [False, True]
        assert [d.kind for d in receipts[0].discrepancies] == ["over"]
        assert [d.kind for d in receipts[1].discrepancies] == ["unit_cost"]
        with pytest.raises(IllegalTransition, match="received"):
            await run(CancelPurchaseOrder(po_id="po-1", reason="late"), actor=PLANNER)

    async def test_a_delivery_is_not_received_twice(
        self, run: Run, any_store: Store, tenant: str
    ) -> None:
        await sent_order(run)
        await run(delivered("d1", "flour", 50), actor=PLANNER)
        with pytest.raises(AlreadyExists, match="d1"):
            await run(delivered("d1", "flour", 50), actor=PLANNER)
        assert (await stock_of(any_store, tenant, "central", "flour")).on_hand == D(50)

    async def test_an_unsent_order_cannot_be_received(self, run: Run) -> None:
        await set_up_chain(run)
        with pytest.raises(NotFound, match="no such purchase order"):
            await run(delivered("d1", "flour", 1), actor=PLANNER)
