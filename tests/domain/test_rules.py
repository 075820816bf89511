"""Pure rules: state machines, permissions, HACCP limits, tickets and the tenant."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Protocol

import pytest

from domain import alerts, equipment, organisation, procurement, production, sales
from domain.access import Actor, Permission, can, check_permission
from domain.errors import (
    AlreadyExists,
    IllegalTransition,
    InvalidValue,
    NotFound,
    PermissionDenied,
)
from domain.events import (
    EquipmentRegistered,
    Event,
    ManufacturingOrderSuggested,
    PurchaseOrderDrafted,
    SaleRecorded,
    StoreOpened,
    TenantCreated,
    UserRegistered,
    UserRoleChanged,
)
from domain.events.organisation import Role, StoreKind, TenantKind
from domain.events.procurement import PurchaseOrderLine, ReceivedLine
from domain.events.sales import Channel, RefundLine, SaleLine

AT = datetime(2026, 1, 5, 5, 0, tzinfo=UTC)
D = Decimal


class _Folded(Protocol):
    def apply(self, event: Event) -> None: ...


def apply(state: _Folded, events: list[Event]) -> None:
    for event in events:
        state.apply(event)


def order(*more: Event) -> production.OrderState:
    suggested = ManufacturingOrderSuggested(
        occurred_at=AT,
        order_id="1",
        sku="baguette",
        quantity=D(40),
        production_date=date(2026, 1, 6),
        producing_store_id="central",
        destination_store_id="born",
        reason="forecast",
    )
    return production.fold([suggested, *more])


class TestManufacturingOrders:
    def test_follows_suggested_confirmed_in_progress_completed(self) -> None:
        state = order()
        apply(state, production.confirm(state, by="pau", at=AT))
        apply(state, production.start(state, by="pau", at=AT))
        apply(state, production.complete(state, quantity_produced=D(38), shelf_life_days=1, at=AT))
        assert state.status is production.OrderStatus.COMPLETED
        lot = production.produced_lot(state, unit_cost=D("0.35"))
        assert lot is not None
        assert (lot.store_id, lot.quantity, lot.expires_on) == ("born", D(38), date(2026, 1, 7))

    def test_nothing_produced_adds_no_lot(self) -> None:
        state = order()
        apply(state, production.confirm(state, by="p", at=AT))
        apply(state, production.start(state, by="p", at=AT))
        apply(state, production.complete(state, quantity_produced=D(0), shelf_life_days=1, at=AT))
        assert production.produced_lot(state, unit_cost=D(1)) is None

    def test_a_completed_order_cannot_be_cancelled(self) -> None:
        state = order()
        apply(state, production.confirm(state, by="p", at=AT))
        apply(state, production.start(state, by="p", at=AT))
        apply(state, production.complete(state, quantity_produced=D(1), shelf_life_days=1, at=AT))
        with pytest.raises(IllegalTransition, match="cannot cancel when status is 'completed'"):
            production.cancel(state, reason="late", by="p", at=AT)

    @pytest.mark.parametrize("action", ["confirm", "start", "cancel", "edit"])
    def test_a_cancelled_order_accepts_nothing_more(self, action: str) -> None:
        state = order()
        for event in production.cancel(state, reason="no flour", by="p", at=AT):
            state.apply(event)
        calls = {
            "confirm": lambda: production.confirm(state, by="p", at=AT),
            "start": lambda: production.start(state, by="p", at=AT),
            "cancel": lambda: production.cancel(state, reason="again", by="p", at=AT),
            "edit": lambda: production.edit(
                state, quantity=D(1), production_date=None, by="p", at=AT
            ),
        }
        with pytest.raises(IllegalTransition) as refused:
            calls[action]()
        assert refused.value.current == "cancelled"

    def test_an_edit_that_changes_nothing_records_nothing(self) -> None:
        assert production.edit(order(), quantity=D(40), production_date=None, by="p", at=AT) == []

    def test_an_unknown_order_is_not_found(self) -> None:
        with pytest.raises(NotFound):
            production.confirm(production.OrderState(), by="p", at=AT)

    def test_suggesting_an_existing_order_is_refused(self) -> None:
        existing = order()
        with pytest.raises(AlreadyExists):
            production.suggest(existing, ManufacturingOrderSuggested(**_fields_of(existing)))


def _fields_of(state: production.OrderState) -> dict[str, object]:
    return {
        "occurred_at": AT,
        "order_id": state.order_id,
        "sku": state.sku,
        "quantity": state.quantity,
        "production_date": state.production_date,
        "producing_store_id": state.producing_store_id,
        "destination_store_id": state.destination_store_id,
        "reason": "again",
    }


class TestPermissions:
    def test_an_owner_may_do_everything_everywhere(self) -> None:
        owner = Actor(user_id="o", role=Role.OWNER)
        assert all(can(owner, p, "any-store") for p in Permission)

    def test_a_pos_device_only_records_sales_in_its_store(self) -> None:
        till = Actor(user_id="t", role=Role.POS_DEVICE, store_ids=frozenset({"born"}))
        assert can(till, Permission.RECORD_SALE, "born")
        assert not can(till, Permission.RECORD_SALE, "central")
        assert not can(till, Permission.CORRECT_SALE, "born")

    def test_an_auditor_only_reads(self) -> None:
        auditor = Actor(user_id="a", role=Role.AUDITOR)
        # Reads history, and logs in and out (its own sessions): nothing else.
        allowed = [p for p in Permission if can(auditor, p)]
        assert allowed == [Permission.READ_HISTORY, Permission.USE_SESSION]

    def test_refusal_names_the_role_and_the_store(self) -> None:
        manager = Actor(user_id="m", role=Role.STORE_MANAGER, store_ids=frozenset({"born"}))
        with pytest.raises(PermissionDenied, match="store_manager may not manage_stock in store"):
            check_permission(manager, Permission.MANAGE_STOCK, "central")


def drafted() -> procurement.PurchaseState:
    return procurement.fold(
        [
            PurchaseOrderDrafted(
                occurred_at=AT,
                po_id="po",
                supplier_id="sup",
                store_id="central",
                lines=(PurchaseOrderLine(item_id="flour", quantity=D(100), unit_price=D(1)),),
                expected_delivery_at=AT,
                drafted_by="nuria",
            )
        ]
    )


class TestPurchaseOrders:
    def test_an_order_must_be_sent_before_it_is_received(self) -> None:
        state = drafted()
        line = ReceivedLine(
            item_id="flour", quantity=D(1), lot_id="l", expires_on=None, unit_cost=D(1)
        )
        with pytest.raises(IllegalTransition, match="draft"):
            procurement.receive(
                state, delivery_id="d", lines=(line,), close_short=False, by="x", at=AT
            )

    def test_closing_short_receives_the_order_with_lines_outstanding(self) -> None:
        state = drafted()
        for step in (procurement.approve, procurement.send):
            for event in step(state, by="olga", at=AT):
                state.apply(event)
        line = ReceivedLine(
            item_id="flour", quantity=D(60), lot_id="l", expires_on=None, unit_cost=D(1)
        )
        (received,) = procurement.receive(
            state, delivery_id="d", lines=(line,), close_short=True, by="x", at=AT
        )
        state.apply(received)
        assert state.status is procurement.PurchaseStatus.RECEIVED

    def test_an_item_never_ordered_is_a_discrepancy_not_a_refusal(self) -> None:
        state = drafted()
        for step in (procurement.approve, procurement.send):
            for event in step(state, by="olga", at=AT):
                state.apply(event)
        extra = ReceivedLine(
            item_id="yeast", quantity=D(2), lot_id="y", expires_on=None, unit_cost=D(3)
        )
        (received,) = procurement.receive(
            state, delivery_id="d", lines=(extra,), close_short=False, by="x", at=AT
        )
        assert [d.kind for d in received.discrepancies] == ["not_ordered"]  # type: ignore[attr-defined]


class TestAlerts:
    def test_a_resolved_alert_cannot_be_snoozed(self) -> None:
        state = alerts.fold(
            alerts.resolve(alerts.AlertState(), alert_id="a", by="o", note="ok", at=AT)
        )
        with pytest.raises(IllegalTransition):
            alerts.snooze(state, alert_id="a", by="o", until=AT + timedelta(hours=1), at=AT)

    def test_snoozing_into_the_past_is_refused(self) -> None:
        with pytest.raises(InvalidValue) as refused:
            alerts.snooze(alerts.AlertState(), alert_id="a", by="o", until=AT, at=AT)
        assert refused.value.field == "until"


class TestHaccp:
    def fridge(self, **limits: Decimal) -> equipment.EquipmentState:
        return equipment.fold(
            [
                EquipmentRegistered(
                    occurred_at=AT,
                    equipment_id="f1",
                    store_id="born",
                    name="Pastry fridge",
                    kind="fridge",
                    maintenance_interval_days=90,
                    **limits,  # type: ignore[arg-type]
                )
            ]
        )

    @pytest.mark.parametrize(("celsius", "ok"), [("4.9", True), ("5.0", True), ("5.1", False)])
    def test_a_fridge_reading_is_checked_against_the_default_limits(
        self, celsius: str, ok: bool
    ) -> None:
        (reading,) = equipment.record_temperature(self.fridge(), celsius=D(celsius), at=AT)
        assert reading.within_limits is ok  # type: ignore[attr-defined]

    def test_equipment_specific_limits_win_over_the_defaults(self) -> None:
        state = self.fridge(min_celsius=D(2), max_celsius=D(4))
        (reading,) = equipment.record_temperature(state, celsius=D("4.5"), at=AT)
        assert reading.within_limits is False  # type: ignore[attr-defined]

    def test_a_reading_for_an_oven_without_limits_is_refused(self) -> None:
        oven = equipment.fold(
            [
                EquipmentRegistered(
                    occurred_at=AT,
                    equipment_id="o1",
                    store_id="central",
                    name="Deck oven",
                    kind="oven",
                    maintenance_interval_days=30,
                )
            ]
        )
        with pytest.raises(InvalidValue, match="no HACCP limits"):
            equipment.record_temperature(oven, celsius=D(230), at=AT)


class TestTickets:
    def sale(self, total: str = "2.40") -> SaleRecorded:
        return SaleRecorded(
            occurred_at=AT,
            store_id="born",
            pos_txn_id="T1",
            sold_at=AT,
            channel=Channel.COUNTER,
            lines=(SaleLine(sku="baguette", quantity=D(2), unit_price=D("1.20")),),
            total=D(total),
        )

    def test_a_total_that_does_not_match_the_lines_is_refused(self) -> None:
        with pytest.raises(InvalidValue) as refused:
            sales.record(sales.SaleState(), self.sale(total="9.99"))
        assert refused.value.field == "total"

    def test_refunds_add_up_per_product(self) -> None:
        state = sales.fold([self.sale()])
        one = RefundLine(sku="baguette", quantity=D(1), amount=D("1.20"))
        for event in sales.refund(state, refund_id="r1", lines=(one,), reason="x", at=AT):
            state.apply(event)
        for event in sales.refund(state, refund_id="r2", lines=(one,), reason="x", at=AT):
            state.apply(event)
        with pytest.raises(InvalidValue, match="0 of 'baguette' refundable"):
            sales.refund(state, refund_id="r3", lines=(one,), reason="x", at=AT)


class TestTenant:
    def tenant(self) -> organisation.TenantState:
        return organisation.fold(
            [
                TenantCreated(occurred_at=AT, name="Forn", kind=TenantKind.CHAIN),
                StoreOpened(
                    occurred_at=AT,
                    store_id="born",
                    name="Born",
                    kind=StoreKind.OUTLET,
                    timezone="Europe/Madrid",
                    region="ES-CT",
                ),
                UserRegistered(occurred_at=AT, user_id="olga", name="Olga", role=Role.OWNER),
            ]
        )

    def test_a_store_manager_must_be_given_existing_stores(self) -> None:
        for stores, error in (((), InvalidValue), (("gracia",), NotFound)):
            with pytest.raises(error):
                organisation.register_user(
                    self.tenant(),
                    UserRegistered(
                        occurred_at=AT,
                        user_id="mar",
                        name="Mar",
                        role=Role.STORE_MANAGER,
                        store_ids=stores,
                    ),
                )

    def test_the_last_owner_cannot_step_down(self) -> None:
        with pytest.raises(InvalidValue, match="last owner"):
            organisation.change_role(
                self.tenant(), UserRoleChanged(occurred_at=AT, user_id="olga", role=Role.AUDITOR)
            )

    def test_a_region_must_be_an_iso_code(self) -> None:
        bad = StoreOpened(
            occurred_at=AT,
            store_id="x",
            name="X",
            kind=StoreKind.SHOP,
            timezone="Europe/Madrid",
            region="Catalonia",
        )
        with pytest.raises(InvalidValue) as refused:
            organisation.open_store(self.tenant(), bad)
        assert refused.value.field == "region"
