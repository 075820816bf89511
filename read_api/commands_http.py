"""The HTTP face of the write side: one ``POST`` per command, generated from ``ROUTES``.

The body is the command's own fields (its JSON Schema is in the OpenAPI
document), decoded by msgspec and checked by ``commands.validation.check`` with
the ``"live"`` window; the tenant and the actor come from the credential, never
from the body. ``commands.handlers.handle`` decides and appends; the answer
names every stream written with its versions and global positions, so a client
can read its own write with ``?min_position=`` (read_api/consistency.py).

Refusals are problem documents: 422 with ``errors[].field`` paths
(``lines[0].quantity``), 403 for a role that may not, 404 for an id the tenant
does not have (another tenant's ids are simply absent: same answer), 409 for a
state conflict, with ``current_version`` on a version conflict.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated, Any, Final

import msgspec
from litestar import Litestar, Request, Response, post
from litestar.datastructures import State
from litestar.exceptions import ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter, JSONBody
from litestar.plugins.problem_details import ProblemDetailsException

from commands.handlers import handle
from commands.runtime import Appended, CommandResult, ConcurrencyConflict
from commands.types import (
    COMMAND_TYPES,
    AcknowledgeAlert,
    AddEmailRecipient,
    AddWebhookChannel,
    AdjustStock,
    ApprovePurchaseOrder,
    CancelManufacturingOrder,
    CancelPurchaseOrder,
    CloseStore,
    Command,
    CompleteManufacturingOrder,
    ConfirmManufacturingOrder,
    DeclareWorkshop,
    DefineIngredient,
    DefineProduct,
    DiscontinueProduct,
    DraftPurchaseOrder,
    EditManufacturingOrder,
    OpenStore,
    PublishForecast,
    ReceivePurchaseOrder,
    ReceiveStock,
    RecordBatch,
    RecordMaintenance,
    RecordQualityCheck,
    RecordSale,
    RecordTemperature,
    RecordWaste,
    RefundSale,
    RegisterEquipment,
    RegisterSupplier,
    RemoveNotificationChannel,
    RepriceProduct,
    ResolveAlert,
    ScheduleMaintenance,
    SendPurchaseOrder,
    SetProductBatching,
    SetProductStockPolicy,
    SetQuietHours,
    SnoozeAlert,
    StartManufacturingOrder,
    SuggestManufacturingOrder,
    SuggestWorkshopOrder,
    TransferStock,
    UpdateSupplierPrices,
    VersionRecipe,
    VoidSale,
)
from commands.validation import InvalidCommand, check
from domain.errors import DomainError, InvalidValue, NotFound, PermissionDenied
from read_api.errors import PROBLEM_MEDIA_TYPE, PROBLEM_TYPES
from read_api.idempotency import (
    KEY_PATTERN,
    MAX_KEY_LENGTH,
    StoredAnswer,
    find_answer,
    fingerprint,
    keep_first_answer,
)
from read_api.keys import Principal, actor_of
from read_api.schemas import Out, Problem
from streams.store import EventStore

INVALID_COMMAND: Final = "urn:obrador:problem:invalid-command"
REPLAYED: Final = "Idempotent-Replayed"


@dataclass(frozen=True)
class CommandRoute:
    command: type[Command]
    path: str  # under /v1
    tag: str
    summary: str


#: Every command of the write side but ``CreateTenant`` (a tenant is made by
#: ``obrador tenant create``: no credential of a tenant can exist before it) and
#: the people's commands ``RegisterUser`` / ``ChangeUserRole`` / ``DeactivateUser``,
#: routed with ``GET /v1/users`` in read_api/accounts.py (the logins must follow).
ROUTES: Final[tuple[CommandRoute, ...]] = (
    CommandRoute(RecordSale, "/sales", "sales", "Record a ticket (once per store + pos_txn_id)"),
    CommandRoute(VoidSale, "/sales/void", "sales", "Void a ticket"),
    CommandRoute(RefundSale, "/sales/refunds", "sales", "Refund lines of a ticket"),
    CommandRoute(ReceiveStock, "/stock/receipts", "stock", "Receive a lot into a store"),
    CommandRoute(RecordWaste, "/stock/waste", "stock", "Record waste with a reason"),
    CommandRoute(AdjustStock, "/stock/adjustments", "stock", "Adjust stock to a count"),
    CommandRoute(TransferStock, "/stock/transfers", "stock", "Transfer stock between stores"),
    CommandRoute(RegisterEquipment, "/equipment", "stock", "Register equipment"),
    CommandRoute(RecordTemperature, "/equipment/temperatures", "stock", "Log a temperature"),
    CommandRoute(
        ScheduleMaintenance, "/equipment/maintenance/schedule", "stock", "Schedule maintenance"
    ),
    CommandRoute(RecordMaintenance, "/equipment/maintenance", "stock", "Record maintenance done"),
    CommandRoute(
        SuggestManufacturingOrder, "/production-orders/suggest", "production", "Suggest an order"
    ),
    CommandRoute(
        ConfirmManufacturingOrder, "/production-orders/confirm", "production", "Confirm an order"
    ),
    CommandRoute(
        EditManufacturingOrder,
        "/production-orders/edit",
        "production",
        "Edit quantity or date (expected_version: 409 if it moved)",
    ),
    CommandRoute(
        StartManufacturingOrder, "/production-orders/start", "production", "Start an order"
    ),
    CommandRoute(
        CompleteManufacturingOrder,
        "/production-orders/complete",
        "production",
        "Complete an order (stock rises at the destination)",
    ),
    CommandRoute(
        CancelManufacturingOrder, "/production-orders/cancel", "production", "Cancel an order"
    ),
    CommandRoute(RecordBatch, "/production-orders/batches", "production", "Record a batch"),
    CommandRoute(
        RecordQualityCheck,
        "/production-orders/quality-checks",
        "production",
        "Record a quality check",
    ),
    CommandRoute(RegisterSupplier, "/suppliers", "procurement", "Register a supplier"),
    CommandRoute(UpdateSupplierPrices, "/suppliers/prices", "procurement", "Update prices"),
    CommandRoute(
        DraftPurchaseOrder, "/purchase-orders/draft", "procurement", "Draft a purchase order"
    ),
    CommandRoute(ApprovePurchaseOrder, "/purchase-orders/approve", "procurement", "Approve"),
    CommandRoute(SendPurchaseOrder, "/purchase-orders/send", "procurement", "Send to supplier"),
    CommandRoute(
        ReceivePurchaseOrder, "/purchase-orders/receive", "procurement", "Receive a delivery"
    ),
    CommandRoute(CancelPurchaseOrder, "/purchase-orders/cancel", "procurement", "Cancel"),
    CommandRoute(DefineProduct, "/products", "catalogue", "Define a product"),
    CommandRoute(RepriceProduct, "/products/price", "catalogue", "Change a product's price"),
    CommandRoute(
        SetProductStockPolicy, "/products/stock-policy", "catalogue", "Set reorder point etc."
    ),
    CommandRoute(
        SetProductBatching, "/products/batching", "catalogue", "Set batch size and minimum run"
    ),
    CommandRoute(DiscontinueProduct, "/products/discontinue", "catalogue", "Discontinue"),
    CommandRoute(DefineIngredient, "/ingredients", "catalogue", "Define an ingredient"),
    CommandRoute(VersionRecipe, "/recipes", "catalogue", "Publish a new recipe version"),
    CommandRoute(OpenStore, "/stores", "organisation", "Open a store"),
    CommandRoute(CloseStore, "/stores/close", "organisation", "Close a store"),
    CommandRoute(
        DeclareWorkshop, "/workshops", "organisation", "Declare which stores a workshop bakes for"
    ),
    CommandRoute(
        SuggestWorkshopOrder,
        "/workshop-orders/suggest",
        "production",
        "Suggest a workshop order with its transfer plan",
    ),
    CommandRoute(AcknowledgeAlert, "/alerts/acknowledge", "alerts", "Acknowledge an alert"),
    CommandRoute(SnoozeAlert, "/alerts/snooze", "alerts", "Snooze an alert"),
    CommandRoute(ResolveAlert, "/alerts/resolve", "alerts", "Resolve an alert"),
    CommandRoute(PublishForecast, "/forecasts/publish", "forecasting", "Publish a forecast"),
    CommandRoute(
        AddWebhookChannel, "/notifications/webhooks", "alerts", "Send alerts to a signed webhook"
    ),
    CommandRoute(AddEmailRecipient, "/notifications/emails", "alerts", "E-mail alerts"),
    CommandRoute(RemoveNotificationChannel, "/notifications/remove", "alerts", "Remove a channel"),
    CommandRoute(SetQuietHours, "/notifications/quiet-hours", "alerts", "Set quiet hours"),
)


class WrittenStream(Out, frozen=True, kw_only=True):
    """What the command wrote to one stream (or had written before: ``duplicate``)."""

    stream_id: str
    first_version: int
    last_version: int
    first_position: int  # global positions: pass the highest as ?min_position= to read it
    last_position: int
    event_types: list[str]
    duplicate: bool


class CommandAccepted(Out, frozen=True, kw_only=True):
    command: str
    #: True when the command had been applied before and nothing new was written.
    duplicate: bool
    #: The highest global position written (0 when the command changed nothing).
    position: int
    streams: list[WrittenStream]


IdempotencyKeyHeader = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        pattern=KEY_PATTERN,
        max_length=MAX_KEY_LENGTH,
        description=(
            "apply this request once, forever: a resend with the same key and body gets the"
            " first answer (header Idempotent-Replayed: true); the same key with another"
            " body is a 422"
        ),
    ),
]


def _problem(
    status: int,
    detail: str,
    *,
    type_: str | None = None,
    errors: list[dict[str, str]] | None = None,
    **extra: Any,
) -> ProblemDetailsException:
    if errors:
        extra["errors"] = errors
    return ProblemDetailsException(
        status_code=status,
        type_=type_ or PROBLEM_TYPES.get(status, "about:blank"),
        title=HTTPStatus(status).phrase,
        detail=detail,
        extra=extra or None,
    )


def _field_error(field: str, reason: str, source: str = "body") -> list[dict[str, str]]:
    return [{"field": field, "source": source, "reason": reason}]


_AT_VERSION = re.compile(r"is at version (\d+)")


def refusal(exc: DomainError) -> ProblemDetailsException:
    """The problem document of a command the write side refused (nothing was written)."""
    errors = _field_error(exc.field, exc.reason)
    if isinstance(exc, InvalidCommand | InvalidValue):
        return _problem(422, f"invalid command: {exc.field}", type_=INVALID_COMMAND, errors=errors)
    if isinstance(exc, PermissionDenied):
        return _problem(403, exc.reason)
    if isinstance(exc, NotFound):
        return _problem(404, f"{exc.field}: {exc.reason}", errors=errors)
    if isinstance(exc, ConcurrencyConflict):
        found = _AT_VERSION.search(exc.reason)
        detail = f"version conflict: {exc.reason}"
        if found is None:
            return _problem(409, detail, errors=errors)
        return _problem(409, detail, errors=errors, current_version=int(found.group(1)))
    return _problem(409, f"{exc.field}: {exc.reason}", errors=errors)


_NAMED = re.compile(r"(?:missing required|unknown) field `([^`]+)`")


def body_invalid(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """A body msgspec could not decode into the command: 422 naming the field path.

    Litestar gives the path of the value (``lines[1]``, ``data`` stripped) and
    msgspec's reason; a missing or unknown field is named in the reason.
    """
    errors: list[dict[str, str]] = []
    for found in exc.extra if isinstance(exc.extra, list) else []:
        source = found.get("source", "body")
        source = str(getattr(source, "value", source))
        reason = str(found.get("message", "invalid value"))
        field = str(found.get("key") or "")
        if field == "data":
            field = ""
        if source == "body" and (named := _NAMED.search(reason)):
            field = f"{field}.{named.group(1)}" if field else named.group(1)
        errors.append({"field": field or "$", "source": source, "reason": reason})
    if not errors:
        errors = _field_error("$", "the body could not be read as this command")
    status = 422 if all(e["source"] == "body" for e in errors) else 400
    names = ", ".join(e["field"] for e in errors)
    problem = _problem(
        status,
        f"invalid {'command' if status == 422 else 'parameter(s)'}: {names}",
        type_=INVALID_COMMAND if status == 422 else None,
        errors=errors,
    )
    return problem.to_response(request)


def _written(appended: Appended, positions: tuple[int, int]) -> WrittenStream:
    return WrittenStream(
        stream_id=appended.stream_id,
        first_version=appended.first_version,
        last_version=appended.last_version,
        first_position=positions[0],
        last_position=positions[1],
        event_types=list(appended.event_types),
        duplicate=appended.duplicate,
    )


async def _positions(store: EventStore, tenant_id: str, appended: Appended) -> tuple[int, int]:
    """Global positions of an append (looked up when the write side did not carry them)."""
    if appended.last_position or appended.last_version < appended.first_version:
        return appended.first_position, appended.last_position
    records = await store.read_stream(
        tenant_id,
        appended.stream_id,
        from_version=appended.first_version,
        limit=appended.last_version - appended.first_version + 1,
    )
    if not records:
        return 0, 0
    return records[0].position, records[-1].position


async def accepted(store: EventStore, tenant_id: str, result: CommandResult) -> CommandAccepted:
    streams = [_written(a, await _positions(store, tenant_id, a)) for a in result.appended]
    return CommandAccepted(
        command=result.command,
        duplicate=result.duplicate,
        position=max((s.last_position for s in streams), default=0),
        streams=streams,
    )


async def run_command(
    request: Request[Principal, Any, Any],
    state: State,
    command: Command,
    route: str,
    key: str | None,
) -> Response[bytes]:
    """Check, (replay or) apply, answer; the one path every command route takes."""
    principal = request.user
    store: EventStore = state.store
    try:
        command = check(command, window="live")
    except DomainError as exc:
        raise refusal(exc) from exc
    print_ = None
    if key is not None:
        if command.idempotency_key not in (None, key):
            raise _problem(
                422,
                "idempotency_key in the body differs from the Idempotency-Key header",
                type_=INVALID_COMMAND,
                errors=_field_error("idempotency_key", "must equal the Idempotency-Key header"),
            )
        print_ = fingerprint(route, msgspec.json.encode(command))
        earlier = await find_answer(store.pool, principal.tenant_id, key)
        if earlier is not None:
            return _replay(earlier, print_)
        command = msgspec.structs.replace(command, idempotency_key=key)
    try:
        result = await handle(
            command,
            store,
            tenant_id=principal.tenant_id,
            actor=actor_of(principal),
            cache=state.command_cache,
        )
    except DomainError as exc:
        raise refusal(exc) from exc
    body = msgspec.json.encode(await accepted(store, principal.tenant_id, result))
    if key is None or print_ is None:
        return _answer(200, body)
    kept = await keep_first_answer(
        store.pool, principal.tenant_id, key, StoredAnswer(print_, 200, body)
    )
    if kept.body is body:
        return _answer(200, body)
    return _replay(kept, print_)  # a concurrent resend stored its answer first


def _answer(status: int, body: bytes, *, replayed: bool = False) -> Response[bytes]:
    headers = {REPLAYED: "true"} if replayed else {}
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _replay(earlier: StoredAnswer, print_: bytes) -> Response[bytes]:
    if earlier.fingerprint != print_:
        raise _problem(
            422,
            "this Idempotency-Key was used for a different request",
            type_=INVALID_COMMAND,
            errors=_field_error(
                "Idempotency-Key", "already used for another request", source="header"
            ),
        )
    return _answer(earlier.status, earlier.body, replayed=True)


Endpoint = Callable[..., Coroutine[Any, Any, Response[bytes]]]


def _endpoint(spec: CommandRoute) -> HTTPRouteHandler:
    route = f"POST /v1{spec.path}"

    async def endpoint(
        request: Request[Principal, Any, Any],
        state: State,
        data: Any,
        idempotency_key: Any = None,
    ) -> Response[bytes]:
        return await run_command(request, state, data, route, idempotency_key)

    # Real objects (not strings): Litestar reads the body type and the header from here.
    endpoint.__annotations__ = {
        "request": Request[Principal, Any, Any],
        "state": State,
        "data": JSONBody[spec.command],  # type: ignore[misc,name-defined]
        "idempotency_key": IdempotencyKeyHeader,
        "return": Response[bytes],
    }
    name = spec.command.__name__
    endpoint.__name__ = endpoint.__qualname__ = f"command_{name}"
    return post(
        spec.path,
        operation_id=name[0].lower() + name[1:],
        summary=spec.summary,
        description=(spec.command.__doc__ or "").strip() or None,
        tags=[spec.tag],
        status_code=200,
        security=[{"apiKey": []}],
        exception_handlers={ValidationException: body_invalid},
        responses={
            200: ResponseSpec(
                data_container=CommandAccepted,
                description="applied (or applied before: duplicate)",
                generate_examples=False,
            ),
            409: problem_spec(409, "conflict with the current state; current_version if any"),
            422: problem_spec(422, "the body or a value is refused (errors name the fields)"),
        },
    )(endpoint)


def problem_spec(status: int, description: str) -> ResponseSpec:
    return ResponseSpec(
        data_container=Problem,
        media_type=PROBLEM_MEDIA_TYPE,
        description=f"{HTTPStatus(status).phrase}: {description}",
        generate_examples=False,
    )


def command_handlers() -> list[HTTPRouteHandler]:
    """Every command route, for the ``/v1`` router (behind its API-key middleware)."""
    return [_endpoint(spec) for spec in ROUTES]


def document_optional_tags(app: Litestar) -> None:
    """A command's ``type`` may be left out of its body: the route already names the command.

    msgspec decodes the body as that one command type, so the tag is optional on
    the wire; the OpenAPI document says so (a schema that required it would make a
    body the API accepts look invalid).
    """
    schemas = (app.openapi_schema.components.schemas or {}) if app.openapi_schema.components else {}
    for name in COMMAND_TYPES:  # the generic routes' and those of read_api/accounts.py
        schema = schemas.get(name)
        if schema is not None and schema.required and "type" in schema.required:
            schema.required = [name for name in schema.required if name != "type"] or None
