"""``GET /v1/dashboard``: the 5 AM screen as JSON, for one store or the chain.

The page (read_api/page.py) renders the same model; docs/dashboard.md says
what each part shows and which read model it comes from.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated

from litestar import get
from litestar.di import NamedDependency

from read_api.auth import store_scope
from read_api.controllers import AsOf, ReadController
from read_api.dashboard_schemas import Dashboard
from read_api.dashboard_view import build_dashboard
from read_api.keys import Principal
from read_api.limits import check_dates, query_id
from read_api.queries import Conn

StoreParam = Annotated[
    str | None, query_id("one store (default: the whole chain you may see)", "madrid-centro")
]


async def dashboard_for(
    conn: Conn, principal: Principal, now: datetime, store: str | None, day: date | None
) -> Dashboard:
    """The caller's dashboard: a store manager sees their stores only (403 for another)."""
    check_dates(date=day)
    scope = store_scope(principal, store)
    if isinstance(scope, tuple):
        return await build_dashboard(
            conn, principal.tenant_id, now=now, only_stores=frozenset(scope), as_of=day
        )
    return await build_dashboard(conn, principal.tenant_id, now=now, store=scope, as_of=day)


class DashboardViewController(ReadController):
    path = "/dashboard"
    tags = ["dashboard"]

    @get(
        "/",
        operation_id="getDashboard",
        summary="Health, action queue, today's production, the overnight plan and insights",
        description=(
            "Per store (`store`) or for the chain: every store's local business date, its"
            " health checklist, today's production timeline, what the planner suggested"
            " overnight and why, and insights (sales against the same weekday of recent"
            " weeks, waste this week against last, stock value, deliveries due); one action"
            " queue (urgent / today / this week, most important first) whose items carry the"
            " POST commands that act on them. docs/dashboard.md."
        ),
    )
    async def dashboard(
        self,
        *,
        principal: NamedDependency[Principal],
        conn: NamedDependency[Conn],
        clock: NamedDependency[Callable[[], datetime]],
        store: StoreParam = None,
        date_: AsOf = None,
    ) -> Dashboard:
        return await dashboard_for(conn, principal, clock(), store, date_)
