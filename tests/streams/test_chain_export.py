"""The offline verification script of docs/audit.md, run as documented on a real export."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import psycopg

from deploy.audit import seal_tenants
from streams.chain import export_record
from streams.chain_read import iter_chained
from streams.envelope import NewEvent
from streams.store import EventStore

DOC = Path(__file__).resolve().parents[2] / "docs" / "audit.md"
T = "forn-export"


def documented_script(folder: Path) -> Path:
    (code,) = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    path = folder / "verify_export.py"
    path.write_text(code)
    return path


def run(script: Path, export: Path, *seal: str) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, str(script), str(export), *seal],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stdout


async def test_the_documented_script_verifies_an_export_and_finds_an_edit(
    pg_store: EventStore, pg_url: str, tmp_path: Path
) -> None:
    for i in range(4):
        await pg_store.append(
            T,
            f"sale-{i % 2}",
            [
                NewEvent(
                    event_type="SaleRecorded", payload=f'{{"i":{i},"n":{n}}}'.encode(), actor="ñ"
                )
                for n in range(1 + i)
            ],
        )
    (made,) = await seal_tenants(pg_url, tenant=T)
    await pg_store.append(T, "sale-0", [NewEvent(event_type="SaleVoided", payload=b"{}")])
    async with await psycopg.AsyncConnection.connect(pg_url) as conn:
        records = [export_record(item) async for item in iter_chained(conn, T)]
    export = tmp_path / "export.jsonl"
    export.write_text("".join(json.dumps(r) + "\n" for r in records))
    script = documented_script(tmp_path)
    seal = (str(made.through_position), made.digest.hex())

    assert run(script, export) == (0, "verified\n")
    assert run(script, export, *seal) == (0, "verified\n")

    edited = [dict(r) for r in records]
    edited[3]["payload"] = base64.b64encode(b'{"i":2,"n":9}').decode()
    export.write_text("".join(json.dumps(r) + "\n" for r in edited))
    code, out = run(script, export)
    assert code == 1 and f"at position {records[3]['position']}" in out

    # a stream's sealed tail cut off: no gap inside the stream, only the seal can tell
    shorter = [r for r in records if (r["stream_id"], r["stream_version"]) != ("sale-1", 6)]
    assert len(shorter) == len(records) - 1
    export.write_text("".join(json.dumps(r) + "\n" for r in shorter))
    assert run(script, export) == (0, "verified\n")
    code, out = run(script, export, *seal)
    assert code == 1 and "do not match the seal" in out
