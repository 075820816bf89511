"""Can a projector apply this event at all? A pure check, the same for live and rebuild.

The edges (``domain.limits``) refuse absurd values today, but histories written
before they did still hold them: ``1E+999999`` units, a price of ``1E-999999``,
a ticket sold in year 9999. Such an event would overflow Python's date
arithmetic or PostgreSQL's numeric format, or silently make the sums
meaningless. This check looks at every value of a decoded event and names the
first one no bakery fact can have; the runtime then parks the event
(``projections.parking``) instead of applying it.

The bounds are deliberately wider than the edges' (a value the edges accept is
always appliable) and depend on the event alone, never on the batch it came in,
so the live projector and a rebuild park exactly the same events.

Walking every value with its path costs as much as decoding the event, a fifth
of a rebuild's time, so the walk is compiled once per event class from its
msgspec type (:func:`_compiled`): it visits only the fields that can break a
bound (numbers, dates, free text; not identifiers, whose pattern the decoder
enforced, nor enums) and builds no paths. Only when it finds something does the
slow walk run to name the field (``tests/projections/test_guard.py`` checks
that the fast one never misses what the slow one refuses).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

import msgspec
import msgspec.inspect as mi

from domain.limits import MAX_LINES_PER_TICKET, MAX_QUANTITY, MAX_UNIT_PRICE

#: Largest magnitude of any number in an event: 20x the biggest ticket total the
#: edges allow (lines x quantity x unit price = 5e13).
MAX_MAGNITUDE: Final = Decimal(10) ** 15
assert MAX_MAGNITUDE > MAX_LINES_PER_TICKET * MAX_QUANTITY * MAX_UNIT_PRICE
#: Most decimal places of any number (the edges allow 4; 20 leaves room for
#: values computed by the system itself, such as forecasts).
MAX_PLACES: Final = 20
#: Business dates and times must fall in these years (the edges allow from 1990 to
#: tomorrow); anything within keeps every time-zone shift far from year 1 and 9999.
FIRST_YEAR: Final = 1900
LAST_YEAR: Final = 2999
#: Integers (days, versions, counts) fit PostgreSQL's ``integer``.
MAX_INT: Final = 2**31 - 1


class UnappliableEvent(ValueError):
    """An event holds a value no read model can apply: ``field`` and ``reason`` say which."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def check_appliable(event: msgspec.Struct) -> None:
    """Raise :class:`UnappliableEvent` naming the first out-of-bounds value of ``event``."""
    if not _compiled(type(event))(event):
        _check(event, "")


Check = Callable[[Any], bool]


@functools.cache
def _compiled(cls: type) -> Check:
    """A fast yes/no check of a struct class: True means every value is within bounds."""
    check = _compile(mi.type_info(cls))
    return check if check is not None else _always


def _compile(info: mi.Type) -> Check | None:
    """The check of one type, or None when no value of that type can break a bound."""
    match info:
        case mi.StructType():
            fields = [(f.name, c) for f in info.fields if (c := _compile(f.type)) is not None]
            return _struct_check(fields) if fields else None
        case mi.VarTupleType() | mi.ListType() | mi.SetType() | mi.FrozenSetType():
            item = _compile(info.item_type)
            return None if item is None else _items_check(item)
        case mi.DecimalType():
            return _decimal_ok
        case mi.DateTimeType() | mi.DateType():
            return _year_ok
        case mi.StrType(pattern=str()) | mi.EnumType() | mi.LiteralType():
            return None  # identifiers and enums: the decoder allowed only safe characters
        case mi.BoolType() | mi.NoneType():
            return None
        case mi.UnionType():
            members = [c for t in info.types if (c := _compile(t)) is not None]
            if not members:
                return None
            return _optional_check(members[0]) if len(members) == 1 else _value_ok
        case mi.StrType():
            return _text_ok
    return _value_ok  # anything else (ints, floats, unions, dicts): checked by its value


def _struct_check(fields: list[tuple[str, Check]]) -> Check:
    def check(value: Any) -> bool:
        for name, field_check in fields:  # noqa: SIM110 — a loop: no generator per event
            if not field_check(getattr(value, name)):
                return False
        return True

    return check


def _optional_check(member: Check) -> Check:
    def check(value: Any) -> bool:
        return value is None or member(value)

    return check


def _items_check(item: Check) -> Check:
    def check(value: Any) -> bool:
        for element in value:  # noqa: SIM110 — a loop: no generator per event
            if not item(element):
                return False
        return True

    return check


#: ``adjusted()`` (the exponent of the leading digit) of the smallest magnitude refused.
_MAX_ADJUSTED: Final = MAX_MAGNITUDE.adjusted()


def _decimal_ok(value: Decimal) -> bool:
    """Finite, below 1e15, at most 20 places; may say no to a good value, never yes to a bad one.

    ``str`` rather than ``as_tuple`` (4x slower): in plain notation the places are
    the characters after the dot; exponent notation is left to the slow walk.
    """
    if not value.is_finite() or value.adjusted() >= _MAX_ADJUSTED:
        return False
    text = str(value)
    dot = text.find(".")
    return "E" not in text and (dot < 0 or len(text) - dot - 1 <= MAX_PLACES)


def _year_ok(value: date) -> bool:
    return FIRST_YEAR <= value.year <= LAST_YEAR


def _text_ok(value: str) -> bool:
    return "\x00" not in value


def _value_ok(value: object) -> bool:
    if isinstance(value, msgspec.Struct):
        return _compiled(type(value))(value)
    if isinstance(value, list | tuple | set | frozenset):
        return all(_value_ok(v) for v in value)
    if isinstance(value, dict):
        return all(_value_ok(v) for v in value.values())
    return _out_of_bounds(value) is None


def _always(value: Any) -> bool:
    return True


def _check(value: object, path: str) -> None:
    match value:
        case msgspec.Struct():
            for name in value.__struct_fields__:
                _check(getattr(value, name), f"{path}.{name}" if path else name)
        case tuple() | list() | set() | frozenset():
            for i, item in enumerate(value):
                _check(item, f"{path}[{i}]")
        case dict():
            for key, item in value.items():
                _check(item, f"{path}[{key!r}]")
        case _:
            reason = _out_of_bounds(value)
            if reason is not None:
                raise UnappliableEvent(path, reason)


def _out_of_bounds(value: object) -> str | None:
    """Why a single value cannot be applied, or None."""
    match value:
        case bool() | None:
            return None
        case Decimal():
            return _decimal(value)
        case float() if not math.isfinite(value) or abs(value) >= MAX_MAGNITUDE:
            return f"{value!r} is not a finite number below 1e15"
        case int() if abs(value) > MAX_INT:
            return f"{value} is beyond ±{MAX_INT}"
        case datetime() | date() if not FIRST_YEAR <= value.year <= LAST_YEAR:
            return f"year {value.year:04d} is outside {FIRST_YEAR}-{LAST_YEAR}"
        case str() if "\x00" in value:
            return "contains a NUL character"
    return None


def _decimal(value: Decimal) -> str | None:
    if not value.is_finite():
        return f"{value} is not a finite number"
    if value.copy_abs() >= MAX_MAGNITUDE:  # copy_abs: exact, no context rounding
        return f"{value} is not below 1e15 in magnitude"
    if _places(value) > MAX_PLACES:
        return f"{value} has more than {MAX_PLACES} decimal places"
    return None


def _places(value: Decimal) -> int:
    """Decimal places that matter (``1.500`` has 1), computed exactly, without a context."""
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    if not any(digits):
        return 0
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + trailing))
