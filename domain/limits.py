"""The bounds every entry point enforces, in one place (``docs/limits.md`` lists them).

Pure values and checks: the POS ingest, the HTTP commands and the importer call
these so a fact that passed one edge passes them all, and a recorded event is
always one the projectors can apply (no ``1E+999999``, no year 9999).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Final, Literal

from domain.errors import InvalidValue

#: Largest POS message body the ingest reads (the broker's own limit is 1 MiB by default);
#: a dead letter carries at most ``DLQ_BODY_BYTES`` of the body so it always fits.
MAX_MESSAGE_BYTES: Final = 256 * 1024
DLQ_BODY_BYTES: Final = 16 * 1024
#: Nesting depth of a JSON body (a ticket needs 3).
MAX_JSON_DEPTH: Final = 16
#: Lines on one ticket.
MAX_LINES_PER_TICKET: Final = 500
#: Units of one product on one line, and euros per unit (both exclusive upper bounds).
MAX_QUANTITY: Final = Decimal(1_000_000)
MAX_UNIT_PRICE: Final = Decimal(100_000)
#: An amount off a line (``discount``): at most a whole line's worth.
MAX_AMOUNT: Final = MAX_QUANTITY * MAX_UNIT_PRICE
#: Temperatures (freezers to ovens), in degrees Celsius, inclusive.
MIN_CELSIUS: Final = Decimal(-100)
MAX_CELSIUS: Final = Decimal(500)
#: Whole numbers: a count of days (shelf life, lead time, intervals) and anything else.
MAX_DAYS: Final = 3660
MAX_INTEGER: Final = 2**31 - 1
#: Decimal places kept for quantities (grams of a kilo) and money (cents of a cent).
QUANTITY_PLACES: Final = 3
MONEY_PLACES: Final = 4
#: Live inputs (POS, HTTP) must be within this window around now.
LIVE_PAST: Final = timedelta(days=30)
LIVE_FUTURE: Final = timedelta(days=1)
#: History imports accept business time from this year on, up to ``LIVE_FUTURE`` ahead.
HISTORY_FIRST_YEAR: Final = 1990
#: Any time or date in any command (a plan, an expiry, a due date): from the history's
#: first year to this far ahead.
PLANNING_HORIZON: Final = timedelta(days=3660)
#: Which window a command's business time (``occurred_at``, ``sold_at``) must fall in.
Window = Literal["live", "history", "sane"]
#: Free text (reasons, names, promotions) in characters.
MAX_TEXT: Final = 2000


def check_amount(
    field: str, value: Decimal, *, upper: Decimal, places: int, positive: bool = False
) -> Decimal:
    """Finite, within [0, upper) (or (0, upper) when ``positive``), at most ``places`` decimals."""
    if not value.is_finite():
        raise InvalidValue(field, "must be a finite number")
    if value < 0 or (positive and value == 0):
        raise InvalidValue(field, "must be greater than 0" if positive else "must be 0 or more")
    if value >= upper:
        raise InvalidValue(field, f"must be less than {upper}")
    return check_places(field, value, places)


def check_places(field: str, value: Decimal, places: int) -> Decimal:
    """At most ``places`` significant decimals (``1.500`` has 1); ``value`` is finite, bounded."""
    exponent = value.as_tuple().exponent
    if (
        isinstance(exponent, int)
        and -exponent > places
        and value != value.quantize(Decimal(1).scaleb(-places))
    ):
        raise InvalidValue(field, f"at most {places} decimal places")
    return value


def check_quantity(field: str, value: Decimal) -> Decimal:
    return check_amount(field, value, upper=MAX_QUANTITY, places=QUANTITY_PLACES, positive=True)


def check_money(field: str, value: Decimal) -> Decimal:
    return check_amount(field, value, upper=MAX_UNIT_PRICE, places=MONEY_PLACES)


def check_live_time(field: str, value: datetime, now: datetime) -> datetime:
    """Business time of a live input: not more than ``LIVE_PAST`` old or ``LIVE_FUTURE`` ahead."""
    if value < now - LIVE_PAST:
        raise InvalidValue(field, f"more than {LIVE_PAST.days} days in the past")
    if value > now + LIVE_FUTURE:
        raise InvalidValue(field, f"more than {LIVE_FUTURE.days} day in the future")
    return value


def check_history_time(field: str, value: datetime, now: datetime) -> datetime:
    """Business time of imported history: from ``HISTORY_FIRST_YEAR`` to ``LIVE_FUTURE`` ahead."""
    if value.year < HISTORY_FIRST_YEAR:
        raise InvalidValue(field, f"before {HISTORY_FIRST_YEAR}")
    if value > now + LIVE_FUTURE:
        raise InvalidValue(field, f"more than {LIVE_FUTURE.days} day in the future")
    return value


def check_text(field: str, value: str, *, limit: int = MAX_TEXT) -> str:
    if len(value) > limit:
        raise InvalidValue(field, f"longer than {limit} characters")
    if "\x00" in value:
        raise InvalidValue(field, "contains a NUL character")
    return value


def check_number(
    field: str, value: Decimal, *, lower: Decimal, upper: Decimal, places: int
) -> Decimal:
    """Finite, within [lower, upper] inclusive, at most ``places`` decimals (temperatures)."""
    if not value.is_finite():
        raise InvalidValue(field, "must be a finite number")
    if value < lower or value > upper:
        raise InvalidValue(field, f"must be between {lower} and {upper}")
    return check_places(field, value, places)


def check_integer(field: str, value: int, *, upper: int = MAX_INTEGER) -> int:
    if value < 0 or value > upper:
        raise InvalidValue(field, f"must be between 0 and {upper}")
    return value


def check_sane_time(field: str, value: datetime, now: datetime) -> datetime:
    """Any time in a command: from ``HISTORY_FIRST_YEAR`` to ``PLANNING_HORIZON`` ahead."""
    check_sane_date(field, value.date(), now)
    if value > now + PLANNING_HORIZON:
        raise InvalidValue(field, f"more than {PLANNING_HORIZON.days} days in the future")
    return value


def check_sane_date(field: str, value: date, now: datetime) -> date:
    if value.year < HISTORY_FIRST_YEAR:
        raise InvalidValue(field, f"before {HISTORY_FIRST_YEAR}")
    if value > (now + PLANNING_HORIZON).date():
        raise InvalidValue(field, f"more than {PLANNING_HORIZON.days} days in the future")
    return value


def check_business_time(field: str, value: datetime, now: datetime, window: Window) -> datetime:
    """When the fact happened, against the window of the entry point (``live`` for tills)."""
    if window == "live":
        return check_live_time(field, value, now)
    if window == "history":
        return check_history_time(field, value, now)
    return check_sane_time(field, value, now)
