"""``obrador backup`` / ``obrador restore``: PostgreSQL's own pg_dump and pg_restore.

The dump is pg_dump's custom format, taken in one consistent snapshot while
appends go on (every append is wholly in it or wholly out). The tools come
from the embedded server's binaries (the ``pgserver`` wheel); with an external
server, the ``pg_dump`` / ``pg_restore`` on the PATH are preferred (they must
not be older than the server). docs/backup.md.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from deploy.embedded.postgres import POSTGRES_BIN_PATH


class BackupError(RuntimeError):
    """A backup or restore could not be done; the message says why."""


def tool(name: str, database_url: str, *, external: bool) -> str:
    """``pg_dump`` / ``pg_restore`` able to talk to this server (major version not older).

    With an external server the tools on the PATH come first, then the embedded
    ones; with the embedded server, its own binaries.
    """
    embedded = POSTGRES_BIN_PATH / name
    candidates = [shutil.which(name), str(embedded) if embedded.exists() else None]
    if not external:
        candidates.reverse()
    server = _server_major(database_url)
    found = [c for c in candidates if c is not None]
    for candidate in found:
        if _tool_major(candidate) >= server:
            return candidate
    if not found:
        raise BackupError(
            f"{name} not found: install the pgserver wheel or PostgreSQL's client tools"
        )
    raise BackupError(
        f"no {name} for PostgreSQL {server}: "
        + ", ".join(f"{c} is {_tool_major(c)}" for c in found)
    )


def _server_major(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.info.server_version // 10000


def _tool_major(path: str) -> int:
    done = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"(\d+)(?:\.\d+)?", done.stdout)
    return int(match.group(1)) if match else 0


def _schema_of(database_url: str) -> str | None:
    """The schema a conninfo pins with ``options=-c search_path=X`` (tests, scratch stores)."""
    options = str(conninfo_to_dict(database_url).get("options") or "")
    for part in options.replace("-c ", "-c").split():
        if part.startswith("-csearch_path="):
            return part.split("=", 1)[1].split(",")[0].strip()
    return None


def _libpq_url(database_url: str) -> str:
    """The conninfo for the command-line tools, without the search_path option."""
    params = conninfo_to_dict(database_url)
    params.pop("options", None)
    return make_conninfo("", **params)


def backup(database_url: str, file: Path, *, external: bool = False) -> int:
    """Dump the database (or the schema the URL pins) to ``file``; return its size in bytes."""
    schema = _schema_of(database_url)
    args = [
        tool("pg_dump", database_url, external=external),
        "--format=custom",
        "--no-owner",
        "--file",
        str(file),
    ]
    if schema is not None:
        args += ["--schema", schema]
    _run([*args, "--dbname", _libpq_url(database_url)], "pg_dump")
    return file.stat().st_size


def restore(database_url: str, file: Path, *, external: bool = False, replace: bool = False) -> int:
    """Restore ``file`` into the database; return the number of events restored.

    Refuses a target that already holds events unless ``replace``. Rows keep
    their writers' transaction ids, which mean nothing on another server: they
    are reset to 0 (finished long ago) so readers of the global log see them at once.
    """
    if not file.is_file():
        raise BackupError(f"{file}: no such backup file")
    schema = _schema_of(database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        held = _events_held(conn)
        if held and not replace:
            raise BackupError(
                f"the target already holds {held} events; restore into an empty store "
                "(a fresh OBRADOR_DATA_DIR or database), or pass --replace"
            )
    args = [
        tool("pg_restore", database_url, external=external),
        "--clean",
        "--if-exists",
        "--no-owner",
    ]
    args += ["--exit-on-error", "--single-transaction"]
    if schema is not None:
        args += ["--schema", schema]
    _run([*args, "--dbname", _libpq_url(database_url), str(file)], "pg_restore")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE events SET tx_id = '0'::xid8 WHERE tx_id <> '0'::xid8")
        conn.execute(sql.SQL("ANALYZE events"))
        return _events_held(conn)


def _events_held(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    try:
        row = conn.execute("SELECT count(*) FROM events").fetchone()
    except psycopg.errors.UndefinedTable:
        return 0
    return int(str(row[0])) if row else 0


def _run(args: list[str], name: str) -> None:
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise BackupError(f"{name} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
