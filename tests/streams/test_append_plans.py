"""The bulk append function's plans stay linear in the batch whatever the statistics say.

Issue 13: from the sixth call of a session on, PL/pgSQL ran ``obrador_append``
with generic plans, in which ``unnest($n)`` counts 10 rows and the request
table's stale statistics count 1 request passing; the event insert became a
nested loop rescanning every event of the batch once per request (12,500 x
50,000 rows per bulk chunk, 60x slower). Here every statement of the function
as installed is planned the same way -- generic plan, tables ANALYZEd on a few
thousand rows, the request table's statistics as stale as in the function --
and no join may rescan anything: the inner side of each nested loop is one
index probe, and no table of the store is scanned whole.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from deploy.audit import verify
from deploy.scratch import scratch_schema
from deploy.stack import StackUrls
from migrations.runner import MIGRATIONS_DIR
from streams.append_batch import SMALL_BATCH, append_args
from streams.envelope import AppendRequest, NewEvent
from streams.store import EventStore

T = "forn-plans"
STORE_TABLES = {"events", "streams", "idempotency_keys"}
#: what may sit between a nested loop and the probe it repeats
PASS_THROUGH = {"Limit", "Subquery Scan", "Result"}
PROBES = {"Index Scan", "Index Only Scan"}
CALL = (
    "SELECT * FROM obrador_append(%s::text[], %s::text[], %s::bigint[], %s::int[], %s::text[],"
    " %s::int[], %s::int[], %s::uuid[], %s::text[], %s::int[], %s::bytea[], %s::uuid[],"
    " %s::uuid[], %s::text[])"
)


def requests(first: int, count: int, *, expected: int | None = 0) -> list[AppendRequest]:
    return [
        AppendRequest(
            tenant_id=T,
            stream_id=f"sale-{i}",
            expected_version=expected,
            events=tuple(
                NewEvent(event_type="SaleRecorded", payload=f'{{"n":{i},"k":{k}}}'.encode())
                for k in range(2)
            ),
            idempotency_key=f"import:{i}:{expected}",
        )
        for i in range(first, first + count)
    ]


@pytest.fixture(scope="module")
def filled_url(stack: StackUrls) -> Iterator[str]:
    """A store of a few thousand events, some streams extended, every table ANALYZEd."""
    with scratch_schema(stack.database_url, "plans") as conninfo:

        async def fill() -> None:
            store = await EventStore.open(conninfo, min_size=1, max_size=2)
            try:
                first = await store.bulk_append(requests(0, 1500), chunk_events=1000)
                more = await store.bulk_append(requests(0, 300, expected=2), chunk_events=1000)
            finally:
                await store.close()
            assert all(not isinstance(o, Exception) for o in first + more)

        asyncio.run(fill())
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("ANALYZE events")
            conn.execute("ANALYZE streams")
            conn.execute("ANALYZE idempotency_keys")
        yield conninfo


def _function(conn: psycopg.Connection[Any], name: str) -> tuple[str, dict[str, str]]:
    """Body and typed names (parameters and DECLAREd variables) of a PL/pgSQL function."""
    row = conn.execute(
        "SELECT p.prosrc, pg_get_function_arguments(p.oid) FROM pg_proc p"
        " WHERE p.proname = %s AND p.pronamespace = current_schema()::regnamespace",
        (name,),
    ).fetchone()
    assert row is not None, f"{name} not installed"
    source, arguments = str(row[0]), str(row[1])
    source = re.sub(r"--[^\n]*", "", source)
    typed = dict(re.findall(r"(\w+) ([\w\[\] ]+?)(?:,|$)", arguments))
    declare, _, body = source.partition("BEGIN")
    typed.update(re.findall(r"^[ \t]*(\w+)[ \t]+([\w\[\] ]+?)(?:[ \t]*:=[^;]*)?;", declare, re.M))
    return body, typed


def _statements(body: str, typed: dict[str, str]) -> list[str]:
    """The body's queries, as a client could EXPLAIN them: variables as typed parameters."""
    names = sorted(typed, key=len, reverse=True)
    out = []
    for piece in body.split(";"):
        text = " ".join(piece.split())
        text = re.sub(r"^RETURN QUERY ", "", text)
        text = re.sub(r"^IF .*? THEN ", "", text)  # the statement an IF guards
        text = re.sub(r"^PERFORM ", "SELECT ", text)
        if not re.match(r"(WITH|SELECT|INSERT|UPDATE|DELETE) ", text):
            continue
        if text.startswith("SELECT pg_notify") or text == "DELETE FROM obrador_append_q":
            continue
        text = re.sub(rf"\bINTO ({'|'.join(names)})\b", "", text)
        for n, name in enumerate(names, start=1):
            text = re.sub(rf"(?<![.\w]){name}\b", f"${n}::{typed[name]}", text)
        out.append(text)
    return out


def _rescans(node: dict[str, Any], found: list[str]) -> list[str]:
    """Every way a plan reads more than the batch: whole store tables, repeated inner sides."""
    relation, kind = node.get("Relation Name"), node["Node Type"]
    if relation in STORE_TABLES and kind.endswith("Scan") and kind not in PROBES:
        found.append(f"{kind} on {relation}")
    children = node.get("Plans", [])
    if node["Node Type"] == "Nested Loop":
        inner = children[1]
        while inner["Node Type"] in PASS_THROUGH and inner.get("Plans"):
            inner = inner["Plans"][0]
        if inner["Node Type"] not in PROBES or "Index Cond" not in inner:
            found.append(f"Nested Loop repeating {inner['Node Type']}")
    for child in children:
        _rescans(child, found)
    return found


def _plan_faults(conn: psycopg.Connection[Any], first: int) -> dict[str, list[str]]:
    """What each statement of the installed obrador_append would rescan, by statement."""
    body, typed = _function(conn, "obrador_append")
    statements = _statements(body, typed)
    assert len(statements) >= 8, statements  # the parsing found the function's steps
    assert any(s.startswith("INSERT INTO events") for s in statements)
    # the request table as the function's statements see it: filled, ANALYZEd while ver
    # was NULL (the transaction stays open: its rows go at commit)
    conn.execute(CALL, append_args(requests(first, SMALL_BATCH + 50)))
    bad = {}
    for statement in statements:
        row = conn.execute(f"EXPLAIN (GENERIC_PLAN, FORMAT JSON) {statement}").fetchone()
        assert row is not None
        found = _rescans(row[0][0]["Plan"], [])
        if found:
            bad[statement[:70]] = found
    return bad


def test_every_statement_is_one_probe_per_row_whatever_the_statistics(filled_url: str) -> None:
    with psycopg.connect(filled_url) as conn:
        bad = _plan_faults(conn, 5000)
        conn.rollback()
    assert bad == {}


def test_the_check_finds_the_issue_13_plan_of_migration_0043(filled_url: str) -> None:
    before = MIGRATIONS_DIR / "0043_chain_lookup_by_stream_index.sql"
    with psycopg.connect(filled_url) as conn:
        conn.execute(before.read_text())  # rolled back below
        bad = _plan_faults(conn, 6000)
        conn.rollback()
    inserts = [found for statement, found in bad.items() if "INSERT INTO events" in statement]
    assert inserts == [["Nested Loop repeating Function Scan"]]


@pytest.fixture
async def generic_store(filled_url: str) -> AsyncIterator[tuple[EventStore, str]]:
    """A store whose sessions always plan generically (what PL/pgSQL does from call six on)."""
    options = conninfo_to_dict(filled_url).get("options", "")
    url = make_conninfo(filled_url, options=f"{options} -c plan_cache_mode=force_generic_plan")
    store = await EventStore.open(url, min_size=1, max_size=2)
    try:
        yield store, url
    finally:
        await store.close()


async def test_generic_plans_write_the_same_outcomes_and_chain(
    generic_store: tuple[EventStore, str],
) -> None:
    store, url = generic_store
    extend = requests(1000, 400, expected=2)  # streams of the fill, one probe each
    fresh = requests(9000, 400)
    outcomes = await store.bulk_append([*extend, *fresh], chunk_events=2000)
    assert [o.first_version for o in outcomes if not isinstance(o, Exception)] == [3] * 400 + [
        1
    ] * 400
    again = await store.bulk_append(fresh[:250], chunk_events=2000)  # duplicates
    assert [getattr(o, "first_version", None) for o in again] == [1] * 250
    stale = await store.bulk_append(requests(1250, 250, expected=1), chunk_events=2000)
    assert all(isinstance(o, Exception) for o in stale)  # conflicts, nothing written
    (report,) = await verify(url, tenant=T)
    assert report.findings == []
