"""Alerts: what people do with an alert the alerts projection raised (``alert-<id>``),
the clock the time-dependent rules read, and each tenant's alert thresholds."""

from __future__ import annotations

from domain.events.base import DomainEvent, Id, Timestamp


class AlertAcknowledged(DomainEvent, frozen=True, kw_only=True):
    alert_id: Id
    by: Id
    note: str | None = None


class AlertSnoozed(DomainEvent, frozen=True, kw_only=True):
    alert_id: Id
    by: Id
    until: Timestamp


class AlertResolved(DomainEvent, frozen=True, kw_only=True):
    alert_id: Id
    by: Id
    note: str


class ClockTicked(DomainEvent, frozen=True, kw_only=True):
    """The scheduler says "it is now ``occurred_at``" (``clock-<yyyymmdd>``, hourly).

    Rules that depend on the clock (expiry, overdue, escalation) read time from
    these ticks, never from the machine, so a rebuild equals the live result.
    """


class AlertSettingsChanged(DomainEvent, frozen=True, kw_only=True):
    """A tenant's alert thresholds (``alert-settings``); every field has the default's value."""

    #: A lot raises "expiring" when it expires within this many days (today counts as day 1).
    expiry_warning_days: int = 1
    #: A purchase order raises "delivery due soon" this many hours before it is expected.
    delivery_due_soon_hours: int = 24
    #: Store-local hour at which a production day's orders are planned to start.
    production_start_hour: int = 5
    #: A suggested order still unconfirmed this many hours before its planned start raises.
    unconfirmed_plan_hours: int = 12
    changed_by: Id = "system"
