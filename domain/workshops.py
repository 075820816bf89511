"""Central workshops (stream ``workshops``): which stores each workshop bakes for.

A workshop is an open store that bakes (not an ``outlet``). It serves one or
more open stores, itself included when it also sells. A store is served by one
workshop at most, and a store served by another workshop cannot be one itself
(no chains of workshops): the plan of a store's bread is made in one place.
A declaration replaces the workshop's earlier one; declaring the same stores
again records nothing.

A workshop's planned manufacturing order carries its transfer plan: how many of
the units go to each store it serves (``plan_order``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from domain.errors import AlreadyExists, InvalidValue, NotFound
from domain.events import Event, ManufacturingOrderSuggested
from domain.events.organisation import StoreKind
from domain.events.workshops import WorkshopDeclared, WorkshopTransfersPlanned
from domain.organisation import TenantState
from domain.production import OrderState
from domain.production import suggest as suggest_order


@dataclass
class WorkshopsState:
    #: workshop store id -> the stores it serves
    serves: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: workshop store id -> whether it makes a midday top-up run from a reserve
    top_up: dict[str, bool] = field(default_factory=dict)
    version: int = 0

    def apply(self, event: Event) -> None:
        self.version += 1
        if isinstance(event, WorkshopDeclared):
            self.serves[event.store_id] = event.serves
            self.top_up[event.store_id] = event.top_up

    def served_by(self) -> dict[str, str]:
        """Store id -> the workshop that bakes for it."""
        return {store: ws for ws, stores in self.serves.items() for store in stores}


def fold(events: Iterable[Event]) -> WorkshopsState:
    state = WorkshopsState()
    for event in events:
        state.apply(event)
    return state


def declare(tenant: TenantState, state: WorkshopsState, event: WorkshopDeclared) -> list[Event]:
    """Check a declaration against the tenant's open stores and the other workshops."""
    open_ids = tenant.open_store_ids()
    if event.store_id not in open_ids:
        raise NotFound("store_id", f"no open store {event.store_id!r}")
    if tenant.stores[event.store_id].kind is StoreKind.OUTLET:
        raise InvalidValue("store_id", f"{event.store_id!r} is an outlet: it does not bake")
    served_by = state.served_by()
    owner = served_by.get(event.store_id, event.store_id)
    if owner != event.store_id:
        raise InvalidValue("store_id", f"{event.store_id!r} is served by workshop {owner!r}")
    if not event.serves:
        raise InvalidValue("serves", "a workshop serves at least one store")
    seen: set[str] = set()
    for index, store_id in enumerate(event.serves):
        where = f"serves[{index}]"
        if store_id in seen:
            raise InvalidValue(where, f"store {store_id!r} listed twice")
        seen.add(store_id)
        if store_id not in open_ids:
            raise NotFound(where, f"no open store {store_id!r}")
        other = served_by.get(store_id, event.store_id)
        if other != event.store_id:
            raise AlreadyExists(where, f"store {store_id!r} is served by workshop {other!r}")
        if store_id != event.store_id and store_id in state.serves:
            raise InvalidValue(where, f"store {store_id!r} is a workshop itself")
    if (state.serves.get(event.store_id), state.top_up.get(event.store_id)) == (
        event.serves,
        event.top_up,
    ):
        return []
    return [event]


def plan_order(
    workshops: WorkshopsState,
    order: OrderState,
    suggested: ManufacturingOrderSuggested,
    plan: WorkshopTransfersPlanned,
) -> list[Event]:
    """A workshop order and its transfer plan: every store served, units adding up."""
    serves = workshops.serves.get(plan.workshop_id)
    if serves is None:
        raise NotFound("workshop_id", f"no workshop {plan.workshop_id!r}")
    if not plan.transfers:
        raise InvalidValue("transfers", "a workshop order sends its units somewhere")
    if plan.reserve and not workshops.top_up.get(plan.workshop_id, False):
        raise InvalidValue("reserve", "this workshop makes no top-up run to keep a reserve for")
    seen: set[str] = set()
    for index, transfer in enumerate(plan.transfers):
        where = f"transfers[{index}]"
        if transfer.store_id not in serves:
            raise NotFound(f"{where}.store_id", f"workshop does not serve {transfer.store_id!r}")
        if transfer.store_id in seen:
            raise InvalidValue(f"{where}.store_id", "store listed twice")
        if transfer.quantity <= 0:
            raise InvalidValue(f"{where}.quantity", "must be greater than 0")
        seen.add(transfer.store_id)
    if plan.reserve < 0:
        raise InvalidValue("reserve", "must be 0 or more")
    total = sum((t.quantity for t in plan.transfers), plan.reserve)
    if total != plan.quantity:
        raise InvalidValue(
            "transfers", f"with the reserve add up to {total}, not the order's {plan.quantity}"
        )
    return [*suggest_order(order, suggested), plan]
