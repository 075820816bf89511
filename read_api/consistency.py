"""Read-your-writes: ``GET …?min_position=P`` answers once the read models passed ``P``.

A command's answer carries the global position of what it wrote
(``position``); a read with ``min_position`` set to it waits, at most
``MAX_WAIT_SECONDS``, until every read model the route reads has its
checkpoint at or past ``P`` in the caller's partition (the projector moves a
partition's checkpoint in the same transaction as its rows, so the rows are
there). Otherwise 503 with ``Retry-After``. A position past the newest event of
the caller's tenant is a 422: it names nothing the tenant wrote (and says
nothing about other tenants).

A router guard does it, so every read route gets it without a line of its own;
``document_min_position`` states the parameter in the OpenAPI document.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Final

from litestar import Litestar
from litestar.connection import ASGIConnection
from litestar.enums import ParamType
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.spec import OpenAPIType, Parameter, Schema

from projections.models import ALL_MODELS
from read_api.errors import InvalidParameter, InvalidQuery, problem
from read_api.keys import Principal
from streams.jetstream import partition_of

PARAMETER: Final = "min_position"
MAX_WAIT_SECONDS: Final = 5.0
RETRY_AFTER_SECONDS: Final = 1
_ALL: Final = tuple(m.name for m in ALL_MODELS)
#: The read models behind each read route (by path prefix under /v1); others: all of them.
READ_MODELS_OF: Final[dict[str, tuple[str, ...]]] = {
    "/v1/inventory": ("inventory",),
    "/v1/sales": ("sales",),
    "/v1/forecasts": ("forecasts",),
    "/v1/production-orders": ("production_orders",),
    "/v1/purchase-orders": ("purchase_orders",),
    "/v1/workshop-orders": ("workshop_orders", "production_orders"),
    "/v1/history": (),  # the event log itself: nothing to wait for
    "/v1/schemas": (),  # the event types' schemas: no tenant data
    "/v1/stream": (),  # live: it waits for the read models itself
    "/v1/events/stream": (),
}
_POLL_FIRST: Final = 0.02
_POLL_MOST: Final = 0.25


def read_models_of(path: str) -> tuple[str, ...]:
    for prefix, models in READ_MODELS_OF.items():
        if path == prefix or path.startswith(prefix + "/"):
            return models
    return _ALL


def _min_position(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise InvalidParameter(PARAMETER, "not an integer") from None
    if value < 0:
        raise InvalidParameter(PARAMETER, "must be 0 or more")
    return value


async def _checkpoints_and_head(
    pool: Any, tenant_id: str, models: tuple[str, ...]
) -> tuple[int, int]:
    """(lowest checkpoint of ``models`` in the tenant's partition, newest tenant position)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT coalesce((SELECT min(coalesce(c.position, 0))"
            "   FROM unnest(%s::text[]) AS m(name) LEFT JOIN projection_checkpoints c"
            "   ON c.projection = m.name AND c.partition = %s), 0),"
            " coalesce((SELECT max(position) FROM events WHERE tenant_id = %s), 0)",
            (list(models), partition_of(tenant_id), tenant_id),
        )
        row = await cur.fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


async def wait_until_read_models_passed(
    pool: Any, tenant_id: str, position: int, models: tuple[str, ...], timeout: float
) -> bool:
    """True once every one of ``models`` has its checkpoint at or past ``position``."""
    deadline = time.monotonic() + timeout
    pause = _POLL_FIRST
    while True:
        passed, head = await _checkpoints_and_head(pool, tenant_id, models)
        if passed >= position:
            return True
        if position > head:
            raise InvalidQuery(PARAMETER, f"{position} is past the newest event of this tenant")
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        await asyncio.sleep(min(pause, left))
        pause = min(pause * 2, _POLL_MOST)


async def read_your_writes(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Guard of the /v1 router: waits for ``min_position`` on reads, does nothing otherwise."""
    if connection.scope.get("method") not in ("GET", "HEAD"):
        return
    raw = connection.query_params.get(PARAMETER)
    user = connection.scope.get("user")
    if raw is None or not isinstance(user, Principal):
        return
    position = _min_position(raw)
    if position == 0:
        return
    models = read_models_of(connection.scope["path"])
    if not models:
        return
    pool = connection.app.state.pool
    if not await wait_until_read_models_passed(
        pool, user.tenant_id, position, models, MAX_WAIT_SECONDS
    ):
        raise problem(
            503,
            f"the read models have not reached position {position} yet; retry shortly",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )


def document_min_position(app: Litestar) -> None:
    """State ``min_position`` on every GET under /v1 of the (already built) OpenAPI document."""
    for path, item in (app.openapi_schema.paths or {}).items():
        if not path.startswith("/v1/") or item.get is None or not read_models_of(path):
            continue
        parameters = list(item.get.parameters or [])
        parameters.append(
            Parameter(
                name=PARAMETER,
                param_in=ParamType.QUERY,
                required=False,
                description=(
                    "read your writes: wait (at most"
                    f" {MAX_WAIT_SECONDS:g} s) until the read models passed this global position"
                    " (a command's `position`); 503 with Retry-After if they did not"
                ),
                schema=Schema(type=OpenAPIType.INTEGER, minimum=0),
            )
        )
        item.get.parameters = parameters
