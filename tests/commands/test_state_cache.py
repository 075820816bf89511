"""A state cache reads only what is new, and never weakens idempotency."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from commands_kit import AT, OWNER, Store, set_up_chain, stock_of

from commands.handlers import handle
from commands.runtime import CommandResult
from commands.state_cache import CachedState, StateCache
from commands.types import (
    Command,
    ConfirmManufacturingOrder,
    ReceiveStock,
    RecordSale,
    SuggestManufacturingOrder,
)
from domain import stock
from domain.events.inventory import ItemKind
from domain.events.sales import SaleLine
from domain.stock import StockState
from streams.envelope import AppendResult, NewEvent, RecordedEvent

D = Decimal


class CountingStore:
    """Remembers from which version each read of a stream started."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.reads: list[tuple[str, int]] = []

    async def read_stream(self, tenant_id: str, stream_id: str, **kw: Any) -> list[RecordedEvent]:
        self.reads.append((stream_id, kw.get("from_version") or 1))
        return await self.inner.read_stream(tenant_id, stream_id, **kw)

    async def append(
        self, tenant_id: str, stream_id: str, events: Sequence[NewEvent], **kw: Any
    ) -> AppendResult:
        return await self.inner.append(tenant_id, stream_id, events, **kw)


def sale(txn: str) -> RecordSale:
    return RecordSale(
        store_id="born",
        pos_txn_id=txn,
        sold_at=AT,
        lines=(SaleLine(sku="baguette", quantity=D(1), unit_price=D("1.20")),),
    )


async def test_later_sales_read_only_the_new_stock_events(any_store: Store, tenant: str) -> None:
    counting, cache = CountingStore(any_store), StateCache()

    async def run(command: Command) -> CommandResult:
        return await handle(command, any_store, tenant_id=tenant, actor=OWNER, now=AT)

    await set_up_chain(run)
    receipt = ReceiveStock(
        store_id="born",
        item_id="baguette",
        item_kind=ItemKind.PRODUCT,
        lot_id="l1",
        quantity=D(50),
        expires_on=date(2026, 1, 6),
        unit_cost=D("0.35"),
    )
    await handle(receipt, counting, tenant_id=tenant, actor=OWNER, now=AT, cache=cache)
    for n in range(5):
        await handle(sale(f"T{n}"), counting, tenant_id=tenant, actor=OWNER, now=AT, cache=cache)
    stock_reads = [start for stream, start in counting.reads if stream == "stock-born-baguette"]
    # the first read folds the stream; later ones only look for events past the cache
    assert stock_reads == [1, 2, 3, 4, 5, 6]
    cached = cache.get(tenant, "stock-born-baguette", stock.fold)
    assert cached is not None
    assert cached.state.on_hand == (await stock_of(any_store, tenant, "born", "baguette")).on_hand


async def test_a_resend_refused_by_the_rules_is_still_recognised_with_a_cache(
    any_store: Store, tenant: str
) -> None:
    cache = StateCache()

    async def run(command: Any) -> Any:
        return await handle(command, any_store, tenant_id=tenant, actor=OWNER, now=AT, cache=cache)

    await run(
        SuggestManufacturingOrder(
            order_id="7",
            sku="baguette",
            quantity=D(10),
            production_date=date(2026, 1, 6),
            producing_store_id="central",
            destination_store_id="born",
        )
    )
    confirm = ConfirmManufacturingOrder(order_id="7", idempotency_key="tablet-1")
    first = await run(confirm)
    again = await run(confirm)  # confirming twice is illegal; a resend is not
    assert again.duplicate
    assert again.appended[0].first_version == first.appended[0].first_version


async def test_the_cache_forgets_the_least_recently_used_streams() -> None:
    cache = StateCache(max_streams=2)
    fold = stock.fold
    for stream in ("a", "b", "c"):
        cache.put("t", stream, fold, _entry())
    assert cache.get("t", "a", fold) is None
    assert cache.get("t", "c", fold) is not None


def _entry() -> CachedState:
    return CachedState(StockState(), 0)
