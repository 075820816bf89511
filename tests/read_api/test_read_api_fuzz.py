"""No input gets a 5xx: schemathesis (all checks) over the whole OpenAPI, real servers.

The small run here is the one ``make test`` can afford; ``make fuzz`` runs
``python -m deploy.fuzz_api`` with at least 5,000 requests.
"""

from __future__ import annotations

import httpx
import pytest

from deploy.fuzz_api import Tally, fuzz, tallied
from deploy.stack import StackUrls


@pytest.mark.slow
def test_a_few_hundred_fuzzed_requests_find_no_5xx_and_no_failed_check(
    stack: StackUrls,
) -> None:
    # The examples and fuzzing phases only: coverage and stateful take minutes whatever the
    # example count, and ``make fuzz`` runs every phase.
    figures = fuzz(
        stack.database_url,
        target=300,
        max_seconds=240,
        min_examples=2,
        phases="examples,fuzzing",
    )
    assert figures.requests >= 300
    assert figures.server_errors == 0, figures
    assert figures.check_failures == {}, figures
    assert figures.bad_problems == [], figures
    assert figures.problems_checked > 50  # the fuzzer did reach the error paths
    assert figures.answers.get("2xx", 0) > 25  # …and the data behind the key
    assert figures.healthy_at_end and figures.ok


async def test_the_tally_catches_a_5xx_and_an_error_that_is_no_problem_document() -> None:
    async def broken(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        await send({"type": "http.response.start", "status": 500, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b"Internal Server Error"})  # type: ignore[operator]

    tally = Tally()
    transport = httpx.ASGITransport(app=tallied(broken, tally))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        assert (await http.get("/v1/inventory")).status_code == 500
    assert tally.statuses == {500: 1}
    assert tally.bad_problems == ["GET /v1/inventory → 500: content-type ''"]
