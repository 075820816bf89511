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
from litestar.params import FromQuery, QueryParameter

from read_api import queries
from read_api.auth import can_read, store_scope
from read_api.dashboard import dashboard_summary
from read_api.errors import InvalidQuery, NotFound
from read_api.keys import Principal
from read_api.limits import SkuFilter, StoreFilter, check_dates, path_id, query_date, query_id
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

Limit = Annotated[
    int, QueryParameter(ge=1, le=5000, description="most rows to return (has_more says if cut)")
]
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


def _check_range(first: date | None, last: date | None) -> None:
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
        store: StoreFilter = None,
        limit: Limit = 1000,
    ) -> StockPage:
        scope = store_scope(principal, store)
        rows = await queries.stock(conn, principal.tenant_id, store=scope, limit=limit)
        return StockPage(items=rows[:limit], has_more=len(rows) > limit)

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
    ) -> ItemLots:
        store_scope(principal, store)
        found = await queries.lots(conn, principal.tenant_id, store, item)
        if found is None:
            raise NotFound(f"no stock of item {item!r} in store {store!r}")
        return found


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
    ) -> DailySalesPage:
        _check_range(from_, to)
        rows = await queries.daily_sales(
            conn,
            principal.tenant_id,
            store=store_scope(principal, store),
            sku=sku,
            first=from_,
            last=to,
            limit=limit,
        )
        return DailySalesPage(items=rows[:limit], has_more=len(rows) > limit)


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
    ) -> ForecastPage:
        _check_range(from_, to)
        rows = await queries.forecasts(
            conn,
            principal.tenant_id,
            store=store_scope(principal, store),
            sku=sku,
            first=from_,
            last=to,
            limit=limit,
        )
        return ForecastPage(items=rows[:limit], has_more=len(rows) > limit)


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
    ) -> ProductionOrderPage:
        scope = store_scope(principal, store)
        rows = await queries.production_orders(
            conn, principal.tenant_id, status=status, store=scope, sku=sku, limit=limit
        )
        return ProductionOrderPage(items=rows[:limit], has_more=len(rows) > limit)


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
    ) -> PurchaseOrderPage:
        rows = await queries.purchase_orders(
            conn,
            principal.tenant_id,
            status=status,
            limit=limit,
            store=store_scope(principal, None),
        )
        return PurchaseOrderPage(items=rows[:limit], has_more=len(rows) > limit)


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
