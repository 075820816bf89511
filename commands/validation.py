"""The edge: raw JSON (or a dict) in, a typed command out, or an error naming the field.

msgspec checks types, required and unknown fields; the checks it cannot express
(time zones that exist, positive decimals) follow here or in the domain, with
the same ``field``/``reason`` shape.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from commands.allowed import command_type_of, with_allowed
from commands.types import AnyCommand, Command, OpenStore
from domain.errors import DomainError

C = TypeVar("C", bound=Command)
_DECODER: Final = msgspec.json.Decoder(AnyCommand)
_NAMED_FIELD = re.compile(r"(?:missing required|unknown) field `([^`]+)`")
_PATH = re.compile(r"^(?P<reason>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)


class InvalidCommand(DomainError):
    """The command is malformed: wrong type, missing or unknown field, impossible value."""


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


def check(command: C) -> C:
    """Checks beyond types, shared by every entry point."""
    for name in command.__struct_fields__:
        value = getattr(command, name)
        if isinstance(value, Decimal) and not value.is_finite():
            raise InvalidCommand(name, "must be a finite number")
    if isinstance(command, OpenStore):
        try:
            ZoneInfo(command.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidCommand("timezone", f"unknown time zone {command.timezone!r}") from exc
    return command


def _invalid(exc: msgspec.ValidationError) -> InvalidCommand:
    match = _PATH.match(str(exc))
    assert match is not None  # the pattern matches any string
    path = (match.group("path") or "").lstrip(".")
    reason = match.group("reason")
    named = _NAMED_FIELD.search(reason)  # missing/unknown fields are named in the reason
    if named:
        path = f"{path}.{named.group(1)}" if path else named.group(1)
    return InvalidCommand(path or "$", reason)
