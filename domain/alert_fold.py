"""Folding events into the alert facts: ``fresh`` starts a subject's record, ``fold`` changes it.

``plan`` keeps a stock's planned production in step with an order delivering
to it (the one fold across subjects; the alerts projection calls it).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from domain.alert_facts import (
    EMPTIED_KEPT,
    ZERO,
    AnyFacts,
    DayForecast,
    EquipmentFacts,
    ItemFacts,
    Lot,
    OrderFacts,
    Planned,
    PurchaseFacts,
    QualityFailure,
    Settings,
    StockFacts,
    TemperatureBreach,
    TenantFacts,
)
from domain.events import (
    AlertSettingsChanged,
    ClockTicked,
    DayClosed,
    DomainEvent,
    EquipmentMaintenancePerformed,
    EquipmentMaintenanceScheduled,
    EquipmentRegistered,
    ForecastPublished,
    IngredientDefined,
    ManufacturingOrderCancelled,
    ManufacturingOrderCompleted,
    ManufacturingOrderConfirmed,
    ManufacturingOrderEdited,
    ManufacturingOrderStarted,
    ManufacturingOrderSuggested,
    ProductDefined,
    ProductDiscontinued,
    ProductRepriced,
    ProductStockPolicySet,
    PurchaseOrderApproved,
    PurchaseOrderCancelled,
    PurchaseOrderDrafted,
    PurchaseOrderReceived,
    PurchaseOrderSent,
    QualityCheckRecorded,
    RecipeVersioned,
    StockAdjusted,
    StockConsumed,
    StockExpired,
    StockReceived,
    StockReturned,
    StockTransferredIn,
    StockTransferredOut,
    StoreOpened,
    TemperatureRecorded,
    WasteRecorded,
)
from domain.events.inventory import LotAllocation


def fresh(subject: str, ev: DomainEvent) -> AnyFacts | None:
    """The record a subject starts with, or None when ``ev`` cannot start one."""
    kind, _, rest = subject.partition("/")
    match kind, ev:
        case "tenant", _:
            return TenantFacts()
        case "item", ProductDefined():
            return ItemFacts(
                kind="product",
                name=ev.name,
                unit=ev.unit,
                price=ev.price,
                unit_cost=ev.unit_cost,
                shelf_life_days=ev.shelf_life_days,
            )
        case "item", IngredientDefined():
            return ItemFacts(
                kind="ingredient",
                name=ev.name,
                unit=ev.unit,
                price=None,
                unit_cost=ev.unit_cost,
                shelf_life_days=ev.shelf_life_days,
            )
        case "stock", _:
            store_id, _, item_id = rest.partition("/")
            return StockFacts(store_id=store_id, item_id=item_id)
        case "mo", ManufacturingOrderSuggested():
            return OrderFacts(
                order_id=ev.order_id,
                sku=ev.sku,
                quantity=ev.quantity,
                production_date=ev.production_date,
                producing_store_id=ev.producing_store_id,
                destination_store_id=ev.destination_store_id,
            )
        case "po", PurchaseOrderDrafted():
            value = sum((line.quantity * line.unit_price for line in ev.lines), ZERO)
            return PurchaseFacts(
                po_id=ev.po_id,
                supplier_id=ev.supplier_id,
                store_id=ev.store_id,
                expected_at=ev.expected_delivery_at,
                value=value,
            )
        case "equipment", _:
            return EquipmentFacts(equipment_id=rest)
    return None


def fold(facts: AnyFacts, ev: DomainEvent) -> None:
    """Change ``facts`` by ``ev`` (one of the events ``subjects_of`` routes to it)."""
    match facts:
        case TenantFacts():
            _tenant(facts, ev)
        case ItemFacts():
            _item(facts, ev)
        case StockFacts():
            _stock(facts, ev)
        case OrderFacts():
            _order(facts, ev)
        case PurchaseFacts():
            _purchase(facts, ev)
        case EquipmentFacts():
            _equipment(facts, ev)


def _tenant(facts: TenantFacts, ev: DomainEvent) -> None:
    match ev:
        case ClockTicked():
            if facts.now is None or ev.occurred_at > facts.now:
                facts.now = ev.occurred_at
        case StoreOpened():
            facts.timezones[ev.store_id] = ev.timezone
        case AlertSettingsChanged():
            facts.settings = Settings(
                expiry_warning_days=ev.expiry_warning_days,
                delivery_due_soon_hours=ev.delivery_due_soon_hours,
                production_start_hour=ev.production_start_hour,
                unconfirmed_plan_hours=ev.unconfirmed_plan_hours,
            )


def _item(facts: ItemFacts, ev: DomainEvent) -> None:
    match ev:
        case ProductDefined():
            facts.name, facts.unit, facts.price = ev.name, ev.unit, ev.price
            facts.unit_cost, facts.shelf_life_days = ev.unit_cost, ev.shelf_life_days
            facts.discontinued = False
        case ProductRepriced():
            facts.price, facts.unit_cost = ev.price, ev.unit_cost
        case ProductDiscontinued():
            facts.discontinued = True
        case RecipeVersioned():
            facts.ingredients = tuple(sorted({line.ingredient_id for line in ev.lines}))
            facts.batch_yield, facts.bake_minutes = ev.yield_quantity, ev.bake_minutes
        case IngredientDefined():
            facts.name, facts.unit, facts.unit_cost = ev.name, ev.unit, ev.unit_cost
            facts.shelf_life_days = ev.shelf_life_days
            facts.reorder_point, facts.reorder_quantity = ev.reorder_point, ev.reorder_quantity
            facts.supplier_id = ev.preferred_supplier_id


def _stock(facts: StockFacts, ev: DomainEvent) -> None:  # noqa: PLR0912 - one case per event
    """The arithmetic of ``domain.stock.StockState`` (receipts absorb a shortfall first)."""
    match ev:
        case ProductStockPolicySet():
            facts.reorder_point, facts.target_stock = ev.reorder_point, ev.target_stock
        case ForecastPublished():
            facts.forecast = {p.day: DayForecast(p.mean, p.lower) for p in ev.points}
        case StockReceived():
            _add(facts, ev.lot_id, ev.quantity, ev.expires_on, ev.unit_cost)
            if ev.manufacturing_order_id is not None:
                facts.planned.pop(ev.manufacturing_order_id, None)
        case StockTransferredIn():
            for moved in ev.lots:
                _add(facts, moved.lot_id, moved.quantity, moved.expires_on, moved.unit_cost)
        case StockConsumed():
            _take(facts, ev.allocations)
            facts.shortfall += ev.shortfall
        case StockReturned():
            settled = min(facts.shortfall, ev.shortfall)
            facts.shortfall -= settled
            if ev.shortfall > settled:
                _put(facts, "unlotted", ev.shortfall - settled, None, ZERO)
            for allocation in ev.allocations:
                _add(facts, allocation.lot_id, allocation.quantity, None, ZERO)
        case StockTransferredOut():
            _take(facts, (LotAllocation(lot_id=m.lot_id, quantity=m.quantity) for m in ev.lots))
        case WasteRecorded() | StockExpired():
            _take(facts, ev.allocations)
        case DayClosed():
            _close(facts, ev)
        case StockAdjusted():
            _take(facts, ev.allocations)
            if ev.surplus_lot_id is not None and ev.surplus_quantity > 0:
                _put(facts, ev.surplus_lot_id, ev.surplus_quantity, None, ZERO)
            facts.shortfall = ZERO


def _close(facts: StockFacts, ev: DayClosed) -> None:
    """As ``StockState``: the count's difference, a surplus lot, then each outcome's lots."""
    _take(facts, ev.discrepancy_allocations)
    if ev.surplus_lot_id is not None and ev.surplus_quantity > 0:
        _put(facts, ev.surplus_lot_id, ev.surplus_quantity, ev.surplus_expires_on, ZERO)
    if not ev.automatic:
        facts.shortfall = ZERO  # a count settles what the books could not explain
    for outcome in ev.outcomes:
        _take(facts, outcome.allocations)


def _add(facts: StockFacts, lot_id: str, qty: Decimal, expires: date | None, cost: Decimal) -> None:
    absorbed = min(facts.shortfall, qty)
    facts.shortfall -= absorbed
    _put(facts, lot_id, qty - absorbed, expires, cost)


def _put(facts: StockFacts, lot_id: str, qty: Decimal, expires: date | None, cost: Decimal) -> None:
    lot = facts.lots.get(lot_id)
    if lot is None:
        if qty > 0:
            known = facts.emptied.pop(lot_id, None)  # given back: its expiry and cost
            if known is not None:
                expires, cost = known.expires_on, known.unit_cost
            facts.lots[lot_id] = Lot(qty, expires, cost)
    else:
        lot.quantity += qty


def _take(facts: StockFacts, allocations: object) -> None:
    for allocation in allocations:  # type: ignore[attr-defined]
        lot = facts.lots.get(allocation.lot_id)
        if lot is None:
            continue  # a lot this record never saw hold anything
        lot.quantity -= allocation.quantity
        if lot.quantity <= 0:
            del facts.lots[allocation.lot_id]
            facts.emptied[allocation.lot_id] = Lot(ZERO, lot.expires_on, lot.unit_cost)
            while len(facts.emptied) > EMPTIED_KEPT:
                del facts.emptied[next(iter(facts.emptied))]


def plan(stock: StockFacts, order: OrderFacts) -> None:
    """Keep ``stock.planned`` in step with an order that delivers to that stock.

    A completed order stays planned until its lot is received (the two events
    are one atomic append, in either order), so supply never dips in between.
    """
    if order.status == "cancelled":
        stock.planned.pop(order.order_id, None)
    elif order.status != "completed" or order.order_id in stock.planned:
        stock.planned[order.order_id] = Planned(
            order.production_date, order.quantity, order.status, order.producing_store_id
        )


def _order(facts: OrderFacts, ev: DomainEvent) -> None:
    match ev:
        case ManufacturingOrderConfirmed():
            facts.status = "confirmed"
        case ManufacturingOrderEdited():
            facts.quantity, facts.production_date = ev.quantity, ev.production_date
        case ManufacturingOrderStarted():
            facts.status, facts.started_at = "in_progress", ev.occurred_at
        case ManufacturingOrderCompleted():
            facts.status = "completed"
        case ManufacturingOrderCancelled():
            facts.status = "cancelled"
        case QualityCheckRecorded():
            batch = ev.batch_id or "order"
            if ev.passed:
                facts.failures.pop(batch, None)
            else:
                facts.failures[batch] = QualityFailure(ev.score, ev.issues, ev.occurred_at)


def _purchase(facts: PurchaseFacts, ev: DomainEvent) -> None:
    match ev:
        case PurchaseOrderApproved():
            facts.status = "approved"
        case PurchaseOrderSent():
            facts.status = "sent"
        case PurchaseOrderReceived():
            facts.status = "received" if ev.complete else "partial"
            facts.deliveries += 1
        case PurchaseOrderCancelled():
            facts.status = "cancelled"


def _equipment(facts: EquipmentFacts, ev: DomainEvent) -> None:
    match ev:
        case EquipmentRegistered():
            facts.store_id, facts.name, facts.kind = ev.store_id, ev.name, ev.kind
        case EquipmentMaintenanceScheduled():
            facts.due_on, facts.maintenance = ev.due_on, ev.description
        case EquipmentMaintenancePerformed():
            facts.due_on, facts.maintenance = ev.next_due_on, "periodic maintenance"
        case TemperatureRecorded():
            facts.store_id = facts.store_id or ev.store_id
            within = ev.within_limits and ev.min_celsius <= ev.celsius <= ev.max_celsius
            facts.breach = (
                None
                if within
                else TemperatureBreach(ev.celsius, ev.min_celsius, ev.max_celsius, ev.occurred_at)
            )
