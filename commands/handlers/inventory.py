"""Handlers for stock moves and equipment readings."""

from __future__ import annotations

from collections.abc import Callable

from commands.handlers.known import known_item, known_store
from commands.runtime import Writer
from commands.types import (
    AdjustStock,
    ReceiveStock,
    RecordMaintenance,
    RecordTemperature,
    RecordWaste,
    RegisterEquipment,
    ScheduleMaintenance,
    TransferStock,
)
from domain import day_close, equipment, inventory, stock
from domain.errors import InvalidValue
from domain.events import EquipmentRegistered, Event, StockTransferredIn
from domain.streams import equipment_stream, stock_stream


async def receive_stock(cmd: ReceiveStock, w: Writer) -> None:
    await known_store(w, cmd.store_id)
    item = await known_item(w, cmd.item_id)
    if item.kind is not cmd.item_kind:
        raise InvalidValue("item_kind", f"{cmd.item_id!r} is a {item.kind.value}")
    await w.decide(
        stock_stream(cmd.store_id, cmd.item_id),
        stock.fold,
        lambda st: [
            inventory.receive(
                st,
                store_id=cmd.store_id,
                item_id=cmd.item_id,
                item_kind=cmd.item_kind,
                lot_id=cmd.lot_id,
                quantity=cmd.quantity,
                expires_on=cmd.expires_on,
                unit_cost=cmd.unit_cost,
                at=w.now,
            )
        ],
        retry=True,
    )


async def record_waste(cmd: RecordWaste, w: Writer) -> None:
    store = await known_store(w, cmd.store_id)
    await known_item(w, cmd.item_id)
    day = day_close.local_day(w.now, store.timezone)
    await w.decide(
        stock_stream(cmd.store_id, cmd.item_id),
        stock.fold,
        lambda st: [
            inventory.waste(
                st,
                store_id=cmd.store_id,
                item_id=cmd.item_id,
                quantity=cmd.quantity,
                reason=cmd.reason,
                lot_id=cmd.lot_id,
                note=cmd.note,
                at=w.now,
                day=day,
            )
        ],
        retry=True,  # re-checked against the fresh lots
    )


async def adjust_stock(cmd: AdjustStock, w: Writer) -> None:
    await known_store(w, cmd.store_id)
    await known_item(w, cmd.item_id)
    await w.decide(
        stock_stream(cmd.store_id, cmd.item_id),
        stock.fold,
        lambda st: [
            inventory.adjust(
                st,
                store_id=cmd.store_id,
                item_id=cmd.item_id,
                counted_quantity=cmd.counted_quantity,
                reason=cmd.reason,
                at=w.now,
                surplus_lot_id=f"count-{st.version + 1}",
            )
        ],
        retry=False,  # a count is against what the counter saw; a move since makes it stale
        expected_version=cmd.expected_version,
    )


async def transfer_stock(cmd: TransferStock, w: Writer) -> None:
    """Out of the source first (the decision), then into the destination (re-driven)."""
    await known_store(w, cmd.store_id)
    await known_store(w, cmd.to_store_id, "to_store_id")
    item = await known_item(w, cmd.item_id)
    if item.kind is not cmd.item_kind:
        raise InvalidValue("item_kind", f"{cmd.item_id!r} is a {item.kind.value}")
    source = stock_stream(cmd.store_id, cmd.item_id)

    def take(st: stock.StockState) -> list[Event]:
        if cmd.transfer_id in st.transfers_out:
            return []  # already left: only the arrival may be missing
        out, _ = inventory.transfer(
            st,
            transfer_id=cmd.transfer_id,
            from_store_id=cmd.store_id,
            to_store_id=cmd.to_store_id,
            item_id=cmd.item_id,
            item_kind=cmd.item_kind,
            quantity=cmd.quantity,
            at=w.now,
        )
        return [out]

    await w.decide(source, stock.fold, take, retry=True)
    out = (await w.load(source, stock.fold)).transfers_out[cmd.transfer_id]
    arrived = StockTransferredIn(
        occurred_at=out.occurred_at,
        transfer_id=out.transfer_id,
        store_id=out.to_store_id,
        from_store_id=out.store_id,
        item_id=out.item_id,
        item_kind=cmd.item_kind,
        lots=out.lots,
    )
    await w.decide(
        stock_stream(cmd.to_store_id, cmd.item_id),
        stock.fold,
        lambda st: [] if cmd.transfer_id in st.transfers_in else [arrived],
        retry=True,
    )


async def register_equipment(cmd: RegisterEquipment, w: Writer) -> None:
    event = EquipmentRegistered(
        occurred_at=w.now,
        equipment_id=cmd.equipment_id,
        store_id=cmd.store_id,
        name=cmd.name,
        kind=cmd.kind,
        maintenance_interval_days=cmd.maintenance_interval_days,
        min_celsius=cmd.min_celsius,
        max_celsius=cmd.max_celsius,
    )
    await w.decide(
        equipment_stream(cmd.equipment_id),
        equipment.fold,
        lambda s: equipment.register(s, event),
        retry=True,
    )


async def _on_equipment(
    cmd: RecordTemperature | ScheduleMaintenance | RecordMaintenance,
    w: Writer,
    decide: Callable[[equipment.EquipmentState], list[Event]],
) -> None:
    """Authorise on the equipment's store, then decide on its stream."""
    stream = equipment_stream(cmd.equipment_id)
    state = await w.load(stream, equipment.fold)
    w.authorize(cmd.PERMISSION, state.equipment.store_id if state.equipment else None)
    await w.decide(stream, equipment.fold, decide, retry=True)


async def record_temperature(cmd: RecordTemperature, w: Writer) -> None:
    await _on_equipment(
        cmd, w, lambda s: equipment.record_temperature(s, celsius=cmd.celsius, at=w.now)
    )


async def schedule_maintenance(cmd: ScheduleMaintenance, w: Writer) -> None:
    await _on_equipment(
        cmd,
        w,
        lambda s: equipment.schedule_maintenance(
            s, due_on=cmd.due_on, description=cmd.description, at=w.now
        ),
    )


async def record_maintenance(cmd: RecordMaintenance, w: Writer) -> None:
    await _on_equipment(
        cmd,
        w,
        lambda s: equipment.perform_maintenance(
            s, performed_on=cmd.performed_on, note=cmd.note, at=w.now
        ),
    )
