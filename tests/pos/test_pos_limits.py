"""Every limit on the POS path ends in its dead-letter rule, with the field (issue 8, defect 2).

The poison values of the issue (``1E+999999``, ``1E-999999``, 1e12, 1e308, years
9999 and 0001) went through and broke the projectors; now each is refused at
the edge, through real NATS, and nothing is recorded.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from pos_kit import Pos, ticket

from commands.pos.deadletter import H_DLQ_FIELD, H_DLQ_REASON, H_DLQ_RULE
from domain.limits import LIVE_PAST, MAX_JSON_DEPTH, MAX_LINES_PER_TICKET


def with_line(txn: str, **line: Any) -> bytes:
    base = {"sku": "baguette", "quantity": "1", "unit_price": "1.20"}
    return ticket(txn, lines=[base, {**base, **line}])


def raw_numbers(txn: str, quantity: str) -> bytes:
    """A number written as the till wrote it (not a string), e.g. ``1E+999999``."""
    marker = '"QUANTITY"'
    body = with_line(txn, quantity="QUANTITY").decode()
    return body.replace(marker, quantity).encode()


CASES: dict[str, tuple[bytes, str, str]] = {
    "L-1": (raw_numbers("L-1", "1E+999999"), "out_of_bounds", "lines[1].quantity"),
    "L-2": (raw_numbers("L-2", "1E-999999"), "out_of_bounds", "lines[1].quantity"),
    "L-3": (raw_numbers("L-3", "1e12"), "out_of_bounds", "lines[1].quantity"),
    "L-4": (raw_numbers("L-4", "1e308"), "out_of_bounds", "lines[1].quantity"),
    "L-5": (with_line("L-5", unit_price="1E+999999"), "out_of_bounds", "lines[1].unit_price"),
    "L-6": (with_line("L-6", unit_price="0.00001"), "out_of_bounds", "lines[1].unit_price"),
    "L-7": (ticket("L-7", sold_at="9999-12-31T12:00:00+00:00"), "out_of_bounds", "sold_at"),
    "L-8": (ticket("L-8", sold_at="0001-01-02T12:00:00+00:00"), "out_of_bounds", "sold_at"),
    "L-9": (
        ticket("L-9", sold_at=(datetime.now(UTC) - LIVE_PAST - timedelta(hours=2)).isoformat()),
        "out_of_bounds",
        "sold_at",
    ),
    "L-10": (with_line("L-10", promotion="2x1\x00"), "out_of_bounds", "lines[1].promotion"),
    "L-11": (
        ticket(
            "L-11",
            lines=[{"sku": "baguette", "quantity": "1", "unit_price": "1"}]
            * (MAX_LINES_PER_TICKET + 1),
        ),
        "invalid_command",
        "lines",
    ),
    "L-12": (with_line("L-12", quantity="NaN"), "out_of_bounds", "lines[1].quantity"),
    "L-13": (raw_numbers("L-13", "1e99999999999999999999"), "invalid_command", "lines[1].quantity"),
    "L-14": (raw_numbers("L-14", "9" * 5000), "out_of_bounds", "lines[1].quantity"),
}


async def test_each_poison_value_is_dead_lettered_with_its_rule_and_field(pos: Pos) -> None:
    for body, _, _ in CASES.values():
        await pos.publish("born", body, pos.tokens["born"])
    deep = b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1)
    await pos.publish("born", deep, pos.tokens["born"])
    letters = await pos.dead_letters(len(CASES) + 1)
    await pos.settled()
    seen: dict[str, tuple[str, str]] = {}
    for letter in letters:
        headers = letter.headers
        if letter.data == deep:
            assert headers[H_DLQ_RULE] == "message_too_deep" and headers[H_DLQ_FIELD] == "$"
            continue
        found = re.search(rb'"pos_txn_id": "([^"]+)"', letter.data)  # json cannot read 9 * 5000
        assert found is not None
        txn = found.group(1).decode()
        seen[txn] = (headers[H_DLQ_RULE], headers[H_DLQ_FIELD])
        assert headers[H_DLQ_REASON]
    assert seen == {txn: (rule, field) for txn, (_, rule, field) in CASES.items()}
    for txn in CASES:
        assert await pos.sales("born", txn) == []
    assert pos.processor.counters.accepted == 0
