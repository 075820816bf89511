"""Stock in lots: first to expire goes first, a sale is never refused, shortfalls show."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from domain import inventory
from domain.errors import AlreadyExists, InsufficientStock, InvalidValue, NotFound
from domain.events import Event, StockConsumed, StockReceived
from domain.events.inventory import ConsumptionCause, ItemKind, LotAllocation, WasteReason
from domain.stock import StockState, fold

AT = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
D = Decimal


def received(lot_id: str, qty: int, expires: date | None) -> StockReceived:
    return inventory.receive(
        StockState(),
        store_id="s1",
        item_id="flour",
        item_kind=ItemKind.INGREDIENT,
        lot_id=lot_id,
        quantity=D(qty),
        expires_on=expires,
        unit_cost=D("0.80"),
        at=AT,
    )


def stock(*events: Event) -> StockState:
    return fold(events)


def sale(state: StockState, qty: int, ref: str = "sale-s1-T1") -> StockConsumed:
    return inventory.consume(
        state,
        store_id="s1",
        item_id="flour",
        quantity=D(qty),
        cause=ConsumptionCause.SALE,
        reference=ref,
        at=AT,
    )


LATE = received("late", 10, date(2026, 1, 20))
EARLY = received("early", 5, date(2026, 1, 8))
NO_EXPIRY = received("forever", 5, None)


class TestFifoByExpiry:
    def test_takes_the_lot_that_expires_first_even_if_it_arrived_last(self) -> None:
        consumed = sale(stock(LATE, NO_EXPIRY, EARLY), 7)
        assert consumed.allocations == (
            LotAllocation(lot_id="early", quantity=D(5)),
            LotAllocation(lot_id="late", quantity=D(2)),
        )

    def test_lots_without_expiry_go_last(self) -> None:
        consumed = sale(stock(NO_EXPIRY, LATE), 12)
        assert [a.lot_id for a in consumed.allocations] == ["late", "forever"]

    def test_consumption_lowers_the_lots_it_names(self) -> None:
        state = stock(LATE, EARLY)
        state.apply(sale(state, 6))
        assert (state.lots["early"].quantity, state.lots["late"].quantity) == (D(0), D(9))
        assert state.on_hand == D(9)


class TestSalesAreFacts:
    def test_a_sale_beyond_book_stock_is_recorded_and_book_stock_goes_negative(self) -> None:
        state = stock(EARLY)
        consumed = sale(state, 8)
        assert consumed.shortfall == D(3)
        state.apply(consumed)
        assert state.on_hand == D(-3)

    def test_the_next_receipt_absorbs_the_shortfall(self) -> None:
        state = stock(EARLY)
        state.apply(sale(state, 8))
        state.apply(LATE)
        assert state.on_hand == D(7)
        assert state.shortfall == D(0)

    def test_a_void_gives_back_exactly_what_the_sale_took(self) -> None:
        state = stock(EARLY)
        state.apply(sale(state, 8))
        state.apply(LATE)  # absorbed the 3 missing
        state.apply(
            inventory.give_back(
                state, store_id="s1", item_id="flour", reference="sale-s1-T1", at=AT
            )
        )
        assert state.on_hand == D(15)

    def test_voiding_a_sale_that_consumed_nothing_here_is_refused(self) -> None:
        with pytest.raises(NotFound):
            inventory.give_back(stock(), store_id="s1", item_id="flour", reference="x", at=AT)


class TestInstructionsCannotOverdraw:
    def test_production_cannot_consume_more_than_the_lots_hold(self) -> None:
        with pytest.raises(InsufficientStock) as error:
            inventory.consume(
                stock(EARLY),
                store_id="s1",
                item_id="flour",
                quantity=D(6),
                cause=ConsumptionCause.PRODUCTION,
                reference="mo-1/b1",
                at=AT,
            )
        assert error.value.field == "quantity"

    def test_waste_from_a_named_lot_cannot_exceed_that_lot(self) -> None:
        with pytest.raises(InsufficientStock, match="lot 'early' holds 5"):
            inventory.waste(
                stock(EARLY, LATE),
                store_id="s1",
                item_id="flour",
                quantity=D(6),
                reason=WasteReason.DAMAGED,
                lot_id="early",
                at=AT,
            )

    def test_transfer_moves_lots_with_their_expiry(self) -> None:
        out, arrived = inventory.transfer(
            stock(LATE, EARLY),
            transfer_id="t1",
            from_store_id="central",
            to_store_id="s2",
            item_id="flour",
            item_kind=ItemKind.INGREDIENT,
            quantity=D(6),
            at=AT,
        )
        assert [(lot.lot_id, lot.expires_on) for lot in arrived.lots] == [
            ("early", date(2026, 1, 8)),
            ("late", date(2026, 1, 20)),
        ]
        assert out.lots == arrived.lots
        assert stock(arrived).on_hand == D(6)

    def test_receiving_the_same_lot_twice_is_refused(self) -> None:
        with pytest.raises(AlreadyExists):
            inventory.receive(
                stock(EARLY),
                store_id="s1",
                item_id="flour",
                item_kind=ItemKind.INGREDIENT,
                lot_id="early",
                quantity=D(1),
                expires_on=None,
                unit_cost=D(1),
                at=AT,
            )

    def test_quantities_must_be_positive(self) -> None:
        with pytest.raises(InvalidValue) as error:
            sale(stock(EARLY), 0)
        assert error.value.field == "quantity"


class TestCounts:
    def test_a_count_below_the_book_reduces_lots_fifo_and_clears_the_shortfall(self) -> None:
        state = stock(EARLY, LATE)
        state.apply(sale(state, 20))  # book -5
        adjusted = inventory.adjust(
            state,
            store_id="s1",
            item_id="flour",
            counted_quantity=D(2),
            reason="count",
            at=AT,
            surplus_lot_id="count-1",
        )
        assert (adjusted.book_quantity, adjusted.delta) == (D(-5), D(7))
        state.apply(adjusted)
        assert state.on_hand == D(2)

    def test_a_count_above_the_lots_becomes_a_surplus_lot(self) -> None:
        state = stock(EARLY)
        adjusted = inventory.adjust(
            state,
            store_id="s1",
            item_id="flour",
            counted_quantity=D(9),
            reason="found a sack",
            at=AT,
            surplus_lot_id="count-1",
        )
        state.apply(adjusted)
        assert state.lots["count-1"].quantity == D(4)
        assert state.on_hand == D(9)

    def test_a_count_needs_a_reason(self) -> None:
        with pytest.raises(InvalidValue, match="reason"):
            inventory.adjust(
                stock(EARLY),
                store_id="s1",
                item_id="flour",
                counted_quantity=D(1),
                reason=" ",
                at=AT,
                surplus_lot_id="c",
            )
