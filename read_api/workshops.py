"""``GET /v1/workshop-orders``: each workshop's planned orders and where their units go.

Rows come from the ``workshop_orders`` read model (``rm_workshop_orders``,
``rm_workshop_transfers``) with the status and reason of the same order in
``rm_production_orders`` ("suggested" until that model has seen it). Latest
production day first, in cursor pages (``read_api.paging``). A store manager
sees the orders of a workshop among their stores whole, and of any other
workshop only those that send units to their stores, with only those transfers.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any, Final

from litestar import get
from litestar.di import NamedDependency
from psycopg.rows import dict_row

from read_api.auth import store_scope
from read_api.controllers import (
    AnyRequest,
    First,
    Last,
    ReadController,
    after_cursor,
    check_range,
    page_answer,
)
from read_api.keys import Principal
from read_api.limits import SkuFilter, StoreFilter
from read_api.paging import Cursor, Key, Limit, Order
from read_api.queries import Conn, Stores, where_between, where_equal
from read_api.schemas import Out, PageInfo

WORKSHOP_ORDERS: Final = Order(
    "workshop-orders",
    (
        Key("production_date", date, column="w.production_date", desc=True),
        Key("order_id", str, column="w.order_id"),
    ),
)


class WorkshopTransfer(Out, frozen=True, kw_only=True):
    store_id: str
    quantity: Decimal


class WorkshopOrder(Out, frozen=True, kw_only=True):
    order_id: str  # also in /v1/production-orders: confirm, start, complete it there
    workshop_id: str  # the store that bakes
    sku: str
    production_date: date
    quantity: Decimal  # as planned (edits show in /v1/production-orders)
    reserve: Decimal  # kept at the workshop for the midday top-up (transfers + reserve = quantity)
    status: str
    reason: str | None
    transfers: list[WorkshopTransfer]  # a store manager sees their stores' only


class WorkshopOrderPage(PageInfo, frozen=True, kw_only=True, omit_defaults=True):
    items: list[WorkshopOrder]


async def workshop_orders(
    conn: Conn,
    tenant_id: str,
    *,
    store: Stores,
    sku: str | None,
    first: date | None,
    last: date | None,
    limit: int,
    after: list[Any] | None,
) -> list[WorkshopOrder]:
    """A page of orders (``limit + 1`` at most) with their transfers, as ``store`` may see."""
    stores = None if store is None else list(store) if isinstance(store, tuple) else [store]
    where, params = where_equal({"w.sku": sku})
    bounds, bound_params = where_between("w.production_date", first, last)
    where, params = where + bounds, params + bound_params
    if stores is not None:
        where += (
            " AND (w.workshop_id = ANY(%s) OR EXISTS (SELECT 1 FROM rm_workshop_transfers t"
            " WHERE t.tenant_id = w.tenant_id AND t.order_id = w.order_id"
            " AND t.store_id = ANY(%s)))"
        )
        params += [stores, stores]
    keyset, from_key = WORKSHOP_ORDERS.after(after)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT w.order_id, w.workshop_id, w.sku, w.production_date, w.quantity, w.reserve,"
            " coalesce(o.status, 'suggested') AS status, o.reason FROM rm_workshop_orders w"
            " LEFT JOIN rm_production_orders o"
            " ON o.tenant_id = w.tenant_id AND o.order_id = w.order_id"
            f" WHERE w.tenant_id = %s{where}{keyset}{WORKSHOP_ORDERS.order_by()} LIMIT %s",
            [tenant_id, *params, *from_key, limit + 1],
        )
        orders = await cur.fetchall()
        await cur.execute(
            "SELECT order_id, store_id, quantity FROM rm_workshop_transfers"
            " WHERE tenant_id = %s AND order_id = ANY(%s) ORDER BY order_id, store_id",
            [tenant_id, [o["order_id"] for o in orders]],
        )
        transfers = await cur.fetchall()
    workshop_of = {o["order_id"]: o["workshop_id"] for o in orders}
    by_order: dict[str, list[WorkshopTransfer]] = defaultdict(list)
    for t in transfers:
        order_id, to_store = t["order_id"], t["store_id"]
        if stores is None or workshop_of[order_id] in stores or to_store in stores:
            by_order[order_id].append(WorkshopTransfer(store_id=to_store, quantity=t["quantity"]))
    return [WorkshopOrder(**o, transfers=by_order[o["order_id"]]) for o in orders]


class WorkshopOrdersController(ReadController):
    path = "/workshop-orders"
    tags = ["production"]

    @get(
        "/",
        operation_id="listWorkshopOrders",
        summary="Workshop orders with their transfer plan, latest day first",
    )
    async def list_workshop_orders(
        self,
        *,
        principal: NamedDependency[Principal],
        conn: NamedDependency[Conn],
        request: AnyRequest,
        store: StoreFilter = None,
        sku: SkuFilter = None,
        from_: First = None,
        to: Last = None,
        limit: Limit = 1000,
        cursor: Cursor = None,
    ) -> WorkshopOrderPage:
        check_range(from_, to)
        filters = {"store": store, "sku": sku, "from": from_, "to": to}
        after = after_cursor(WORKSHOP_ORDERS, cursor, limit, filters)
        rows = await workshop_orders(
            conn,
            principal.tenant_id,
            store=store_scope(principal, store),
            sku=sku,
            first=from_,
            last=to,
            limit=limit,
            after=after,
        )
        items, page = page_answer(request, rows, limit, WORKSHOP_ORDERS, filters)
        return WorkshopOrderPage(items=items, **page.fields())
