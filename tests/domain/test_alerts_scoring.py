"""The priority score, its escalation, and the alert book's merge window (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from domain import alert_book
from domain.alert_facts import (
    ItemFacts,
    Lot,
    StockFacts,
    TenantFacts,
    decode,
    encode,
)
from domain.alert_rules import Context, evaluate
from domain.alerts import (
    Factor,
    Factors,
    Severity,
    escalation,
    impact_of_euros,
    severity_of,
)
from domain.errors import InvalidValue

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


class TestScore:
    def test_weights_are_40_30_20_10(self) -> None:
        def only(name: str) -> int:
            values = {k: Factor(100 if k == name else 0, k) for k in ("i", "u", "a", "c")}
            return Factors(
                impact=values["i"], urgency=values["u"], agency=values["a"], confidence=values["c"]
            ).score

        assert (only("i"), only("u"), only("a"), only("c")) == (40, 30, 20, 10)

    def test_rounds_half_up(self) -> None:
        zero = Factor(0, "")
        f = Factors(impact=zero, urgency=Factor(15, ""), agency=zero, confidence=zero)
        assert f.score == 5  # 4.5 rounds up, not to even

    def test_a_factor_outside_0_100_is_refused(self) -> None:
        with pytest.raises(InvalidValue):
            Factor(101, "too much")

    @pytest.mark.parametrize(
        ("euros", "impact"), [("0", 15), ("9", 35), ("99", 55), ("999", 75), ("1e9", 100)]
    )
    def test_impact_grows_20_points_per_tenfold(self, euros: str, impact: int) -> None:
        assert impact_of_euros(Decimal(euros)) == impact

    @pytest.mark.parametrize(
        ("score", "severity"),
        [
            (0, Severity.LOW),
            (39, Severity.LOW),
            (40, Severity.MEDIUM),
            (60, Severity.HIGH),
            (79, Severity.HIGH),
            (80, Severity.URGENT),
            (100, Severity.URGENT),
        ],
    )
    def test_severity_bands(self, score: int, severity: Severity) -> None:
        assert severity_of(score) is severity


class TestEscalation:
    @pytest.mark.parametrize(
        ("hours", "points"), [(0, 0), (47.9, 0), (48, 10), (71.9, 10), (72, 20), (500, 20)]
    )
    def test_unacknowledged_age(self, hours: float, points: int) -> None:
        raised = NOW - timedelta(hours=hours)
        assert escalation(raised_at=raised, acknowledged=False, deadline=None, now=NOW).points == (
            points
        )
        assert escalation(raised_at=raised, acknowledged=True, deadline=None, now=NOW).points == 0

    @pytest.mark.parametrize(
        ("hours_left", "points"), [(48, 0), (24.1, 0), (24, 15), (6.1, 15), (6, 30), (-5, 30)]
    )
    def test_near_a_deadline(self, hours_left: float, points: int) -> None:
        bump = escalation(
            raised_at=NOW, acknowledged=True, deadline=NOW + timedelta(hours=hours_left), now=NOW
        )
        assert bump.points == points and (bump.why != "") == (points > 0)

    def test_age_and_deadline_add_up(self) -> None:
        bump = escalation(
            raised_at=NOW - timedelta(hours=80),
            acknowledged=False,
            deadline=NOW + timedelta(hours=2),
            now=NOW,
        )
        assert bump.points == 50
        assert bump.why == "unacknowledged for 72 h (+20); deadline within 6 h (+30)"


def _stock(qty: str) -> tuple[StockFacts, Context]:
    stock = StockFacts(
        store_id="centro",
        item_id="baguette",
        lots={"L1": Lot(Decimal(qty), date(2026, 3, 9), Decimal("0.3"))},
        reorder_point=Decimal(10),
        target_stock=Decimal(20),
    )
    item = ItemFacts(
        kind="product",
        name="Baguette",
        unit="unit",
        price=Decimal("1.2"),
        unit_cost=Decimal("0.3"),
        shelf_life_days=1,
    )
    return stock, Context(now=NOW, tenant=TenantFacts(), items=lambda _: item)


class TestBook:
    def test_merge_within_24_hours_of_clearing_then_a_new_alert(self) -> None:
        alerts: dict[str, alert_book.AlertRecord] = {}
        facts, ctx = _stock("0")
        out = evaluate(facts, ctx)
        assert [c.type for c in out] == ["stockout"]
        changed = alert_book.reconcile("s", facts.alerts, out, alerts, NOW)
        [aid] = changed
        alert_book.reconcile("s", facts.alerts, [], alerts, NOW + timedelta(hours=1))
        assert alerts[aid].status == "resolved" and alerts[aid].auto_resolved
        alert_book.reconcile("s", facts.alerts, out, alerts, NOW + timedelta(hours=25))
        assert alerts[aid].status == "raised" and alerts[aid].occurrences == 2
        assert len(alerts) == 1
        alert_book.reconcile("s", facts.alerts, [], alerts, NOW + timedelta(hours=26))
        alert_book.reconcile("s", facts.alerts, out, alerts, NOW + timedelta(hours=50, minutes=1))
        assert len(alerts) == 2 and facts.alerts == {out[0].key: 2}

    def test_facts_round_trip_through_json(self) -> None:
        facts, _ = _stock("3.50")
        facts.alerts["stockout:centro:baguette"] = 2
        assert decode(encode(facts)) == facts
