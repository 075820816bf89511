"""Recording tickets: a fact once, whatever the POS resends, and the stock it took."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from commands_kit import AT, Run, Store, events_of, set_up_chain, stock_of

from commands.types import ReceiveStock, RecordSale, RefundSale, VoidSale
from domain.access import Actor
from domain.errors import AlreadyExists, IllegalTransition, InvalidValue, PermissionDenied
from domain.events import SaleRecorded
from domain.events.inventory import ItemKind
from domain.events.organisation import Role
from domain.events.sales import RefundLine, SaleLine

D = Decimal
TILL = Actor(user_id="till-born-1", role=Role.POS_DEVICE, store_ids=frozenset({"born"}))


def ticket(txn: str = "T-0001", qty: int = 3, store_id: str = "born") -> RecordSale:
    return RecordSale(
        store_id=store_id,
        pos_txn_id=txn,
        sold_at=AT,
        lines=(
            SaleLine(sku="baguette", quantity=D(qty), unit_price=D("1.20")),
            SaleLine(sku="croissant", quantity=D(1), unit_price=D("1.50"), discount=D("0.50")),
        ),
        device_id="till-born-1",
    )


async def receive(run: Run, lot: str, qty: int, expires: date) -> None:
    await run(
        ReceiveStock(
            store_id="born",
            item_id="baguette",
            item_kind=ItemKind.PRODUCT,
            lot_id=lot,
            quantity=D(qty),
            expires_on=expires,
            unit_cost=D("0.35"),
        )
    )


class TestRecordSale:
    async def test_records_the_ticket_with_its_total(
        self, run: Run, any_store: Store, tenant: str
    ) -> None:
        result = await run(ticket(), actor=TILL)
        (sale,) = await events_of(any_store, tenant, "sale-born-T-0001")
        assert isinstance(sale, SaleRecorded)
        assert sale.total == D("4.60")
        assert result.appended[0].stream_id == "sale-born-T-0001"
        (record,) = await any_store.read_stream(tenant, "sale-born-T-0001")
        assert record.actor == "device:till-born-1"
        assert not result.duplicate

    async def test_takes_stock_from_the_lot_that_expires_first(
        self, run: Run, any_store: Store, tenant: str
    ) -> None:
        await set_up_chain(run)
        await receive(run, "fresh", 10, date(2026, 1, 7))
        await receive(run, "yesterday", 2, date(2026, 1, 5))
        await run(ticket(qty=3), actor=TILL)
        stock = await stock_of(any_store, tenant, "born", "baguette")
        assert (stock.lots["yesterday"].quantity, stock.lots["fresh"].quantity) == (D(0), D(9))

    async def test_a_sale_with_no_book_stock_is_kept_and_shows_negative_stock(
        self, run: Run, any_store: Store, tenant: str
    ) -> None:
        await set_up_chain(run)
        await run(ticket(qty=3), actor=TILL)
        stock = await stock_of(any_store, tenant, "born", "baguette")
        assert stock.on_hand == D(-3)

    async def test_a_resent_ticket_is_stored_once(
        self, run: Run, any_store: Store, tenant: str
    ) -> None:
        first = await run(ticket(), actor=TILL)
        again = await run(ticket(), actor=TILL)
        assert again.duplicate
        assert all(a.duplicate for a in again.appended)
        assert len(await events_of(any_store, tenant, "sale-born-T-0001")) == 1
        assert len(await events_of(any_store, tenant, "stock-born-baguette")) == 1
        assert first.appended[0].first_version == again.appended[0].first_version

    async def test_a_reused_transaction_id_with_other_lines_is_refused(
        self, run: Run, any_store: Store, tenant: str
    ) -> None:
        await run(ticket(qty=3), actor=TILL)
        with pytest.raises(AlreadyExists) as refused:
            await run(ticket(qty=5), actor=TILL)
        assert refused.value.field == "pos_txn_id"
        assert len(await events_of(any_store, tenant, "sale-born-T-0001")) == 1

    async def test_a_till_cannot_record_sales_for_another_store(self, run: Run) -> None:
        with pytest.raises(PermissionDenied) as refused:
            await run(ticket(store_id="central"), actor=TILL)
        assert refused.value.field == "actor"

    async def test_a_ticket_whose_discount_exceeds_the_line_is_refused_by_field(
        self, run: Run, any_store: Store, tenant: str
    ) -> None:
        bad = RecordSale(
            store_id="born",
            pos_txn_id="T-9",
            sold_at=AT,
            lines=(SaleLine(sku="baguette", quantity=D(1), unit_price=D(1), discount=D(2)),),
        )
        with pytest.raises(InvalidValue) as refused:
            await run(bad, actor=TILL)
        assert refused.value.field == "lines[0].discount"
        assert await any_store.read_stream(tenant, "sale-born-T-9") == []


class TestCorrections:
    async def test_a_void_gives_the_stock_back(
        self, run: Run, any_store: Store, tenant: str
    ) -> None:
        await set_up_chain(run)
        await receive(run, "fresh", 10, date(2026, 1, 7))
        await run(ticket(qty=4), actor=TILL)
        await run(VoidSale(store_id="born", pos_txn_id="T-0001", reason="wrong key"))
        stock = await stock_of(any_store, tenant, "born", "baguette")
        assert stock.on_hand == D(10)

    async def test_a_voided_ticket_cannot_be_refunded(self, run: Run) -> None:
        await run(ticket(), actor=TILL)
        await run(VoidSale(store_id="born", pos_txn_id="T-0001", reason="test"))
        refund = RefundSale(
            store_id="born",
            pos_txn_id="T-0001",
            refund_id="R1",
            lines=(RefundLine(sku="baguette", quantity=D(1), amount=D("1.20")),),
            reason="stale",
        )
        with pytest.raises(IllegalTransition):
            await run(refund)

    async def test_cannot_refund_more_than_was_sold(self, run: Run) -> None:
        await run(ticket(qty=2), actor=TILL)
        refund = RefundSale(
            store_id="born",
            pos_txn_id="T-0001",
            refund_id="R1",
            lines=(RefundLine(sku="baguette", quantity=D(3), amount=D("3.60")),),
            reason="burnt",
        )
        with pytest.raises(InvalidValue) as refused:
            await run(refund)
        assert refused.value.field == "lines[0].quantity"
