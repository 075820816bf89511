"""``GET /v1/alerts``: a tenant's alerts, most important first, each with its score explained.

Reads ``rm_alerts`` only (the alerts read model, ``docs/alerts.md``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Final, Literal

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter
from psycopg.rows import dict_row

from read_api.auth import store_scope
from read_api.controllers import AnyRequest, ReadController, after_cursor, page_answer
from read_api.keys import Principal
from read_api.limits import StoreFilter
from read_api.paging import Cursor, Key, Order
from read_api.queries import Conn
from read_api.schemas import Out, PageInfo

AlertView = Literal["open", "snoozed", "resolved", "all"]
_STATUSES: Final[dict[str, tuple[str, ...]]] = {
    "open": ("raised", "acknowledged"),
    "snoozed": ("snoozed",),
    "resolved": ("resolved",),
    "all": ("raised", "acknowledged", "snoozed", "resolved"),
}


class ScoreFactor(Out, frozen=True, kw_only=True):
    value: int
    why: str


class ScoreFactors(Out, frozen=True, kw_only=True):
    impact: ScoreFactor  # 40 %
    urgency: ScoreFactor  # 30 %
    agency: ScoreFactor  # 20 %
    confidence: ScoreFactor  # 10 %


class Related(Out, frozen=True, kw_only=True):
    store_id: str | None
    item_id: str | None
    order_id: str | None
    lot_id: str | None
    supplier_id: str | None
    equipment_id: str | None
    purchase_order_id: str | None


class AlertLink(Out, frozen=True, kw_only=True):
    """Another alert in the chain: the latest one raised for that condition."""

    alert_id: str
    type: str
    title: str
    status: str


class Alert(Out, frozen=True, kw_only=True):
    alert_id: str
    type: str
    severity: str
    score: int
    base_score: int
    escalation: int
    escalation_why: str
    factors: ScoreFactors
    title: str
    description: str
    action: str
    consequence: str
    units: Decimal | None
    euros: Decimal | None
    deadline: datetime | None
    related: Related
    status: str
    occurrences: int
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    snoozed_until: datetime | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None
    auto_resolved: bool
    updated_at: datetime | None
    caused_by: list[AlertLink]  # what brought this about (late production -> stock shortage)


class AlertPage(PageInfo, frozen=True, kw_only=True, omit_defaults=True):
    items: list[Alert]


#: Most important first: score, nearest deadline, oldest; the id breaks ties (the cursor key).
#: A score that escalates during a walk moves its alert; new alerts never repeat others.
ALERT_ORDER: Final = Order(
    "alerts",
    (
        Key("score", int, desc=True),
        Key("deadline", datetime, nullable=True),
        Key("raised_at", datetime),
        Key("alert_id", str),
    ),
)
MAX_ALERTS: Final = 1000


_COLUMNS: Final = (
    "alert_id, type, severity, score, base_score, escalation, escalation_why,"
    " impact, impact_why, urgency, urgency_why, agency, agency_why, confidence, confidence_why,"
    " title, description, action, consequence, units, euros, deadline,"
    " store_id, item_id, order_id, lot_id, supplier_id, equipment_id, po_id,"
    " status, occurrences, raised_at, acknowledged_at, acknowledged_by, snoozed_until,"
    " resolved_at, resolved_by, resolution, auto_resolved, updated_at, caused_by"
)


_SCALARS: Final = tuple(
    name for name in Alert.__struct_fields__ if name not in ("factors", "related", "caused_by")
)


def _alert(r: dict[str, Any], links: dict[str, AlertLink]) -> Alert:
    factors = {
        name: ScoreFactor(value=r[name], why=r[f"{name}_why"])
        for name in ("impact", "urgency", "agency", "confidence")
    }
    related = {name: r[name] for name in Related.__struct_fields__ if name in r}
    return Alert(
        **{name: r[name] for name in _SCALARS},
        factors=ScoreFactors(**factors),
        related=Related(**related, purchase_order_id=r["po_id"]),
        caused_by=[links[k] for k in r["caused_by"].split() if k in links],
    )


async def list_alerts(
    conn: Conn,
    tenant_id: str,
    *,
    view: AlertView = "open",
    store: str | tuple[str, ...] | None = None,
    limit: int = 100,
    after: list[Any] | None = None,
) -> list[Alert]:
    """The tenant's alerts in ``view``, most important first: score, nearest deadline, oldest.

    Returns up to ``limit + 1`` rows (the caller says ``has_more``).
    """
    # A tuple: a store manager's stores (alerts of no store are not theirs to see).
    store_clause = " AND store_id = ANY(%s)" if store is not None else ""
    params: list[object] = [tenant_id, list(_STATUSES[view])]
    if store is not None:
        params.append(list(store) if isinstance(store, tuple) else [store])
    keyset, from_key = ALERT_ORDER.after(after)
    params += [*from_key, limit + 1]
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {_COLUMNS} FROM rm_alerts WHERE tenant_id = %s AND status = ANY(%s)"
            f"{store_clause}{keyset}{ALERT_ORDER.order_by()} LIMIT %s",
            params,
        )
        found = await cur.fetchall()
        keys = sorted({k for r in found for k in r["caused_by"].split()})
        links: dict[str, AlertLink] = {}
        if keys:
            await cur.execute(
                "SELECT DISTINCT ON (dedup_key) dedup_key, alert_id, type, title, status"
                " FROM rm_alerts WHERE tenant_id = %s AND dedup_key = ANY(%s)"
                " ORDER BY dedup_key, raised_at DESC, alert_id DESC",
                [tenant_id, keys],
            )
            for link in await cur.fetchall():
                key = link.pop("dedup_key")
                links[key] = AlertLink(**link)
        return [_alert(r, links) for r in found]


Limit = Annotated[
    int,
    QueryParameter(
        ge=1,
        description=f"most alerts per page (1–{MAX_ALERTS}); `next_cursor` gives the next page",
        schema_extra={"maximum": MAX_ALERTS},
    ),
]


class AlertsController(ReadController):
    path = "/alerts"
    tags = ["alerts"]

    @get("/", operation_id="listAlerts", summary="Alerts, most important first")
    async def list_alerts(
        self,
        *,
        principal: NamedDependency[Principal],
        conn: NamedDependency[Conn],
        request: AnyRequest,
        status: FromQuery[AlertView] = "open",
        store: StoreFilter = None,
        limit: Limit = 100,
        cursor: Cursor = None,
    ) -> AlertPage:
        scope = store_scope(principal, store)
        filters = {"status": status, "store": store}
        after = after_cursor(ALERT_ORDER, cursor, limit, filters, most=MAX_ALERTS)
        found = await list_alerts(
            conn, principal.tenant_id, view=status, store=scope, limit=limit, after=after
        )
        items, page = page_answer(request, found, limit, ALERT_ORDER, filters)
        return AlertPage(items=items, **page.fields())
