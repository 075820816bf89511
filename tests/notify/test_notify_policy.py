"""When a notification goes out (severity, quiet hours, digest), retry delays, signatures."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from domain.notify import QuietHours
from domain.notify_policy import backoff, is_quiet, local_day, next_digest, plan
from domain.notify_sign import sign, verify

MADRID = QuietHours(start_hour=22, end_hour=6, timezone="Europe/Madrid", digest_hour=7)


def madrid(day: int, hour: int, minute: int = 0) -> datetime:
    """A March 2026 Madrid local time (UTC+1 before the 29th) as UTC."""
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC) - timedelta(hours=1)


class TestQuietHours:
    @pytest.mark.parametrize(
        ("hour", "quiet"), [(21, False), (22, True), (23, True), (3, True), (5, True), (6, False)]
    )
    def test_a_window_across_midnight_in_local_time(self, hour: int, quiet: bool) -> None:
        assert is_quiet(MADRID, madrid(10, hour, 30)) is quiet

    def test_equal_hours_mean_never_quiet(self) -> None:
        assert not is_quiet(QuietHours(3, 3, "UTC"), datetime(2026, 3, 1, 3, tzinfo=UTC))

    def test_a_window_within_one_day(self) -> None:
        lunch = QuietHours(13, 15, "UTC")
        assert is_quiet(lunch, datetime(2026, 3, 1, 14, 59, tzinfo=UTC))
        assert not is_quiet(lunch, datetime(2026, 3, 1, 15, tzinfo=UTC))


class TestPlan:
    def test_urgent_goes_at_once_even_in_quiet_hours(self) -> None:
        at = madrid(10, 23)
        assert plan("urgent", at, MADRID).due_at == at
        assert plan("urgent", at, MADRID).mode == "now"

    def test_high_waits_for_the_end_of_quiet_hours(self) -> None:
        assert plan("high", madrid(10, 23), MADRID).due_at == madrid(11, 6)
        assert plan("high", madrid(11, 2), MADRID).due_at == madrid(11, 6)
        assert plan("high", madrid(11, 9), MADRID).due_at == madrid(11, 9)

    @pytest.mark.parametrize("severity", ["low", "medium"])
    def test_low_and_medium_wait_for_the_next_digest(self, severity: str) -> None:
        assert plan(severity, madrid(10, 8), MADRID) == plan(severity, madrid(11, 6, 59), MADRID)
        assert plan(severity, madrid(10, 8), MADRID).due_at == madrid(11, 7)
        assert plan(severity, madrid(10, 8), MADRID).mode == "digest"

    def test_a_digest_hour_inside_quiet_hours_moves_to_their_end(self) -> None:
        early = QuietHours(22, 6, "Europe/Madrid", digest_hour=4)
        assert next_digest(early, madrid(10, 8)) == madrid(11, 6)

    def test_the_digest_follows_daylight_saving_time(self) -> None:
        # Madrid moves to UTC+2 on 29 March 2026: 07:00 local is 05:00 UTC on the 30th
        due = next_digest(MADRID, madrid(29, 8))
        assert due == datetime(2026, 3, 30, 5, tzinfo=UTC)
        assert local_day(MADRID, due).isoformat() == "2026-03-30"


class TestBackoff:
    def test_doubles_is_capped_and_jitters_within_half(self) -> None:
        assert [backoff(n, 2, 60, lambda: 1.0) for n in (1, 2, 3, 4, 8)] == [2, 4, 8, 16, 60]
        assert [backoff(n, 2, 60, lambda: 0.0) for n in (1, 2, 3)] == [1, 2, 4]


class TestSignature:
    def test_the_receiver_verifies_and_refuses_tampering_and_replays(self) -> None:
        body, secret, now = b'{"kind":"alert"}', "s3cret-s3cret-s3cret", int(time.time())
        signature = sign(secret, now, body)
        assert signature.startswith("sha256=")
        assert verify(secret, str(now), signature, body, now=now)
        assert not verify(secret, str(now), signature, body + b" ", now=now)
        assert not verify("another-secret-0000", str(now), signature, body, now=now)
        assert not verify(secret, str(now), signature, body, now=now + 301)
        assert not verify(secret, "soon", signature, body, now=now)
