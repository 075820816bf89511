"""``GET /v1/waste``: units and euros that left the books unsold, by store, day, item, reason.

Rows come from the ``waste`` read model (``projections.models.waste``); ``by``
chooses the grouping (default: all four), largest value first.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter

from projections.models.waste import GROUPS, waste_report
from read_api.controllers import Limit, ReadController
from read_api.errors import InvalidQuery
from read_api.keys import Principal
from read_api.queries import Conn
from read_api.schemas import Out


class WasteRow(Out, frozen=True, kw_only=True, omit_defaults=True):
    """Only the grouping columns asked for are present."""

    store_id: str | None = None
    day: date | None = None
    item_id: str | None = None
    reason: str | None = None  # expired, damaged, quality, unsold_end_of_day, donated, ...
    units: Decimal
    value: Decimal  # euros at lot cost
    unvalued_units: Decimal  # units from events that did not carry their cost


class WastePage(Out, frozen=True, kw_only=True):
    items: list[WasteRow]
    has_more: bool


class WasteController(ReadController):
    path = "/waste"
    tags = ["waste"]

    @get("/", operation_id="listWaste", summary="Waste in units and euros, largest first")
    async def list_waste(
        self,
        *,
        principal: NamedDependency[Principal],
        conn: NamedDependency[Conn],
        store: FromQuery[str | None] = None,
        from_: Annotated[date | None, QueryParameter(name="from")] = None,
        to: FromQuery[date | None] = None,
        by: Annotated[
            str, QueryParameter(description=f"comma-separated, of: {', '.join(GROUPS)}")
        ] = ",".join(GROUPS),
        limit: Limit = 1000,
    ) -> WastePage:
        groups = [g.strip() for g in by.split(",") if g.strip()]
        if unknown := [g for g in groups if g not in GROUPS]:
            raise InvalidQuery("by", f"cannot group by {unknown} (allowed: {', '.join(GROUPS)})")
        if from_ is not None and to is not None and from_ > to:
            raise InvalidQuery("from", f"{from_} is after to={to}")
        rows = await waste_report(
            conn, principal.tenant_id, start=from_, end=to, store_id=store, by=groups
        )
        return WastePage(items=[WasteRow(**r) for r in rows[:limit]], has_more=len(rows) > limit)
