"""When a notification goes out: severity, quiet hours, the daily digest, retry delays.

- ``urgent``: at once, quiet hours or not;
- ``high``: at once, or when the tenant's quiet hours end;
- ``medium`` and ``low``: in the next daily digest (the tenant's ``digest_hour``,
  pushed to the end of the quiet hours if it falls inside them).

Times are aware datetimes; hours are the tenant's local hours (``QuietHours.timezone``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from domain.notify import QuietHours

Mode = Literal["now", "digest"]
IMMEDIATE = frozenset({"urgent", "high"})
#: Severities that ignore quiet hours.
BREAKS_QUIET = frozenset({"urgent"})


@dataclass(frozen=True, slots=True)
class Plan:
    mode: Mode
    due_at: datetime


def plan(severity: str, at: datetime, quiet: QuietHours) -> Plan:
    """How and when an alert of ``severity`` that needs notifying at ``at`` goes out."""
    if severity in IMMEDIATE:
        held = severity not in BREAKS_QUIET and is_quiet(quiet, at)
        return Plan("now", quiet_end(quiet, at) if held else at)
    return Plan("digest", next_digest(quiet, at))


def is_quiet(quiet: QuietHours, at: datetime) -> bool:
    start, end = quiet.start_hour, quiet.end_hour
    if start == end:
        return False
    hour = at.astimezone(ZoneInfo(quiet.timezone)).hour
    return start <= hour < end if start < end else hour >= start or hour < end


def quiet_end(quiet: QuietHours, at: datetime) -> datetime:
    """The first instant at or after ``at`` outside the quiet hours."""
    if not is_quiet(quiet, at):
        return at
    return next_local_hour(quiet.timezone, at, quiet.end_hour)


def next_digest(quiet: QuietHours, at: datetime) -> datetime:
    """The next digest time strictly after ``at`` (never inside the quiet hours)."""
    return quiet_end(quiet, next_local_hour(quiet.timezone, at, quiet.digest_hour))


def next_local_hour(timezone: str, at: datetime, hour: int) -> datetime:
    """The first local ``hour:00`` strictly after ``at``."""
    zone = ZoneInfo(timezone)
    local = at.astimezone(zone)
    day = local.date()
    for _ in range(3):
        candidate = datetime.combine(day, time(hour), zone)
        if candidate > at:
            return candidate
        day += timedelta(days=1)
    raise AssertionError("unreachable: a local hour recurs within three days")


def local_day(quiet: QuietHours, at: datetime) -> date:
    """The tenant's local day of ``at`` (one digest per channel and day)."""
    return at.astimezone(ZoneInfo(quiet.timezone)).date()


def backoff(attempt: int, base: float, cap: float, rand: Callable[[], float]) -> float:
    """Seconds before retry ``attempt + 1``: exponential, capped, with "equal jitter".

    ``base·2^(attempt-1)`` capped at ``cap``, then half of it fixed and half random,
    so retries spread out without ever coming back at once.
    """
    delay = min(cap, base * 2.0 ** max(0, attempt - 1))
    return delay / 2 + rand() * delay / 2
