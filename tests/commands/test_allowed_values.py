"""An unknown role or reason is refused with the allowed values in the message."""

from __future__ import annotations

import pytest

from commands.types import CloseDay, RecordWaste
from commands.validation import InvalidCommand, parse_as, parse_command


def test_a_role_that_does_not_exist_lists_the_roles() -> None:
    raw = {"type": "RegisterUser", "user_id": "u", "name": "Ana", "role": "boss", "store_ids": []}
    with pytest.raises(InvalidCommand) as refused:
        parse_command(raw)
    assert refused.value.field == "role"
    assert refused.value.reason == (
        "Invalid enum value 'boss' (allowed: owner, planner, production_manager,"
        " store_manager, auditor, pos_device)"
    )


def test_a_waste_reason_that_does_not_exist_lists_the_reasons() -> None:
    with pytest.raises(InvalidCommand, match=r"allowed: expired, damaged, unsold_end_of_day"):
        parse_as(RecordWaste, b'{"store_id":"s","item_id":"i","quantity":1,"reason":"eaten"}')


def test_a_nested_field_is_followed_to_its_type() -> None:
    raw = {"store_id": "s", "day": "2026-03-02", "lines": [{"item_id": "b", "waste": "x"}]}
    with pytest.raises(InvalidCommand) as refused:
        parse_as(CloseDay, raw)
    assert refused.value.field == "lines[0].waste"
    assert "allowed" not in refused.value.reason  # not an enum: left as it was
