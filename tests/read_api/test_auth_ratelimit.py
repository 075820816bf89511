"""The rate-limit window: a sliding estimate, O(1) per request, and how long to wait."""

from __future__ import annotations

import pytest

from read_api.ratelimit import PRUNE_AT, Window


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
