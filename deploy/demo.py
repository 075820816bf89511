"""``obrador demo``: a small bakery chain, loaded through the paths a real bakery uses.

Three stores and three products of the ddop chain (real daily demand, kept in
``deploy/data/ddop-bakery``) over the last six weeks of the file, relabelled as
a Spanish chain. Everything goes through ``commands.handlers.handle``, as the
API, the POS and the importer do: the tenant is created, its stores opened and
its products defined; every morning each store receives the day's bake as a lot,
every evening one ticket records the day's sales (FIFO from the lots), and the
scheduler's close (23:30) and expiry (00:05) end the day (``deploy/demo_days.py``).
Every command carries an idempotency key derived from the data or decides from
the books it finds, so loading twice adds nothing.

Then the demo plans its own next day, as the 05:00 job would: the read models
the forecaster reads are brought up to date (``projections`` rebuild, the same
as ``obrador projections rebuild``), one model per series is trained and
registered (``forecasting`` registry) and the forecasts and suggested
production orders for the day after the last day of sales are published
(``forecasting`` publish): Madrid Centro is the chain's workshop for both
Madrid stores (one order per product with a transfer plan), Alcalá bakes its
own. The alerts' clock then ticks at 04:00 Madrid of that
day. The books and the week's waste are printed and ``--check`` verifies the
load and the stock invariants (``deploy/demo_check.py``), exit 0/1.
"""

from __future__ import annotations

import asyncio
import functools
import time as clock
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import polars as pl

from commands.day_close import SCHEDULER
from commands.handlers import handle
from commands.handlers.alerts import tick_now
from commands.runtime import CommandResult
from commands.types import (
    CloseDayFromBooks,
    Command,
    CreateTenant,
    DeclareWorkshop,
    DefineProduct,
    ExpireStock,
    OpenStore,
    SetProductStockPolicy,
)
from deploy.demo_days import (
    TIMEZONE,
    DemoSale,
    Product,
    bakes,
    day_commands,
    local,
)
from deploy.demo_days import utc as _at
from deploy.sample_data import ddop_frame
from domain.access import Actor
from domain.errors import AlreadyExists
from domain.events.organisation import Role, StoreKind, TenantKind
from streams.store import EventStore

TENANT = "demo-obrador"
TENANT_NAME = "Obrador Demo"
DAYS = 42  # six weeks: every series has the four weeks the forecaster needs
ACTOR = Actor(user_id="demo", role=Role.OWNER)
#: ddop store code -> (store id, name)
STORES = {
    "2": ("madrid-centro", "Obrador Madrid Centro"),
    "3": ("madrid-norte", "Obrador Madrid Norte"),
    "4": ("alcala", "Obrador Alcalá"),
}
#: the one central workshop: Madrid Centro bakes for both Madrid stores (Alcalá bakes its own)
WORKSHOP = ("madrid-centro", ("madrid-centro", "madrid-norte"))
#: ddop product code -> (sku, name, price, unit cost, shelf life in days)
PRODUCTS = {
    "101": ("barra", "Barra de pan", Decimal("1.10"), Decimal("0.32"), 1),
    "109": ("croissant", "Croissant", Decimal("1.60"), Decimal("0.55"), 2),
    "110": ("napolitana", "Napolitana de chocolate", Decimal("1.80"), Decimal("0.60"), 2),
}
BAKED_AT = 5  # UTC hour of the morning lot
#: the one store × product that stocks on purpose ("tell me when it is out", reorder point
#: 1) and sells out on the demo's last day (a short bake): the stockout the demo ends with
SOLD_OUT = ("3", "109")


@functools.cache
def real_sales(days: int = DAYS) -> tuple[DemoSale, ...]:
    """The last ``days`` days of real demand for the demo stores and products (read once)."""
    frame = ddop_frame().filter(
        pl.col("store").cast(pl.String).is_in(list(STORES))
        & pl.col("product").cast(pl.String).is_in(list(PRODUCTS))
    )
    last: date = frame["date"].max()  # type: ignore[assignment]
    frame = frame.filter(pl.col("date") > last - timedelta(days=days)).sort(
        "date", "store", "product"
    )
    return tuple(
        DemoSale(day, str(store), str(product), int(demand))
        for day, store, product, demand in frame.select(
            "date", "store", "product", "demand"
        ).iter_rows()
    )


def last_day() -> date:
    """The last day of real sales the demo loads."""
    return max(s.day for s in real_sales())


def plan_day() -> date:
    """The day the demo plans: the day after its last day of sales."""
    return last_day() + timedelta(days=1)


# ------------------------------------------------------------------ the commands


def setup_commands(start: datetime) -> list[Command]:
    """The tenant, its stores and its catalogue."""
    commands: list[Command] = [
        CreateTenant(
            name=TENANT_NAME, kind=TenantKind.MULTI_SHOP, occurred_at=start, idempotency_key="demo"
        )
    ]
    commands += [
        OpenStore(
            store_id=store_id,
            name=name,
            kind=StoreKind.SHOP,
            timezone=TIMEZONE,
            region="ES-MD",
            occurred_at=start,
            idempotency_key=f"demo-{store_id}",
        )
        for store_id, name in STORES.values()
    ]
    commands.append(
        DeclareWorkshop(
            store_id=WORKSHOP[0],
            serves=WORKSHOP[1],
            occurred_at=start,
            idempotency_key=f"demo-workshop-{WORKSHOP[0]}",
        )
    )
    commands += [
        DefineProduct(
            sku=sku,
            name=name,
            category="panadería",
            price=price,
            unit_cost=cost,
            shelf_life_days=shelf,
            occurred_at=start,
            idempotency_key=f"demo-{sku}",
        )
        for sku, name, price, cost, shelf in PRODUCTS.values()
    ]
    store_code, product_code = SOLD_OUT
    commands.append(
        SetProductStockPolicy(
            sku=PRODUCTS[product_code][0],
            store_id=STORES[store_code][0],
            reorder_point=Decimal(1),
            target_stock=Decimal(20),
            occurred_at=start,
            idempotency_key=f"demo-policy-{STORES[store_code][0]}-{PRODUCTS[product_code][0]}",
        )
    )
    return commands


def series_commands(days: Sequence[DemoSale]) -> list[Command]:
    """Every day of one store × product (``days`` in date order): bake, ticket, close, expiry."""
    if not days:
        return []
    store_id = STORES[days[0].store][0]
    sku, _, price, cost, shelf = PRODUCTS[days[0].product]
    short = frozenset({last_day()}) if (days[0].store, days[0].product) == SOLD_OUT else frozenset()
    product = Product(sku, price, cost, shelf)
    commands: list[Command] = []
    for sale, bake in zip(days, bakes(days, shelf, short), strict=True):
        commands += day_commands(store_id, product, sale, bake)
    return commands


# ------------------------------------------------------------------ loading


@dataclass
class LoadReport:
    commands: int = 0
    appended: int = 0  # commands that wrote something now
    already: int = 0  # commands found already applied
    idle: int = 0  # a close or an expiry that found nothing (more) to do
    failed: list[str] = field(default_factory=list)

    def count(self, result: CommandResult | None, problem: str | None = None) -> None:
        self.commands += 1
        if problem is not None:
            self.failed.append(problem)
        elif result is None or result.duplicate:
            self.already += 1
        elif not any(not a.duplicate for a in result.appended):
            self.idle += 1
        else:
            self.appended += 1


async def _apply(store: EventStore, command: Command, report: LoadReport) -> None:
    # the close and the expiry are the scheduler's, as on a node
    actor = SCHEDULER if isinstance(command, CloseDayFromBooks | ExpireStock) else ACTOR
    try:
        result = await handle(command, store, tenant_id=TENANT, actor=actor)
    except AlreadyExists:  # created earlier without the demo's key: the fact is there
        report.count(None)
    except Exception as problem:  # reported, never hidden
        report.count(None, f"{type(command).__name__}: {problem}")
    else:
        report.count(result)


async def load_demo(store: EventStore, sales: Sequence[DemoSale] | None = None) -> LoadReport:
    """Apply every demo command through the handlers, one task per store and product."""
    sales = real_sales() if sales is None else sales
    report = LoadReport()
    start = _at(min(s.day for s in sales) - timedelta(days=1), BAKED_AT)
    for command in setup_commands(start):
        await _apply(store, command, report)

    async def one_series(store_code: str, product_code: str) -> None:
        # a series touches its own sale and stock streams only: series load side by side
        days = sorted(
            (s for s in sales if (s.store, s.product) == (store_code, product_code)),
            key=lambda s: s.day,
        )
        for command in series_commands(days):
            await _apply(store, command, report)

    await asyncio.gather(*(one_series(s, p) for s in STORES for p in PRODUCTS))
    return report


# ------------------------------------------------------------------ planning


@dataclass
class PlanReport:
    trained: int = 0
    forecasts: int = 0
    orders: int = 0  # the stores' own suggested orders
    workshop_orders: list[str] = field(default_factory=list)  # one line each, for people
    problems: list[str] = field(default_factory=list)


async def plan_next_day(database_url: str, store: EventStore) -> PlanReport:
    """Forecast and plan the day after the demo's last day, as the nightly jobs would."""
    from forecasting.ops.publish import publish_plan
    from forecasting.ops.registry import RegistryError, list_series, train_and_register

    report = PlanReport()
    await bring_up_to_date(store)
    through = last_day()
    for key in await asyncio.to_thread(list_series, database_url, TENANT):
        job_id = f"demo:{key.store_id}:{key.sku}:{through.isoformat()}"
        try:
            version = await asyncio.to_thread(
                train_and_register, database_url, key, through=through, job_id=job_id
            )
        except RegistryError as problem:
            report.problems.append(str(problem))
            continue
        report.trained += version is not None
    plan = await publish_plan(database_url, TENANT, day=plan_day())
    for result in plan.series:
        report.forecasts += 1
        report.orders += result.order_id is not None
    report.workshop_orders = [
        f"{w.workshop_id} bakes {w.quantity} {w.sku} on {w.production_day}: "
        + ", ".join(f"{units} to {store_id}" for store_id, units in w.transfers.items())
        + f", {w.reserve} kept for the midday top-up"
        for w in plan.workshops
        if w.order_id is not None
    ]
    return report


# ------------------------------------------------------------------ the morning after


def morning() -> datetime:
    """04:00 in Madrid on the planned day: the hour the baker opens the dashboard."""
    return local(plan_day(), time(4))


async def morning_tick(store: EventStore) -> None:
    """The alerts' clock at :func:`morning` (the scheduler's hourly tick, idempotent)."""
    await tick_now(store, TENANT, morning())


async def bring_up_to_date(store: EventStore) -> None:
    """What the forecaster, the plan, the figures and ``--check`` read (as ``obrador
    projections rebuild`` would; the node's projectors then follow the stream)."""
    from projections.models import model_by_name
    from projections.rebuild import rebuild

    for name in ("sales", "inventory", "waste"):
        await rebuild(store, model_by_name(name))


# ------------------------------------------------------------------ the command


async def run_demo(database_url: str, *, check: bool, plan: bool = True) -> bool:
    """Load the demo tenant (and plan its next day); with ``check``, verify it too."""
    from deploy.demo_check import print_figures, verify

    sales = real_sales()
    store = await EventStore.open(database_url)
    try:
        started = clock.perf_counter()
        report = await load_demo(store, sales)
        units = sum(s.units for s in sales)
        stores = ", ".join(store_id for store_id, _ in STORES.values())
        skus = ", ".join(p[0] for p in PRODUCTS.values())
        print(
            f"demo tenant {TENANT!r}: stores {stores}; products {skus}; "
            f"{len(sales)} store-product-days of real sales ({units:,} units) "
            f"from {min(s.day for s in sales)} to {last_day()}"
        )
        print(
            f"  {report.commands} commands: {report.appended} appended now, "
            f"{report.already} already stored, {report.idle} closes/expiries with nothing "
            f"to do, {len(report.failed)} failed "
            f"({clock.perf_counter() - started:.1f} s)"
        )
        for problem in report.failed[:5]:
            print(f"  ! {problem}")
        ok = not report.failed
        if ok and plan:
            planned = await plan_next_day(database_url, store)
            print(
                f"  plan for {plan_day()}: {planned.forecasts} forecasts published, "
                f"{planned.orders} production orders suggested, "
                f"{len(planned.workshop_orders)} workshop orders "
                f"({planned.trained} models trained now)"
            )
            for line in planned.workshop_orders:
                print(f"  workshop order: {line}")
            for problem in planned.problems[:5]:
                print(f"  ! {problem}")
        if ok:
            if not plan:
                await bring_up_to_date(store)
            await morning_tick(store)
            await print_figures(database_url)
        return ok and (not check or await verify(store, sales))
    finally:
        await store.close()
