"""Time is an input: the alerts the live projector built equal a rebuild from history.

A bakery chain made by the real command handlers on PostgreSQL runs for three
days with the scheduler's ``Tick`` every few hours, a stock policy that runs
dry, and people acknowledging, snoozing and resolving alerts through the
commands (ids read from the live model, as a user would). The live model is
followed in small batches as the history grows; the runtime's rebuild then
replays the whole store into shadow tables: byte for byte the same rows.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from test_models_determinism import PLANNER, TENANTS, Chain
from test_models_kit import decoded, dump, project, rows

from commands.types import (
    AcknowledgeAlert,
    ResolveAlert,
    SetAlertSettings,
    SetProductStockPolicy,
    SnoozeAlert,
    Tick,
)
from projections.models import AlertsModel
from projections.rebuild import rebuild, verify
from streams.store import EventStore

D = Decimal
MODEL = AlertsModel()


class Live:
    """The live projector, in small batches, over what the store holds so far."""

    def __init__(self, store: EventStore, pg_url: str) -> None:
        self.store, self.pg_url, self.position = store, pg_url, 0

    async def follow(self) -> None:
        while batch := await self.store.read_all(after=self.position, limit=500):
            await project(self.pg_url, MODEL, decoded(batch), batch=[1, 4, 9])
            self.position = batch[-1].position

    async def open_alerts(self, tenant: str) -> list[dict[str, object]]:
        await self.follow()
        return await rows(
            self.pg_url,
            "SELECT alert_id, type, status FROM rm_alerts"
            " WHERE tenant_id = %s AND status <> 'resolved' ORDER BY alert_id",
            tenant,
        )


async def ticks(chain: Chain, hours: int) -> None:
    for _ in range(hours // 4):
        chain.now += timedelta(hours=4)
        await chain.run(Tick(at=chain.now), actor=PLANNER, minutes=0)


async def test_rebuild_equals_the_live_alerts(pg_store: EventStore, pg_url: str) -> None:
    tenant = TENANTS[0]
    chain = Chain(pg_store, tenant, random.Random(7))
    live = Live(pg_store, pg_url)
    await chain.set_up()
    await chain.run(SetAlertSettings(expiry_warning_days=2))
    for outlet in ("born", "laguna"):
        await chain.run(
            SetProductStockPolicy(
                sku="croissant", store_id=outlet, reorder_point=D(12), target_stock=D(40)
            )
        )
    for n in range(3):
        await chain.day(n)
        await ticks(chain, 24)
        found = await live.open_alerts(tenant)
        assert found, f"day {n}: the chain should need attention"
        first, last = found[0]["alert_id"], found[-1]["alert_id"]
        await chain.run(AcknowledgeAlert(alert_id=str(first), note="on it"))
        if n == 0:
            until = chain.now + timedelta(hours=5)
            await chain.run(SnoozeAlert(alert_id=str(last), until=until))
        else:
            await chain.run(ResolveAlert(alert_id=str(last), note="handled at the counter"))
    await ticks(chain, 80)  # long enough to escalate what nobody acknowledged
    await live.follow()
    kinds = await rows(pg_url, "SELECT DISTINCT type, status FROM rm_alerts ORDER BY 1, 2")
    assert {k["type"] for k in kinds} >= {"low_stock", "lot_expiring"}
    assert {k["status"] for k in kinds} >= {"acknowledged", "resolved"}
    escalated = await rows(pg_url, "SELECT count(*) AS n FROM rm_alerts WHERE escalation > 0")
    assert escalated[0]["n"] > 0
    before = await dump(pg_url, [MODEL])

    result = await rebuild(pg_store, MODEL)
    assert result.position == live.position
    assert await dump(pg_url, [MODEL]) == before
    assert set((await verify(pg_store, MODEL)).values()) == {(0, 0)}
