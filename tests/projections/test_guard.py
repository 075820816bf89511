"""The projector's own check: what the edges allow always passes, the poison never does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.codec import decode_event
from domain.events import ProductDefined, SaleRecorded
from domain.events.sales import Channel, SaleLine
from domain.limits import (
    HISTORY_FIRST_YEAR,
    LIVE_FUTURE,
    MAX_LINES_PER_TICKET,
    MAX_QUANTITY,
    MAX_UNIT_PRICE,
    MONEY_PLACES,
    QUANTITY_PLACES,
)
from projections.guard import UnappliableEvent, _check, _compiled, check_appliable
from tests.projections.poison import sale, sales_poison

#: The largest quantity and unit price the edges accept: just under the bound, all decimals used.
LARGEST_QUANTITY = MAX_QUANTITY - Decimal(1).scaleb(-QUANTITY_PLACES)
LARGEST_PRICE = MAX_UNIT_PRICE - Decimal(1).scaleb(-MONEY_PLACES)
PRODUCT: dict[str, object] = {
    "occurred_at": datetime(2026, 11, 20, tzinfo=UTC),
    "sku": "barra",
    "name": "Barra",
    "category": "pan",
    "price": Decimal("1.10"),
    "unit_cost": Decimal("0.40"),
}


def ticket(sold_at: datetime, lines: int = MAX_LINES_PER_TICKET) -> SaleRecorded:
    line = SaleLine(sku="barra", quantity=LARGEST_QUANTITY, unit_price=LARGEST_PRICE)
    return SaleRecorded(
        occurred_at=sold_at,
        store_id="e",
        pos_txn_id="T1",
        sold_at=sold_at,
        channel=Channel.COUNTER,
        lines=(line,) * lines,
        total=line.amount * lines,
    )


class TestWhatTheEdgesAllowPasses:
    def test_the_largest_ticket(self) -> None:
        check_appliable(ticket(datetime(2026, 11, 20, tzinfo=UTC)))

    @pytest.mark.parametrize(
        "sold_at",
        [
            datetime(HISTORY_FIRST_YEAR, 1, 1, tzinfo=UTC),
            datetime.now(UTC) + LIVE_FUTURE,
        ],
        ids=["first history day", "live future limit"],
    )
    def test_the_ends_of_the_time_window(self, sold_at: datetime) -> None:
        check_appliable(ticket(sold_at, lines=1))


class TestPoisonIsNamed:
    @pytest.mark.parametrize(
        ("name", "field"),
        [
            ("quantity 1E+999999", "lines[0].quantity"),
            ("quantity 1E-999999", "lines[0].quantity"),
            ("unit price 1E+999999", "lines[0].unit_price"),
            ("unit price 1E-999999", "lines[0].unit_price"),
            ("quantity 1e308", "lines[0].quantity"),
            ("sold_at year 9999", "sold_at"),
            ("sold_at year 0001", "sold_at"),
        ],
    )
    def test_each_poison_value(self, name: str, field: str) -> None:
        [poison] = [p for p in sales_poison("e", "w", "T2") if p.name == name]
        event = decode_event("SaleRecorded", poison.event.schema_version, poison.event.payload)
        with pytest.raises(UnappliableEvent) as caught:
            check_appliable(event)
        assert caught.value.field == field

    def test_a_nul_character(self) -> None:
        event = ticket(datetime(2026, 11, 20, tzinfo=UTC), lines=1)
        line = SaleLine(sku="barra", quantity=Decimal(1), unit_price=Decimal(1), promotion="a\x00b")
        with pytest.raises(UnappliableEvent, match="NUL"):
            check_appliable(SaleRecorded(**{**_fields(event), "lines": (line,)}))

    def test_trailing_zeros_are_not_decimal_places(self) -> None:
        line = SaleLine(sku="barra", quantity=Decimal("1." + "0" * 40), unit_price=Decimal(1))
        event = ticket(datetime(2026, 11, 20, tzinfo=UTC), lines=1)
        check_appliable(SaleRecorded(**{**_fields(event), "lines": (line,)}))

    def test_a_year_one_day_shift_from_the_end(self) -> None:
        late = datetime(2999, 12, 31, 23, tzinfo=UTC) + timedelta(hours=2)  # year 3000
        with pytest.raises(UnappliableEvent, match="year 3000"):
            check_appliable(ticket(late, lines=1))


def _fields(event: SaleRecorded) -> dict[str, object]:
    return {name: getattr(event, name) for name in event.__struct_fields__}


class TestTheFastCheck:
    """The compiled check lets ``check_appliable`` skip the slow walk: it must never miss."""

    @given(
        quantity=st.decimals(allow_nan=True, allow_infinity=True),
        price=st.decimals(allow_nan=False, allow_infinity=False, places=None),
        sold_at=st.datetimes(timezones=st.just(UTC)),
        promotion=st.text(max_size=20),
        shelf_life=st.integers(),
    )
    @settings(max_examples=600, deadline=None)
    def test_it_flags_everything_the_slow_walk_refuses(
        self, quantity: Decimal, price: Decimal, sold_at: datetime, promotion: str, shelf_life: int
    ) -> None:
        line = SaleLine(sku="b", quantity=quantity, unit_price=price, promotion=promotion)
        event = SaleRecorded(**{**_fields(ticket(sold_at, lines=1)), "lines": (line,)})
        for candidate in (event, ProductDefined(**{**PRODUCT, "shelf_life_days": shelf_life})):
            try:
                _check(candidate, "")
            except UnappliableEvent:
                assert not _compiled(type(candidate))(candidate), candidate

    def test_it_passes_an_ordinary_ticket(self) -> None:
        event = decode_event("SaleRecorded", 1, sale("e", "T1", quantity="3.5").payload)
        assert _compiled(SaleRecorded)(event)


def test_many_digits_below_the_bound_are_not_called_too_large() -> None:
    line = SaleLine(
        sku="b", quantity=Decimal("999999999999999.9999999999999999"), unit_price=Decimal(1)
    )
    event = SaleRecorded(
        **{**_fields(ticket(datetime(2026, 11, 20, tzinfo=UTC), 1)), "lines": (line,)}
    )
    check_appliable(event)
