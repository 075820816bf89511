"""Name the allowed values when a command carries an unknown enum value (a role, a reason)."""

from __future__ import annotations

import re
import types
from collections.abc import Mapping
from enum import Enum
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints

import msgspec

from commands.types import COMMAND_TYPES
from domain.errors import DomainError

_ENUM_VALUE = re.compile(r"^Invalid enum value ")


def command_type_of(raw: bytes | str | Mapping[str, Any]) -> type | None:
    """The command class a raw command names in its ``type`` field, if any."""
    try:
        data = msgspec.json.decode(raw) if isinstance(raw, bytes | str) else raw
    except msgspec.DecodeError:
        return None
    tag = data.get("type") if isinstance(data, Mapping) else None
    return COMMAND_TYPES.get(tag) if isinstance(tag, str) else None


def with_allowed(error: DomainError, command_type: type | None) -> DomainError:
    """``error`` with "(allowed: a, b, c)" added when it is about an enum field's value."""
    if command_type is None or not _ENUM_VALUE.match(error.reason):
        return error
    enum = _field_type(command_type, error.field)
    if not (isinstance(enum, type) and issubclass(enum, Enum)):
        return error
    allowed = ", ".join(str(member.value) for member in enum)
    return type(error)(error.field, f"{error.reason} (allowed: {allowed})")


def _field_type(owner: Any, path: str) -> Any:
    """Follow ``lines[0].reason`` through the struct fields to the type at its end."""
    hint = owner
    for name in re.findall(r"[A-Za-z_]\w*", path):
        if not (isinstance(hint, type) and issubclass(hint, msgspec.Struct)):
            return None
        hint = _unwrap(get_type_hints(hint, include_extras=True).get(name))
    return hint


def _unwrap(hint: Any) -> Any:
    """Optional[X], tuple[X, ...] and Annotated[X, ...] down to X."""
    while True:
        origin = get_origin(hint)
        if origin is Annotated or origin is tuple or origin is list:
            hint = get_args(hint)[0]
        elif origin is Union or origin is types.UnionType:
            hint = next(a for a in get_args(hint) if a is not type(None))
        else:
            return hint
