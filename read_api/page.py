"""The 5 AM page: a server-rendered shell, the dashboard as a server-rendered fragment,
and a small script (``static/dashboard.js``) that logs in, sends the buttons' commands
and keeps the fragment live.

- ``GET /`` — the shell: the sign-in form (e-mail and password through
  ``POST /v1/auth/login``, or an API key) and the place the dashboard goes.
- ``GET /v1/dashboard/view`` — the dashboard as HTML, behind the same bearer
  credential as the JSON (``GET /v1/dashboard``) and the same read-your-writes
  guard (``?min_position=``), so a click's answer position shows its effect.
- ``GET /login?key=…`` — a bookmarkable link for an API key: checked once, then
  303 to ``/#key=…`` (the fragment never reaches a server or its logs again).
- ``GET /static/…`` — the script and the style sheet, served from this package
  (no CDN).

The credential lives in the tab's ``sessionStorage``: closing the tab signs out.
docs/dashboard.md describes the page.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from html import escape
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from litestar import Controller, MediaType, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from read_api.controllers import AsOf, ReadController
from read_api.dashboard_http import StoreParam, dashboard_for
from read_api.keys import Principal, find_principal
from read_api.limits import check_dates, query_date
from read_api.page_render import render_dashboard
from read_api.queries import Conn

STATIC = Path(__file__).parent / "static"
_NO_STORE = {"Cache-Control": "no-store"}


def _html(body: str, status: int = 200) -> Response[str]:
    return Response(body, media_type=MediaType.HTML, status_code=status, headers=_NO_STORE)


def shell(message: str = "") -> str:
    """The page around the dashboard: sign-in form, notice line, the dashboard's place."""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        "<title>Obrador — today</title><link rel=stylesheet href=/static/dashboard.css>"
        "<script src=/static/dashboard.js defer></script></head><body>"
        "<nav><b>Obrador</b> <a href=/ id=chain>all stores</a>"
        " <button type=button id=signout hidden>sign out</button></nav>"
        f"<p id=notice role=status>{escape(message)}</p>"
        "<form id=login hidden><h1>Good morning</h1>"
        "<label>E-mail <input name=email type=email autocomplete=username></label>"
        "<label>Password <input name=password type=password"
        " autocomplete=current-password></label>"
        "<details><summary>or an API key</summary>"
        "<label>API key <input name=key type=password autocomplete=off></label></details>"
        "<button type=submit>Sign in</button></form>"
        "<main id=dashboard aria-live=polite></main>"
        "<noscript>This page needs JavaScript; the same data is at GET /v1/dashboard.</noscript>"
        "</body></html>"
    )


class DashboardPageController(Controller):
    path = "/"
    include_in_schema = False

    @get("/", operation_id="dashboardPage", media_type=MediaType.HTML)
    async def page(
        self,
        date_: Annotated[date | None, query_date("business date to show", name="date")] = None,
    ) -> Response[str]:
        check_dates(date=date_)
        return _html(shell())

    @get("/login", operation_id="dashboardLogin", media_type=MediaType.HTML)
    async def login(
        self, state: State, key: Annotated[str | None, QueryParameter(name="key")] = None
    ) -> Response[str] | Redirect:
        principal: Principal | None = await find_principal(state.pool, key)
        if principal is None or key is None:
            return _html(shell("That key is unknown or revoked."), 401)
        return Redirect(f"/#key={quote(key, safe='')}", status_code=303, headers=_NO_STORE)

    @get("/logout", operation_id="dashboardLogout")
    async def logout(self) -> Redirect:
        # The credential is in the tab (sessionStorage): the script forgets it on #signout.
        return Redirect("/#signout", status_code=303)


class DashboardFragmentController(ReadController):
    """Under /v1: bearer auth, the can_read guard and ``min_position`` like the JSON."""

    path = "/dashboard/view"
    include_in_schema = False

    @get("/", operation_id="dashboardView", media_type=MediaType.HTML)
    async def view(
        self,
        *,
        principal: NamedDependency[Principal],
        conn: NamedDependency[Conn],
        clock: NamedDependency[Callable[[], datetime]],
        store: StoreParam = None,
        date_: AsOf = None,
    ) -> Response[str]:
        found = await dashboard_for(conn, principal, clock(), store, date_)
        return _html(render_dashboard(found))


def static_files() -> ControllerRouterHandler:
    return create_static_files_router(
        path="/static", directories=[STATIC], include_in_schema=False, name="static"
    )
