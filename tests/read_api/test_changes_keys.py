"""The pure parts of ``/v1/stream``: which ids a change names, what a store manager sees,
and how two views of the open alerts become raised / escalated / updated / resolved."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from read_api.changes import AlertView, _alert_changes, _visible, keys_of
from read_api.paging import Key, Order

AT = datetime(2026, 3, 2, 6, tzinfo=UTC)


def alert(
    alert_id: str, *, score: int = 50, escalation: int = 0, status: str = "raised"
) -> AlertView:
    return AlertView(
        alert_id=alert_id,
        type="stockout",
        severity="medium",
        score=score,
        escalation=escalation,
        status=status,
        occurrences=1,
        title="Out of barra",
        action="Bake",
        store_id="centro",
        item_id="barra",
        deadline=None,
        raised_at=AT,
    )


def test_a_change_names_the_ids_of_its_events_and_nothing_else() -> None:
    payload = msgspec.json.encode(
        {"type": "SaleRecorded", "store_id": "centro", "lines": [{"sku": "barra"}], "n": 3}
    )
    assert keys_of(payload) == {"store_id": "centro"}
    order = {"type": "X", "order_id": "MO-1", "producing_store_id": "norte", "sku": "barra"}
    assert keys_of(msgspec.json.encode(order)) == {
        "producing_store_id": "norte",
        "sku": "barra",
        "order_id": "MO-1",
    }
    assert keys_of(b"not json") == {} and keys_of(b'{"store_id": 7}') == {}


def test_a_store_manager_sees_a_change_only_when_it_names_one_of_their_stores() -> None:
    assert _visible({"store_id": "centro"}, None)
    assert _visible({"store_id": "centro"}, ("centro",))
    assert _visible({"destination_store_id": "centro", "store_id": "x"}, ("centro",))
    assert not _visible({"store_id": "norte"}, ("centro",))
    assert not _visible({"sku": "barra"}, ("centro",))  # tenant-wide facts are not theirs


def test_two_views_of_the_open_alerts_give_each_kind_of_change() -> None:
    before = {"a": alert("a"), "b": alert("b"), "c": alert("c"), "d": alert("d")}
    now = {
        "a": alert("a"),  # unchanged: nothing
        "b": alert("b", score=60, escalation=10),
        "c": alert("c", status="acknowledged"),
        "e": alert("e", score=90),
    }
    gone = [alert("d", status="resolved")]
    changes = _alert_changes(before, now, gone, position=7)
    assert [(c.change, c.alert.alert_id) for c in changes] == [
        ("raised", "e"),
        ("escalated", "b"),
        ("updated", "c"),
        ("resolved", "d"),
    ]
    assert {c.position for c in changes} == {7}


def test_the_keyset_predicate_keeps_nulls_last_and_descending_keys() -> None:
    order = Order("t", (Key("a", int, desc=True), Key("b", str, nullable=True), Key("c", str)))
    assert order.order_by() == " ORDER BY a DESC, b NULLS LAST, c"
    where, params = order.after([5, None, "x"])
    assert where == " AND ((a < %s) OR (a = %s AND b IS NULL AND c > %s))"
    assert params == [5, 5, "x"]
    where, params = order.after([5, "k", "x"])
    assert where == (
        " AND ((a < %s) OR (a = %s AND (b > %s OR b IS NULL)) OR (a = %s AND b = %s AND c > %s))"
    )
    assert params == [5, 5, "k", 5, "k", "x"]
