"""Books that always add up (issue 10, section 2), on random histories.

Hypothesis draws sequences of receipts, sales, voids, refunds, transfers,
counts, waste, expiry ticks and day closes (confirmed and automatic) over a
few days; each goes through the real ``handle`` on PostgreSQL (refusals write
nothing and are skipped). The inventory projection, applied as the live
projector would in random batches and then by the real rebuild, must equal the
reference: the plain fold of each stock stream (``domain.stock``), lot by lot;
and every rule of :mod:`projections.invariants` must hold on both.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stock_kit import MODELS, START, Bakery
from test_models_kit import rows

from commands.types import (
    AdjustStock,
    CloseDay,
    CloseDayFromBooks,
    CloseLine,
    Command,
    ExpireStock,
    ReceiveStock,
    RecordSale,
    RecordWaste,
    RefundSale,
    TransferStock,
    VoidSale,
)
from domain import alert_fold
from domain.alert_facts import StockFacts, stock_subject
from domain.codec import decode_event
from domain.errors import DomainError
from domain.events.inventory import ItemKind, WasteReason
from domain.events.sales import RefundLine, SaleLine
from domain.stock import StockState
from domain.stock import fold as fold_stock
from domain.streams import stock_stream
from projections.invariants import inventory_breaches
from projections.rebuild import rebuild
from streams.store import EventStore

D = Decimal
STORES = ("central", "sol")
ITEMS = ("baguette", "croissant", "flour")
KINDS = {"baguette": ItemKind.PRODUCT, "croissant": ItemKind.PRODUCT, "flour": ItemKind.INGREDIENT}
COSTS = (D("0.32"), D("0.45"), D("0.6"), D("1.125"))

qty = st.integers(min_value=1, max_value=30)
few = st.integers(min_value=1, max_value=6)
store = st.sampled_from(STORES)
item = st.sampled_from(ITEMS)
receive = st.tuples(
    st.just("receive"), store, item, qty, st.integers(-1, 3), st.sampled_from(COSTS)
)
sell = st.tuples(st.just("sell"), store, st.sampled_from((*ITEMS[:2], "higo")), few)
step = st.one_of(
    receive,
    receive,
    receive,
    sell,
    sell,
    st.tuples(st.just("next_day")),
    st.tuples(st.just("void"), st.integers(0, 50)),
    st.tuples(st.just("refund"), st.integers(0, 50)),
    st.tuples(st.just("transfer"), item, few),
    st.tuples(st.just("count"), store, item, st.integers(0, 40)),
    st.tuples(st.just("waste"), store, item, few),
    st.tuples(st.just("expire"), store),
    st.tuples(st.just("close"), store, item, st.lists(st.integers(0, 12), min_size=4, max_size=4)),
    st.tuples(st.just("auto_close"), store),
    st.tuples(st.just("next_day")),
)


class History:
    """Turns drawn steps into commands and runs them; remembers tickets and the day."""

    def __init__(self, bakery: Bakery) -> None:
        self.bakery = bakery
        self.day = 0
        self.n = 0
        self.tickets: list[tuple[str, str, str]] = []  # store, txn, sku

    @property
    def today(self) -> date:
        return START.date() + timedelta(days=self.day)

    async def run(self, command: Command) -> None:
        self.n += 1
        at = START + timedelta(days=self.day, minutes=self.n)
        with contextlib.suppress(DomainError):  # refused: nothing written
            await self.bakery.run(command, at=at)

    async def step(self, s: tuple[Any, ...]) -> None:
        kind = s[0]
        if kind == "receive":
            _, where, what, q, days, cost = s
            expires = None if what == "flour" else self.today + timedelta(days=days)
            await self.run(
                ReceiveStock(store_id=where, item_id=what, item_kind=KINDS[what],
                             lot_id=f"lot-{self.n}", quantity=D(q), expires_on=expires,
                             unit_cost=cost)
            )  # fmt: skip
        elif kind == "sell":
            _, where, what, q = s
            txn = f"T{self.n}"
            self.tickets.append((where, txn, what))
            line = SaleLine(sku=what, quantity=D(q), unit_price=D("1.20"))
            await self.run(RecordSale(store_id=where, pos_txn_id=txn, sold_at=START +
                           timedelta(days=self.day, minutes=self.n), lines=(line,)))  # fmt: skip
        elif kind in ("void", "refund") and self.tickets:
            where, txn, what = self.tickets[s[1] % len(self.tickets)]
            if kind == "void":
                await self.run(VoidSale(store_id=where, pos_txn_id=txn, reason="wrong key"))
            else:
                line = RefundLine(sku=what, quantity=D(1), amount=D("1.20"))
                await self.run(RefundSale(store_id=where, pos_txn_id=txn, refund_id=f"r{self.n}",
                                          lines=(line,), reason="stale"))  # fmt: skip
        elif kind == "transfer":
            _, what, q = s
            await self.run(TransferStock(transfer_id=f"tr{self.n}", store_id="central",
                                         to_store_id="sol", item_id=what, item_kind=KINDS[what],
                                         quantity=D(q)))  # fmt: skip
        elif kind == "count":
            _, where, what, q = s
            await self.run(AdjustStock(store_id=where, item_id=what, counted_quantity=D(q),
                                       reason="count"))  # fmt: skip
        elif kind == "waste":
            _, where, what, q = s
            await self.run(RecordWaste(store_id=where, item_id=what, quantity=D(q),
                                       reason=WasteReason.DAMAGED))  # fmt: skip
        elif kind == "expire":
            at = START + timedelta(days=self.day, hours=1)
            await self.run(ExpireStock(store_id=s[1], as_of=at, item_ids=ITEMS))
        elif kind == "close":
            _, where, what, (waste, donation, markdown, carried) = s
            line = CloseLine(item_id=what, waste=D(waste), donation=D(donation),
                             markdown=D(markdown), carried=D(carried))  # fmt: skip
            await self.run(CloseDay(store_id=where, day=self.today, lines=(line,)))
        elif kind == "auto_close":
            await self.run(CloseDayFromBooks(store_id=s[1], day=self.today, item_ids=ITEMS))
        elif kind == "next_day":
            self.day += 1


async def reference(bakery: Bakery) -> dict[tuple[str, str], StockState]:
    books = {}
    for where in STORES:
        for what in ITEMS:
            records = await bakery.store.read_stream(bakery.tenant, stock_stream(where, what))
            if records:
                events = [decode_event(r.event_type, r.schema_version, r.payload) for r in records]
                books[(where, what)] = fold_stock(events)
    return books


async def alert_facts(bakery: Bakery) -> dict[tuple[str, str], StockFacts]:
    """Each stock stream folded as the alerts fold it (``domain.alert_fold``)."""
    facts = {}
    for where in STORES:
        for what in ITEMS:
            records = await bakery.store.read_stream(bakery.tenant, stock_stream(where, what))
            events = [decode_event(r.event_type, r.schema_version, r.payload) for r in records]
            if events:
                record = alert_fold.fresh(stock_subject(where, what), events[0])
                assert isinstance(record, StockFacts)
                for event in events:
                    alert_fold.fold(record, event)
                facts[(where, what)] = record
    return facts


async def assert_books_match(bakery: Bakery, pg_url: str) -> None:
    books = await reference(bakery)
    # the alerts see the same lots and shortfall as the books (expiry and day closes too)
    for key, record in (await alert_facts(bakery)).items():
        state = books[key]
        held = {
            lot.lot_id: (lot.quantity, lot.expires_on, lot.unit_cost)
            for lot in state.lots.values()
            if lot.quantity > 0
        }
        seen = {k: (lot.quantity, lot.expires_on, lot.unit_cost) for k, lot in record.lots.items()}
        assert seen == held, key
        assert record.shortfall == state.shortfall, key
    stock = {
        (r["store_id"], r["item_id"]): r
        for r in await rows(
            pg_url, "SELECT * FROM rm_inventory_stock WHERE tenant_id = %s", bakery.tenant
        )
    }
    assert set(stock) == set(books)
    for key, state in books.items():
        row = stock[key]
        assert (row["on_hand"], row["lot_quantity"], row["shortfall"]) == (
            state.on_hand, state.lot_quantity, state.shortfall), key  # fmt: skip
        assert row["stock_value"] == state.value, key
    lots = await rows(
        pg_url,
        "SELECT store_id, item_id, lot_id, quantity FROM rm_inventory_lots"
        " WHERE tenant_id = %s AND quantity <> 0",
        bakery.tenant,
    )
    expected = {
        (where, what, lot.lot_id): lot.quantity
        for (where, what), state in books.items()
        for lot in state.lots.values()
        if lot.quantity != 0
    }
    assert {(r["store_id"], r["item_id"], r["lot_id"]): r["quantity"] for r in lots} == expected
    async with await psycopg.AsyncConnection.connect(pg_url) as conn:
        assert await inventory_breaches(conn, tenant_id=bakery.tenant) == []


async def tenant_dump(pg_url: str, tenant: str) -> dict[str, list[str]]:
    out = {}
    for model in MODELS:
        for table in model.tables:
            if not table.startswith(
                ("rm_inventory_stock", "rm_inventory_lots", "rm_inventory_unknown", "rm_waste")
            ):
                continue
            found = await rows(
                pg_url,
                f"SELECT t::text AS r FROM {table} t WHERE tenant_id = %s ORDER BY 1",
                tenant,
            )
            out[table] = [f["r"] for f in found]
    return out


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=10, max_size=50), batch=st.integers(1, 9))
async def test_live_and_rebuilt_books_equal_the_reference_fold(
    pg_store: EventStore, pg_url: str, steps: list[tuple[Any, ...]], batch: int
) -> None:
    bakery = await Bakery(pg_store, f"b-{uuid.uuid4().hex[:10]}").open()
    history = History(bakery)
    opening = [("receive", w, i, 20, 1, COSTS[0]) for w in STORES for i in ITEMS]
    for s in [*opening, *steps]:
        await history.step(s)
    await bakery.project(pg_url, batch=batch)
    await assert_books_match(bakery, pg_url)
    live = await tenant_dump(pg_url, bakery.tenant)
    for model in MODELS:
        await rebuild(pg_store, model)
    assert await tenant_dump(pg_url, bakery.tenant) == live
    await assert_books_match(bakery, pg_url)
