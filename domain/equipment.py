"""Equipment (``equipment-<id>``): maintenance due dates and HACCP temperature readings.

A reading outside the limits is recorded all the same, flagged
``within_limits=False``: the alert projection turns it into an alert.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from domain.errors import AlreadyExists, InvalidValue, NotFound
from domain.events import (
    EquipmentMaintenancePerformed,
    EquipmentMaintenanceScheduled,
    EquipmentRegistered,
    Event,
    TemperatureRecorded,
)

#: Default HACCP limits (°C) by kind of cold equipment, for equipment registered without any.
HACCP_LIMITS: dict[str, tuple[Decimal, Decimal]] = {
    "fridge": (Decimal(0), Decimal(5)),
    "display_fridge": (Decimal(0), Decimal(8)),
    "freezer": (Decimal(-25), Decimal(-18)),
    "blast_chiller": (Decimal(-40), Decimal(3)),
}


@dataclass
class EquipmentState:
    equipment: EquipmentRegistered | None = None
    maintenance_due_on: date | None = None
    version: int = 0

    def limits(self) -> tuple[Decimal, Decimal] | None:
        eq = self.equipment
        if eq is None:
            return None
        if eq.min_celsius is not None and eq.max_celsius is not None:
            return eq.min_celsius, eq.max_celsius
        return HACCP_LIMITS.get(eq.kind)

    def apply(self, event: Event) -> None:
        self.version += 1
        match event:
            case EquipmentRegistered():
                self.equipment = event
            case EquipmentMaintenanceScheduled():
                self.maintenance_due_on = event.due_on
            case EquipmentMaintenancePerformed():
                self.maintenance_due_on = event.next_due_on


def fold(events: Iterable[Event]) -> EquipmentState:
    state = EquipmentState()
    for event in events:
        state.apply(event)
    return state


def within_limits(celsius: Decimal, limits: tuple[Decimal, Decimal]) -> bool:
    low, high = limits
    return low <= celsius <= high


def register(state: EquipmentState, event: EquipmentRegistered) -> list[Event]:
    if state.equipment is not None:
        raise AlreadyExists("equipment_id", f"equipment {event.equipment_id!r} exists")
    if event.maintenance_interval_days <= 0:
        raise InvalidValue("maintenance_interval_days", "must be greater than 0")
    low, high = event.min_celsius, event.max_celsius
    if (low is None) != (high is None) or (low is not None and high is not None and low > high):
        raise InvalidValue("min_celsius", "give both limits, the minimum not above the maximum")
    return [event]


def record_temperature(state: EquipmentState, *, celsius: Decimal, at: datetime) -> list[Event]:
    limits = state.limits()
    if state.equipment is None:
        raise NotFound("equipment_id", "no such equipment")
    if limits is None:
        raise InvalidValue("equipment_id", f"{state.equipment.kind!r} has no HACCP limits")
    if not celsius.is_finite() or not Decimal(-80) <= celsius <= Decimal(300):
        raise InvalidValue("celsius", f"{celsius} is not a plausible reading")
    return [
        TemperatureRecorded(
            occurred_at=at,
            store_id=state.equipment.store_id,
            equipment_id=state.equipment.equipment_id,
            celsius=celsius,
            min_celsius=limits[0],
            max_celsius=limits[1],
            within_limits=within_limits(celsius, limits),
        )
    ]


def schedule_maintenance(
    state: EquipmentState, *, due_on: date, description: str, at: datetime
) -> list[Event]:
    if state.equipment is None:
        raise NotFound("equipment_id", "no such equipment")
    return [
        EquipmentMaintenanceScheduled(
            occurred_at=at,
            equipment_id=state.equipment.equipment_id,
            due_on=due_on,
            description=description,
        )
    ]


def perform_maintenance(
    state: EquipmentState, *, performed_on: date, note: str | None, at: datetime
) -> list[Event]:
    if state.equipment is None:
        raise NotFound("equipment_id", "no such equipment")
    interval = timedelta(days=state.equipment.maintenance_interval_days)
    return [
        EquipmentMaintenancePerformed(
            occurred_at=at,
            equipment_id=state.equipment.equipment_id,
            performed_on=performed_on,
            next_due_on=performed_on + interval,
            note=note,
        )
    ]
