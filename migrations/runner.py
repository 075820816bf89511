"""Apply the ordered SQL files of this folder, once each, recording a checksum.

Why our own runner and not a migration library: see docs/adr/0003-migration-runner.md.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

MIGRATIONS_DIR = Path(__file__).parent
_LOCK_KEY = 7301746011


class MigrationError(Exception):
    """A migration cannot be applied safely; the message names the file."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Every ``NNNN_name.sql`` file, in version order; duplicate versions are refused."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        head, _, _ = path.stem.partition("_")
        if not head.isdigit():
            raise MigrationError(f"{path.name}: name must start with a number, e.g. 0001_name.sql")
        version = int(head)
        if version in found:
            raise MigrationError(
                f"{path.name}: version {version} also used by {found[version].name}"
            )
        found[version] = Migration(version, path.name, path.read_text())
    return [found[v] for v in sorted(found)]


def migrate(
    conninfo: str, *, schema: str | None = None, directory: Path = MIGRATIONS_DIR
) -> list[str]:
    """Apply pending migrations in order; return the names applied (empty when up to date).

    Each file runs in its own transaction together with its bookkeeping row.
    A file already applied whose text changed is refused, naming it.
    """
    applied: list[str] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        if schema is not None:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {
                row[0]: (row[1], row[2])
                for row in conn.execute("SELECT version, name, checksum FROM schema_migrations")
            }
            for migration in discover(directory):
                if migration.version in done:
                    name, checksum = done[migration.version]
                    if checksum != migration.checksum:
                        raise MigrationError(
                            f"{migration.name}: already applied (as {name}) but the file has "
                            "changed since; write a new migration instead of editing this one"
                        )
                    continue
                with conn.transaction():
                    conn.execute(migration.sql.encode())
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name, checksum)"
                        " VALUES (%s, %s, %s)",
                        (migration.version, migration.name, migration.checksum),
                    )
                applied.append(migration.name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied
