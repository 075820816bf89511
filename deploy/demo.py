"""``obrador demo``: a small bakery chain, loaded through the event store from real sales.

Three stores and three products of the ddop chain (../shared/data, real daily
demand; see its README) over the last four weeks of the file, relabelled as a
Spanish chain. Every id and idempotency key is derived from the data, so
loading twice adds nothing. ``--check`` verifies the load and exits 0/1.
"""

from __future__ import annotations

import csv
import functools
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from domain.codec import decode_event, encode_event
from domain.events import DomainEvent
from domain.events.catalogue import ProductDefined
from domain.events.inventory import ItemKind, StockReceived
from domain.events.organisation import StoreKind, StoreOpened, TenantCreated, TenantKind
from domain.events.sales import Channel, SaleLine, SaleRecorded, SaleSource
from domain.streams import TENANT_STREAM, product_stream, sale_stream, stock_stream
from streams.envelope import NO_STREAM, AppendRequest, NewEvent
from streams.errors import WrongExpectedVersion
from streams.store import EventStore

TENANT = "demo-obrador"
DAYS = 28
_NAMESPACE = uuid.UUID("6f1f0c43-3c5e-4d4e-9a53-3b8b5a1c0d7e")
_DATA = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "ddop-bakery" / "bakery_merged.csv"
)
STORES = {
    "2": ("madrid-centro", "Obrador Madrid Centro"),
    "3": ("madrid-norte", "Obrador Madrid Norte"),
    "4": ("alcala", "Obrador Alcalá"),
}
PRODUCTS = {
    "101": ("barra", "Barra de pan", Decimal("1.10"), Decimal("0.32"), 1),
    "109": ("croissant", "Croissant", Decimal("1.60"), Decimal("0.55"), 2),
    "110": ("napolitana", "Napolitana de chocolate", Decimal("1.80"), Decimal("0.60"), 2),
}


@dataclass(frozen=True)
class DemoSale:
    day: date
    store: str
    product: str
    units: int


@functools.cache
def real_sales(path: Path = _DATA, days: int = DAYS) -> tuple[DemoSale, ...]:
    """The last ``days`` days of real demand for the demo stores and products (read once)."""
    rows: list[DemoSale] = []
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["store"] in STORES and row["product"] in PRODUCTS:
                rows.append(
                    DemoSale(
                        date.fromisoformat(row["date"]),
                        row["store"],
                        row["product"],
                        int(float(row["demand"])),
                    )
                )
    last = max(r.day for r in rows)
    return tuple(r for r in rows if r.day > last - timedelta(days=days))


def last_day() -> date:
    """The last day of real sales the demo loads."""
    return max(s.day for s in real_sales())


def _new(stream: str, index: int, event: DomainEvent) -> NewEvent:
    event_type, version, payload = encode_event(event)
    return NewEvent(
        event_type=event_type,
        schema_version=version,
        payload=payload,
        event_id=uuid.uuid5(_NAMESPACE, f"{stream}/{index}"),
        actor="demo",
    )


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def demo_requests(sales: Sequence[DemoSale]) -> Iterator[AppendRequest]:
    start = _at(min(s.day for s in sales) - timedelta(days=1), 5)

    def one(stream: str, events: list[DomainEvent]) -> AppendRequest:
        return AppendRequest(
            tenant_id=TENANT,
            stream_id=stream,
            expected_version=NO_STREAM,
            events=tuple(_new(stream, i, e) for i, e in enumerate(events)),
            idempotency_key=f"demo:{stream}",
        )

    yield one(
        TENANT_STREAM,
        [TenantCreated(occurred_at=start, name="Obrador Demo", kind=TenantKind.MULTI_SHOP)],
    )
    for store_id, name in STORES.values():
        yield one(
            f"store-{store_id}",
            [
                StoreOpened(
                    occurred_at=start,
                    store_id=store_id,
                    name=name,
                    kind=StoreKind.SHOP,
                    timezone="Europe/Madrid",
                    region="ES-MD",
                )
            ],
        )
    for sku, name, price, cost, shelf in PRODUCTS.values():
        yield one(
            product_stream(sku),
            [
                ProductDefined(
                    occurred_at=start,
                    sku=sku,
                    name=name,
                    category="panadería",
                    price=price,
                    unit_cost=cost,
                    shelf_life_days=shelf,
                )
            ],
        )
    for sale in sales:
        store_id = STORES[sale.store][0]
        sku, _, price, cost, shelf = PRODUCTS[sale.product]
        baked = _at(sale.day, 5)
        lot = f"{sku}-{sale.day:%Y%m%d}"
        produced = Decimal(max(1, round(sale.units * 1.1)))
        yield one(
            stock_stream(store_id, f"{sku}-{lot}"),
            [
                StockReceived(
                    occurred_at=baked,
                    store_id=store_id,
                    item_id=sku,
                    item_kind=ItemKind.PRODUCT,
                    lot_id=lot,
                    quantity=produced,
                    expires_on=sale.day + timedelta(days=shelf - 1),
                    unit_cost=cost,
                )
            ],
        )
        if sale.units > 0:
            txn = f"daily-{sku}-{sale.day:%Y%m%d}"
            yield one(
                sale_stream(store_id, txn),
                [
                    SaleRecorded(
                        occurred_at=_at(sale.day, 20),
                        store_id=store_id,
                        pos_txn_id=txn,
                        sold_at=_at(sale.day, 20),
                        channel=Channel.COUNTER,
                        source=SaleSource.IMPORT,
                        lines=(SaleLine(sku=sku, quantity=Decimal(sale.units), unit_price=price),),
                        total=price * sale.units,
                    )
                ],
            )


async def run_demo(database_url: str, *, check: bool) -> bool:
    sales = real_sales()
    requests = list(demo_requests(sales))
    store = await EventStore.open(database_url)
    try:
        outcomes = await store.bulk_append(requests)
        failed = [o for o in outcomes if isinstance(o, Exception)]
        written = [o for o in outcomes if not isinstance(o, Exception) and not o.duplicate]
        units = sum(s.units for s in sales)
        print(
            f"demo tenant {TENANT!r}: {len(STORES)} stores, {len(PRODUCTS)} products, "
            f"{len(sales)} store-product-days of real sales ({units:,} units) "
            f"from {min(s.day for s in sales)} to {max(s.day for s in sales)}"
        )
        print(
            f"  {len(requests)} streams: {len(written)} appended now, "
            f"{len(outcomes) - len(written) - len(failed)} already stored, {len(failed)} failed"
        )
        for problem in failed[:5]:
            print(f"  ! {problem}")
        return not failed and (not check or await verify(store, requests))
    finally:
        await store.close()


async def verify(store: EventStore, requests: list[AppendRequest]) -> bool:
    """Read everything back and test the store's promises on the demo data."""
    checks: list[tuple[str, bool]] = []
    mismatched = 0
    for request in requests:
        stored = await store.read_stream(TENANT, request.stream_id)
        if [e.event_id for e in stored] != [e.event_id for e in request.events]:
            mismatched += 1
    checks.append(("every stream reads back exactly what was appended", mismatched == 0))
    log, position = [], 0
    while batch := await store.read_all(after=position, tenant_id=TENANT, limit=5000):
        log.extend(batch)
        position = batch[-1].position
    positions = [e.position for e in log]
    checks.append(
        (
            "global log has every event once, in position order",
            positions == sorted(set(positions))
            and len(log) == sum(len(r.events) for r in requests),
        )
    )
    decoded = sum(
        1 for e in log if decode_event(e.event_type, e.schema_version, e.payload) is not None
    )
    checks.append(("every event decodes against its schema", decoded == len(log)))
    again = await store.bulk_append(requests)
    checks.append(
        (
            "loading again stores nothing new (idempotency)",
            all(getattr(o, "duplicate", False) for o in again),
        )
    )
    try:
        await store.append(
            TENANT,
            "tenant",
            [
                _new(
                    "tenant",
                    99,
                    TenantCreated(occurred_at=datetime.now(UTC), name="x", kind=TenantKind.CHAIN),
                )
            ],
            expected_version=NO_STREAM,
        )
        refused = False
    except WrongExpectedVersion:
        refused = True
    checks.append(("a stale expected version is refused", refused))
    for label, ok in checks:
        print(f"  {'ok ' if ok else 'FAIL'} {label}")
    return all(ok for _, ok in checks)
