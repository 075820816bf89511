"""sales: net daily and hourly totals per store x product, and per-ticket totals.

Days and hours are the store's local ones: ``sold_at`` is converted with the
time zone its ``StoreOpened`` gave (kept in ``rm_sales_store_timezones``; UTC
while a store's opening is unknown, or when the zone name is not one the
tz database knows). A ticket belongs to the local day and hour it was sold in,
for good: a void takes the whole ticket (what is left of it after refunds)
back out of that day and hour, and a refund takes its lines' units and amounts
out of the ticket's day and hour too — the totals are net sales by the time
the customer bought, which is what forecasting needs. ``rm_sales_ticket_lines``
remembers each ticket's products so a later void or refund knows what to undo.

Daily and hourly rows are written as per-batch sums added to the stored row;
tickets and their lines are written whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import ClassVar

from domain.events import DomainEvent, SaleRecorded, SaleRefunded, SaleVoided, StoreOpened
from domain.zones import zone_or_utc
from projections.model import Decoded
from projections.models._sql import Conn, Row, spec
from streams.envelope import RecordedEvent

ZERO = Decimal(0)

TIMEZONES = spec("rm_sales_store_timezones", 2, "tenant_id text", "store_id text", "timezone text")
TICKETS = spec(
    "rm_sales_tickets",
    3,
    "tenant_id text",
    "store_id text",
    "pos_txn_id text",
    "sold_at timestamptz",
    "sales_date date",
    "hour smallint",
    "channel text",
    "source text",
    "line_count integer",
    "units numeric",
    "total numeric",
    "refunded_units numeric",
    "refunded_amount numeric",
    "net_units numeric",
    "net_amount numeric",
    "refunds integer",
    "voided boolean",
    "void_reason text",
    "recorded_position bigint",
)
LINES = spec(
    "rm_sales_ticket_lines",
    4,
    "tenant_id text",
    "store_id text",
    "pos_txn_id text",
    "sku text",
    "units numeric",
    "revenue numeric",
    "refunded_units numeric",
    "refunded_revenue numeric",
)
DAILY = spec(
    "rm_sales_daily",
    4,
    "tenant_id text",
    "store_id text",
    "sku text",
    "sales_date date",
    "units numeric",
    "revenue numeric",
    "tickets integer",
)
HOURLY = spec(
    "rm_sales_hourly",
    5,
    "tenant_id text",
    "store_id text",
    "sku text",
    "sales_date date",
    "hour smallint",
    "units numeric",
    "revenue numeric",
)

TicketKey = tuple[str, str, str]  # tenant, store, pos_txn_id


@dataclass(slots=True)
class _Ticket:
    sold_at: datetime
    sales_date: date
    hour: int
    channel: str
    source: str
    line_count: int
    units: Decimal
    total: Decimal
    refunded_units: Decimal
    refunded_amount: Decimal
    refunds: int
    voided: bool
    void_reason: str | None
    recorded_position: int
    #: sku -> [units, revenue, refunded units, refunded revenue]
    lines: dict[str, list[Decimal]] = field(default_factory=dict)

    def row(self, key: TicketKey) -> Row:
        net_units = ZERO if self.voided else self.units - self.refunded_units
        net_amount = ZERO if self.voided else self.total - self.refunded_amount
        return (
            *key,
            self.sold_at,
            self.sales_date,
            self.hour,
            self.channel,
            self.source,
            self.line_count,
            self.units,
            self.total,
            self.refunded_units,
            self.refunded_amount,
            net_units,
            net_amount,
            self.refunds,
            self.voided,
            self.void_reason,
            self.recorded_position,
        )


def local_day_hour(sold_at: datetime, timezone: str) -> tuple[date, int]:
    """The store-local calendar day and hour (0-23) of an instant; naive times are UTC."""
    if sold_at.tzinfo is None:
        sold_at = sold_at.replace(tzinfo=UTC)
    local = sold_at.astimezone(zone_or_utc(timezone))
    return local.date(), local.hour


class _Fold:
    def __init__(self, zones: list[Row], tickets: list[Row], lines: list[Row]) -> None:
        self.zones: dict[tuple[str, str], str] = {(t, s): tz for t, s, tz in zones}
        self.tickets: dict[TicketKey, _Ticket] = {
            (r[0], r[1], r[2]): _Ticket(*r[3:9], *r[9:13], *r[15:19]) for r in tickets
        }
        for t, s, txn, sku, *amounts in lines:
            self.tickets[(t, s, txn)].lines[sku] = amounts
        self.touched_zones: set[tuple[str, str]] = set()
        self.touched_tickets: set[TicketKey] = set()
        self.stored = set(self.tickets)  # tickets already in the table; the others are new
        #: (tenant, store, sku, day) -> [units, revenue, tickets] added by this batch
        self.daily: dict[tuple[str, str, str, date], list[Decimal]] = {}
        self.hourly: dict[tuple[str, str, str, date, int], list[Decimal]] = {}

    def apply(self, rec: RecordedEvent, ev: DomainEvent) -> None:
        t = rec.tenant_id
        match ev:
            case StoreOpened():
                self.zones[(t, ev.store_id)] = ev.timezone
                self.touched_zones.add((t, ev.store_id))
            case SaleRecorded():
                self._record(rec, ev)
            case SaleVoided():
                key = (t, ev.store_id, ev.pos_txn_id)
                ticket = self.tickets.get(key)
                if ticket is None or ticket.voided:
                    return  # unknown ticket, or voided already: nothing to take back
                for sku, (units, revenue, back_units, back_revenue) in ticket.lines.items():
                    self._add(key, ticket, sku, back_units - units, back_revenue - revenue, n=-1)
                ticket.voided, ticket.void_reason = True, ev.reason
                self.touched_tickets.add(key)
            case SaleRefunded():
                key = (t, ev.store_id, ev.pos_txn_id)
                ticket = self.tickets.get(key)
                if ticket is None or ticket.voided:
                    return
                for line in ev.lines:
                    amounts = ticket.lines.setdefault(line.sku, [ZERO, ZERO, ZERO, ZERO])
                    amounts[2] += line.quantity
                    amounts[3] += line.amount
                    ticket.refunded_units += line.quantity
                    self._add(key, ticket, line.sku, -line.quantity, -line.amount, n=0)
                ticket.refunded_amount += ev.amount
                ticket.refunds += 1
                self.touched_tickets.add(key)

    def lines(self, keys: Iterable[TicketKey]) -> list[Row]:
        return [(*k, sku, *amounts) for k in keys for sku, amounts in self.tickets[k].lines.items()]

    def _record(self, rec: RecordedEvent, ev: SaleRecorded) -> None:
        key = (rec.tenant_id, ev.store_id, ev.pos_txn_id)
        if key in self.tickets:
            return  # the same ticket twice: the first one stands
        zone = self.zones.get((rec.tenant_id, ev.store_id), "UTC")
        day, hour = local_day_hour(ev.sold_at, zone)
        ticket = _Ticket(
            sold_at=ev.sold_at if ev.sold_at.tzinfo else ev.sold_at.replace(tzinfo=UTC),
            sales_date=day,
            hour=hour,
            channel=ev.channel.value,
            source=ev.source.value,
            line_count=len(ev.lines),
            units=ZERO,
            total=ev.total,
            refunded_units=ZERO,
            refunded_amount=ZERO,
            refunds=0,
            voided=False,
            void_reason=None,
            recorded_position=rec.position,
        )
        self.tickets[key] = ticket
        self.touched_tickets.add(key)
        for line in ev.lines:
            amounts = ticket.lines.setdefault(line.sku, [ZERO, ZERO, ZERO, ZERO])
            amounts[0] += line.quantity
            amounts[1] += line.amount
            ticket.units += line.quantity
        for sku, (units, revenue, _, _) in ticket.lines.items():
            self._add(key, ticket, sku, units, revenue, n=1)

    def _add(
        self, key: TicketKey, ticket: _Ticket, sku: str, units: Decimal, revenue: Decimal, *, n: int
    ) -> None:
        t, store, _ = key
        day = self.daily.setdefault((t, store, sku, ticket.sales_date), [ZERO, ZERO, ZERO])
        day[0] += units
        day[1] += revenue
        day[2] += n
        hour = self.hourly.setdefault((t, store, sku, ticket.sales_date, ticket.hour), [ZERO, ZERO])
        hour[0] += units
        hour[1] += revenue


class SalesModel:
    name: ClassVar[str] = "sales"
    tables: ClassVar[tuple[str, ...]] = (
        TIMEZONES.name,
        TICKETS.name,
        LINES.name,
        DAILY.name,
        HOURLY.name,
    )
    _handled: ClassVar[frozenset[str]] = frozenset(
        {"StoreOpened", "SaleRecorded", "SaleVoided", "SaleRefunded"}
    )

    def handles(self, event_type: str) -> bool:
        return event_type in self._handled

    async def apply(self, conn: Conn, events: Sequence[Decoded], tables: Mapping[str, str]) -> None:
        stores: set[tuple[str, str]] = set()
        tickets: set[TicketKey] = set()
        changed: set[TicketKey] = set()  # voided or refunded: their lines are needed
        for rec, ev in events:
            if isinstance(ev, SaleRecorded | SaleVoided | SaleRefunded):
                stores.add((rec.tenant_id, ev.store_id))
                key = (rec.tenant_id, ev.store_id, ev.pos_txn_id)
                tickets.add(key)
                if not isinstance(ev, SaleRecorded):
                    changed.add(key)
        fold = _Fold(
            await TIMEZONES.fetch(conn, tables, stores),
            await TICKETS.fetch(conn, tables, tickets),
            await LINES.fetch(conn, tables, changed, by=LINES.key_names[:3]),
        )
        for rec, ev in events:
            fold.apply(rec, ev)
        await TIMEZONES.upsert(
            conn, tables, ((*k, fold.zones[k]) for k in sorted(fold.touched_zones))
        )
        touched = sorted(fold.touched_tickets)
        stored = [k for k in touched if k in fold.stored]  # voided or refunded since
        new = [k for k in touched if k not in fold.stored]  # recorded by this batch
        await TICKETS.upsert(conn, tables, [fold.tickets[k].row(k) for k in stored])
        await LINES.upsert(conn, tables, fold.lines(stored))
        await TICKETS.insert(conn, tables, [fold.tickets[k].row(k) for k in new])
        await LINES.insert(conn, tables, fold.lines(new))
        await DAILY.upsert(
            conn,
            tables,
            ((*k, u, r, int(n)) for k, (u, r, n) in fold.daily.items()),
            add=("units", "revenue", "tickets"),
        )
        await HOURLY.upsert(
            conn,
            tables,
            ((*k, u, r) for k, (u, r) in fold.hourly.items()),
            add=("units", "revenue"),
        )
