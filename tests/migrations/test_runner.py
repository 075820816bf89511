"""Migrations apply once, in order, and refuse an applied file that was edited."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest

from deploy.stack import StackUrls
from migrations.runner import MigrationError, discover, migrate


@pytest.fixture
def schema(stack: StackUrls) -> str:
    return f"m_{uuid.uuid4().hex[:10]}"


def write(directory: Path, name: str, text: str) -> None:
    (directory / name).write_text(text)


def test_applies_in_order_and_rerun_is_a_no_op(
    stack: StackUrls, schema: str, tmp_path: Path
) -> None:
    write(tmp_path, "0002_add.sql", "INSERT INTO things VALUES (2);")
    write(
        tmp_path, "0001_create.sql", "CREATE TABLE things (n int); INSERT INTO things VALUES (1);"
    )
    assert migrate(stack.database_url, schema=schema, directory=tmp_path) == [
        "0001_create.sql",
        "0002_add.sql",
    ]
    assert migrate(stack.database_url, schema=schema, directory=tmp_path) == []
    with psycopg.connect(stack.database_url) as conn:
        rows = conn.execute(f"SELECT n FROM {schema}.things ORDER BY n").fetchall()
        recorded = conn.execute(f"SELECT name, checksum FROM {schema}.schema_migrations").fetchall()
    assert rows == [(1,), (2,)]
    assert len(recorded) == 2 and all(len(checksum) == 64 for _, checksum in recorded)


def test_edited_applied_migration_is_refused_by_name(
    stack: StackUrls, schema: str, tmp_path: Path
) -> None:
    write(tmp_path, "0001_create.sql", "CREATE TABLE things (n int);")
    migrate(stack.database_url, schema=schema, directory=tmp_path)
    write(tmp_path, "0001_create.sql", "CREATE TABLE things (n bigint);")
    with pytest.raises(MigrationError, match=r"0001_create\.sql.*changed"):
        migrate(stack.database_url, schema=schema, directory=tmp_path)


def test_a_failing_migration_leaves_no_trace(stack: StackUrls, schema: str, tmp_path: Path) -> None:
    write(tmp_path, "0001_ok.sql", "CREATE TABLE ok (n int);")
    write(tmp_path, "0002_bad.sql", "CREATE TABLE half (n int); SELECT * FROM missing_table;")
    with pytest.raises(psycopg.errors.UndefinedTable):
        migrate(stack.database_url, schema=schema, directory=tmp_path)
    with psycopg.connect(stack.database_url) as conn:
        applied = conn.execute(f"SELECT name FROM {schema}.schema_migrations").fetchall()
        half = conn.execute("SELECT to_regclass(%s)", (f"{schema}.half",)).fetchone()
    assert applied == [("0001_ok.sql",)]
    assert half == (None,)


def test_duplicate_versions_and_unnumbered_files_are_refused(tmp_path: Path) -> None:
    write(tmp_path, "0001_a.sql", "")
    write(tmp_path, "0001_b.sql", "")
    with pytest.raises(MigrationError, match="version 1 also used"):
        discover(tmp_path)
    (tmp_path / "0001_b.sql").unlink()
    write(tmp_path, "initial.sql", "")
    with pytest.raises(MigrationError, match=r"initial\.sql"):
        discover(tmp_path)


def test_project_migrations_are_numbered_and_apply(stack: StackUrls, schema: str) -> None:
    names = [m.name for m in discover()]
    assert names and names[0].startswith("0001_")
    assert migrate(stack.database_url, schema=schema) == names
