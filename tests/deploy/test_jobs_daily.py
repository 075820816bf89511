"""The scheduler's store jobs, run on the real store with an injected "now": the automatic
close at 23:30 Madrid, the expiry at 00:05, the alerts' clock; a re-run writes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

from commands.handlers import handle
from commands.types import Command, CreateTenant, DefineProduct, OpenStore, ReceiveStock, RecordSale
from deploy.jobs_daily import close_days, closing_day, expire_stores, open_stores, tick_tenants
from domain.access import Actor
from domain.codec import decode_event
from domain.events import ClockTicked, DayClosed, StockExpired
from domain.events.inventory import CloseOutcome, ItemKind
from domain.events.organisation import Role, StoreKind, TenantKind
from domain.events.sales import Channel, SaleLine, SaleSource
from domain.streams import stock_stream
from streams.store import EventStore

OWNER = Actor(user_id="olga", role=Role.OWNER)
DAY = date(2026, 3, 2)  # winter: Madrid is UTC+1, the Canaries UTC
MORNING = datetime(2026, 3, 2, 5, tzinfo=UTC)
CLOSE = time(23, 30)


async def _run(store: EventStore, tenant: str, command: Command) -> None:
    await handle(command, store, tenant_id=tenant, actor=OWNER, now=MORNING)


async def _bakery(store: EventStore, tenant: str, zone: str) -> None:
    await _run(store, tenant, CreateTenant(name=tenant, kind=TenantKind.CHAIN))
    await _run(
        store,
        tenant,
        OpenStore(store_id="sol", name="Sol", kind=StoreKind.SHOP, timezone=zone, region="ES-MD"),
    )
    for sku, shelf in (("baguette", 1), ("croissant", 2)):
        await _run(
            store,
            tenant,
            DefineProduct(
                sku=sku,
                name=sku,
                category="bread",
                price=Decimal("1.20"),
                unit_cost=Decimal("0.40"),
                shelf_life_days=shelf,
            ),
        )
        await _run(
            store,
            tenant,
            ReceiveStock(
                store_id="sol",
                item_id=sku,
                item_kind=ItemKind.PRODUCT,
                lot_id=f"{sku}-1",
                quantity=Decimal(10),
                expires_on=date(2026, 3, 1 + shelf),
                unit_cost=Decimal("0.40"),
            ),
        )
    await _run(
        store,
        tenant,
        RecordSale(
            store_id="sol",
            pos_txn_id="t-1",
            sold_at=datetime(2026, 3, 2, 12, tzinfo=UTC),
            channel=Channel.COUNTER,
            source=SaleSource.POS,
            lines=(SaleLine(sku="baguette", quantity=Decimal(6), unit_price=Decimal("1.20")),),
        ),
    )


async def _stock(store: EventStore, tenant: str, sku: str) -> list[object]:
    records = await store.read_stream(tenant, stock_stream("sol", sku))
    return [decode_event(r.event_type, r.schema_version, r.payload) for r in records]


def test_a_close_delayed_past_midnight_closes_the_day_that_ended() -> None:
    madrid = "Europe/Madrid"
    assert closing_day(datetime(2026, 3, 2, 22, 30, tzinfo=UTC), madrid, CLOSE) == DAY
    assert closing_day(datetime(2026, 3, 2, 23, 10, tzinfo=UTC), madrid, CLOSE) == DAY
    assert closing_day(datetime(2026, 3, 2, 12, tzinfo=UTC), madrid, CLOSE) == date(2026, 3, 1)


async def test_close_expire_and_tick_per_store_zone_and_once(pg_store: EventStore) -> None:
    await _bakery(pg_store, "forn", "Europe/Madrid")
    await _bakery(pg_store, "isla", "Atlantic/Canary")
    assert {(s.tenant_id, s.timezone) for s in await open_stores(pg_store)} == {
        ("forn", "Europe/Madrid"),
        ("isla", "Atlantic/Canary"),
    }
    at_close = datetime(2026, 3, 2, 22, 30, tzinfo=UTC)  # 23:30 in Madrid, 22:30 in the isles

    closed = await close_days(pg_store, at_close, close_at=CLOSE, timezone="Europe/Madrid")
    assert (closed.stores, closed.written, closed.problems) == (1, 2, None)
    baguette = [e for e in await _stock(pg_store, "forn", "baguette") if isinstance(e, DayClosed)]
    assert len(baguette) == 1 and baguette[0].automatic and baguette[0].day == DAY
    assert [(o.outcome, o.quantity) for o in baguette[0].outcomes] == [
        (CloseOutcome.WASTE, Decimal(4))  # the day's bread that was not sold
    ]
    assert not [e for e in await _stock(pg_store, "isla", "baguette") if isinstance(e, DayClosed)]
    again = await close_days(pg_store, at_close, close_at=CLOSE, timezone="Europe/Madrid")
    assert again.written == 0
    # a late run for the day before does not judge it by today's books
    noon = datetime(2026, 3, 2, 11, tzinfo=UTC)
    assert (await close_days(pg_store, noon, close_at=CLOSE, timezone="Europe/Madrid")).written == 0

    past_midnight = datetime(2026, 3, 3, 23, 5, tzinfo=UTC)  # 00:05 on the 4th in Madrid
    expired = await expire_stores(pg_store, past_midnight, timezone="Europe/Madrid")
    assert expired.written == 1  # the croissants (last day the 3rd), carried over at the close
    croissant = [
        e for e in await _stock(pg_store, "forn", "croissant") if isinstance(e, StockExpired)
    ]
    assert [a.quantity for e in croissant for a in e.allocations] == [Decimal(10)]
    assert (await expire_stores(pg_store, past_midnight, timezone="Europe/Madrid")).written == 0

    ticked = await tick_tenants(pg_store, at_close)
    assert (ticked.stores, ticked.written) == (2, 2)
    assert (await tick_tenants(pg_store, at_close.replace(minute=59))).written == 0
    ticks = await pg_store.read_stream("forn", "clock-20260302")
    assert [type(decode_event(r.event_type, r.schema_version, r.payload)) for r in ticks] == [
        ClockTicked
    ]
