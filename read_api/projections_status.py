"""``GET /v1/projections/parked``: the caller's events that a read model could not apply.

A parked event (ADR 0006) is left out of one read model, so that model is
incomplete for this tenant until the event is dealt with; ``counts`` says which
models are affected, ``items`` lists the events with the reason. The tenant
comes from the API key, like every other route; the rows come from
``projections.status``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter

from projections.status import parked_counts, parked_events
from read_api.auth import can_read, tenant_wide
from read_api.controllers import ReadController
from read_api.keys import Principal
from read_api.paging import Limit, check_limit
from read_api.queries import Conn
from read_api.schemas import Out


class ParkedEvent(Out, frozen=True, kw_only=True):
    projection: str  # the read model that could not apply it
    position: int  # global position in the event store (the audit export finds it)
    stream_id: str
    event_type: str
    error_class: str
    error: str
    parked_at: datetime


class ParkedPage(Out, frozen=True, kw_only=True):
    #: Per read model with parked events of this tenant, how many (models with none are absent).
    counts: dict[str, int]
    items: list[ParkedEvent]
    has_more: bool


After = Annotated[
    int, QueryParameter(ge=0, description="only events after this global position (paging)")
]


class ProjectionsStatusController(ReadController):
    path = "/projections"
    tags = ["projections"]
    guards = [can_read, tenant_wide]  # stream ids and errors of every store

    @get(
        "/parked",
        operation_id="listParkedEvents",
        summary="Events of this tenant that a read model could not apply, oldest first",
    )
    async def parked(
        self,
        *,
        principal: NamedDependency[Principal],
        conn: NamedDependency[Conn],
        model: FromQuery[str | None] = None,
        after: After = 0,
        limit: Limit = 100,
    ) -> ParkedPage:
        check_limit(limit)
        rows = await parked_events(
            conn, principal.tenant_id, projection=model, after=after, limit=limit + 1
        )
        return ParkedPage(
            counts=await parked_counts(conn, principal.tenant_id),
            items=[ParkedEvent(**row.__dict__) for row in rows[:limit]],
            has_more=len(rows) > limit,
        )
