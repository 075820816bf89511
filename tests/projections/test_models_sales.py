"""sales read model: store-local days and hours (midnight UTC, DST), voids and refunds, tickets."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from test_models_kit import Log, one, project, rows

from domain.events import SaleRecorded, SaleRefunded, SaleVoided, StoreOpened
from domain.events.organisation import StoreKind
from domain.events.sales import Channel, RefundLine, SaleLine
from domain.sales import check_lines
from domain.streams import sale_stream
from projections.models import SalesModel
from projections.models.sales import local_day_hour

T = "forn-sant-joan"
D = Decimal
MODEL = SalesModel()
OPENED = datetime(2025, 12, 1, 8, 0, tzinfo=UTC)


def opened(store_id: str, timezone: str) -> StoreOpened:
    return StoreOpened(
        occurred_at=OPENED,
        store_id=store_id,
        name=store_id.title(),
        kind=StoreKind.SHOP,
        timezone=timezone,
        region="ES-CN" if "Canary" in timezone else "ES-CT",
    )


def sale(store_id: str, txn: str, sold_at: datetime, *lines: SaleLine) -> SaleRecorded:
    return SaleRecorded(
        occurred_at=sold_at,
        store_id=store_id,
        pos_txn_id=txn,
        sold_at=sold_at,
        channel=Channel.COUNTER,
        lines=lines,
        total=check_lines(lines),
        device_id="till-1",
    )


def line(sku: str, qty: int, price: str, discount: str = "0") -> SaleLine:
    return SaleLine(sku=sku, quantity=D(qty), unit_price=D(price), discount=D(discount))


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


Totals = tuple[Decimal, Decimal, int]


async def daily(pg_url: str, store: str, tenant: str = T) -> dict[tuple[str, date], Totals]:
    found = await rows(
        pg_url,
        "SELECT sku, sales_date, units, revenue, tickets FROM rm_sales_daily"
        " WHERE tenant_id = %s AND store_id = %s",
        tenant,
        store,
    )
    return {(r["sku"], r["sales_date"]): (r["units"], r["revenue"], r["tickets"]) for r in found}


async def hourly(pg_url: str, store: str) -> dict[tuple[str, date, int], Decimal]:
    found = await rows(
        pg_url,
        "SELECT sku, sales_date, hour, units FROM rm_sales_hourly WHERE store_id = %s",
        store,
    )
    return {(r["sku"], r["sales_date"], r["hour"]): r["units"] for r in found}


def test_local_day_and_hour() -> None:
    assert local_day_hour(utc(2026, 1, 9, 23, 30), "Europe/Madrid") == (date(2026, 1, 10), 0)
    assert local_day_hour(utc(2026, 1, 9, 23, 30), "Atlantic/Canary") == (date(2026, 1, 9), 23)
    assert local_day_hour(utc(2026, 1, 9, 23, 30), "Mars/Olympus") == (date(2026, 1, 9), 23)


async def test_days_are_the_stores_local_days_across_midnight_utc(pg_url: str) -> None:
    log = Log()
    log.add(T, "store-born", opened("born", "Europe/Madrid"))
    log.add(T, "store-laguna", opened("laguna", "Atlantic/Canary"))
    late = utc(2026, 1, 9, 23, 30)  # 00:30 on the 10th in Madrid, 23:30 on the 9th in Tenerife
    log.add(T, "sale-born-T1", sale("born", "T1", late, line("baguette", 2, "1.20")))
    log.add(T, "sale-laguna-T1", sale("laguna", "T1", late, line("baguette", 3, "1.10")))
    log.add(
        T, "sale-born-T2", sale("born", "T2", utc(2026, 1, 9, 22, 50), line("baguette", 1, "1.20"))
    )
    log.add(T, "sale-nowhere-T1", sale("nowhere", "T1", late, line("baguette", 1, "1.00")))
    await project(pg_url, MODEL, log.events)

    assert await daily(pg_url, "born") == {
        ("baguette", date(2026, 1, 9)): (D(1), D("1.20"), 1),
        ("baguette", date(2026, 1, 10)): (D(2), D("2.40"), 1),
    }
    assert await daily(pg_url, "laguna") == {("baguette", date(2026, 1, 9)): (D(3), D("3.30"), 1)}
    # A store whose opening is unknown counts in UTC.
    assert await daily(pg_url, "nowhere") == {("baguette", date(2026, 1, 9)): (D(1), D("1.00"), 1)}
    assert await hourly(pg_url, "born") == {
        ("baguette", date(2026, 1, 9), 23): D(1),
        ("baguette", date(2026, 1, 10), 0): D(2),
    }
    zones = await rows(pg_url, "SELECT store_id, timezone FROM rm_sales_store_timezones ORDER BY 1")
    assert [(z["store_id"], z["timezone"]) for z in zones] == [
        ("born", "Europe/Madrid"),
        ("laguna", "Atlantic/Canary"),
    ]


async def test_hours_follow_daylight_saving_time(pg_url: str) -> None:
    log = Log()
    log.add(T, "store-born", opened("born", "Europe/Madrid"))
    # 29 March 2026: 02:00 CET becomes 03:00 CEST (01:00 UTC); local hour 2 does not exist.
    for txn, at in (
        ("T1", utc(2026, 3, 29, 0, 30)),  # 01:30 CET
        ("T2", utc(2026, 3, 29, 1, 30)),  # 03:30 CEST
        ("T3", utc(2026, 3, 29, 22, 30)),  # 00:30 CEST on the 30th
        ("T4", utc(2026, 3, 28, 22, 30)),  # 23:30 CET on the 28th
        ("T5", utc(2026, 10, 25, 0, 30)),  # 02:30 CEST, before falling back
        ("T6", utc(2026, 10, 25, 1, 30)),  # 02:30 CET, the same local hour again
    ):
        log.add(T, sale_stream("born", txn), sale("born", txn, at, line("croissant", 1, "1.50")))
    await project(pg_url, MODEL, log.events, batch=2)

    assert await hourly(pg_url, "born") == {
        ("croissant", date(2026, 3, 28), 23): D(1),
        ("croissant", date(2026, 3, 29), 1): D(1),
        ("croissant", date(2026, 3, 29), 3): D(1),
        ("croissant", date(2026, 3, 30), 0): D(1),
        ("croissant", date(2026, 10, 25), 2): D(2),
    }
    assert (await daily(pg_url, "born"))[("croissant", date(2026, 3, 29))][0] == D(2)


async def test_voids_and_refunds_come_off_the_day_the_ticket_was_sold(pg_url: str) -> None:
    log = Log()
    log.add(T, "store-born", opened("born", "Europe/Madrid"))
    morning = utc(2026, 2, 14, 8, 15)
    log.add(
        T,
        "sale-born-T10",
        sale(
            "born",
            "T10",
            morning,
            line("baguette", 3, "1.20"),
            line("ensaimada", 2, "2.50", "0.50"),
        ),
    )
    log.add(T, "sale-born-T11", sale("born", "T11", morning, line("baguette", 1, "1.20")))
    await project(pg_url, MODEL, log.events)
    day = date(2026, 2, 14)
    assert (await daily(pg_url, "born"))[("ensaimada", day)] == (D(2), D("4.50"), 1)

    start = len(log.events)
    next_day = utc(2026, 2, 15, 9, 0)
    log.add(
        T,
        "sale-born-T10",
        SaleRefunded(
            occurred_at=next_day,
            store_id="born",
            pos_txn_id="T10",
            refund_id="R1",
            lines=(RefundLine(sku="baguette", quantity=D(1), amount=D("1.20")),),
            amount=D("1.20"),
            reason="burnt",
        ),
    )
    log.add(
        T,
        "sale-born-T11",
        SaleVoided(occurred_at=next_day, store_id="born", pos_txn_id="T11", reason="keyed twice"),
    )
    await project(pg_url, MODEL, log.events[start:])

    assert await daily(pg_url, "born") == {
        ("baguette", day): (D(2), D("2.40"), 1),  # 3 + 1 sold, 1 refunded, T11 voided
        ("ensaimada", day): (D(2), D("4.50"), 1),
    }
    assert (await hourly(pg_url, "born"))[("baguette", day, 9)] == D(2)  # 09:15 in Madrid
    t10 = await one(pg_url, "SELECT * FROM rm_sales_tickets WHERE pos_txn_id = 'T10'")
    assert t10["total"] == D("8.10") and t10["units"] == D(5) and t10["line_count"] == 2
    assert t10["refunded_amount"] == D("1.20") and t10["net_amount"] == D("6.90")
    assert t10["net_units"] == D(4) and t10["refunds"] == 1 and t10["voided"] is False
    assert (t10["sales_date"], t10["hour"]) == (day, 9)
    t11 = await one(pg_url, "SELECT * FROM rm_sales_tickets WHERE pos_txn_id = 'T11'")
    assert t11["voided"] is True and t11["void_reason"] == "keyed twice"
    assert t11["net_amount"] == 0 and t11["total"] == D("1.20")


async def test_tenants_never_mix(pg_url: str) -> None:
    log = Log()
    log.add(T, "store-born", opened("born", "Europe/Madrid"))
    log.add("pa-de-casa", "store-born", opened("born", "Atlantic/Canary"))
    at = utc(2026, 1, 9, 23, 30)
    log.add(T, "sale-born-T1", sale("born", "T1", at, line("baguette", 2, "1.20")))
    log.add("pa-de-casa", "sale-born-T1", sale("born", "T1", at, line("baguette", 5, "0.90")))
    await project(pg_url, MODEL, log.events)
    assert await daily(pg_url, "born") == {("baguette", date(2026, 1, 10)): (D(2), D("2.40"), 1)}
    assert await daily(pg_url, "born", "pa-de-casa") == {
        ("baguette", date(2026, 1, 9)): (D(5), D("4.50"), 1)
    }
