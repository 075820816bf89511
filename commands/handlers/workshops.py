"""Handlers for the central workshops (stream ``workshops``) and their planned orders."""

from __future__ import annotations

from commands.runtime import Writer
from commands.types import DeclareWorkshop, SuggestWorkshopOrder
from domain import organisation, production, workshops
from domain.events import ManufacturingOrderSuggested
from domain.events.workshops import WorkshopDeclared, WorkshopTransfersPlanned
from domain.streams import TENANT_STREAM, WORKSHOPS_STREAM
from domain.streams import production_order_stream as order_stream


async def declare_workshop(cmd: DeclareWorkshop, w: Writer) -> None:
    tenant = await w.load(TENANT_STREAM, organisation.fold)
    event = WorkshopDeclared(
        occurred_at=w.now, store_id=cmd.store_id, serves=cmd.serves, top_up=cmd.top_up
    )
    await w.decide(
        WORKSHOPS_STREAM,
        workshops.fold,
        lambda s: workshops.declare(tenant, s, event),
        retry=True,  # another workshop declared meanwhile: checked again on fresh state
    )


async def suggest_workshop_order(cmd: SuggestWorkshopOrder, w: Writer) -> None:
    known = await w.load(WORKSHOPS_STREAM, workshops.fold)
    suggested = ManufacturingOrderSuggested(
        occurred_at=w.now,
        order_id=cmd.order_id,
        sku=cmd.sku,
        quantity=cmd.quantity,
        production_date=cmd.production_date,
        producing_store_id=cmd.workshop_id,
        destination_store_id=cmd.workshop_id,
        reason=cmd.reason,
    )
    plan = WorkshopTransfersPlanned(
        occurred_at=w.now,
        order_id=cmd.order_id,
        workshop_id=cmd.workshop_id,
        sku=cmd.sku,
        production_date=cmd.production_date,
        quantity=cmd.quantity,
        transfers=cmd.transfers,
        reserve=cmd.reserve,
    )
    await w.decide(
        order_stream(cmd.order_id),
        production.fold,
        lambda s: workshops.plan_order(known, s, suggested, plan),
        retry=True,  # a concurrent creation turns into AlreadyExists on re-decide
    )
