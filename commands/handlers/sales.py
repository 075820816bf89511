"""Handlers for tickets. A sale goes to ``sale-<store>-<txn>`` and then to the stock it took."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from commands.runtime import Appended, Writer
from commands.types import RecordSale, RefundSale, VoidSale
from domain import inventory, sales, stock
from domain.events import Event, SaleRecorded
from domain.events.inventory import ConsumptionCause
from domain.streams import sale_stream, stock_stream


async def record_sale(cmd: RecordSale, w: Writer) -> None:
    stream = sale_stream(cmd.store_id, cmd.pos_txn_id)
    sold_at = cmd.occurred_at or cmd.sold_at  # a ticket happened when it was printed
    known = await w.load(stream, sales.fold)
    if known.sale is not None:  # a resent ticket, whatever key it came with
        sales.check_resend(known.sale, lines=cmd.lines, sold_at=cmd.sold_at)
        w.appended.append(_already(stream, known.version))
    else:
        sale = SaleRecorded(
            occurred_at=sold_at,
            store_id=cmd.store_id,
            pos_txn_id=cmd.pos_txn_id,
            sold_at=cmd.sold_at,
            channel=cmd.channel,
            lines=cmd.lines,
            total=sales.check_lines(cmd.lines),
            source=cmd.source,
            device_id=cmd.device_id,
        )
        await w.decide(stream, sales.fold, lambda s: sales.record(s, sale), retry=False)
        if w.appended[-1].duplicate:
            # Another delivery with the same transaction id was stored between our read
            # and our append: the store matched the key, not the content, so compare here.
            stored = await w.load(stream, sales.fold)
            assert stored.sale is not None
            sales.check_resend(stored.sale, lines=cmd.lines, sold_at=cmd.sold_at)
    # Re-driven on every resend, so a crash between the two writes heals itself.
    for sku, quantity in _quantities(cmd).items():
        await w.decide(
            stock_stream(cmd.store_id, sku),
            stock.fold,
            _consumer(cmd.store_id, sku, quantity, stream, sold_at),
            retry=True,  # FIFO allocation is simply re-decided on the fresh lots
        )


def _consumer(
    store_id: str, sku: str, quantity: Decimal, ref: str, at: datetime
) -> Callable[[stock.StockState], list[Event]]:
    def decide(st: stock.StockState) -> list[Event]:
        if ref in st.consumptions:
            return []
        return [
            inventory.consume(
                st,
                store_id=store_id,
                item_id=sku,
                quantity=quantity,
                cause=ConsumptionCause.SALE,
                reference=ref,
                at=at,
            )
        ]

    return decide


def _returner(
    store_id: str, sku: str, ref: str, at: datetime
) -> Callable[[stock.StockState], list[Event]]:
    def decide(st: stock.StockState) -> list[Event]:
        if ref not in st.consumptions or ref in st.returned:
            return []
        return [inventory.give_back(st, store_id=store_id, item_id=sku, reference=ref, at=at)]

    return decide


def _quantities(cmd: RecordSale) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for line in cmd.lines:
        totals[line.sku] = totals.get(line.sku, Decimal(0)) + line.quantity
    return totals


def _already(stream: str, version: int) -> Appended:
    return Appended(
        stream_id=stream,
        first_version=1,
        last_version=version,
        event_types=("SaleRecorded",),
        duplicate=True,
    )


async def void_sale(cmd: VoidSale, w: Writer) -> None:
    stream = sale_stream(cmd.store_id, cmd.pos_txn_id)
    state = await w.decide(
        stream,
        sales.fold,
        lambda s: [] if s.voided else sales.void(s, reason=cmd.reason, at=w.now),
        retry=True,
    )
    if state.sale is None:
        sales.void(state, reason=cmd.reason, at=w.now)  # raises NotFound with the field
    for sku in sorted({line.sku for line in state.sale.lines} if state.sale else ()):
        await w.decide(
            stock_stream(cmd.store_id, sku),
            stock.fold,
            _returner(cmd.store_id, sku, stream, w.now),
            retry=True,
        )


async def refund_sale(cmd: RefundSale, w: Writer) -> None:
    await w.decide(
        sale_stream(cmd.store_id, cmd.pos_txn_id),
        sales.fold,
        lambda s: sales.refund(
            s, refund_id=cmd.refund_id, lines=cmd.lines, reason=cmd.reason, at=w.now
        ),
        retry=True,
    )
