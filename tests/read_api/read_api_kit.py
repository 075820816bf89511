"""A bakery to read: the demo chain's real sales (ddop data) plus a few events
that make its dashboard interesting, and a rival tenant with a store of its own.

Everything goes through the real event store, then through every read model's
``apply`` (as the projector would), so the API reads rows made the real way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import TypeAlias

from litestar import Litestar
from litestar.testing import AsyncTestClient

from deploy.demo import TENANT, load_demo
from domain.codec import encode_event
from domain.events import DomainEvent
from domain.events.inventory import ConsumptionCause, ItemKind, StockConsumed, StockReceived
from domain.events.organisation import StoreKind, StoreOpened
from domain.events.procurement import (
    PurchaseOrderDrafted,
    PurchaseOrderLine,
    SupplierRegistered,
)
from domain.events.production import ManufacturingOrderConfirmed, ManufacturingOrderSuggested
from domain.events.sales import Channel, SaleLine, SaleRecorded, SaleSource
from projections.models import ALL_MODELS
from streams.envelope import NO_STREAM, AppendRequest, NewEvent
from streams.store import EventStore
from tests.projections.test_models_kit import decoded, project

Client: TypeAlias = AsyncTestClient[Litestar]
RIVAL = "rival-bakery"
# Noon in Madrid on the demo's last day: "today" for the dashboard.
NOW = datetime(2019, 4, 30, 10, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Bakeries:
    url: str
    demo_key: str
    rival_key: str


LAST_DAY = date(2019, 4, 30)  # last day of the demo's slice of the ddop data


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def request(tenant: str, stream: str, *events: DomainEvent) -> AppendRequest:
    new = []
    for event in events:
        event_type, version, payload = encode_event(event)
        new.append(NewEvent(event_type=event_type, schema_version=version, payload=payload))
    return AppendRequest(
        tenant_id=tenant, stream_id=stream, expected_version=NO_STREAM, events=tuple(new)
    )


def demo_extras() -> list[AppendRequest]:
    """Flour consumed beyond the books (Madrid Centro goes red), a production order
    confirmed for yesterday (Madrid Norte: behind schedule), one suggested for today
    (Alcalá: awaiting confirmation) and a drafted purchase order."""
    day = LAST_DAY
    return [
        request(
            TENANT,
            "stock-madrid-centro-harina",
            StockConsumed(
                occurred_at=at(day, 6),
                store_id="madrid-centro",
                item_id="harina",
                quantity=Decimal(5),
                allocations=(),
                shortfall=Decimal(5),
                cause=ConsumptionCause.PRODUCTION,
                reference="batch-1",
            ),
        ),
        request(
            TENANT,
            "mo-late",
            ManufacturingOrderSuggested(
                occurred_at=at(day, 3),
                order_id="mo-late",
                sku="barra",
                quantity=Decimal(40),
                production_date=date(2019, 4, 29),
                producing_store_id="madrid-norte",
                destination_store_id="madrid-norte",
                reason="forecast",
            ),
            ManufacturingOrderConfirmed(
                occurred_at=at(day, 4), order_id="mo-late", confirmed_by="ana"
            ),
        ),
        request(
            TENANT,
            "mo-today",
            ManufacturingOrderSuggested(
                occurred_at=at(day, 3),
                order_id="mo-today",
                sku="croissant",
                quantity=Decimal(30),
                production_date=day,
                producing_store_id="alcala",
                destination_store_id="madrid-centro",
                reason="forecast",
            ),
        ),
        request(
            TENANT,
            "supplier-harinas",
            SupplierRegistered(
                occurred_at=at(day, 2),
                supplier_id="harinas-sur",
                name="Harinas del Sur",
                lead_time_days=2,
            ),
        ),
        request(
            TENANT,
            "po-1",
            PurchaseOrderDrafted(
                occurred_at=at(day, 7),
                po_id="po-1",
                supplier_id="harinas-sur",
                store_id="madrid-centro",
                lines=(
                    PurchaseOrderLine(
                        item_id="harina", quantity=Decimal(100), unit_price=Decimal("0.45")
                    ),
                ),
                expected_delivery_at=at(day, 9),
                drafted_by="ana",
            ),
        ),
    ]


def rival_requests() -> list[AppendRequest]:
    """Another tenant that sells the same item ids in a store of its own."""
    day = LAST_DAY
    return [
        request(
            RIVAL,
            "store-rival",
            StoreOpened(
                occurred_at=at(day, 1),
                store_id="rival-store",
                name="Horno Rival",
                kind=StoreKind.SHOP,
                timezone="Europe/Madrid",
                region="ES-MD",
            ),
        ),
        request(
            RIVAL,
            "stock-rival-barra",
            StockReceived(
                occurred_at=at(day, 5),
                store_id="rival-store",
                item_id="barra",
                item_kind=ItemKind.PRODUCT,
                lot_id="rival-lot-1",
                quantity=Decimal(10),
                expires_on=day,
                unit_cost=Decimal("0.30"),
            ),
        ),
        request(
            RIVAL,
            "sale-rival-1",
            SaleRecorded(
                occurred_at=at(day, 9),
                store_id="rival-store",
                pos_txn_id="r-1",
                sold_at=at(day, 9),
                channel=Channel.COUNTER,
                source=SaleSource.POS,
                lines=(SaleLine(sku="barra", quantity=Decimal(2), unit_price=Decimal("1.00")),),
                total=Decimal("2.00"),
            ),
        ),
    ]


async def load_bakeries(conninfo: str) -> None:
    """Load the demo chain, append its extras and the rival, then project every read model."""
    store = await EventStore.open(conninfo)
    try:
        loaded = await load_demo(store)  # through the handlers, as `obrador demo` does
        assert not loaded.failed, loaded.failed
        outcomes = await store.bulk_append([*demo_extras(), *rival_requests()])
        assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
        log, position = [], 0
        while batch := await store.read_all(after=position, limit=5000):
            log.extend(batch)
            position = batch[-1].position
    finally:
        await store.close()
    await project(conninfo, list(ALL_MODELS), decoded(log))
