"""Replay, status, device tokens, the AsyncAPI document and the documented example."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pos_kit import Pos, ticket

from commands.pos.asyncapi import asyncapi_document
from commands.pos.devices import DeviceRegistry, register_device
from commands.pos.replay import replay
from commands.pos.schema import ticket_to_command
from commands.pos.status import pos_status
from domain.access import Actor
from domain.events.organisation import Role

DOCS = Path(__file__).resolve().parents[2] / "docs" / "pos.md"
TODAY = (datetime.now(UTC) - timedelta(hours=1)).date().isoformat()
REPLAY_CSV = f"""ticket,sold_at,sku,quantity,unit_price,discount,channel
R-1,{TODAY}T08:00:00+01:00,baguette,2,1.20,,counter
R-2,{TODAY}T08:01:10+01:00,croissant,1,1.50,0.10,counter
R-1,{TODAY}T08:00:00+01:00,croissant,3,1.50,,counter
R-3,{TODAY}T08:03:00+01:00,baguette,1,1.20,,delivery
"""


async def test_replay_publishes_each_ticket_once_over_real_nats(pos: Pos, tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    path.write_text(REPLAY_CSV)
    nats_url = pos.nats_url
    first = await replay(
        nats_url, path, tenant_id=pos.tenant, store_id="born", token=pos.tokens["born"], rate=200
    )
    assert (first.tickets, first.published, first.duplicates) == (3, 3, 0)
    await pos.settled()
    (r1,) = await pos.sales("born", "R-1")
    assert [line.sku for line in r1.lines] == ["baguette", "croissant"]
    (r3,) = await pos.sales("born", "R-3")
    assert r3.channel.value == "delivery"
    again = await replay(
        nats_url, path, tenant_id=pos.tenant, store_id="born", token=pos.tokens["born"]
    )
    assert again.duplicates == 3  # JetStream's duplicate window (Nats-Msg-Id) drops them
    status = await pos_status(nats_url)
    assert status["tickets_received"] == 3
    assert status["dead_letters"]["total"] == 0


async def test_status_counts_dead_letters_by_store_and_rule(pos: Pos) -> None:
    await pos.publish("born", ticket("S-1"), "obrpos_forged")
    await pos.publish("born", ticket("S-2"), "obrpos_forged")
    await pos.publish("born", b"[]", pos.tokens["born"])
    await pos.dead_letters(3)
    status = await pos_status(pos.nats_url)
    assert status["dead_letters"] == {
        "total": 3,
        "by_store_and_rule": {
            f"{pos.tenant}/born/invalid_command": 1,
            f"{pos.tenant}/born/token_unknown": 2,
        },
    }
    assert status["ingest"]["waiting"] == 0


async def test_a_new_token_replaces_the_old_one_and_a_revoked_one_stops(pos: Pos) -> None:
    registry = DeviceRegistry(pos.store.pool, cache_seconds=0)
    old = pos.tokens["born"]
    assert (await registry.authenticate(old)) is not None
    owner = Actor(user_id="olga", role=Role.OWNER)
    new = await register_device(
        pos.store,
        registry,
        tenant_id=pos.tenant,
        store_id="born",
        device_id="till-born",
        actor=owner,
    )
    assert await registry.authenticate(old) is None
    device = await registry.authenticate(new)
    assert device is not None and (device.store_id, device.device_id) == ("born", "till-born")
    assert await registry.revoke(pos.tenant, "till-born")
    assert await registry.authenticate(new) is None
    async with pos.store.pool.connection() as conn:  # only the hash is stored
        cur = await conn.execute(
            "SELECT count(*) FROM pos_devices WHERE token_sha256 = %s", (new.encode(),)
        )
        row = await cur.fetchone()
        assert row is not None and row[0] == 0


def test_the_asyncapi_document_describes_tickets_and_dead_letters() -> None:
    document = asyncapi_document()
    assert document["asyncapi"] == "3.0.0"
    addresses = {c["address"] for c in document["channels"].values()}
    assert addresses == {"pos.{tenant}.{store}.sales", "pos.*.*.dlq.*"}
    ticket_schema = document["components"]["schemas"]["TicketV1"]
    assert set(ticket_schema["required"]) == {"schema_version", "pos_txn_id", "sold_at", "lines"}
    messages = document["components"]["messages"]
    tickets = next(m for name, m in messages.items() if "pos-tickets" in name)
    assert tickets["headers"]["required"] == ["Obrador-Device-Token"]


def test_the_example_in_docs_pos_md_is_a_valid_ticket() -> None:
    blocks = re.findall(r"```json\n(.*?)```", DOCS.read_text(), re.S)
    example = next(b for b in blocks if '"schema_version"' in b)
    sold_at = datetime.fromisoformat(json.loads(example)["sold_at"])
    command = ticket_to_command(
        example.encode(), store_id="born", device_id="till-3", now=sold_at + timedelta(hours=1)
    )
    assert command.pos_txn_id == json.loads(example)["pos_txn_id"]
    assert command.store_id == "born" and command.device_id == "till-3"
