"""Alerts: what people do with one (``alert-<id>``) and how urgent one is (its priority score).

The alerts projection raises alerts; their stream only records human actions
(acknowledge, snooze until, resolve with a note), so an alert with no events
is simply open. The priority score (0-100) weighs four factors, each with a
value and a sentence: business impact 40 %, urgency 30 %, user agency 20 %,
confidence 10 %; age and a near deadline escalate it (``escalation``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Final

from domain.errors import IllegalTransition, InvalidValue
from domain.events import AlertAcknowledged, AlertResolved, AlertSnoozed, Event

ZERO_TIME: Final = timedelta(0)


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


@dataclass
class AlertState:
    status: AlertStatus = AlertStatus.OPEN
    snoozed_until: datetime | None = None
    version: int = 0

    def apply(self, event: Event) -> None:
        self.version += 1
        match event:
            case AlertAcknowledged():
                self.status = AlertStatus.ACKNOWLEDGED
            case AlertSnoozed():
                self.status, self.snoozed_until = AlertStatus.SNOOZED, event.until
            case AlertResolved():
                self.status = AlertStatus.RESOLVED


def fold(events: Iterable[Event]) -> AlertState:
    state = AlertState()
    for event in events:
        state.apply(event)
    return state


def _not_resolved(state: AlertState, action: str) -> None:
    if state.status is AlertStatus.RESOLVED:
        raise IllegalTransition("status", state.status.value, action)


def acknowledge(
    state: AlertState, *, alert_id: str, by: str, note: str | None, at: datetime
) -> list[Event]:
    _not_resolved(state, "acknowledge")
    if state.status is AlertStatus.ACKNOWLEDGED:
        return []  # acknowledging twice changes nothing
    return [AlertAcknowledged(occurred_at=at, alert_id=alert_id, by=by, note=note)]


def snooze(
    state: AlertState, *, alert_id: str, by: str, until: datetime, at: datetime
) -> list[Event]:
    _not_resolved(state, "snooze")
    if until <= at:
        raise InvalidValue("until", "must be in the future")
    return [AlertSnoozed(occurred_at=at, alert_id=alert_id, by=by, until=until)]


def resolve(state: AlertState, *, alert_id: str, by: str, note: str, at: datetime) -> list[Event]:
    _not_resolved(state, "resolve")
    if not note.strip():
        raise InvalidValue("note", "resolving an alert needs a note")
    return [AlertResolved(occurred_at=at, alert_id=alert_id, by=by, note=note)]


# --- priority score -------------------------------------------------------------------

#: Weight of each factor in the priority score (they sum to 1).
WEIGHTS: Final = {"impact": 0.4, "urgency": 0.3, "agency": 0.2, "confidence": 0.1}


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


@dataclass(frozen=True)
class Factor:
    """One factor of the score: a value 0-100 and the sentence that explains it."""

    value: int
    why: str

    def __post_init__(self) -> None:
        if not 0 <= self.value <= 100:
            raise InvalidValue("factor", f"{self.value} is outside 0-100")


@dataclass(frozen=True)
class Factors:
    impact: Factor  # business impact: what is at stake, in euros where known
    urgency: Factor  # how soon it bites
    agency: Factor  # how much a person can still do about it
    confidence: Factor  # how sure the data is

    @property
    def score(self) -> int:
        """The weighted sum, rounded half up: 0-100 before escalation."""
        total = sum(getattr(self, name).value * w for name, w in WEIGHTS.items())
        return int(Decimal(str(total)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def impact_of_euros(euros: Decimal, floor: int = 10) -> int:
    """Impact of money at stake: 15 at €0, +20 per tenfold (€10→36, €100→55, €1000→75)."""
    value = 15 + 20 * math.log10(1 + max(float(euros), 0.0))
    return max(floor, min(100, round(value)))


def severity_of(score: int) -> Severity:
    """urgent ≥ 80, high ≥ 60, medium ≥ 40, else low."""
    if score >= 80:
        return Severity.URGENT
    if score >= 60:
        return Severity.HIGH
    if score >= 40:
        return Severity.MEDIUM
    return Severity.LOW


@dataclass(frozen=True)
class Escalation:
    points: int
    why: str


def escalation(
    *,
    raised_at: datetime,
    acknowledged: bool,
    deadline: datetime | None,
    now: datetime,
) -> Escalation:
    """Points added to the score with age and near a deadline, and why.

    Unacknowledged alerts gain +10 at 48 h and +20 at 72 h; alerts with a
    deadline gain +15 within 24 h of it and +30 within 6 h (or past it).
    """
    points, reasons = 0, []
    age = now - raised_at
    if not acknowledged and age >= timedelta(hours=72):
        points, reasons = 20, ["unacknowledged for 72 h (+20)"]
    elif not acknowledged and age >= timedelta(hours=48):
        points, reasons = 10, ["unacknowledged for 48 h (+10)"]
    if deadline is not None:
        left = deadline - now
        if left <= timedelta(hours=6):
            points += 30
            reasons.append(
                "deadline within 6 h (+30)" if left > ZERO_TIME else "deadline passed (+30)"
            )
        elif left <= timedelta(hours=24):
            points += 15
            reasons.append("deadline within 24 h (+15)")
    return Escalation(points, "; ".join(reasons))


def final_score(base: int, bump: Escalation) -> int:
    return min(100, base + bump.points)
