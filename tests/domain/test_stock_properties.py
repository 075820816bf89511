"""Whatever happens to a stock, the books add up and no lot goes below zero."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from domain import inventory
from domain.errors import InsufficientStock
from domain.events.inventory import ConsumptionCause, ItemKind, WasteReason
from domain.stock import StockState

AT = datetime(2026, 1, 5, tzinfo=UTC)

quantities = st.integers(min_value=1, max_value=40).map(Decimal)
moves = st.lists(
    st.one_of(
        st.tuples(st.just("receive"), quantities, st.integers(min_value=0, max_value=9)),
        st.tuples(st.just("sell"), quantities, st.just(0)),
        st.tuples(st.just("waste"), quantities, st.just(0)),
        st.tuples(st.just("void"), st.just(Decimal(0)), st.integers(min_value=0, max_value=30)),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(moves)
def test_book_stock_is_receipts_minus_what_left_and_lots_never_go_negative(
    steps: list[tuple[str, Decimal, int]],
) -> None:
    state = StockState()
    expected = Decimal(0)
    sales: list[tuple[str, Decimal]] = []
    for index, (kind, qty, extra) in enumerate(steps):
        ref = f"sale-{index}"
        if kind == "receive":
            expires = date(2026, 1, 6) + timedelta(days=extra)
            event = inventory.receive(
                state,
                store_id="s",
                item_id="i",
                item_kind=ItemKind.PRODUCT,
                lot_id=f"lot-{index}",
                quantity=qty,
                expires_on=expires,
                unit_cost=Decimal(1),
                at=AT,
            )
            expected += qty
        elif kind == "sell":
            event = inventory.consume(
                state,
                store_id="s",
                item_id="i",
                quantity=qty,
                cause=ConsumptionCause.SALE,
                reference=ref,
                at=AT,
            )
            sales.append((ref, qty))
            expected -= qty
        elif kind == "waste":
            try:
                event = inventory.waste(
                    state,
                    store_id="s",
                    item_id="i",
                    quantity=qty,
                    reason=WasteReason.EXPIRED,
                    at=AT,
                )
            except InsufficientStock:
                assert state.lot_quantity < qty
                continue
            expected -= qty
        else:
            open_sales = [s for s in sales if s[0] not in state.returned]
            if not open_sales:
                continue
            ref, sold = open_sales[extra % len(open_sales)]
            event = inventory.give_back(state, store_id="s", item_id="i", reference=ref, at=AT)
            expected += sold
        state.apply(event)
        assert state.on_hand == expected
        assert all(lot.quantity >= 0 for lot in state.lots.values())
        assert state.shortfall >= 0
        assert state.shortfall == 0 or state.lot_quantity == 0
