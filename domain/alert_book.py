"""The alert book: turns the conditions of a subject into raised, merged and cleared alerts.

Pure bookkeeping over ``AlertRecord`` (one row of ``rm_alerts``), driven by
event time only:

- a condition with no alert, or whose alert cleared more than 24 h ago, raises
  a new alert (id ``al-<hash of the dedup key>-<n>``);
- a condition that comes back within 24 h of clearing merges into its alert:
  ``occurrences`` + 1, reopened if it had been resolved;
- a condition that holds again updates the alert's text and factors;
- an alert whose condition is gone is resolved by the system (``auto_resolved``);
- people acknowledge, snooze until a time (back to ``raised`` at the first
  tick after it) and resolve with a note; the score escalates with age and a
  near deadline (``domain.alerts.escalation``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Final

from domain.alert_rules import Condition
from domain.alerts import escalation, final_score, severity_of

MERGE_WINDOW: Final = timedelta(hours=24)
SYSTEM: Final = "system"


@lru_cache(maxsize=65536)
def alert_id(dedup_key: str, seq: int) -> str:
    digest = hashlib.sha256(dedup_key.encode()).hexdigest()[:16]
    return f"al-{digest}-{seq}"


@dataclass(slots=True)
class AlertRecord:
    """The columns of ``rm_alerts`` after ``tenant_id, alert_id``, in table order."""

    dedup_key: str
    subject: str
    type: str
    severity: str
    score: int
    base_score: int
    escalation: int
    escalation_why: str
    impact: int
    impact_why: str
    urgency: int
    urgency_why: str
    agency: int
    agency_why: str
    confidence: int
    confidence_why: str
    title: str
    description: str
    action: str
    consequence: str
    units: Decimal | None
    euros: Decimal | None
    deadline: datetime | None
    store_id: str | None
    item_id: str | None
    order_id: str | None
    lot_id: str | None
    supplier_id: str | None
    equipment_id: str | None
    po_id: str | None
    status: str  # raised, acknowledged, snoozed, resolved
    active: bool  # the condition holds now
    occurrences: int
    raised_at: datetime
    last_raised_at: datetime
    cleared_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    snoozed_until: datetime | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution: str | None = None
    auto_resolved: bool = False
    updated_at: datetime | None = None
    #: Dedup keys of the alerts that cause this one, space-separated (the API shows the chain).
    caused_by: str = ""

    @property
    def is_open(self) -> bool:
        return self.status != "resolved"


COLUMNS: Final = tuple(f.name for f in fields(AlertRecord))
_CONTENT: Final = tuple(c for c in COLUMNS if c != "updated_at")


def _content(record: AlertRecord) -> tuple[object, ...]:
    return tuple(getattr(record, c) for c in _CONTENT)


def _describe(record: AlertRecord, cond: Condition) -> None:
    f = cond.factors
    record.type, record.title, record.description = cond.type, cond.title, cond.description
    record.action, record.consequence = cond.action, cond.consequence
    record.units, record.euros, record.deadline = cond.units, cond.euros, cond.deadline
    record.impact, record.impact_why = f.impact.value, f.impact.why
    record.urgency, record.urgency_why = f.urgency.value, f.urgency.why
    record.agency, record.agency_why = f.agency.value, f.agency.why
    record.confidence, record.confidence_why = f.confidence.value, f.confidence.why
    record.base_score = f.score
    record.caused_by = " ".join(cond.caused_by)
    r = cond.related
    record.store_id, record.item_id, record.order_id = r.store_id, r.item_id, r.order_id
    record.lot_id, record.supplier_id = r.lot_id, r.supplier_id
    record.equipment_id, record.po_id = r.equipment_id, r.po_id


def rescore(record: AlertRecord, now: datetime) -> None:
    bump = escalation(
        raised_at=record.last_raised_at,
        acknowledged=record.acknowledged_at is not None,
        deadline=record.deadline,
        now=now,
    )
    record.escalation, record.escalation_why = bump.points, bump.why
    record.score = final_score(record.base_score, bump)
    record.severity = severity_of(record.score).value


def _new(subject: str, cond: Condition, now: datetime) -> AlertRecord:
    record = AlertRecord(
        dedup_key=cond.key,
        subject=subject,
        type=cond.type,
        severity="low",
        score=0,
        base_score=0,
        escalation=0,
        escalation_why="",
        impact=0,
        impact_why="",
        urgency=0,
        urgency_why="",
        agency=0,
        agency_why="",
        confidence=0,
        confidence_why="",
        title="",
        description="",
        action="",
        consequence="",
        units=None,
        euros=None,
        deadline=None,
        store_id=None,
        item_id=None,
        order_id=None,
        lot_id=None,
        supplier_id=None,
        equipment_id=None,
        po_id=None,
        status="raised",
        active=True,
        occurrences=1,
        raised_at=now,
        last_raised_at=now,
    )
    _describe(record, cond)
    return record


def reconcile(
    subject: str,
    pointers: MutableMapping[str, int],
    conditions: Iterable[Condition],
    alerts: MutableMapping[str, AlertRecord],
    now: datetime,
) -> set[str]:
    """Bring the alerts of one subject in line with its conditions; return the ids changed.

    ``pointers`` (dedup key -> latest sequence) belongs to the subject's facts;
    ``alerts`` holds (at least) the alerts those pointers name.
    """
    changed: set[str] = set()
    holding = {c.key: c for c in conditions}
    for key, cond in holding.items():
        seq = pointers.get(key, 0)
        record = alerts.get(alert_id(key, seq)) if seq else None
        before = _content(record) if record is not None else None
        if record is not None and not record.active:
            if record.cleared_at is not None and now - record.cleared_at <= MERGE_WINDOW:
                record.active, record.cleared_at = True, None
                record.occurrences += 1
                if record.status == "resolved":
                    _reopen(record, now)
            else:
                record = None
        if record is None:
            seq += 1
            pointers[key] = seq
            record = alerts[alert_id(key, seq)] = _new(subject, cond, now)
        else:
            _describe(record, cond)
        rescore(record, now)
        if _content(record) != before:  # ``updated_at`` moves only when the alert changed
            record.updated_at = now
            changed.add(alert_id(key, seq))
    for key, seq in pointers.items():
        record = alerts.get(alert_id(key, seq))
        if key in holding or record is None or not record.active:
            continue
        record.active, record.cleared_at, record.updated_at = False, now, now
        if record.is_open:
            record.status, record.resolved_at, record.resolved_by = "resolved", now, SYSTEM
            record.resolution, record.auto_resolved = "the condition cleared", True
        changed.add(alert_id(key, seq))
    return changed


def _reopen(record: AlertRecord, now: datetime) -> None:
    record.status, record.last_raised_at = "raised", now
    record.acknowledged_at = record.acknowledged_by = record.snoozed_until = None
    record.resolved_at = record.resolved_by = record.resolution = None
    record.auto_resolved = False


# --- what people do -------------------------------------------------------------------


def acknowledge(record: AlertRecord, by: str, at: datetime) -> None:
    if not record.is_open:
        return
    record.status, record.acknowledged_at, record.acknowledged_by = "acknowledged", at, by
    record.snoozed_until = None
    rescore(record, at)
    record.updated_at = at


def snooze(record: AlertRecord, until: datetime, at: datetime) -> None:
    if not record.is_open:
        return
    record.status, record.snoozed_until, record.updated_at = "snoozed", until, at


def resolve(record: AlertRecord, by: str, note: str, at: datetime) -> None:
    if not record.is_open:
        return
    record.status, record.resolved_at, record.resolved_by = "resolved", at, by
    record.resolution, record.auto_resolved, record.updated_at = note, False, at


def tick(record: AlertRecord, now: datetime) -> bool:
    """What the clock does to an open alert: wake it from a snooze, escalate it. Changed?"""
    before = _content(record)
    woken = record.snoozed_until is not None and now >= record.snoozed_until
    if record.status == "snoozed" and woken:
        record.status = "acknowledged" if record.acknowledged_at else "raised"
        record.snoozed_until = None
    rescore(record, now)
    if _content(record) == before:
        return False
    record.updated_at = now
    return True
