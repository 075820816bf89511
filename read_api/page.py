"""The dashboard page: server-rendered HTML of the summary, no JavaScript.

A browser cannot send a bearer header from a link, so ``GET /login?key=…``
checks the key once and keeps it in an HTTP-only cookie that only this page
reads (the JSON API accepts the header only). See docs/api.md.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from html import escape
from typing import Annotated

from litestar import Controller, MediaType, Response, get
from litestar.datastructures import Cookie, State
from litestar.params import CookieParameter, QueryParameter
from litestar.response import Redirect

from read_api.dashboard import dashboard_summary
from read_api.keys import Principal, find_principal
from read_api.limits import check_dates, query_date
from read_api.schemas import DashboardSummary, StoreSummary

COOKIE = "obrador_key"
_COLOURS = {"green": "#2e7d32", "yellow": "#f9a825", "red": "#c62828"}
_STYLE = (
    "body{font:15px system-ui,sans-serif;margin:2rem;color:#222}"
    "table{border-collapse:collapse}td,th{padding:.4rem .8rem;border-bottom:1px solid #ddd;"
    "text-align:left;vertical-align:top}.dot{display:inline-block;width:.8rem;height:.8rem;"
    "border-radius:50%;margin-right:.4rem}small{color:#666}"
)
KeyCookie = Annotated[str | None, CookieParameter(name=COOKIE)]


def _html(title: str, body: str, status: int = 200, *, refresh: bool = False) -> Response[str]:
    again = "<meta http-equiv=refresh content=60>" if refresh else ""
    page = (
        f"<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<meta name=viewport content='width=device-width'>{again}"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>"
    )
    return Response(
        page, media_type=MediaType.HTML, status_code=status, headers={"Cache-Control": "no-store"}
    )


def _login_form(message: str, status: int) -> Response[str]:
    return _html(
        "Obrador — sign in",
        f"<h1>Obrador</h1><p>{escape(message)}</p>"
        "<form action=/login method=get><input name=key type=password size=60 "
        "placeholder='API key (obrador api-key create TENANT --role owner)'> "
        "<button>Open dashboard</button></form>",
        status,
    )


def _dot(status: str) -> str:
    return f"<span class=dot style='background:{_COLOURS[status]}'></span>{escape(status)}"


def _store_row(s: StoreSummary) -> str:
    reasons = "<br>".join(escape(r) for r in s.reasons) or "all fine"
    return (
        f"<tr><td><b>{escape(s.store_id)}</b><br><small>{escape(s.timezone)}</small></td>"
        f"<td>{_dot(s.status)}</td>"
        f"<td>{s.units_today} u · {s.revenue_today} €<br><small>{s.business_date}</small></td>"
        f"<td>{s.units_last_week} u · {s.revenue_last_week} €<br>"
        f"<small>{s.compared_with}, hours 0–{s.through_hour - 1}</small></td>"
        f"<td>{len(s.negative_items)} / {len(s.short_items)}</td>"
        f"<td>{s.open_production_orders} ({s.late_production_orders} late)</td>"
        f"<td>{reasons}</td></tr>"
    )


def render(summary: DashboardSummary) -> str:
    rows = "".join(_store_row(s) for s in summary.stores)
    return (
        f"<h1>{_dot(summary.status)} {escape(summary.tenant_id)}</h1>"
        f"<p><small>updated {summary.generated_at:%Y-%m-%d %H:%M} UTC · "
        "<a href=/logout>sign out</a></small></p>"
        "<table><tr><th>store</th><th>health</th><th>today</th><th>same weekday last week</th>"
        "<th>items below zero / short</th><th>open production orders</th><th>why</th></tr>"
        f"{rows or '<tr><td colspan=7>no stores yet</td></tr>'}</table>"
    )


class DashboardPageController(Controller):
    path = "/"
    include_in_schema = False

    @get("/", operation_id="dashboardPage", media_type=MediaType.HTML)
    async def page(
        self,
        state: State,
        key: KeyCookie = None,
        date_: Annotated[date | None, query_date("business date to show", name="date")] = None,
    ) -> Response[str]:
        check_dates(date=date_)
        principal = await find_principal(state.pool, key)
        if principal is None:
            return _login_form("Sign in with an API key of your bakery.", 401)
        clock: Callable[[], datetime] = state.clock
        async with state.pool.connection() as conn:
            summary = await dashboard_summary(conn, principal.tenant_id, now=clock(), as_of=date_)
        return _html(f"Obrador — {principal.tenant_id}", render(summary), refresh=True)

    @get("/login", operation_id="dashboardLogin", media_type=MediaType.HTML)
    async def login(
        self, state: State, key: Annotated[str | None, QueryParameter(name="key")] = None
    ) -> Response[str] | Redirect:
        principal: Principal | None = await find_principal(state.pool, key)
        if principal is None or key is None:
            return _login_form("That key is unknown or revoked.", 401)
        cookie = Cookie(
            key=COOKIE, value=key, httponly=True, samesite="lax", path="/", max_age=12 * 3600
        )
        return Redirect("/", status_code=303, cookies=[cookie])

    @get("/logout", operation_id="dashboardLogout")
    async def logout(self) -> Redirect:
        gone = Cookie(key=COOKIE, value="", httponly=True, samesite="lax", path="/", max_age=0)
        return Redirect("/", status_code=303, cookies=[gone])
