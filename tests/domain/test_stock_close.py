"""Expiry and the end of the day, decided on one item's stock (pure domain)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import day_close, inventory
from domain.errors import AlreadyExists, InvalidValue
from domain.events import DayClosed, StockConsumed, StockExpired, StockReceived
from domain.events.inventory import CloseOutcome, ConsumptionCause, ItemKind
from domain.stock import StockState

D = Decimal
AT = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
MONDAY = date(2026, 3, 2)


def stock(*lots: tuple[str, int, date | None, str]) -> StockState:
    state = StockState()
    for lot_id, qty, expires, cost in lots:
        state.apply(
            inventory.receive(
                state, store_id="sol", item_id="x", item_kind=ItemKind.PRODUCT, lot_id=lot_id,
                quantity=D(qty), expires_on=expires, unit_cost=D(cost), at=AT,
            )
        )  # fmt: skip
    return state


def close(state: StockState, count: day_close.Count | None, day: date = MONDAY) -> list:  # type: ignore[type-arg]
    events = day_close.close_day(
        state, store_id="sol", item_id="x", day=day, count=count, at=AT,
        surplus_lot_id="close-1", surplus_expires_on=day,
    )  # fmt: skip
    for event in events:
        state.apply(event)
    return events


class TestExpiry:
    def test_lots_expire_the_day_after_their_expiry_date(self) -> None:
        state = stock(("sun", 5, date(2026, 3, 1), "0.30"), ("mon", 7, MONDAY, "0.30"))
        (expired,) = day_close.expire(state, store_id="sol", item_id="x", day=MONDAY, at=AT)
        assert isinstance(expired, StockExpired)
        assert [(a.lot_id, a.quantity) for a in expired.allocations] == [("sun", D(5))]
        assert expired.value == D("1.50")

    def test_the_local_day_follows_the_store_time_zone(self) -> None:
        late = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
        assert day_close.local_day(late, "Europe/Madrid") == date(2026, 3, 3)
        assert day_close.local_day(late, "Atlantic/Canary") == date(2026, 3, 2)


class TestConfirmedClose:
    def test_records_what_became_of_the_rest_and_empties_the_lots(self) -> None:
        state = stock(("mon", 10, MONDAY, "0.32"))
        (closed,) = close(state, day_close.Count(waste=D(6), donation=D(4)))
        assert isinstance(closed, DayClosed)
        assert [(o.outcome, o.quantity, o.value) for o in closed.outcomes] == [
            (CloseOutcome.WASTE, D(6), D("1.92")),
            (CloseOutcome.DONATION, D(4), D("1.28")),
        ]
        assert (closed.discrepancy, state.on_hand) == (D(0), D(0))

    def test_a_count_below_the_books_is_a_recorded_discrepancy(self) -> None:
        state = stock(("mon", 10, MONDAY, "0.32"))
        (closed,) = close(state, day_close.Count(waste=D(7)))
        assert (closed.book_quantity, closed.counted_quantity, closed.discrepancy) == (
            D(10), D(7), D(-3))  # fmt: skip
        assert closed.discrepancy_value == D("0.96")
        assert state.on_hand == 0

    def test_a_count_above_the_books_adds_a_surplus_lot_and_settles_a_shortfall(self) -> None:
        state = stock()
        state.apply(
            inventory.consume(state, store_id="sol", item_id="x", quantity=D(2),
                              cause=inventory.ConsumptionCause.SALE, reference="t", at=AT)
        )  # fmt: skip
        (closed,) = close(state, day_close.Count(waste=D(3)))
        assert (closed.book_quantity, closed.discrepancy, closed.surplus_quantity) == (
            D(-2), D(5), D(3))  # fmt: skip
        assert (state.on_hand, state.shortfall) == (D(0), D(0))

    def test_bread_that_expires_today_cannot_be_carried_over(self) -> None:
        state = stock(("mon", 10, MONDAY, "0.32"))
        with pytest.raises(InvalidValue, match="only 0 keep") as refused:
            close(state, day_close.Count(carried=D(10)))
        assert refused.value.field == "carried"

    def test_what_keeps_is_carried_and_what_expires_first_is_wasted_first(self) -> None:
        state = stock(("tue", 4, date(2026, 3, 3), "0.45"), ("mon", 6, MONDAY, "0.45"))
        (closed,) = close(state, day_close.Count(waste=D(6), carried=D(4)))
        assert [a.lot_id for a in closed.outcomes[0].allocations] == ["mon"]
        assert state.lots["tue"].quantity == 4

    def test_the_outcomes_must_add_up_to_the_count(self) -> None:
        with pytest.raises(InvalidValue, match="counted 9") as refused:
            close(stock(("mon", 10, MONDAY, "1")), day_close.Count(waste=D(5), counted=D(9)))
        assert refused.value.field == "counted"

    def test_a_day_is_closed_once(self) -> None:
        state = stock(("mon", 10, MONDAY, "1"))
        close(state, day_close.Count(waste=D(10)))
        with pytest.raises(AlreadyExists):
            close(state, None)

    def test_lots_gone_before_the_day_expire_first(self) -> None:
        state = stock(("sun", 5, date(2026, 3, 1), "1"), ("mon", 3, MONDAY, "1"))
        expired, closed = close(state, day_close.Count(waste=D(3)))
        assert isinstance(expired, StockExpired) and expired.day == MONDAY
        assert closed.book_quantity == 3


class TestAutomaticClose:
    def test_wastes_what_expires_by_the_end_of_the_day_and_carries_the_rest(self) -> None:
        state = stock(("mon", 6, MONDAY, "0.32"), ("flour", 4, None, "0.60"))
        (closed,) = close(state, None)
        assert closed.automatic
        assert [(o.outcome, o.quantity) for o in closed.outcomes] == [
            (CloseOutcome.WASTE, D(6)),
            (CloseOutcome.CARRIED, D(4)),
        ]
        assert (closed.discrepancy, state.on_hand) == (D(0), D(4))


moves = st.lists(
    st.one_of(
        st.tuples(st.just("receive"), st.integers(1, 30), st.integers(-1, 3)),
        st.tuples(st.just("sell"), st.integers(1, 30), st.just(0)),
        st.tuples(st.just("expire"), st.just(0), st.just(0)),
        st.tuples(st.just("close"), st.integers(0, 30), st.integers(0, 30)),
        st.tuples(st.just("auto"), st.just(0), st.just(0)),
        st.tuples(st.just("next_day"), st.just(0), st.just(0)),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(moves)
def test_every_unit_that_leaves_is_accounted_for_and_lots_never_go_negative(
    steps: list[tuple[str, int, int]],
) -> None:
    state, day, expected = StockState(), MONDAY, D(0)
    for index, (kind, a, b) in enumerate(steps):
        events: list = []  # type: ignore[type-arg]
        try:
            if kind == "receive":
                events = [
                    inventory.receive(
                        state, store_id="s", item_id="x", item_kind=ItemKind.PRODUCT,
                        lot_id=f"l{index}", quantity=D(a), expires_on=day + timedelta(days=b),
                        unit_cost=D("0.5"), at=AT,
                    )
                ]  # fmt: skip
            elif kind == "sell":
                events = [
                    inventory.consume(state, store_id="s", item_id="x", quantity=D(a),
                                      cause=ConsumptionCause.SALE, reference=f"t{index}", at=AT)
                ]  # fmt: skip
            elif kind == "expire":
                events = day_close.expire(state, store_id="s", item_id="x", day=day, at=AT)
            elif kind in ("close", "auto"):
                count = day_close.Count(waste=D(a), carried=D(b)) if kind == "close" else None
                events = day_close.close_day(
                    state, store_id="s", item_id="x", day=day, count=count, at=AT,
                    surplus_lot_id=f"close-{index}", surplus_expires_on=day,
                )  # fmt: skip
            else:
                day += timedelta(days=1)
        except (InvalidValue, AlreadyExists):
            continue
        for event in events:
            before = state.on_hand
            state.apply(event)
            expected = before + _moved(event)
            assert state.on_hand == expected
            assert all(lot.quantity >= 0 for lot in state.lots.values())
            assert state.shortfall >= 0
            assert state.shortfall == 0 or state.lot_quantity == 0
            assert state.value == sum(
                (lot.quantity * lot.unit_cost for lot in state.lots.values()), D(0)
            )


def _moved(event: object) -> Decimal:
    """What an event adds to book stock, from its own fields only."""
    match event:
        case StockReceived():
            return event.quantity
        case StockConsumed():
            return -event.quantity
        case StockExpired():
            return -sum((a.quantity for a in event.allocations), D(0))
        case DayClosed():
            taken = sum((o.quantity for o in event.outcomes if o.allocations), D(0))
            return event.discrepancy - taken
    raise AssertionError(event)
