"""What people do with an alert (``alert-<id>``): acknowledge, snooze until, resolve with a note.

The alerts projection raises alerts; this stream only records human actions,
so an alert with no events is simply open.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.errors import IllegalTransition, InvalidValue
from domain.events import AlertAcknowledged, AlertResolved, AlertSnoozed, Event


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
