"""What the read API accepts in a request (docs/limits.md, "HTTP API").

Identifiers in paths and queries follow the domain's own ``Id`` (the only ids a
read model can hold), so a NUL byte, a control character or an over-long value
is refused with a 400 naming the parameter before any SQL runs. Dates must fall
in a window (the dashboard computes "a week earlier" and would overflow at year
1); bodies, when a route reads one, are capped.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Final, get_args

import msgspec
from litestar.openapi.spec import Example
from litestar.params import PathParameter, QueryParameter

from domain.events.base import Id
from domain.limits import HISTORY_FIRST_YEAR
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


StoreFilter = Annotated[str | None, query_id("only this store", "madrid-centro")]
SkuFilter = Annotated[str | None, query_id("only this product", "barra")]
