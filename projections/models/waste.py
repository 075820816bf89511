"""waste: what left the books without being sold, in units and euros, and each day close.

``rm_waste_daily`` sums per tenant x store x store-local day x item x reason:
``WasteRecorded`` (its reason), ``StockExpired`` (``expired``, on the day the
expiry was recorded as of), and each ``DayClosed``: its waste
(``unsold_end_of_day``), its donation (``donated``) and what its count found
missing against the lots (``count_discrepancy``). Euros are the lots' unit
cost, carried by the events themselves, so this model reads no other table and
rebuilds alone. ``rm_waste_closes`` keeps one row per closed item and day.
Read with :func:`waste_report`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from psycopg import sql
from psycopg.rows import dict_row

from domain.events import DayClosed, StockExpired, WasteRecorded
from domain.events.inventory import CloseOutcome, LotAllocation
from projections.model import Decoded
from projections.models._sql import Conn, Row, spec

ZERO = Decimal(0)
DAILY = spec(
    "rm_waste_daily",
    5,
    "tenant_id text",
    "store_id text",
    "day date",
    "item_id text",
    "reason text",
    "units numeric",
    "value numeric",
    "unvalued_units numeric",
)
CLOSES = spec(
    "rm_waste_closes",
    4,
    "tenant_id text",
    "store_id text",
    "day date",
    "item_id text",
    "automatic boolean",
    "book_quantity numeric",
    "counted_quantity numeric",
    "discrepancy numeric",
    "waste numeric",
    "donation numeric",
    "markdown numeric",
    "carried numeric",
    "closed_at timestamptz",
    "position bigint",
)
#: What each close outcome counts as, when it is waste at all (markdown and carried are not).
CLOSE_REASONS = {CloseOutcome.WASTE: "unsold_end_of_day", CloseOutcome.DONATION: "donated"}
DailyKey = tuple[str, str, date, str, str]


@dataclass(slots=True)
class _Sum:
    units: Decimal = ZERO
    value: Decimal = ZERO
    unvalued: Decimal = ZERO


def _units(allocations: Sequence[LotAllocation]) -> Decimal:
    return sum((a.quantity for a in allocations), ZERO)


class WasteModel:
    name: ClassVar[str] = "waste"
    tables: ClassVar[tuple[str, ...]] = (DAILY.name, CLOSES.name)
    _handled: ClassVar[frozenset[str]] = frozenset({"WasteRecorded", "StockExpired", "DayClosed"})

    def handles(self, event_type: str) -> bool:
        return event_type in self._handled

    async def apply(self, conn: Conn, events: Sequence[Decoded], tables: Mapping[str, str]) -> None:
        sums: dict[DailyKey, _Sum] = {}
        closes: dict[tuple[str, str, date, str], Row] = {}

        def add(key: DailyKey, units: Decimal, value: Decimal | None) -> None:
            total = sums.setdefault(key, _Sum())
            total.units += units
            if value is None:
                total.unvalued += units
            else:
                total.value += value

        for rec, ev in events:
            match ev:
                case WasteRecorded():
                    day = ev.day or ev.occurred_at.date()
                    key = (rec.tenant_id, ev.store_id, day, ev.item_id, ev.reason.value)
                    add(key, ev.quantity, ev.value)
                case StockExpired():
                    key = (rec.tenant_id, ev.store_id, ev.day, ev.item_id, "expired")
                    add(key, _units(ev.allocations), ev.value)
                case DayClosed():
                    at = (rec.tenant_id, ev.store_id, ev.day, ev.item_id)
                    closes[at] = _close_row(ev, rec.position)
                    if ev.discrepancy_allocations:
                        units = _units(ev.discrepancy_allocations)
                        add((*at, "count_discrepancy"), units, ev.discrepancy_value)
                    for outcome in ev.outcomes:
                        reason = CLOSE_REASONS.get(outcome.outcome)
                        if reason is not None:
                            add((*at, reason), outcome.quantity, outcome.value)
        await DAILY.upsert(
            conn,
            tables,
            ((*k, s.units, s.value, s.unvalued) for k, s in sums.items()),
            add=("units", "value", "unvalued_units"),
        )
        await CLOSES.upsert(conn, tables, ((*k, *r) for k, r in closes.items()))


def _close_row(ev: DayClosed, position: int) -> Row:
    by = dict.fromkeys(CloseOutcome, ZERO)
    for outcome in ev.outcomes:
        by[outcome.outcome] += outcome.quantity
    return (
        ev.automatic,
        ev.book_quantity,
        ev.counted_quantity,
        ev.discrepancy,
        by[CloseOutcome.WASTE],
        by[CloseOutcome.DONATION],
        by[CloseOutcome.MARKDOWN],
        by[CloseOutcome.CARRIED],
        ev.occurred_at,
        position,
    )


GROUPS = ("store_id", "day", "item_id", "reason")


async def waste_report(
    conn: Conn,
    tenant_id: str,
    *,
    start: date | None = None,
    end: date | None = None,
    store_id: str | None = None,
    by: Sequence[str] = GROUPS,
) -> list[dict[str, Any]]:
    """Waste units and euros of one tenant between two days (inclusive), grouped ``by``
    any of ``store_id``, ``day``, ``item_id``, ``reason`` (largest value first)."""
    unknown = [g for g in by if g not in GROUPS]
    if unknown:
        raise ValueError(f"by: cannot group by {unknown} (allowed: {', '.join(GROUPS)})")
    groups = [sql.Identifier(g) for g in by]
    query = sql.SQL(
        "SELECT {cols} sum(units) AS units, sum(value) AS value,"
        " sum(unvalued_units) AS unvalued_units FROM rm_waste_daily"
        " WHERE tenant_id = %(t)s AND (%(s)s::text IS NULL OR store_id = %(s)s)"
        " AND (%(a)s::date IS NULL OR day >= %(a)s) AND (%(b)s::date IS NULL OR day <= %(b)s)"
        " {group} ORDER BY value DESC, units DESC {order}"
    ).format(
        cols=sql.SQL("").join(sql.SQL("{}, ").format(g) for g in groups),
        group=sql.SQL("GROUP BY {}").format(sql.SQL(", ").join(groups)) if groups else sql.SQL(""),
        order=sql.SQL("").join(sql.SQL(", {}").format(g) for g in groups),
    )
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, {"t": tenant_id, "s": store_id, "a": start, "b": end})
        return await cur.fetchall()
