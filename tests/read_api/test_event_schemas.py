"""Every event of the demo chain, as the history export gives it, validates against the
JSON Schema that ``GET /v1/schemas/events/{type}`` serves for its type."""

from __future__ import annotations

import json
from collections import Counter

from jsonschema import Draft202012Validator
from read_api_kit import Client


async def test_every_exported_event_of_the_demo_validates_against_its_schema(
    client: Client, demo: dict[str, str]
) -> None:
    answer = await client.get("/v1/history", headers=demo)
    assert answer.status_code == 200
    listed = (await client.get("/v1/schemas/events", headers=demo)).json()["items"]
    versions = {item["event_type"]: item["schema_version"] for item in listed}
    validators: dict[str, Draft202012Validator] = {}
    checked: Counter[str] = Counter()
    for line in answer.text.splitlines():
        event = json.loads(line)
        kind = event["event_type"]
        assert kind in versions, kind  # every stored type has a schema
        assert event["schema_version"] == versions[kind], event  # the demo writes current ones
        if kind not in validators:
            schema = (await client.get(f"/v1/schemas/events/{kind}", headers=demo)).json()
            Draft202012Validator.check_schema(schema)
            validators[kind] = Draft202012Validator(schema)
        errors = [e.message for e in validators[kind].iter_errors(event["payload"])]
        assert not errors, (kind, event["position"], errors)
        checked[kind] += 1
    assert sum(checked.values()) > 1000 and len(checked) >= 10, checked


async def test_a_schema_refuses_a_payload_that_breaks_it(
    client: Client, demo: dict[str, str]
) -> None:
    schema = (await client.get("/v1/schemas/events/SaleRecorded", headers=demo)).json()
    validator = Draft202012Validator(schema)
    assert not validator.is_valid({"type": "SaleRecorded"})  # required fields missing
