"""One controller per resource under /v1; thin handlers over ``read_api.queries``.

Every handler gets the caller (``principal``) from the auth middleware and a
pooled connection; the tenant of every query is ``principal.tenant_id``.
A parameter whose query name is a Python keyword or a type name ends in ``_``
(``from_`` is ``?from=``, ``date_`` is ``?date=``); error documents drop the ``_``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date, datetime
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery

from read_api import queries
from read_api.auth import can_read, store_scope
from read_api.dashboard import dashboard_summary
from read_api.errors import InvalidQuery, NotFound
from read_api.keys import Principal
from read_api.limits import SkuFilter, StoreFilter, check_dates, path_id, query_date, query_id
from read_api.paging import MAX_LIMIT, Cursor, Limit, Order, Page, check_limit, page_of
from read_api.queries import Conn
from read_api.schemas import (
    DailySalesPage,
    DashboardSummary,
    ForecastPage,
    ItemLots,
    ProductionOrderPage,
    ProductionStatus,
    PurchaseOrderPage,
    PurchaseStatus,
    StockPage,
)

AsOf = Annotated[
    date | None,
    query_date("business date to show (default: each store's today)", name="date"),
]
First = Annotated[date | None, query_date("first day (inclusive)", name="from")]
Last = Annotated[date | None, query_date("last day (inclusive)")]


async def provide_principal(request: Request[Principal, Any, Any]) -> Principal:
    return request.user


async def provide_conn(state: State) -> AsyncIterator[Conn]:
    async with state.pool.connection() as conn:
        yield conn


async def provide_clock(state: State) -> Callable[[], datetime]:
    clock: Callable[[], datetime] = state.clock
    return clock


AnyRequest = Request[Any, Any, Any]


def page_answer(
    request: AnyRequest, rows: list[Any], limit: int, order: Order, filters: dict[str, Any]
) -> tuple[list[Any], Page]:
    return page_of(rows, limit, order, filters, path=request.url.path, query=request.query_params)


def after_cursor(
    order: Order, cursor: str | None, limit: int, filters: dict[str, Any], most: int = MAX_LIMIT
) -> Any:
    """The previous page's key values (None: page one); checks ``limit`` and the cursor."""
    check_limit(limit, most)
    return order.decode(cursor, filters)


def check_range(first: date | None, last: date | None) -> None:
    check_dates(from_=first, to=last)
    if first is not None and last is not None and first > last:
        raise InvalidQuery("from", f"{first} is after to={last}")


class ReadController(Controller):
    guards = [can_read]
    dependencies = {
        "principal": Provide(provide_principal),
        "conn": Provide(provide_conn),
        "clock": Provide(provide_clock),
    }
    security = [{"apiKey": []}]


class InventoryController(ReadController):
    path = "/inventory"
    tags = ["inventory"]

    @get("/", operation_id="listInventory", summary="Stock per store × item")
    async def list_stock(
        self,
        *,
        principal: NamedDependency[Principal],
        conn: NamedDependency[Conn],
        request: AnyRequest,
        store: StoreFilter = None,
        limit: Limit = 1000,
        cursor: Cursor = None,
    ) -> StockPage:
        scope = store_scope(principal, store)
        filters = {"store": store}
        after = after_cursor(queries.STOCK, cursor, limit, filters)
        rows = await queries.stock(conn, principal.tenant_id, store=scope, limit=limit, after=after)
        items, page = page_answer(request, rows, limit, queries.STOCK, filters)
        return StockPage(items=items, **page.fields())

    @get(
        "/{store:str}/{item:str}/lots",
        operation_id="listLots",
        summary="Lots in FIFO order",
    )
    async def list_lots(
        self,
        *,
        principal: NamedDependency[Principal],
        conn: NamedDependency[Conn],
        store: Annotated[str, path_id("the store", "madrid-centro")],
        item: Annotated[str, path_id("the item (product or ingredient)", "barra")],
        request: AnyRequest,
        limit: Limit = 1000,
        cursor: Cursor = None,
    ) -> ItemLots:
        store_scope(principal, store)
        filters = {"store": store, "item": item}
        after = after_cursor(queries.LOTS, cursor, limit, filters)
        found = await queries.lots(conn, principal.tenant_id, store, item, limit=limit, after=after)
        if found is None:
            raise NotFound(f"no stock of item {item!r} in store {store!r}")
        on_hand, rows = found
        lots, page = page_answer(request, rows, limit, queries.LOTS, filters)
        return ItemLots(store_id=store, item_id=item, on_hand=on_hand, lots=lots, **page.fields())


class SalesController(ReadController):
    path = "/sales"
    tags = ["sales"]

    @get(
        "/daily",
        operation_id="listDailySales",
        summary="Net daily sales per store × product",
    )
    async def daily(
        self,
        *,
        principal: NamedDependency[Principal],
        conn: NamedDependency[Conn],
        store: StoreFilter = None,
        sku: SkuFilter = None,
        from_: First = None,
        to: Last = None,
        limit: Limit = 1000,
        cursor: Cursor = None,
        request: AnyRequest,
    ) -> DailySalesPage:
        check_range(from_, to)
        filters = {"store": store, "sku": sku, "from": from_, "to": to}
        after = after_cursor(queries.DAILY_SALES, cursor, limit, filters)
        rows = await queries.daily_sales(
            conn,
            principal.tenant_id,
            store=store_scope(principal, store),
            sku=sku,
            first=from_,
            last=to,
            limit=limit,
            after=after,
        )
        items, page = page_answer(request, rows, limit, queries.DAILY_SALES, filters)
        return DailySalesPage(items=items, **page.fields())


class ForecastsController(ReadController):
    path = "/forecasts"
    tags = ["forecasting"]

    @get(
        "/",
        operation_id="listForecasts",
        summary="Latest published forecast per day",
    )
    async def list_forecasts(
        self,
        *,
        principal: NamedDependency[Principal],
        conn: NamedDependency[Conn],
        store: StoreFilter = None,
        sku: SkuFilter = None,
        from_: First = None,
        to: Last = None,
        limit: Limit = 1000,
        cursor: Cursor = None,
        request: AnyRequest,
    ) -> ForecastPage:
        check_range(from_, to)
        filters = {"store": store, "sku": sku, "from": from_, "to": to}
        after = after_cursor(queries.FORECASTS, cursor, limit, filters)
        rows = await queries.forecasts(
            conn,
            principal.tenant_id,
            store=store_scope(principal, store),
            sku=sku,
            first=from_,
            last=to,
            limit=limit,
            after=after,
        )
        items, page = page_answer(request, rows, limit, queries.FORECASTS, filters)
        return ForecastPage(items=items, **page.fields())


class ProductionOrdersController(ReadController):
    path = "/production-orders"
    tags = ["production"]

    @get(
        "/",
        operation_id="listProductionOrders",
        summary="Manufacturing orders, latest first",
    )
    async def list_orders(
        self,
        *,
        principal: NamedDependency[Principal],
        conn: NamedDependency[Conn],
        status: FromQuery[ProductionStatus | None] = None,
        store: Annotated[str | None, query_id("producing or destination store", "alcala")] = None,
        sku: SkuFilter = None,
        limit: Limit = 1000,
        cursor: Cursor = None,
        request: AnyRequest,
    ) -> ProductionOrderPage:
        scope = store_scope(principal, store)
        filters = {"status": status, "store": store, "sku": sku}
        after = after_cursor(queries.PRODUCTION_ORDERS, cursor, limit, filters)
        rows = await queries.production_orders(
            conn,
            principal.tenant_id,
            status=status,
            store=scope,
            sku=sku,
            limit=limit,
            after=after,
        )
        items, page = page_answer(request, rows, limit, queries.PRODUCTION_ORDERS, filters)
        return ProductionOrderPage(items=items, **page.fields())


class PurchaseOrdersController(ReadController):
    path = "/purchase-orders"
    tags = ["purchasing"]

    @get(
        "/",
        operation_id="listPurchaseOrders",
        summary="Purchase orders by expected delivery",
    )
    async def list_orders(
        self,
        *,
        principal: NamedDependency[Principal],
        conn: NamedDependency[Conn],
        status: FromQuery[PurchaseStatus | None] = None,
        limit: Limit = 1000,
        cursor: Cursor = None,
        request: AnyRequest,
    ) -> PurchaseOrderPage:
        filters = {"status": status}
        after = after_cursor(queries.PURCHASE_ORDERS, cursor, limit, filters)
        rows = await queries.purchase_orders(
            conn,
            principal.tenant_id,
            status=status,
            limit=limit,
            store=store_scope(principal, None),
            after=after,
        )
        items, page = page_answer(request, rows, limit, queries.PURCHASE_ORDERS, filters)
        return PurchaseOrderPage(items=items, **page.fields())


class DashboardController(ReadController):
    path = "/dashboard"
    tags = ["dashboard"]

    @get(
        "/summary",
        operation_id="getDashboardSummary",
        summary="Health of every store",
    )
    async def summary(
        self,
        *,
        principal: NamedDependency[Principal],
        conn: NamedDependency[Conn],
        clock: NamedDependency[Callable[[], datetime]],
        date_: AsOf = None,
    ) -> DashboardSummary:
        check_dates(date=date_)
        scope = store_scope(principal, None)
        stores = None if scope is None else frozenset(scope)
        return await dashboard_summary(
            conn, principal.tenant_id, now=clock(), as_of=date_, only_stores=stores
        )
