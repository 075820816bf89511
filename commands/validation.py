"""The edge: raw JSON (or a dict) in, a typed command out, or an error naming the field.

msgspec checks types, required and unknown fields; ``check`` adds the bounds of
``domain.limits`` on every value (nested ones included) and the checks msgspec
cannot express (time zones that exist), with the same ``field``/``reason`` shape.
Every entry point calls ``check(command, now=..., window=...)``: ``"live"`` for
tills and people acting now, ``"history"`` for imports, ``"sane"`` by default.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final, TypeVar

import msgspec

from commands.allowed import command_type_of, with_allowed
from commands.types import AnyCommand, Command, OpenStore
from domain import limits
from domain.errors import DomainError, InvalidValue
from domain.limits import Window
from domain.zones import known_zone

C = TypeVar("C", bound=Command)
_DECODER: Final = msgspec.json.Decoder(AnyCommand)
_NAMED_FIELD = re.compile(r"(?:missing required|unknown) field `([^`]+)`")
_PATH = re.compile(r"^(?P<reason>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)


class InvalidCommand(DomainError):
    """The command is malformed: wrong type, missing or unknown field, impossible value."""


class OutOfBounds(InvalidCommand):
    """A value is outside the limits every edge enforces (``domain.limits``, docs/limits.md)."""


def parse_command(raw: bytes | str | Mapping[str, Any]) -> AnyCommand:
    """Decode any command; the ``type`` field says which."""
    try:
        if isinstance(raw, bytes | str):
            command: AnyCommand = _DECODER.decode(raw)
        else:
            command = msgspec.convert(raw, AnyCommand)
    except msgspec.ValidationError as exc:
        raise with_allowed(_invalid(exc), command_type_of(raw)) from exc
    except msgspec.DecodeError as exc:
        raise InvalidCommand("$", f"not valid JSON: {exc}") from exc
    return check(command)


def parse_as(command_type: type[C], raw: bytes | str | Mapping[str, Any]) -> C:
    """Decode a command of a known type (the ``type`` field may be left out)."""
    try:
        if isinstance(raw, bytes | str):
            command = msgspec.json.decode(raw, type=command_type)
        else:
            command = msgspec.convert(raw, command_type)
    except msgspec.ValidationError as exc:
        raise with_allowed(_invalid(exc), command_type) from exc
    except msgspec.DecodeError as exc:
        raise InvalidCommand("$", f"not valid JSON: {exc}") from exc
    return check(command)


def check(command: C, *, now: datetime | None = None, window: Window = "sane") -> C:
    """Checks beyond types, shared by every entry point; raise ``InvalidCommand``.

    Every value, nested ones included (``lines[3].quantity``), is bounded by
    ``domain.limits``: decimals finite, in range, with few decimal places;
    texts bounded and without NUL; sequences of at most ``MAX_LINES_PER_TICKET``;
    times and dates within the sane window around ``now``. The command's business
    time (``occurred_at``, a ticket's ``sold_at``) must also fall in ``window``:
    ``"live"`` for tills and people acting now, ``"history"`` for imports.
    """
    now = now or datetime.now(UTC)
    try:
        for path, name, value in _leaves(command, ""):
            _check_value(path, name, value, now)
        for name in command.BUSINESS_TIME:
            value = getattr(command, name, None)
            if isinstance(value, datetime):
                limits.check_business_time(name, value, now, window)
    except InvalidValue as exc:
        raise OutOfBounds(exc.field, exc.reason) from exc
    if isinstance(command, OpenStore) and known_zone(command.timezone) is None:
        raise InvalidCommand("timezone", f"unknown time zone {command.timezone!r}")
    return command


def _leaves(value: msgspec.Struct, prefix: str) -> Iterator[tuple[str, str, object]]:
    """``(path, field name, value)`` of every scalar inside a command, nested ones included."""
    for name in value.__struct_fields__:
        path = f"{prefix}.{name}" if prefix else name
        yield from _walk(path, name, getattr(value, name))


def _walk(path: str, name: str, value: object) -> Iterator[tuple[str, str, object]]:
    if isinstance(value, msgspec.Struct):
        yield from _leaves(value, path)
    elif isinstance(value, tuple | list | frozenset | set):
        if len(value) > limits.MAX_LINES_PER_TICKET:
            raise InvalidValue(path, f"more than {limits.MAX_LINES_PER_TICKET} items")
        for index, item in enumerate(value):
            yield from _walk(f"{path}[{index}]", name, item)
    elif isinstance(value, dict):
        if len(value) > limits.MAX_LINES_PER_TICKET:
            raise InvalidValue(path, f"more than {limits.MAX_LINES_PER_TICKET} items")
        for key, item in value.items():
            yield from _walk(f"{path}.{key}", name, key)
            yield from _walk(f"{path}.{key}", name, item)
    else:
        yield path, name, value


def _check_value(path: str, name: str, value: object, now: datetime) -> None:
    """One scalar, by type; decimals by what the field's name says they measure."""
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, Decimal):
        _check_decimal(path, name, value)
    elif isinstance(value, int):
        limits.check_integer(
            path, value, upper=limits.MAX_DAYS if name.endswith("_days") else limits.MAX_INTEGER
        )
    elif isinstance(value, datetime):
        limits.check_sane_time(path, value, now)
    elif isinstance(value, date):
        limits.check_sane_date(path, value, now)
    elif isinstance(value, str):
        limits.check_text(path, value)


def _check_decimal(path: str, name: str, value: Decimal) -> None:
    if "celsius" in name:
        limits.check_number(
            path,
            value,
            lower=limits.MIN_CELSIUS,
            upper=limits.MAX_CELSIUS,
            places=limits.QUANTITY_PLACES,
        )
    elif "price" in name or "cost" in name:
        limits.check_amount(path, value, upper=limits.MAX_UNIT_PRICE, places=limits.MONEY_PLACES)
    elif name in ("discount", "amount", "total"):
        limits.check_amount(path, value, upper=limits.MAX_AMOUNT, places=limits.MONEY_PLACES)
    else:  # quantities, yields, stock levels: whether 0 is allowed is the domain's rule
        limits.check_amount(path, value, upper=limits.MAX_QUANTITY, places=limits.QUANTITY_PLACES)


def _invalid(exc: msgspec.ValidationError) -> InvalidCommand:
    match = _PATH.match(str(exc))
    assert match is not None  # the pattern matches any string
    path = (match.group("path") or "").lstrip(".")
    reason = match.group("reason")
    named = _NAMED_FIELD.search(reason)  # missing/unknown fields are named in the reason
    if named:
        path = f"{path}.{named.group(1)}" if path else named.group(1)
    return InvalidCommand(path or "$", reason)
