"""Handlers for suppliers and purchase orders (``po-<id>``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from commands.runtime import Writer
from commands.types import (
    ApprovePurchaseOrder,
    CancelPurchaseOrder,
    DraftPurchaseOrder,
    ReceivePurchaseOrder,
    RegisterSupplier,
    SendPurchaseOrder,
    UpdateSupplierPrices,
)
from commands.types.procurement import _PurchaseOrderCommand
from domain import inventory, procurement, stock
from domain.errors import AlreadyExists, NotFound
from domain.events import (
    Event,
    PurchaseOrderDrafted,
    StockReceived,
    SupplierPriceListUpdated,
    SupplierRegistered,
)
from domain.events.inventory import ItemKind
from domain.procurement import PurchaseState
from domain.streams import purchase_order_stream as po_stream
from domain.streams import stock_stream, supplier_stream


async def register_supplier(cmd: RegisterSupplier, w: Writer) -> None:
    event = SupplierRegistered(
        occurred_at=w.now,
        supplier_id=cmd.supplier_id,
        name=cmd.name,
        lead_time_days=cmd.lead_time_days,
        prices=cmd.prices,
        contact_name=cmd.contact_name,
        contact_email=cmd.contact_email,
        contact_phone=cmd.contact_phone,
    )

    def decide(past: list[Event]) -> list[Event]:
        if past:
            raise AlreadyExists("supplier_id", f"supplier {cmd.supplier_id!r} exists")
        return [event]

    await w.decide(supplier_stream(cmd.supplier_id), _events, decide, retry=True)


async def update_supplier_prices(cmd: UpdateSupplierPrices, w: Writer) -> None:
    event = SupplierPriceListUpdated(
        occurred_at=w.now, supplier_id=cmd.supplier_id, prices=cmd.prices
    )

    def decide(past: list[Event]) -> list[Event]:
        if not past:
            raise NotFound("supplier_id", f"no supplier {cmd.supplier_id!r}")
        return [event]

    await w.decide(supplier_stream(cmd.supplier_id), _events, decide, retry=True)


def _events(events: Iterable[Event]) -> list[Event]:
    return list(events)


async def draft(cmd: DraftPurchaseOrder, w: Writer) -> None:
    event = PurchaseOrderDrafted(
        occurred_at=w.now,
        po_id=cmd.po_id,
        supplier_id=cmd.supplier_id,
        store_id=cmd.store_id,
        lines=cmd.lines,
        expected_delivery_at=cmd.expected_delivery_at,
        drafted_by=w.actor.user_id,
    )
    await w.decide(
        po_stream(cmd.po_id), procurement.fold, lambda s: procurement.draft(s, event), retry=True
    )


async def _transition(
    cmd: _PurchaseOrderCommand, w: Writer, decide: Callable[[PurchaseState], list[Event]]
) -> PurchaseState:
    order = await w.load(po_stream(cmd.po_id), procurement.fold)
    w.authorize(cmd.PERMISSION, order.order.store_id if order.order else None)
    return await w.decide(po_stream(cmd.po_id), procurement.fold, decide, retry=True)


async def approve(cmd: ApprovePurchaseOrder, w: Writer) -> None:
    await _transition(cmd, w, lambda s: procurement.approve(s, by=w.actor.user_id, at=w.now))


async def send(cmd: SendPurchaseOrder, w: Writer) -> None:
    await _transition(cmd, w, lambda s: procurement.send(s, by=w.actor.user_id, at=w.now))


async def cancel(cmd: CancelPurchaseOrder, w: Writer) -> None:
    await _transition(
        cmd,
        w,
        lambda s: procurement.cancel(s, reason=cmd.reason, by=w.actor.user_id, at=w.now),
    )


async def receive(cmd: ReceivePurchaseOrder, w: Writer) -> None:
    """Record the delivery on the order, then each line as a lot (written only if missing)."""
    state = await _transition(
        cmd,
        w,
        lambda s: procurement.receive(
            s,
            delivery_id=cmd.delivery_id,
            lines=cmd.lines,
            close_short=cmd.close_short,
            by=w.actor.user_id,
            at=w.now,
        ),
    )
    assert state.order is not None  # receive() refused otherwise
    store_id = state.order.store_id
    for line in cmd.lines:
        lot = inventory.receive(
            stock.StockState(),
            store_id=store_id,
            item_id=line.item_id,
            item_kind=ItemKind.INGREDIENT,
            lot_id=line.lot_id,
            quantity=line.quantity,
            expires_on=line.expires_on,
            unit_cost=line.unit_cost,
            at=w.now,
            purchase_order_id=cmd.po_id,
        )
        await w.decide(
            stock_stream(store_id, line.item_id),
            stock.fold,
            _once(lot),
            retry=True,
        )


def _once(lot: StockReceived) -> Callable[[stock.StockState], list[Event]]:
    def decide(st: stock.StockState) -> list[Event]:
        return [] if lot.lot_id in st.lots else [lot]

    return decide
