"""``check(command, now=..., window=...)``: every value of every command within the limits.

Issue 8, defect 2: ``1E+999999``, ``1E-999999``, 1e12, 1e308 and the years 9999 and
0001 were accepted and later broke the projectors. Each is refused here with the
field (nested paths included) and the reason.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from commands.types import (
    DraftPurchaseOrder,
    ReceiveStock,
    RecordSale,
    RecordTemperature,
    RegisterSupplier,
    SnoozeAlert,
)
from commands.validation import InvalidCommand, OutOfBounds, check, parse_command
from domain import limits
from domain.events.inventory import ItemKind
from domain.events.procurement import PurchaseOrderLine
from domain.events.sales import SaleLine

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
D = Decimal


def sale(*lines: SaleLine, sold_at: datetime = NOW - timedelta(hours=1)) -> RecordSale:
    return RecordSale(store_id="born", pos_txn_id="T-1", sold_at=sold_at, lines=lines)


def line(quantity: str = "1", unit_price: str = "1.20", discount: str = "0") -> SaleLine:
    return SaleLine(
        sku="baguette", quantity=D(quantity), unit_price=D(unit_price), discount=D(discount)
    )


def refused(command: object, **kwargs: object) -> tuple[str, str]:
    with pytest.raises(OutOfBounds) as caught:
        check(command, now=NOW, **kwargs)  # type: ignore[arg-type]
    return caught.value.field, caught.value.reason


class TestDecimals:
    @pytest.mark.parametrize("value", ["1E+999999", "1e12", "1e308", "1000000"])
    def test_a_huge_quantity_on_any_line_is_refused_with_its_path(self, value: str) -> None:
        field, reason = refused(sale(line(), line(), line(), line(quantity=value)))
        assert field == "lines[3].quantity" and "less than" in reason

    @pytest.mark.parametrize("value", ["1E-999999", "0.0001", "1.0005"])
    def test_a_quantity_with_too_many_decimal_places_is_refused(self, value: str) -> None:
        field, reason = refused(sale(line(quantity=value)))
        assert field == "lines[0].quantity"
        assert reason == f"at most {limits.QUANTITY_PLACES} decimal places"

    @pytest.mark.parametrize("value", ["Infinity", "-Infinity", "NaN", "sNaN"])
    def test_a_number_that_is_not_finite_is_refused(self, value: str) -> None:
        assert refused(sale(line(unit_price=value))) == (
            "lines[0].unit_price",
            "must be a finite number",
        )

    def test_a_price_above_the_bound_or_negative_is_refused(self) -> None:
        assert refused(sale(line(unit_price="1E+999999")))[0] == "lines[0].unit_price"
        assert refused(sale(line(unit_price="-1")))[1] == "must be 0 or more"

    def test_trailing_zeros_are_not_decimal_places(self) -> None:
        check(sale(line(quantity="2.500000", unit_price="1.2000")), now=NOW)

    def test_nested_lines_of_other_commands_are_bounded_too(self) -> None:
        order = DraftPurchaseOrder(
            po_id="PO-1",
            supplier_id="harinera",
            store_id="born",
            lines=(PurchaseOrderLine(item_id="flour", quantity=D("1e12"), unit_price=D(1)),),
            expected_delivery_at=NOW + timedelta(days=2),
        )
        assert refused(order)[0] == "lines[0].quantity"

    def test_temperatures_may_be_negative_but_bounded(self) -> None:
        reading = RecordTemperature(equipment_id="freezer", celsius=D("-18.5"))
        check(reading, now=NOW)
        hot = RecordTemperature(equipment_id="oven", celsius=D("1e308"))
        assert refused(hot)[0] == "celsius"


class TestTimes:
    @pytest.mark.parametrize("year", [1, 9999])
    def test_absurd_years_are_refused_for_every_command(self, year: int) -> None:
        field, _ = refused(sale(line(), sold_at=datetime(year, 6, 1, tzinfo=UTC)))
        assert field == "sold_at"
        snooze = SnoozeAlert(alert_id="a-1", until=datetime(year, 6, 1, tzinfo=UTC))
        assert refused(snooze)[0] == "until"

    def test_a_date_far_ahead_is_refused(self) -> None:
        receipt = ReceiveStock(
            store_id="born",
            item_id="flour",
            item_kind=ItemKind.INGREDIENT,
            lot_id="L-1",
            quantity=D(10),
            expires_on=date(9999, 12, 31),
            unit_cost=D("0.5"),
        )
        assert refused(receipt) == (
            "expires_on",
            f"more than {limits.PLANNING_HORIZON.days} days in the future",
        )

    def test_live_inputs_must_be_near_now(self) -> None:
        month_ago = sale(line(), sold_at=NOW - limits.LIVE_PAST - timedelta(minutes=1))
        assert refused(month_ago, window="live")[0] == "sold_at"
        tomorrow = sale(line(), sold_at=NOW + limits.LIVE_FUTURE + timedelta(minutes=1))
        assert refused(tomorrow, window="live")[0] == "sold_at"
        check(sale(line(), sold_at=NOW - timedelta(days=29)), now=NOW, window="live")

    def test_history_accepts_old_business_time_but_not_before_the_first_year(self) -> None:
        check(sale(line(), sold_at=datetime(2019, 3, 1, tzinfo=UTC)), now=NOW, window="history")
        old = sale(line(), sold_at=datetime(limits.HISTORY_FIRST_YEAR - 1, 12, 31, tzinfo=UTC))
        assert refused(old, window="history")[0] == "sold_at"


class TestTextsAndCounts:
    def test_a_nul_in_any_string_is_refused(self) -> None:
        supplier = RegisterSupplier(supplier_id="s-1", name="Harin\x00era", lead_time_days=2)
        assert refused(supplier) == ("name", "contains a NUL character")

    def test_a_day_count_is_bounded(self) -> None:
        supplier = RegisterSupplier(supplier_id="s-1", name="Harinera", lead_time_days=10**9)
        assert refused(supplier)[0] == "lead_time_days"

    def test_too_many_lines_are_refused(self) -> None:
        many = sale(*(line() for _ in range(limits.MAX_LINES_PER_TICKET + 1)))
        assert refused(many)[0] == "lines"

    def test_parse_command_applies_the_same_checks_and_out_of_bounds_is_an_invalid_command(
        self,
    ) -> None:
        raw = (
            '{"type": "RecordSale", "store_id": "born", "pos_txn_id": "T-1",'
            ' "sold_at": "9999-01-01T00:00:00+00:00",'
            ' "lines": [{"sku": "b", "quantity": "1", "unit_price": "1"}]}'
        )
        with pytest.raises(InvalidCommand) as caught:
            parse_command(raw)
        assert caught.value.field == "sold_at"


class TestTimeZones:
    @pytest.mark.parametrize("zone", ["Europe", "Mars/Olympus", "x" * 300, "../etc/passwd", ""])
    def test_a_zone_that_is_no_iana_zone_is_an_invalid_timezone_field(self, zone: str) -> None:
        from commands.types import OpenStore
        from domain.events.organisation import StoreKind

        store = OpenStore(
            store_id="born", name="Born", kind=StoreKind("shop"), timezone=zone, region="ES-CT"
        )
        with pytest.raises(InvalidCommand) as caught:
            check(store, now=NOW)
        assert caught.value.field == "timezone"
        assert "unknown time zone" in caught.value.reason
