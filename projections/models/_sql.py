"""Set-based reads and writes shared by the read models.

A model loads the rows a batch touches with one ``SELECT`` per table (one
index lookup per key), folds the batch in Python, and writes each table back
with one ``INSERT … ON CONFLICT DO UPDATE`` (or plain ``INSERT``/``UPDATE``)
— a handful of statements per batch whatever its size. The rows travel as
binary arrays (``unnest``) in small batches and through ``COPY … (FORMAT
BINARY)`` into a session-local staging table in large ones (rebuilds), which
spares psycopg's per-element array adaptation. Every statement goes through
the ``tables`` mapping, so the same code writes live tables or a rebuild's
shadow copies.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Collection, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection, sql

Conn = AsyncConnection[tuple[Any, ...]]
Row = tuple[Any, ...]
#: From this many rows on, a statement reads its rows from a COPY-filled staging table
#: (psycopg adapts array parameters element by element in Python: ~3 µs each).
STAGE_MIN = 200


@dataclass(frozen=True)
class _Source:
    """Where a statement reads its rows: ``FROM {sql}`` with ``params``."""

    sql: sql.Composable
    params: list[Any]


@dataclass(frozen=True)
class TableSpec:
    """A read-model table: logical name, ``(column, SQL type)`` in order, and its key length.

    The first ``key`` columns are the primary key, in that order.
    """

    name: str
    columns: tuple[tuple[str, str], ...]
    key: int

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.columns)

    @property
    def key_names(self) -> tuple[str, ...]:
        return self.names[: self.key]

    def _types(self, columns: Sequence[str]) -> list[str]:
        kinds = dict(self.columns)
        return [kinds[c] for c in columns]

    @asynccontextmanager
    async def _rows(
        self, conn: Conn, columns: Sequence[str], rows: Collection[Row]
    ) -> AsyncIterator[_Source]:
        """``rows`` (each one value per column) as a FROM item: binary arrays or a staging table."""
        types = self._types(columns)
        if len(rows) < STAGE_MIN or conn.pgconn.pipeline_status:  # a pipeline refuses COPY
            arrays = [sql.SQL("%b::{}[]").format(sql.SQL(t)) for t in types]
            unnest = sql.SQL("unnest({})").format(sql.SQL(", ").join(arrays))
            yield _Source(unnest, _arrays(rows, len(columns)))
            return
        tag = zlib.crc32(",".join(columns).encode())
        stage = sql.Identifier(f"_stage_{self.name}_{tag:08x}")
        await conn.execute(
            sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} ({}) ON COMMIT DELETE ROWS").format(
                stage,
                sql.SQL(", ").join(
                    sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t))
                    for c, t in zip(columns, types, strict=True)
                ),
            )
        )
        async with conn.cursor().copy(
            sql.SQL("COPY {} FROM STDIN (FORMAT BINARY)").format(stage)
        ) as copy:
            copy.set_types(types)
            for row in rows:
                await copy.write_row(row)
        yield _Source(stage, [])
        # not in a ``finally``: after a failed statement the transaction is aborted, and
        # rolling it (or the savepoint) back empties the staging table anyway
        await conn.execute(sql.SQL("DELETE FROM {}").format(stage))

    async def fetch(
        self,
        conn: Conn,
        tables: Mapping[str, str],
        keys: Collection[Row],
        by: Sequence[str] | None = None,
    ) -> list[Row]:
        """All rows whose ``by`` columns (default: the key) equal one of ``keys``.

        One index lookup per key (``LATERAL … OFFSET 0`` keeps the planner from
        hashing the whole table, which grows with history, for every batch).
        """
        if not keys:
            return []
        by = self.key_names if by is None else tuple(by)
        async with self._rows(conn, by, keys) as source:
            query = sql.SQL(
                "SELECT {cols} FROM {keys} AS k({by}) CROSS JOIN LATERAL"
                " (SELECT * FROM {table} AS t WHERE {on} OFFSET 0) AS t"
            ).format(
                cols=sql.SQL(", ").join(sql.Identifier("t", c) for c in self.names),
                table=sql.Identifier(tables[self.name]),
                keys=source.sql,
                by=sql.SQL(", ").join(map(sql.Identifier, by)),
                on=_match(by),
            )
            cur = await conn.execute(query, source.params, binary=True)
            return await cur.fetchall()

    async def upsert(
        self,
        conn: Conn,
        tables: Mapping[str, str],
        rows: Iterable[Row],
        add: Collection[str] = (),
        *,
        keep: Collection[str] = (),
        returning: Sequence[str] = (),
    ) -> list[Row]:
        """Insert or replace whole rows, and return the ``returning`` columns of each.

        On conflict, ``add`` columns are added to the stored value and ``keep``
        columns keep it; every other column is replaced.
        """
        rows = list(rows)
        if not rows:
            return []
        table = sql.Identifier(tables[self.name])
        updates = [
            sql.SQL("{c} = {t}.{c} + EXCLUDED.{c}" if c in add else "{c} = EXCLUDED.{c}").format(
                c=sql.Identifier(c), t=table
            )
            for c in self.names[self.key :]
            if c not in keep
        ]
        conflict = (
            sql.SQL("DO UPDATE SET {}").format(sql.SQL(", ").join(updates))
            if updates
            else sql.SQL("DO NOTHING")
        )
        tail = (
            sql.SQL(" RETURNING {}").format(sql.SQL(", ").join(map(sql.Identifier, returning)))
            if returning
            else sql.SQL("")
        )
        async with self._rows(conn, self.names, rows) as source:
            query = sql.SQL(
                "INSERT INTO {table} ({cols}) SELECT * FROM {rows}"
                " ON CONFLICT ({key}) {conflict}{tail}"
            ).format(
                table=table,
                cols=sql.SQL(", ").join(map(sql.Identifier, self.names)),
                rows=source.sql,
                key=sql.SQL(", ").join(map(sql.Identifier, self.key_names)),
                conflict=conflict,
                tail=tail,
            )
            cur = await conn.execute(query, source.params, binary=bool(returning))
            return await cur.fetchall() if returning else []

    async def insert(self, conn: Conn, tables: Mapping[str, str], rows: Iterable[Row]) -> None:
        """Insert rows known to be new (cheaper than an upsert)."""
        rows = list(rows)
        if not rows:
            return
        async with self._rows(conn, self.names, rows) as source:
            query = sql.SQL("INSERT INTO {table} ({cols}) SELECT * FROM {rows}").format(
                table=sql.Identifier(tables[self.name]),
                cols=sql.SQL(", ").join(map(sql.Identifier, self.names)),
                rows=source.sql,
            )
            await conn.execute(query, source.params)

    async def update(
        self,
        conn: Conn,
        tables: Mapping[str, str],
        columns: Sequence[str],
        rows: Iterable[Row],
    ) -> None:
        """Set ``columns`` of existing rows; each row is the key followed by those columns."""
        rows = list(rows)
        if not rows:
            return
        names = (*self.key_names, *columns)
        async with self._rows(conn, names, rows) as source:
            query = sql.SQL(
                "UPDATE {table} AS t SET {sets} FROM {rows} AS k({names}) WHERE {on}"
            ).format(
                table=sql.Identifier(tables[self.name]),
                sets=sql.SQL(", ").join(
                    sql.SQL("{} = {}").format(sql.Identifier(c), sql.Identifier("k", c))
                    for c in columns
                ),
                rows=source.sql,
                names=sql.SQL(", ").join(map(sql.Identifier, names)),
                on=_match(self.key_names),
            )
            await conn.execute(query, source.params)

    async def delete(
        self,
        conn: Conn,
        tables: Mapping[str, str],
        keys: Collection[Row],
        by: Sequence[str] | None = None,
    ) -> None:
        """Delete the rows whose ``by`` columns (default: the key) equal one of ``keys``."""
        if not keys:
            return
        by = self.key_names if by is None else tuple(by)
        async with self._rows(conn, by, keys) as source:
            query = sql.SQL("DELETE FROM {table} AS t USING {keys} AS k({by}) WHERE {on}").format(
                table=sql.Identifier(tables[self.name]),
                keys=source.sql,
                by=sql.SQL(", ").join(map(sql.Identifier, by)),
                on=_match(by),
            )
            await conn.execute(query, source.params)


def _match(columns: Sequence[str]) -> sql.Composable:
    """``t.a = k.a AND t.b = k.b …``"""
    return sql.SQL(" AND ").join(
        sql.SQL("{} = {}").format(sql.Identifier("t", c), sql.Identifier("k", c)) for c in columns
    )


def _arrays(rows: Iterable[Row], width: int) -> list[list[Any]]:
    """Rows to one list per column: the ``unnest`` arguments."""
    columns: list[list[Any]] = [[] for _ in range(width)]
    for row in rows:
        for i in range(width):
            columns[i].append(row[i])
    return columns


def spec(name: str, key: int, *columns: str) -> TableSpec:
    """``spec("rm_x", 2, "tenant_id text", "id text", "qty numeric")``."""
    pairs = tuple((c.split(" ", 1)[0], c.split(" ", 1)[1]) for c in columns)
    return TableSpec(name, pairs, key)
