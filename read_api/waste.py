"""``GET /v1/waste``: units and euros that left the books unsold, by store, day, item, reason.

Rows come from the ``waste`` read model (``rm_waste_daily``); ``by`` chooses the
grouping (default: all four), largest value first, in cursor pages
(``read_api.paging``; the key is value, units and the grouping columns). A store
manager sees only their stores.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from litestar import get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from projections.models.waste import GROUPS
from read_api import queries
from read_api.auth import store_scope
from read_api.controllers import AnyRequest, First, Last, ReadController, after_cursor, check_range
from read_api.errors import InvalidQuery
from read_api.keys import Principal
from read_api.limits import StoreFilter
from read_api.paging import Cursor, Limit, page_of
from read_api.queries import Conn
from read_api.schemas import Out, PageInfo


class WasteRow(Out, frozen=True, kw_only=True, omit_defaults=True):
    """Only the grouping columns asked for are present."""

    store_id: str | None = None
    day: date | None = None
    item_id: str | None = None
    reason: str | None = None  # expired, damaged, quality, unsold_end_of_day, donated, ...
    units: Decimal
    value: Decimal  # euros at lot cost
    unvalued_units: Decimal  # units from events that did not carry their cost


class WastePage(PageInfo, frozen=True, kw_only=True, omit_defaults=True):
    items: list[WasteRow]


class WasteController(ReadController):
    path = "/waste"
    tags = ["waste"]

    @get("/", operation_id="listWaste", summary="Waste in units and euros, largest first")
    async def list_waste(
        self,
        *,
        principal: NamedDependency[Principal],
        conn: NamedDependency[Conn],
        request: AnyRequest,
        store: StoreFilter = None,
        from_: First = None,
        to: Last = None,
        by: Annotated[
            str,
            QueryParameter(
                description=f"comma-separated, of: {', '.join(GROUPS)}",
                pattern=r"^[a-z_,]{0,64}$",
                max_length=64,
            ),
        ] = ",".join(GROUPS),
        limit: Limit = 1000,
        cursor: Cursor = None,
    ) -> WastePage:
        groups = list(dict.fromkeys(g.strip() for g in by.split(",") if g.strip()))
        if unknown := [g for g in groups if g not in GROUPS]:
            raise InvalidQuery("by", f"cannot group by {unknown} (allowed: {', '.join(GROUPS)})")
        check_range(from_, to)
        order = queries.waste_order(groups)
        filters = {"store": store, "from": from_, "to": to, "by": groups}
        after = after_cursor(order, cursor, limit, filters)
        rows = await queries.waste(
            conn,
            principal.tenant_id,
            by=groups,
            store=store_scope(principal, store),
            first=from_,
            last=to,
            limit=limit,
            after=after,
        )
        items, page = page_of(
            [WasteRow(**r) for r in rows],
            limit,
            order,
            filters,
            path=request.url.path,
            query=request.query_params,
        )
        return WastePage(items=items, **page.fields())
