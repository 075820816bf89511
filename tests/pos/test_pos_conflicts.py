"""The same ``pos_txn_id`` twice: a resend is a duplicate, different content is a conflict.

Nothing is acked and dropped, whatever the arrival order (issue 8, defect 3).
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

from pos_kit import Pos, eventually, ticket

from commands.pos.deadletter import H_DLQ_FIELD, H_DLQ_RULE
from commands.pos.ingest import DLQ_STREAM_NAME, TicketProcessor
from commands.pos.schema import dlq_subject
from commands.pos.service import serve_ingest

PAIRS = 100


def _pair(txn: str) -> tuple[bytes, bytes]:
    one = ticket(txn, lines=[{"sku": "baguette", "quantity": "1", "unit_price": "1.20"}])
    two = ticket(txn, lines=[{"sku": "baguette", "quantity": "2", "unit_price": "1.20"}])
    return one, two


async def _conflicts(pos: Pos, count: int) -> list[bytes]:
    sub = await pos.js.pull_subscribe(
        dlq_subject(pos.tenant, "born", "conflict"), stream=DLQ_STREAM_NAME
    )
    bodies: list[bytes] = []
    async with asyncio.timeout(30):
        while len(bodies) < count:
            for message in await sub.fetch(count - len(bodies), timeout=30):
                assert message.headers is not None
                assert message.headers[H_DLQ_RULE] == "conflict"
                assert message.headers[H_DLQ_FIELD] == "pos_txn_id"
                bodies.append(message.data)
    await sub.unsubscribe()
    return bodies


async def test_a_reused_transaction_id_sent_later_is_dead_lettered_as_conflict(pos: Pos) -> None:
    first, second = _pair("K-1")
    await pos.publish("born", first, pos.tokens["born"])
    await pos.settled()
    await pos.publish("born", second, pos.tokens["born"])
    assert await _conflicts(pos, 1) == [second]
    (sale,) = await pos.sales("born", "K-1")
    assert sale.lines[0].quantity == Decimal(1)


async def test_concurrent_pairs_with_different_lines_are_each_recorded_or_dead_lettered(
    pos: Pos, pg_url: str
) -> None:
    """Two ingest processes share the durable consumer, so pairs really race."""
    second_stop = asyncio.Event()
    ready: asyncio.Future[TicketProcessor] = asyncio.get_running_loop().create_future()
    second = asyncio.create_task(
        serve_ingest(pg_url, pos.nats_url, stop=second_stop, ready=ready.set_result, batch_size=8)
    )
    other = await asyncio.wait_for(asyncio.shield(ready), 30)
    pairs = {f"P-{i}": _pair(f"P-{i}") for i in range(PAIRS)}
    token = pos.tokens["born"]
    try:
        await asyncio.gather(
            *(pos.publish("born", body, token) for pair in pairs.values() for body in pair)
        )
        letters = await _conflicts(pos, PAIRS)
        await pos.settled(timeout=60)
    finally:
        second_stop.set()
        await asyncio.wait_for(second, 30)
    refused = {json.loads(body)["pos_txn_id"]: body for body in letters}
    assert len(refused) == PAIRS  # one per pair, none twice
    for txn, (one, two) in pairs.items():
        (sale,) = await pos.sales("born", txn)
        kept = one if sale.lines[0].quantity == Decimal(1) else two
        assert refused[txn] == (two if kept is one else one)
    mine, theirs = pos.processor.counters, other.counters
    assert mine.accepted + theirs.accepted == PAIRS
    assert mine.dead_lettered["conflict"] + theirs.dead_lettered["conflict"] == PAIRS


async def test_an_identical_resend_arriving_together_is_a_duplicate_not_a_conflict(
    pos: Pos,
) -> None:
    body = ticket("D-1")
    await asyncio.gather(*(pos.publish("born", body, pos.tokens["born"]) for _ in range(10)))
    counters = pos.processor.counters

    async def all_handled() -> bool:  # a delivery that met another at once is nacked, then back
        return counters.accepted + counters.duplicates + sum(counters.dead_lettered.values()) == 10

    await eventually(all_handled, 30)
    assert len(await pos.sales("born", "D-1")) == 1
    assert counters.accepted == 1 and counters.duplicates == 9
    assert not counters.dead_lettered
