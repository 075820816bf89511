"""What the read API accepts in a request (docs/limits.md, "HTTP API").

Identifiers in paths and queries follow the domain's own ``Id`` (the only ids a
read model can hold), so a NUL byte, a control character or an over-long value
is refused with a 400 naming the parameter before any SQL runs. Dates must fall
in a window (the dashboard computes "a week earlier" and would overflow at year
1); bodies, when a route reads one, are capped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any, Final, get_args
from urllib.parse import parse_qsl

import msgspec
from litestar import Litestar
from litestar.enums import ScopeType
from litestar.openapi.spec import Example, OpenAPIType, Schema
from litestar.params import PathParameter, QueryParameter
from litestar.types import ASGIApp, Receive, Scope, Send

from domain.events.base import Id
from domain.limits import HISTORY_FIRST_YEAR, MAX_TEXT
from read_api.errors import InvalidParameter

_ID_META: Final[msgspec.Meta] = get_args(Id)[1]
#: The domain's identifier rule: 1–128 characters of ``A-Z a-z 0-9 _ . : @ -``.
ID_PATTERN: Final[str] = str(_ID_META.pattern)
MAX_ID_LENGTH: Final[int] = int(_ID_META.max_length or 128)
ID_RULE: Final = f"1–{MAX_ID_LENGTH} characters of letters, digits and _ . : @ -"

#: Dates a client may ask about: history imports start in HISTORY_FIRST_YEAR.
FIRST_DATE: Final = date(HISTORY_FIRST_YEAR, 1, 1)
LAST_DATE: Final = date(2099, 12, 31)
DATE_RULE: Final = f"an ISO date from {FIRST_DATE} to {LAST_DATE}"
#: The same window as a pattern, so the OpenAPI document states it (tests check they agree).
DATE_PATTERN: Final = r"^(199[0-9]|20[0-9][0-9])-[0-9]{2}-[0-9]{2}$"

#: The largest request body any route reads (none reads one yet); larger is a 413.
MAX_BODY_BYTES: Final = 64 * 1024
#: Any string parameter of any route, whatever its own rule: at most MAX_TEXT characters,
#: no control character (C0, DEL, C1), at most MAX_QUERY_FIELDS query parameters.
MAX_QUERY_FIELDS: Final = 50
_CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f]")


def query_id(description: str, example: str) -> QueryParameter:
    """An optional identifier filter in the query string (``example``: a demo chain id)."""
    return QueryParameter(
        pattern=ID_PATTERN,
        min_length=1,
        max_length=MAX_ID_LENGTH,
        description=f"{description} ({ID_RULE})",
        examples=[Example(summary="the demo chain", value=example)],
    )


def path_id(description: str, example: str) -> PathParameter:
    """An identifier in the path (``example``: a demo chain id)."""
    return PathParameter(
        pattern=ID_PATTERN,
        min_length=1,
        max_length=MAX_ID_LENGTH,
        description=f"{description} ({ID_RULE})",
        examples=[Example(summary="the demo chain", value=example)],
    )


def query_date(description: str, *, name: str | None = None) -> QueryParameter:
    """An optional date in the query string, within the window."""
    return QueryParameter(
        name=name,
        description=f"{description} ({DATE_RULE})",
        schema_extra={"pattern": DATE_PATTERN},
    )


def check_dates(**dates: date | None) -> None:
    """Every given date within [FIRST_DATE, LAST_DATE], else a 400 naming the parameter."""
    for name, value in dates.items():
        if value is not None and not FIRST_DATE <= value <= LAST_DATE:
            raise InvalidParameter(name.removesuffix("_"), f"{value} is not {DATE_RULE}")


def _check_string(name: str, value: str, source: str) -> None:
    if found := _CONTROL.search(value):
        reason = f"contains the control character U+{ord(found.group()):04X}"
        raise InvalidParameter(_printable(name), reason, source=source)
    if len(value) > MAX_TEXT:
        raise InvalidParameter(
            _printable(name), f"longer than {MAX_TEXT} characters", source=source
        )


def _printable(name: str) -> str:
    return name if not _CONTROL.search(name) else name.encode("unicode_escape").decode()


def check_strings(scope: Scope) -> None:
    """Every path parameter and query parameter of the request, by the rules above."""
    path_params: dict[str, Any] = scope.get("path_params") or {}
    for name, value in path_params.items():
        if isinstance(value, str):
            _check_string(name, value, "path")
    query = bytes(scope.get("query_string", b"")).decode("latin-1")
    try:
        fields = parse_qsl(query, keep_blank_values=True, max_num_fields=MAX_QUERY_FIELDS)
    except ValueError as exc:
        raise InvalidParameter(
            "query", f"more than {MAX_QUERY_FIELDS} parameters", source="query"
        ) from exc
    for name, value in fields:
        _check_string(name, name, "query")
        _check_string(name, value, "query")


def refuse_hostile_strings(app: ASGIApp) -> ASGIApp:
    """App-wide middleware (after routing, before auth and handlers): ``check_strings``."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            check_strings(scope)
        await app(scope, receive, send)

    return middleware


#: ``check_strings`` as a JSON-schema pattern (what OpenAPI says of a string with no rule).
PRINTABLE_PATTERN: Final = "^[^\\x00-\\x1f\\x7f-\\x9f]*$"


def _is_string(schema: Schema) -> bool:
    kinds = schema.type if isinstance(schema.type, Sequence) else [schema.type]
    return OpenAPIType.STRING in kinds or any(
        isinstance(s, Schema) and _is_string(s) for s in schema.one_of or ()
    )


def document_string_rules(app: Litestar) -> None:
    """State ``check_strings`` in the OpenAPI document of every string parameter.

    A parameter with a rule of its own (``pattern``, ``enum``) keeps it; the others
    get ``PRINTABLE_PATTERN`` and ``maxLength`` ``MAX_TEXT``, so a client (and the
    fuzzer) knows a control character is refused. Builds the document once, here:
    Litestar serves that same object from then on.
    """
    for item in (app.openapi_schema.paths or {}).values():
        for operation in (item.get, item.head, item.post, item.put, item.patch, item.delete):
            for parameter in (operation.parameters if operation else None) or ():
                schema = getattr(parameter, "schema", None)
                if not isinstance(schema, Schema) or not _is_string(schema) or schema.enum:
                    continue
                schema.pattern = schema.pattern or PRINTABLE_PATTERN
                schema.max_length = schema.max_length or MAX_TEXT


StoreFilter = Annotated[str | None, query_id("only this store", "madrid-centro")]
SkuFilter = Annotated[str | None, query_id("only this product", "barra")]
