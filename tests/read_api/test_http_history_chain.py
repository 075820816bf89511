"""The history export carries the hash chain: docs/audit.md's own script verifies an HTTP
and a CLI export, and reports a tampered line; the export links the event schemas."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from http_kit import NORTH, SOUTH, Tenants, scratch, tenants_on
from litestar import Litestar
from litestar.testing import AsyncTestClient

from deploy.stack import StackUrls
from read_api.app import create_app
from streams.envelope import NewEvent
from streams.store import EventStore

Client = AsyncTestClient[Litestar]
DOC = Path(__file__).resolve().parents[2] / "docs" / "audit.md"


@pytest.fixture(scope="module")
async def tenants(stack: StackUrls) -> AsyncIterator[Tenants]:
    for made in scratch(stack.database_url):
        found = await tenants_on(made.url)
        async with await EventStore.open(made.url, min_size=1, max_size=2) as store:
            for i in range(6):
                for tenant in (NORTH, SOUTH):
                    # payloads as some writer stored them: spaces, unicode, nesting
                    payload = json.dumps({"i": i, "name": "pa\u00f1o", "x": {"y": [1, 2.5]}})
                    await store.append(
                        tenant,
                        f"log-{i % 2}",
                        [
                            NewEvent(
                                event_type="Noted", payload=payload.encode(), actor="caj\u00f3n"
                            )
                        ],
                    )
        yield found


@pytest.fixture(scope="module")
async def client(tenants: Tenants) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(tenants.url)) as test_client:
        yield test_client


def verify(folder: Path, export: Path) -> tuple[int, str]:
    """Run the offline script exactly as docs/audit.md prints it."""
    (code,) = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    script = folder / "verify_export.py"
    script.write_text(code)
    done = subprocess.run(
        [sys.executable, str(script), str(export)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stdout


async def test_an_http_export_verifies_offline_and_a_tampered_line_is_reported(
    client: Client, tenants: Tenants, tmp_path: Path
) -> None:
    answer = await client.get("/v1/history", headers=tenants.north)
    assert answer.status_code == 200
    assert answer.headers["link"] == '</v1/schemas/events>; rel="describedby"'
    export = tmp_path / "north.ndjson"
    export.write_bytes(answer.content)
    records = [json.loads(line) for line in answer.content.splitlines()]
    assert len(records) > 6

    # every line links to the one before it in its stream; a stream starts at 64 zeros
    last_hash: dict[str, str] = {}
    for record in records:
        assert record["prev_hash"] == last_hash.get(record["stream_id"], "0" * 64)
        assert re.fullmatch("[0-9a-f]{64}", record["hash"])
        assert list(record)[-1] == "payload"
        last_hash[record["stream_id"]] = record["hash"]
    assert verify(tmp_path, export) == (0, "verified\n")

    # one byte of one payload changed (the JSON stays valid): that event is reported
    lines = answer.content.splitlines(keepends=True)
    target = next(i for i, r in enumerate(records) if r["event_type"] == "Noted")
    lines[target] = lines[target].replace(b'"i": 0', b'"i": 9')
    export.write_bytes(b"".join(lines))
    code, out = verify(tmp_path, export)
    assert code == 1, out
    assert f"at position {records[target]['position']}" in out

    # a line removed from the middle of a stream: reported as a deletion
    lines = answer.content.splitlines(keepends=True)
    middle = next(
        i for i, r in enumerate(records) if r["stream_id"] == "log-0" and r["stream_version"] == 2
    )
    export.write_bytes(b"".join(lines[:middle] + lines[middle + 1 :]))
    code, out = verify(tmp_path, export)
    assert code == 1 and "deleted: log-0 versions 2..2" in out


def test_the_cli_export_carries_the_same_chain(tenants: Tenants, tmp_path: Path) -> None:
    out = tmp_path / "cli.ndjson"
    command = [sys.executable, "-m", "deploy.cli", "history", "export", "--tenant", NORTH]
    done = subprocess.run(
        [*command, "--out", str(out)],
        env={**os.environ, "DATABASE_URL": tenants.url, "NATS_URL": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert all("hash" in json.loads(line) for line in out.read_text().splitlines())
    assert verify(tmp_path, out) == (0, "verified\n")


async def test_the_event_schemas_are_listed_and_served(client: Client, tenants: Tenants) -> None:
    listed = (await client.get("/v1/schemas/events", headers=tenants.north)).json()
    assert listed["dialect"] == "https://json-schema.org/draft/2020-12/schema"
    names = {item["event_type"]: item for item in listed["items"]}
    assert {"SaleRecorded", "StockReceived", "StoreOpened"} <= set(names)
    one = await client.get(names["SaleRecorded"]["url"], headers=tenants.north_auditor)
    assert one.status_code == 200
    assert one.headers["content-type"].startswith("application/schema+json")
    body = one.json()
    assert body["x-schema-version"] == names["SaleRecorded"]["schema_version"]
    assert "store_id" in body["properties"]
    missing = await client.get("/v1/schemas/events/Nonsense", headers=tenants.north)
    assert missing.status_code == 404
    assert (await client.get("/v1/schemas/events")).status_code == 401
