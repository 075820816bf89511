"""The rate-limit window: a sliding estimate, O(1) per request, and how long to wait."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from eventually import eventually
from http_kit import NORTH, bearer, bootstrap, scratch
from litestar.testing import AsyncTestClient

from deploy.stack import StackUrls
from read_api.app import create_app
from read_api.keys import create_api_key
from read_api.ratelimit import PRUNE_AT, RateLimits, SharedCounts, Window
from streams.store import EventStore


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_allows_the_limit_then_says_how_long_to_wait() -> None:
    clock = Clock(600.0)  # the start of a minute window
    window = Window(("minute", 3), clock)
    assert [window.hit("a") for _ in range(3)] == [None, None, None]
    wait = window.hit("a")
    assert wait is not None and 59 <= wait <= 60
    assert window.hit("b") is None  # another key has its own budget


def test_the_previous_window_slides_out_gradually() -> None:
    clock = Clock(600.0)
    window = Window(("minute", 10), clock)
    for _ in range(10):
        assert window.hit("a") is None
    clock.now = 660.0  # next window: the previous 10 still weigh fully
    assert window.hit("a") is not None
    clock.now = 690.0  # half of it has slid out: it weighs 5, so 5 more fit
    assert [window.hit("a") for _ in range(5)] == [None] * 5
    # Full again; one more slot frees once a tenth of the previous window has slid out.
    assert window.hit("a") == pytest.approx(6.0)


def test_a_refusal_does_not_count_and_an_idle_key_starts_afresh() -> None:
    clock = Clock(0.0)
    window = Window(("second", 2), clock)
    assert window.hit("a") is None and window.hit("a") is None
    for _ in range(100):
        assert window.hit("a") is not None
    clock.now = 5.0
    assert window.hit("a") is None


def test_old_keys_are_pruned() -> None:
    clock = Clock(0.0)
    window = Window(("second", 1), clock)
    for i in range(PRUNE_AT):
        window.hit(f"k{i}")
    clock.now = 10.0
    window.hit("fresh")
    window.hit("fresh-2")
    assert len(window._counts) <= 2


@pytest.mark.parametrize("unit", ["second", "minute", "hour"])
def test_every_unit_is_a_number_of_seconds(unit: str) -> None:
    window = Window((unit, 1), Clock())  # type: ignore[arg-type]
    assert window.hit("a") is None and window.hit("a") is not None


def test_a_burst_at_the_end_of_a_window_is_not_let_through_again_at_the_start() -> None:
    clock = Clock(59.9)
    window = Window(("minute", 2), clock)
    assert window.hit("a") is None and window.hit("a") is None
    clock.now = 60.1
    assert window.hit("a") is not None


# --- shared through PostgreSQL: two processes, one budget ---------------------


@pytest.fixture(scope="module")
async def shared_url(stack: StackUrls) -> AsyncIterator[str]:
    for made in scratch(stack.database_url):
        await bootstrap(made.url)
        yield made.url


async def test_two_processes_share_one_budget_once_they_have_synced(shared_url: str) -> None:
    clock = Clock(600.0)  # the start of a minute window
    a, b = SharedCounts(), SharedCounts()
    wa, wb = a.add(("minute", 5), "caller"), b.add(("minute", 5), "caller")
    wa.clock = wb.clock = clock
    async with await EventStore.open(shared_url, min_size=1, max_size=2) as store:
        assert [wa.hit("k") for _ in range(3)] == [None] * 3
        assert wb.hit("k") is None
        for counts in (a, b, a):
            await counts.sync(store.pool)
        assert wb.hit("k") is None  # the fifth of the node's five
        assert wb.hit("k") is not None
        assert wb.hit("other") is None  # another key keeps its own budget
        for counts in (b, a):
            await counts.sync(store.pool)
        wait = wa.hit("k")
        assert wait is not None and 59 <= wait <= 60


async def test_two_apps_on_one_database_refuse_together(shared_url: str) -> None:
    key = bearer(create_api_key(shared_url, NORTH, "planner", "shared budget"))
    limits = RateLimits(per_address=None, login_per_address=None, per_caller=("minute", 4))
    first, second = (create_app(shared_url, rate_limits=limits) for _ in range(2))
    async with AsyncTestClient(app=first) as one, AsyncTestClient(app=second) as two:
        for client in (one, one, two):
            assert (await client.get("/v1/inventory", headers=key)).status_code == 200

        async def refused_by_both() -> bool:
            # The two learn each other's hits within a sync (1 s); every probe counts too.
            answers = [await c.get("/v1/inventory", headers=key) for c in (one, two)]
            return all(a.status_code == 429 for a in answers)

        await eventually(refused_by_both, timeout=10, every=0.3)
