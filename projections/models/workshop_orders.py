"""workshop_orders: each workshop's planned order and where its units go.

``WorkshopTransfersPlanned`` (appended with the order's
``ManufacturingOrderSuggested`` in ``mo-<id>``) gives one row per order in
``rm_workshop_orders`` and one per receiving store in
``rm_workshop_transfers`` (what is kept back for the midday top-up run is the
order's ``reserve``). An order is planned once (a second event for the
same id changes nothing); its status, reason and edits are the production
order's own (``rm_production_orders``, same ``order_id``), which the read API
joins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from domain.events.workshops import WorkshopTransfersPlanned
from projections.model import Decoded
from projections.models._sql import Conn, Row, spec

ORDERS = spec(
    "rm_workshop_orders",
    2,
    "tenant_id text",
    "order_id text",
    "workshop_id text",
    "sku text",
    "production_date date",
    "quantity numeric",
    "reserve numeric",
    "stores integer",
    "last_position bigint",
)
TRANSFERS = spec(
    "rm_workshop_transfers",
    3,
    "tenant_id text",
    "order_id text",
    "store_id text",
    "workshop_id text",
    "sku text",
    "production_date date",
    "quantity numeric",
)


class WorkshopOrdersModel:
    name: ClassVar[str] = "workshop_orders"
    tables: ClassVar[tuple[str, ...]] = (ORDERS.name, TRANSFERS.name)

    def handles(self, event_type: str) -> bool:
        return event_type == "WorkshopTransfersPlanned"

    async def apply(self, conn: Conn, events: Sequence[Decoded], tables: Mapping[str, str]) -> None:
        orders: dict[tuple[str, str], Row] = {}
        transfers: dict[tuple[str, str, str], Row] = {}
        for rec, ev in events:
            if not isinstance(ev, WorkshopTransfersPlanned):
                continue
            key = (rec.tenant_id, ev.order_id)
            if key in orders:
                continue  # planned once: a repeat changes nothing
            orders[key] = (
                *key,
                ev.workshop_id,
                ev.sku,
                ev.production_date,
                ev.quantity,
                ev.reserve,
                len(ev.transfers),
                rec.position,
            )
            for t in ev.transfers:
                transfers[(*key, t.store_id)] = (
                    *key,
                    t.store_id,
                    ev.workshop_id,
                    ev.sku,
                    ev.production_date,
                    t.quantity,
                )
        known = {(r[0], r[1]) for r in await ORDERS.fetch(conn, tables, list(orders))}
        await ORDERS.insert(conn, tables, (orders[k] for k in sorted(orders) if k not in known))
        await TRANSFERS.insert(
            conn,
            tables,
            (transfers[k] for k in sorted(transfers) if k[:2] not in known),
        )
