"""POS ingest against a real nats-server (JetStream) and a real PostgreSQL store."""

from __future__ import annotations

from pos_kit import Pos, ticket

from commands.pos.deadletter import H_DLQ_FIELD, H_DLQ_REASON, H_DLQ_RULE
from commands.pos.ingest import DLQ_STREAM_NAME
from commands.pos.schema import H_TOKEN, dlq_subject, sales_subject


async def test_a_valid_ticket_is_recorded_as_a_sale_of_the_subjects_store(pos: Pos) -> None:
    await pos.publish("born", ticket("T-1"), pos.tokens["born"])
    await pos.settled()
    (sale,) = await pos.sales("born", "T-1")
    assert sale.store_id == "born" and sale.device_id == "till-born"
    assert str(sale.total) == "3.65" and sale.source.value == "pos"
    assert pos.processor.counters.accepted == 1


async def test_a_resent_ticket_is_stored_once(pos: Pos) -> None:
    for _ in range(3):
        await pos.publish("born", ticket("T-2"), pos.tokens["born"])
    await pos.settled()
    assert len(await pos.sales("born", "T-2")) == 1
    counters = pos.processor.counters
    assert counters.accepted == 1 and counters.duplicates == 2
    assert not counters.dead_lettered


async def test_a_malformed_ticket_goes_to_the_dead_letters_with_field_and_rule(
    pos: Pos,
) -> None:
    bad = ticket("T-3", lines=[{"sku": "baguette", "quantity": "lots", "unit_price": "1.20"}])
    await pos.publish("born", bad, pos.tokens["born"], Trace="abc")
    await pos.publish("born", b"{not json", pos.tokens["born"])
    await pos.publish("born", ticket("T-4", lines=[]), pos.tokens["born"])
    letters = await pos.dead_letters(3)
    by_field = {m.headers[H_DLQ_FIELD]: m for m in letters}
    assert set(by_field) == {"lines[0].quantity", "$", "lines"}
    quantity = by_field["lines[0].quantity"]
    assert quantity.data == bad  # the original body, byte for byte
    assert quantity.headers[H_DLQ_RULE] == "invalid_command"
    assert quantity.headers["Trace"] == "abc"
    assert H_TOKEN not in quantity.headers  # the credential is not copied
    assert by_field["lines"].headers[H_DLQ_RULE] == "invalid_value"
    assert "at least one line" in by_field["lines"].headers[H_DLQ_REASON]
    await pos.settled()
    assert await pos.sales("born", "T-3") == []
    assert sum(pos.processor.counters.dead_lettered.values()) == 3


async def test_an_unknown_or_missing_token_is_dead_lettered_not_recorded(pos: Pos) -> None:
    await pos.publish("born", ticket("T-5"), "obrpos_forged")
    await pos.publish("born", ticket("T-6"), None)
    letters = await pos.dead_letters(2)
    rules = sorted(m.headers[H_DLQ_RULE] for m in letters)
    assert rules == ["token_missing", "token_unknown"]
    assert {m.headers[H_DLQ_FIELD] for m in letters} == {H_TOKEN}
    await pos.settled()
    assert await pos.sales("born", "T-5") == [] and await pos.sales("born", "T-6") == []


async def test_a_device_publishing_for_another_store_or_tenant_is_refused(pos: Pos) -> None:
    await pos.publish("gracia", ticket("T-7"), pos.tokens["born"])
    await pos.js.publish(
        sales_subject("someone-else", "born"), ticket("T-8"), headers={H_TOKEN: pos.tokens["born"]}
    )
    await pos.publish("born", ticket("T-9", store_id="gracia"), pos.tokens["born"])
    letters = await pos.dead_letters(2)
    rules = sorted(m.headers[H_DLQ_RULE] for m in letters)
    assert rules == ["invalid_command", "store_mismatch"]
    others = await pos.js.pull_subscribe(
        dlq_subject("someone-else", "born", "tenant_mismatch"), stream=DLQ_STREAM_NAME
    )
    (foreign,) = await others.fetch(1, timeout=10)
    assert (foreign.headers or {})[H_DLQ_RULE] == "tenant_mismatch"
    await pos.settled()
    assert await pos.sales("gracia", "T-7") == [] and await pos.sales("born", "T-9") == []


async def test_a_refusal_whose_reason_has_line_breaks_is_still_dead_lettered(pos: Pos) -> None:
    body = ticket("T-10").replace(b'"channel"', b'"bad\\nfield": 1, "channel"')
    await pos.publish("born", body, pos.tokens["born"])
    (letter,) = await pos.dead_letters(1)
    assert letter.headers[H_DLQ_FIELD] == "bad field"
    assert letter.data == body
