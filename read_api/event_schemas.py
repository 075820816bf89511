"""``GET /v1/schemas/events[/{type}]``: the JSON Schema of every event type's payload.

The schemas are made from the event types themselves (``msgspec.json.schema``,
``domain.schema``): the payload of each event a history export carries with the
current ``schema_version`` validates against the schema of its ``event_type``
(``x-schema-version`` says which version that is). An event stored by an older
version is kept as it was written and upcast when read (``domain.upcasters``);
only the current version's schema is served. The same documents come out of
``obrador schema events`` offline. Not tenant data: any valid credential may
read them.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Final

from litestar import get
from litestar.params import PathParameter

from domain.schema import event_json_schemas
from read_api.errors import NotFound
from read_api.schemas import Out

SCHEMA_JSON: Final = "application/schema+json"
PATH: Final = "/v1/schemas/events"


class EventSchemaRef(Out, frozen=True, kw_only=True):
    event_type: str
    schema_version: int  # the version new events are written with
    url: str  # this API's path of the schema document


class EventSchemaList(Out, frozen=True, kw_only=True):
    dialect: str  # the JSON Schema dialect of every document
    items: list[EventSchemaRef]


@cache
def _schemas() -> dict[str, dict[str, Any]]:
    return event_json_schemas()


def schema_url(event_type: str) -> str:
    return f"{PATH}/{event_type}"


@get(
    "/schemas/events",
    operation_id="listEventSchemas",
    summary="Every event type with the URL of its payload's JSON Schema",
    tags=["history"],
    security=[{"apiKey": []}],
)
async def list_event_schemas() -> EventSchemaList:
    schemas = _schemas()
    return EventSchemaList(
        dialect=next(iter(schemas.values()))["$schema"],
        items=[
            EventSchemaRef(
                event_type=name,
                schema_version=int(body["x-schema-version"]),
                url=schema_url(name),
            )
            for name, body in schemas.items()
        ],
    )


@get(
    "/schemas/events/{event_type:str}",
    operation_id="getEventSchema",
    summary="The JSON Schema (draft 2020-12) of one event type's payload",
    tags=["history"],
    media_type=SCHEMA_JSON,
    security=[{"apiKey": []}],
)
async def get_event_schema(
    event_type: Annotated[
        str,
        PathParameter(
            pattern=r"^[A-Za-z][A-Za-z0-9]{0,99}$",
            max_length=100,
            description="an event type, e.g. SaleRecorded",
        ),
    ],
) -> dict[str, Any]:
    found = _schemas().get(event_type)
    if found is None:
        raise NotFound(f"no event type {event_type!r} (GET {PATH} lists them)")
    return found
