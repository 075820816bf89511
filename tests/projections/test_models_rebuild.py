"""The four read models through the runtime's own rebuild (shadow copies, swap) and verify.

A history made by the real handlers on the PostgreSQL store is projected in
small batches into the live tables (as the live projector would), then
``projections.rebuild.rebuild`` rebuilds each model from the store in big
chunks into shadow copies and swaps them in: the tables must be identical,
and ``verify`` must find no difference.
"""

from __future__ import annotations

import random

from test_models_determinism import TENANTS, Chain
from test_models_kit import decoded, dump, project

from projections.models import ALL_MODELS
from projections.rebuild import rebuild, verify
from streams.store import EventStore


async def test_rebuild_equals_the_live_projection(pg_store: EventStore, pg_url: str) -> None:
    rnd = random.Random(11)
    chains = [Chain(pg_store, tenant, rnd) for tenant in TENANTS]
    for chain in chains:
        await chain.set_up()
    for chain in chains:
        await chain.day(0)
    events = decoded(await pg_store.read_all(limit=100_000))
    await project(pg_url, ALL_MODELS, events, batch=7)
    live = await dump(pg_url, ALL_MODELS)

    for model in ALL_MODELS:
        result = await rebuild(pg_store, model)
        assert result.position == events[-1][0].position
    assert await dump(pg_url, ALL_MODELS) == live
    for model in ALL_MODELS:
        assert set((await verify(pg_store, model)).values()) == {(0, 0)}, model.name
