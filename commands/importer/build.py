"""Checked rows -> one ``SaleRecorded`` per ticket, keyed exactly as ``RecordSale`` keys it.

The idempotency key (``sale:<store>:<txn>@sale-<store>-<txn>``) and the event
id derived from it are the ones ``commands.handlers.handle`` uses for a
``RecordSale`` of the same ticket, so an imported ticket and the same ticket
sent later by a till (or imported again) are one sale.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Final
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo

import polars as pl

from commands.runtime import EVENT_ID_NAMESPACE
from domain import streams as stream_ids
from domain.codec import encode_event
from domain.events import SaleRecorded
from domain.events.sales import Channel, SaleLine, SaleSource
from streams.envelope import NO_STREAM, AppendRequest, NewEvent

ZERO: Final = Decimal(0)
PRICE_STEP: Final = Decimal("0.0001")
#: One row per ticket: its head, then its lines as lists.
COLUMNS: Final = (
    "store",
    "txn",
    "sold_utc",
    "tz",
    "channel",
    "product",
    "quantity",
    "unit_price",
    "amount",
    "discount",
)


def sale_key(store_id: str, txn: str) -> str:
    """The store idempotency key ``handle(RecordSale)`` gives this ticket's sale stream."""
    return f"{stream_ids.sale_key(store_id, txn)}@{stream_ids.sale_stream(store_id, txn)}"


def event_id(tenant_id: str, key: str) -> UUID:
    return uuid5(EVENT_ID_NAMESPACE, f"{tenant_id}|{key}|0")


def line_of(
    sku: str, quantity: str, unit_price: str | None, amount: str | None, discount: str | None
) -> SaleLine:
    """A ticket line; a price missing from the file comes from the amount, else is 0."""
    qty = Decimal(quantity)
    if unit_price is not None:
        price = Decimal(unit_price)
    elif amount is not None and qty:
        price = (Decimal(amount) / qty).quantize(PRICE_STEP)
    else:
        price = ZERO
    if discount is not None:
        off = Decimal(discount)
    elif amount is not None and unit_price is not None:
        off = max(ZERO, qty * price - Decimal(amount))
    else:
        off = ZERO
    return SaleLine(sku=sku, quantity=qty, unit_price=price, discount=off)


class TicketBuilder:
    """Checked rows in, sales out (one per ticket, lines in file order), a slice at a time."""

    def __init__(self, *, slice_tickets: int = 20_000) -> None:
        self.slice_tickets = slice_tickets
        self._zones: dict[str, ZoneInfo] = {}
        # Lines are immutable and repeat a lot (same product, quantity and price): share them.
        self._lines: dict[tuple[str, str, str | None, str | None, str | None], SaleLine] = {}

    def sales(self, rows: pl.DataFrame) -> Iterator[SaleRecorded]:
        tickets = (
            rows.sort("_row")
            .group_by("stream", maintain_order=True)
            .agg(
                pl.col("store", "txn", "sold_utc", "tz", "channel").first(),
                pl.col("product", "quantity", "unit_price", "amount", "discount"),
            )
            .select(COLUMNS)
        )
        for start in range(0, tickets.height, self.slice_tickets):
            part = tickets.slice(start, self.slice_tickets)
            columns = [part[c].to_list() for c in COLUMNS]
            for store, txn, sold, tz, channel, skus, qtys, prices, amounts, offs in zip(
                *columns, strict=True
            ):
                lines = tuple(map(self._line, skus, qtys, prices, amounts, offs))
                yield self._sale((store, txn, self._local(sold, tz), channel), lines)

    def _line(
        self, sku: str, qty: str, price: str | None, amount: str | None, off: str | None
    ) -> SaleLine:
        key = (sku, qty, price, amount, off)
        line = self._lines.get(key)
        if line is None:
            if len(self._lines) > 200_000:
                self._lines.clear()
            line = self._lines[key] = line_of(sku, qty, price, amount, off)
        return line

    def _local(self, utc: datetime, tz: str) -> datetime:
        zone = self._zones.get(tz)
        if zone is None:
            zone = self._zones[tz] = ZoneInfo(tz)
        return utc.astimezone(zone)

    @staticmethod
    def _sale(
        head: tuple[str, str, datetime, str | None], lines: tuple[SaleLine, ...]
    ) -> SaleRecorded:
        store, txn, sold, channel = head
        return SaleRecorded(
            occurred_at=sold,
            store_id=store,
            pos_txn_id=txn,
            sold_at=sold,
            channel=Channel(channel) if channel else Channel.COUNTER,
            lines=lines,
            total=sum((line.amount for line in lines), ZERO),
            source=SaleSource.IMPORT,
        )


def append_request(
    sale: SaleRecorded, *, tenant_id: str, actor: str, causation_id: UUID
) -> AppendRequest:
    _, _, payload = encode_event(sale)
    return sale_request(
        sale.store_id,
        sale.pos_txn_id,
        payload,
        tenant_id=tenant_id,
        actor=actor,
        causation_id=causation_id,
    )


def sale_request(
    store_id: str, txn: str, payload: bytes, *, tenant_id: str, actor: str, causation_id: UUID
) -> AppendRequest:
    """The append of one encoded ``SaleRecorded`` to a new ``sale-<store>-<txn>`` stream."""
    key = sale_key(store_id, txn)
    return AppendRequest(
        tenant_id=tenant_id,
        stream_id=stream_ids.sale_stream(store_id, txn),
        events=(
            NewEvent(
                event_type=_SALE_TYPE,
                schema_version=_SALE_VERSION,
                payload=payload,
                event_id=event_id(tenant_id, key),
                causation_id=causation_id,
                actor=actor,
            ),
        ),
        expected_version=NO_STREAM,
        idempotency_key=key,
    )


_SALE_TYPE: Final = SaleRecorded.__name__
_SALE_VERSION: Final = SaleRecorded.SCHEMA_VERSION
