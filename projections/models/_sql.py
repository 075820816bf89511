"""Set-based reads and writes shared by the read models.

A model loads the rows a batch touches with one ``SELECT … JOIN unnest(keys)``
per table, folds the batch in Python, and writes each table back with one
``INSERT … SELECT FROM unnest(arrays) ON CONFLICT DO UPDATE`` — a handful of
statements per batch whatever its size. Every statement goes through the
``tables`` mapping, so the same code writes live tables or a rebuild's shadow
copies.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection, sql

Conn = AsyncConnection[tuple[Any, ...]]
Row = tuple[Any, ...]


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

    def _unnest(self, columns: Sequence[str]) -> sql.Composed:
        arrays = [sql.SQL("%b::{}[]").format(sql.SQL(t)) for t in self._types(columns)]
        return sql.SQL("unnest({})").format(sql.SQL(", ").join(arrays))

    async def fetch(
        self,
        conn: Conn,
        tables: Mapping[str, str],
        keys: Collection[Row],
        by: Sequence[str] | None = None,
    ) -> list[Row]:
        """All rows whose ``by`` columns (default: the key) equal one of ``keys``."""
        if not keys:
            return []
        by = self.key_names if by is None else tuple(by)
        query = sql.SQL("SELECT {cols} FROM {table} AS t JOIN {keys} AS k({by}) ON {on}").format(
            cols=sql.SQL(", ").join(sql.Identifier("t", c) for c in self.names),
            table=sql.Identifier(tables[self.name]),
            keys=self._unnest(by),
            by=sql.SQL(", ").join(map(sql.Identifier, by)),
            on=sql.SQL(" AND ").join(
                sql.SQL("{} = {}").format(sql.Identifier("t", c), sql.Identifier("k", c))
                for c in by
            ),
        )
        cur = await conn.execute(query, _arrays(keys, len(by)), binary=True)
        return await cur.fetchall()

    async def upsert(
        self,
        conn: Conn,
        tables: Mapping[str, str],
        rows: Iterable[Row],
        add: Collection[str] = (),
    ) -> None:
        """Insert or replace whole rows; ``add`` columns are added to the stored value instead."""
        rows = list(rows)
        if not rows:
            return
        table = sql.Identifier(tables[self.name])
        updates = [
            sql.SQL("{c} = {t}.{c} + EXCLUDED.{c}" if c in add else "{c} = EXCLUDED.{c}").format(
                c=sql.Identifier(c), t=table
            )
            for c in self.names[self.key :]
        ]
        conflict = (
            sql.SQL("DO UPDATE SET {}").format(sql.SQL(", ").join(updates))
            if updates
            else sql.SQL("DO NOTHING")
        )
        query = sql.SQL(
            "INSERT INTO {table} ({cols}) SELECT * FROM {rows} ON CONFLICT ({key}) {conflict}"
        ).format(
            table=table,
            cols=sql.SQL(", ").join(map(sql.Identifier, self.names)),
            rows=self._unnest(self.names),
            key=sql.SQL(", ").join(map(sql.Identifier, self.key_names)),
            conflict=conflict,
        )
        await conn.execute(query, _arrays(rows, len(self.names)), binary=True)

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
        query = sql.SQL("DELETE FROM {table} AS t USING {keys} AS k({by}) WHERE {on}").format(
            table=sql.Identifier(tables[self.name]),
            keys=self._unnest(by),
            by=sql.SQL(", ").join(map(sql.Identifier, by)),
            on=sql.SQL(" AND ").join(
                sql.SQL("{} = {}").format(sql.Identifier("t", c), sql.Identifier("k", c))
                for c in by
            ),
        )
        await conn.execute(query, _arrays(keys, len(by)))


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
