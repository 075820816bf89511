"""Events survive the trip to bytes, old payloads come back upcast, and every type has a schema."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import msgspec
import pytest

from domain.codec import EventCodecError, decode_event, encode_event
from domain.events import EVENT_TYPES, Event, SaleRecorded, StoreOpened
from domain.events.organisation import StoreKind
from domain.events.production import ManufacturingOrderSuggested
from domain.events.sales import Channel, SaleLine
from domain.schema import event_json_schemas

AT = datetime(2026, 1, 5, 5, 0, tzinfo=UTC)


class TestCodec:
    def test_round_trips_an_event_with_nested_lines_and_decimals(self) -> None:
        sale = SaleRecorded(
            occurred_at=AT,
            store_id="s1",
            pos_txn_id="T-1",
            sold_at=AT,
            channel=Channel.COUNTER,
            lines=(SaleLine(sku="baguette", quantity=Decimal(2), unit_price=Decimal("1.10")),),
            total=Decimal("2.20"),
        )
        event_type, version, payload = encode_event(sale)
        assert (event_type, version) == ("SaleRecorded", 1)
        assert json.loads(payload)["type"] == "SaleRecorded"
        assert decode_event(event_type, version, payload) == sale

    def test_payload_carries_its_type_tag_so_the_union_decodes_it_too(self) -> None:
        order = ManufacturingOrderSuggested(
            occurred_at=AT,
            order_id="mo1",
            sku="baguette",
            quantity=Decimal(40),
            production_date=date(2026, 1, 6),
            producing_store_id="central",
            destination_store_id="s1",
            reason="forecast",
        )
        _, _, payload = encode_event(order)
        assert msgspec.json.decode(payload, type=Event) == order

    def test_refuses_an_unknown_event_type(self) -> None:
        with pytest.raises(EventCodecError, match="unknown event type"):
            decode_event("BreadTeleported", 1, b"{}")

    def test_refuses_a_version_newer_than_the_code(self) -> None:
        with pytest.raises(EventCodecError, match="newer than this code"):
            decode_event("SaleVoided", 7, b"{}")

    def test_reports_a_payload_that_does_not_match_its_type(self) -> None:
        with pytest.raises(EventCodecError, match="SaleVoided"):
            decode_event("SaleVoided", 1, b'{"type": "SaleVoided", "store_id": 3}')


class TestUpcasting:
    V1_STORE = {
        "type": "StoreOpened",
        "occurred_at": "2024-03-01T06:00:00Z",
        "store_id": "centro",
        "name": "Centro",
        "tz": "Atlantic/Canary",
    }

    def test_store_opened_v1_is_read_as_v2_with_timezone_kind_and_region(self) -> None:
        store = decode_event("StoreOpened", 1, json.dumps(self.V1_STORE).encode())
        assert isinstance(store, StoreOpened)
        assert store.timezone == "Atlantic/Canary"
        assert store.kind is StoreKind.SHOP
        assert store.region == "ES"

    def test_current_version_is_written_with_the_new_schema_version(self) -> None:
        store = decode_event("StoreOpened", 1, json.dumps(self.V1_STORE).encode())
        event_type, version, payload = encode_event(store)
        assert version == StoreOpened.SCHEMA_VERSION == 2
        assert "tz" not in json.loads(payload)
        assert decode_event(event_type, version, payload) == store


class TestSchemas:
    def test_every_event_type_has_a_schema_with_its_version(self) -> None:
        schemas = event_json_schemas()
        assert set(schemas) == set(EVENT_TYPES)
        for name, schema in schemas.items():
            assert schema["x-schema-version"] == EVENT_TYPES[name].SCHEMA_VERSION
            assert schema["properties"]["type"] == {"enum": [name]}
            assert "occurred_at" in schema["required"]

    def test_schemas_are_self_contained(self) -> None:
        for name, schema in event_json_schemas().items():
            refs = {r for r in _refs(schema) if r.startswith("#/$defs/")}
            assert all(r.removeprefix("#/$defs/") in schema.get("$defs", {}) for r in refs), name

    def test_event_names_are_past_tense(self) -> None:
        def has_participle(name: str) -> bool:
            words = re.findall(r"[A-Z][a-z]*", name)
            return any(w.endswith("ed") or w in {"Set", "Sent"} for w in words)

        assert [n for n in EVENT_TYPES if not has_participle(n)] == []


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if "$ref" in node else []
        return own + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []
