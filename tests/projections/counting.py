"""A tiny read model for runtime tests: units sold per tenant × store × SKU."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

import psycopg
from psycopg import sql

from domain.codec import encode_event
from domain.events.sales import Channel, SaleLine, SaleRecorded
from projections.model import Decoded
from streams.envelope import NewEvent

CREATE = """
CREATE TABLE IF NOT EXISTS rm_test_units (
    tenant_id text NOT NULL, store_id text NOT NULL, sku text NOT NULL,
    units numeric NOT NULL, tickets integer NOT NULL,
    PRIMARY KEY (tenant_id, store_id, sku)
)
"""


class UnitsSold:
    name: ClassVar[str] = "test_units"
    tables: ClassVar[tuple[str, ...]] = ("rm_test_units",)

    def __init__(
        self,
        poison_txn: str | None = None,
        *,
        sql_error_txn: str | None = None,
        disconnect_txn: str | None = None,
        disconnects: int = 0,
    ) -> None:
        """``poison_txn`` raises in Python, ``sql_error_txn`` makes PostgreSQL refuse a
        statement (division by zero), ``disconnect_txn`` has the server close this
        connection the first ``disconnects`` times the ticket is applied."""
        self.poison_txn = poison_txn
        self.sql_error_txn = sql_error_txn
        self.disconnect_txn = disconnect_txn
        self.disconnects = disconnects

    def handles(self, event_type: str) -> bool:
        return event_type == "SaleRecorded"

    async def apply(
        self,
        conn: psycopg.AsyncConnection[tuple[Any, ...]],
        events: Sequence[Decoded],
        tables: Mapping[str, str],
    ) -> None:
        units: Counter[tuple[str, str, str]] = Counter()
        tickets: Counter[tuple[str, str, str]] = Counter()
        for envelope, event in events:
            assert isinstance(event, SaleRecorded)
            if event.pos_txn_id == self.poison_txn:
                raise ValueError(f"cannot project ticket {event.pos_txn_id}")
            if event.pos_txn_id == self.sql_error_txn:
                await conn.execute("SELECT 1 / 0")
            if event.pos_txn_id == self.disconnect_txn and self.disconnects > 0:
                self.disconnects -= 1
                await conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")
            for line in event.lines:
                key = (envelope.tenant_id, event.store_id, line.sku)
                units[key] += line.quantity  # type: ignore[assignment]
                tickets[key] += 1
        for (tenant, store, sku), n in sorted(units.items()):
            await conn.execute(
                sql.SQL(
                    "INSERT INTO {t} VALUES (%s, %s, %s, %s, %s)"
                    " ON CONFLICT (tenant_id, store_id, sku)"
                    " DO UPDATE SET units = {t}.units + EXCLUDED.units,"
                    " tickets = {t}.tickets + EXCLUDED.tickets"
                ).format(t=sql.Identifier(tables["rm_test_units"])),
                (tenant, store, sku, n, tickets[(tenant, store, sku)]),
            )


def sale(store: str, txn: str, sku: str = "barra", qty: int = 2) -> NewEvent:
    event = SaleRecorded(
        occurred_at=datetime(2026, 11, 20, 8, tzinfo=UTC),
        store_id=store,
        pos_txn_id=txn,
        sold_at=datetime(2026, 11, 20, 8, tzinfo=UTC),
        channel=Channel.COUNTER,
        lines=(SaleLine(sku=sku, quantity=Decimal(qty), unit_price=Decimal("1.10")),),
        total=Decimal("1.10") * qty,
    )
    kind, version, payload = encode_event(event)
    return NewEvent(event_type=kind, schema_version=version, payload=payload)


MODEL = UnitsSold()
