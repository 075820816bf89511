"""What a POS adapter publishes: subjects, headers and the versioned ticket body.

A till publishes one JSON ticket per sale to ``pos.<tenant>.<store>.sales``
with its device token in the ``Obrador-Device-Token`` header. The tenant and
the store are taken from the subject (and checked against the token), never
from the body. ``docs/pos.md`` documents the schema with an example.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Final, Literal

import msgspec

from commands.types import RecordSale
from commands.validation import InvalidCommand, check
from domain.events.base import Id, Timestamp
from domain.events.sales import Channel, SaleLine, SaleSource
from domain.limits import MAX_JSON_DEPTH, MAX_LINES_PER_TICKET, MAX_MESSAGE_BYTES

SUBJECT_ROOT: Final = "pos"
SALES_TOKEN: Final = "sales"
DLQ_TOKEN: Final = "dlq"
#: FastStream subject pattern of the tickets (``pos.*.*.sales`` on the wire).
SALES_PATTERN: Final = f"{SUBJECT_ROOT}.{{tenant}}.{{store}}.{SALES_TOKEN}"

H_TOKEN: Final = "Obrador-Device-Token"
H_MSG_ID: Final = "Nats-Msg-Id"
#: Ticket schema versions this code reads.
SUPPORTED_VERSIONS: Final = frozenset({1})
CURRENT_VERSION: Final = 1


def sales_subject(tenant_id: str, store_id: str) -> str:
    return f"{SUBJECT_ROOT}.{tenant_id}.{store_id}.{SALES_TOKEN}"


def dlq_subject(tenant_id: str, store_id: str, rule: str = "*") -> str:
    """``pos.<tenant>.<store>.dlq.<rule>``: the rule in the subject makes every count exact."""
    return f"{SUBJECT_ROOT}.{tenant_id}.{store_id}.{DLQ_TOKEN}.{rule}"


def subject_token_ok(value: str) -> bool:
    """Tenant and store ids travel as subject tokens: no dots, wildcards or spaces."""
    return bool(value) and not any(c in value for c in ".*> \t\r\n")


class TicketLineV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One product on the ticket. Money and quantities as strings (``"1.20"``) or numbers."""

    sku: Id
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal = Decimal(0)
    promotion: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class TicketV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A sale as a till reports it (``schema_version`` 1)."""

    schema_version: Literal[1]
    pos_txn_id: Id
    sold_at: Timestamp
    lines: Annotated[tuple[TicketLineV1, ...], msgspec.Meta(max_length=MAX_LINES_PER_TICKET)]
    channel: Channel = Channel.COUNTER
    #: Optional; when present it must equal the store of the subject.
    store_id: Id | None = None


class MessageTooLarge(InvalidCommand):
    """The body is larger than ``MAX_MESSAGE_BYTES``: refused before it is read."""


class MessageTooDeep(InvalidCommand):
    """The JSON nests deeper than ``MAX_JSON_DEPTH``: refused before it is decoded."""


def check_size_and_depth(raw: bytes) -> None:
    """The cheap checks that run before any decoding."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise MessageTooLarge("$", f"{len(raw)} bytes; at most {MAX_MESSAGE_BYTES}")
    if json_depth(raw) > MAX_JSON_DEPTH:
        raise MessageTooDeep("$", f"JSON nested more than {MAX_JSON_DEPTH} levels deep")


#: Escaped pairs, quotes and brackets: all a depth count needs to look at.
_TOKEN: Final = re.compile(rb'\\.|["\[\]{}]', re.S)


def json_depth(raw: bytes, stop_above: int = MAX_JSON_DEPTH) -> int:
    """Deepest nesting of arrays and objects outside strings (one linear pass, no decoding).

    Stops counting once past ``stop_above``: the answer is then only "too deep".
    """
    depth = deepest = 0
    in_string = False
    for match in _TOKEN.finditer(raw):
        token = match.group()
        if token == b'"':
            in_string = not in_string
        elif in_string or len(token) == 2:
            continue
        elif token in (b"[", b"{"):
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > stop_above:
                    break
        else:
            depth -= 1
    return deepest


def ticket_to_command(
    raw: bytes, *, store_id: str, device_id: str, now: datetime | None = None
) -> RecordSale:
    """Decode and check a ticket body; raise ``InvalidCommand(field, reason)`` when it is wrong.

    ``sold_at`` must be within the live window around ``now`` (default: the clock).
    """
    check_size_and_depth(raw)
    try:
        ticket = _TICKET_DECODER.decode(raw)  # typed: exact decimals, errors name the field
    except msgspec.ValidationError as exc:
        raise _explained(raw, exc) from exc
    except msgspec.DecodeError as exc:
        raise InvalidCommand("$", f"not valid JSON: {exc}") from exc
    if ticket.store_id is not None and ticket.store_id != store_id:
        raise InvalidCommand(
            "store_id", f"{ticket.store_id!r} does not match the subject's store {store_id!r}"
        )
    command = RecordSale(
        store_id=store_id,
        pos_txn_id=ticket.pos_txn_id,
        sold_at=ticket.sold_at,
        channel=ticket.channel,
        lines=tuple(
            SaleLine(
                sku=line.sku,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount=line.discount,
                promotion=line.promotion,
            )
            for line in ticket.lines
        ),
        source=SaleSource.POS,
        device_id=device_id,
    )
    return check(command, now=now, window="live")


def _explained(raw: bytes, exc: msgspec.ValidationError) -> InvalidCommand:
    """The typed decoder's error, unless the envelope says something more useful."""
    try:
        body: Any = _DECODER.decode(raw)
    except msgspec.DecodeError:
        body = {}
    if not isinstance(body, dict):
        return InvalidCommand("$", "a ticket is a JSON object")
    version = body.get("schema_version")
    if "schema_version" in body and version not in SUPPORTED_VERSIONS:
        return InvalidCommand(
            "schema_version",
            f"unsupported version {version!r}; supported: {sorted(SUPPORTED_VERSIONS)}",
        )
    if "tenant_id" in body:
        return InvalidCommand("tenant_id", "the tenant comes from the subject, not the body")
    field, reason = field_of(exc)
    return InvalidCommand(field, reason)


def field_of(exc: msgspec.ValidationError) -> tuple[str, str]:
    """``("lines[0].quantity", "Expected ...")`` from msgspec's ``... - at `$.lines[0]...```."""
    text = str(exc)
    reason, sep, where = text.partition(" - at `$")
    path = where.rstrip("`").lstrip(".") if sep else ""
    for marker in ("missing required field `", "unknown field `"):
        if marker in reason:
            name = reason.split(marker, 1)[1].split("`", 1)[0]
            path = f"{path}.{name}" if path else name
    return path or "$", reason


def encode_ticket(ticket: TicketV1) -> bytes:
    return _ENCODER.encode(ticket)


_ENCODER: Final = msgspec.json.Encoder(decimal_format="string")


def _exact(text: str) -> Decimal:
    """Numbers of the untyped decoding (only used to explain an error), never ``inf``."""
    try:
        return Decimal(text)
    except InvalidOperation:  # an exponent beyond what a decimal holds (1e99999999999999999999)
        return Decimal("NaN")


_DECODER: Final = msgspec.json.Decoder(float_hook=_exact)
#: The ticket decoder reads JSON numbers into its Decimal fields from their text, exactly:
#: ``1E+999999`` stays a finite (refused) value instead of becoming ``inf``.
_TICKET_DECODER: Final = msgspec.json.Decoder(TicketV1)


def ticket_json_schema() -> dict[str, Any]:
    """JSON Schema of the current ticket version (embedded in docs and AsyncAPI)."""
    schema: dict[str, Any] = msgspec.json.schema(TicketV1)
    return schema
