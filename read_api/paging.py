"""Cursor pagination (keyset) for every list of the read API.

A list is ordered by a *key*: columns that together name one row (the last of
them is unique within the filters), each ascending or descending, nullable ones
sorted last. A page asks for ``limit + 1`` rows after the cursor; when the
extra row exists, the answer carries ``next_cursor`` (an opaque string: the
last row's key values and a fingerprint of the filters, base64url) and ``next``
(the same URL with ``cursor=`` set). Walking the pages sees every row that
existed before the walk and stayed, exactly once: a row added meanwhile shows
up once if it sorts after the cursor and not at all otherwise; nothing else
moves. A cursor from other filters or another list is refused (422,
``cursor``: it has the cursor's shape, the list cannot use it); a ``limit``
above the list's maximum is a 422 naming ``limit``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Final
from urllib.parse import urlencode

import msgspec
from litestar.params import QueryParameter

from read_api.errors import InvalidQuery

#: Longest cursor accepted (a key of a few ids and dates stays far below).
MAX_CURSOR: Final = 1000
MAX_LIMIT: Final = 5000

Cursor = Annotated[
    str | None,
    QueryParameter(
        min_length=1,
        max_length=MAX_CURSOR,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="the `next_cursor` of the previous page (opaque); none for the first page",
    ),
]
#: ``limit`` of the read-model lists: 1 … MAX_LIMIT (the OpenAPI ``maximum``; above it 422).
Limit = Annotated[
    int,
    QueryParameter(
        ge=1,
        description=f"most rows per page (1–{MAX_LIMIT}); `next_cursor` gives the next page",
        schema_extra={"maximum": MAX_LIMIT},
    ),
]


def check_limit(limit: int, most: int = MAX_LIMIT) -> None:
    """A ``limit`` above the list's maximum is a 422 naming it (1 and up is the schema's)."""
    if limit > most:
        raise InvalidQuery("limit", f"at most {most} rows per page (got {limit})")


KeyType = type[str] | type[int] | type[date] | type[datetime] | type[Decimal]


@dataclass(frozen=True)
class Key:
    """One column of a list's order: ``field`` of the row, ``column`` in SQL (ours)."""

    field: str
    type: KeyType
    column: str | None = None
    desc: bool = False
    nullable: bool = False

    @property
    def sql(self) -> str:
        return self.column or self.field

    def order(self) -> str:
        return self.sql + (" DESC" if self.desc else "") + (" NULLS LAST" if self.nullable else "")


class _Token(msgspec.Struct, array_like=True, frozen=True):
    filters: str  # fingerprint of the list and its filters
    key: list[Any]


@dataclass(frozen=True)
class Order:
    """A list's key: its ORDER BY, the predicate "after this cursor" and the cursors."""

    name: str  # the list, so that a cursor of one list is not taken by another
    keys: tuple[Key, ...]

    def order_by(self) -> str:
        return " ORDER BY " + ", ".join(k.order() for k in self.keys)

    def after(self, values: Sequence[Any] | None) -> tuple[str, list[Any]]:
        """`` AND (…)`` keeping only rows strictly after ``values`` (nothing for page one)."""
        if values is None:
            return "", []
        alternatives: list[str] = []
        params: list[Any] = []
        for i, key in enumerate(self.keys):
            value = values[i]
            if value is None:
                continue  # nulls sort last: nothing is strictly after a null in this column
            same: list[str] = []
            same_params: list[Any] = []
            for earlier, earlier_value in zip(self.keys[:i], values[:i], strict=True):
                if earlier_value is None:
                    same.append(f"{earlier.sql} IS NULL")
                else:
                    same.append(f"{earlier.sql} = %s")
                    same_params.append(earlier_value)
            beyond = f"{key.sql} {'<' if key.desc else '>'} %s"
            if key.nullable:
                beyond = f"({beyond} OR {key.sql} IS NULL)"
            alternatives.append("(" + " AND ".join([*same, beyond]) + ")")
            params += [*same_params, value]
        if not alternatives:
            return " AND FALSE", []
        return " AND (" + " OR ".join(alternatives) + ")", params

    def fingerprint(self, filters: Mapping[str, Any]) -> str:
        text = self.name + "\x00" + repr(sorted((k, repr(v)) for k, v in filters.items()))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def encode(self, row: Any, filters: Mapping[str, Any]) -> str:
        values = [getattr(row, k.field) for k in self.keys]
        raw = msgspec.json.encode(_Token(filters=self.fingerprint(filters), key=values))
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def decode(self, cursor: str | None, filters: Mapping[str, Any]) -> list[Any] | None:
        """The key values of ``cursor`` (None: first page); a 422 when it is not ours."""
        if cursor is None:
            return None
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            token = msgspec.json.decode(raw, type=_Token)
            if len(token.key) != len(self.keys):
                raise ValueError("wrong key length")
            values = [
                None if v is None else msgspec.convert(v, k.type, strict=False)
                for k, v in zip(self.keys, token.key, strict=True)
            ]
        except (ValueError, binascii.Error, msgspec.ValidationError, msgspec.DecodeError):
            raise InvalidQuery("cursor", "not a cursor this list gave out") from None
        if token.filters != self.fingerprint(filters):
            raise InvalidQuery(
                "cursor", "was given out for other filters (keep the filters of the first page)"
            )
        return values


@dataclass(frozen=True)
class Page:
    """What a list answer carries besides its rows."""

    has_more: bool
    next_cursor: str | None
    next: str | None

    def fields(self) -> dict[str, Any]:
        return {"has_more": self.has_more, "next_cursor": self.next_cursor, "next": self.next}


def page_of(
    rows: Sequence[Any],
    limit: int,
    order: Order,
    filters: Mapping[str, Any],
    *,
    path: str,
    query: Mapping[str, Any],
) -> tuple[list[Any], Page]:
    """The rows of the page (``rows`` holds up to ``limit + 1``) and its next link."""
    kept = list(rows[:limit])
    if len(rows) <= limit or not kept:
        return kept, Page(has_more=False, next_cursor=None, next=None)
    cursor = order.encode(kept[-1], filters)
    params = [(k, v) for k, v in _pairs(query) if k != "cursor"]
    params.append(("cursor", cursor))
    return kept, Page(has_more=True, next_cursor=cursor, next=f"{path}?{urlencode(params)}")


def _pairs(query: Mapping[str, Any]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    getall = getattr(query, "getall", None)
    for key in dict.fromkeys(query):
        values = getall(key) if getall is not None else [query[key]]
        pairs += [(key, str(v)) for v in values]
    return pairs
