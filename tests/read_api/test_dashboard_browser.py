"""The 5 AM page in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

A phone-sized window loads the page, signs in with e-mail and password, sees
the action queue, acknowledges an alert and confirms the overnight plan, and
sees both leave the queue — through the real API, relay, NATS and projectors.
Skipped only when no Chromium is installed and ``apt-get`` cannot install one.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from dashboard_kit import NOW, TENANT, bake_day
from http_kit import Scratch, bearer, scratch

from deploy.fuzz_api import _free_port, projecting
from deploy.stack import StackUrls
from domain.events.organisation import Role
from projections.rebuild import rebuild
from projections.registry import all_models
from read_api.app import create_app
from read_api.keys import create_api_key
from read_api.ratelimit import RateLimits
from read_api.users import create_user
from streams.store import EventStore

playwright_api = pytest.importorskip("playwright.async_api")

EMAIL = "olga@horno.example"
PASSWORD = "five in the morning"
PHONE = {"width": 390, "height": 844}
WAIT_MS = 15_000


def _installed() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _install_chromium() -> str | None:
    """Debian's chromium through apt-get (root only); None when that is not possible."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        for args in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
            subprocess.run(args, check=True, capture_output=True, timeout=600, env=env)
    except (OSError, subprocess.SubprocessError):
        return None
    return _installed()


@pytest.fixture(scope="module")
def chromium() -> str:
    found = _installed() or _install_chromium()
    if found is None:
        pytest.skip("no chromium, and apt-get could not install it")
    return found


@pytest.fixture(scope="module")
def day_db(stack: StackUrls) -> Iterator[Scratch]:
    yield from scratch(stack.database_url)


@pytest.fixture(scope="module")
async def site(day_db: Scratch, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """The baked day, a person who logs in, the pipeline and the API on a free port."""
    await bake_day(day_db.url)
    store = await EventStore.open(day_db.url)
    try:
        await create_user(
            store, store.pool, tenant_id=TENANT, email=EMAIL, name="Olga",
            role=Role.OWNER, password=PASSWORD,
        )  # fmt: skip
    finally:
        await store.close()
    app = create_app(day_db.url, clock=lambda: NOW, rate_limits=RateLimits.off())
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="dash-api", daemon=True)
    with projecting(day_db.url, tmp_path_factory.mktemp("dash-nats")):
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
            await asyncio.sleep(0.05)  # uvicorn says when it listens
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(timeout=15)


async def test_sign_in_see_the_queue_act_and_see_it_leave(
    chromium: str, site: str, tmp_path: Path
) -> None:
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox"]
        )
        try:
            page = await browser.new_page(viewport=PHONE)
            expect = playwright_api.expect
            await page.goto(site + "/")
            await page.fill("input[name=email]", EMAIL)
            await page.fill("input[name=password]", PASSWORD)
            await page.click("form#login button[type=submit]")

            await expect(page.locator("form#login")).to_be_hidden(timeout=WAIT_MS)
            queue = page.locator("#queue")
            await expect(queue).to_contain_text("What needs you", timeout=WAIT_MS)
            plan = page.locator("li.item[data-ref='plan-barra']")
            await expect(plan).to_have_count(1)
            alert = page.locator("#queue li.item[data-kind=alert]").first
            alert_id = await alert.get_attribute("data-ref")
            assert alert_id
            await expect(page.locator("#health")).to_have_attribute(
                "data-status", re.compile("yellow|red")
            )
            # a phone: nothing wider than the screen
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], width
            await page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

            await alert.get_by_role("button", name="Acknowledge").click()
            gone = page.locator(f"#queue li.item[data-ref='{alert_id}']")
            await expect(gone).to_have_count(0, timeout=WAIT_MS)
            await expect(page.locator("#acknowledged")).to_have_text("1")

            await plan.get_by_role("button", name="Confirm").click()
            await expect(plan).to_have_count(0, timeout=WAIT_MS)
            await expect(page.locator("#notice")).to_have_text("Confirm: done.")
            tomorrow = page.locator("li.item[data-ref='mo-croissant']")
            await tomorrow.locator("input[name=quantity]").fill("35")
            await tomorrow.get_by_role("button", name="Set quantity").click()
            await expect(tomorrow).to_contain_text("35 croissant", timeout=WAIT_MS)
            await page.screenshot(path=str(tmp_path / "dashboard-after.png"), full_page=True)
        finally:
            await browser.close()
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000


async def test_the_dashboard_after_a_rebuild_equals_the_live_one(
    site: str, day_db: Scratch
) -> None:
    """Queries over the read models (ADR 0011): rebuilding every model changes nothing."""
    key = bearer(create_api_key(day_db.url, TENANT, "owner", "rebuild check"))
    store = await EventStore.open(day_db.url)
    try:
        head = await store.head_position()
        async with httpx.AsyncClient(base_url=site, headers=key, timeout=20) as client:
            live = await client.get("/v1/dashboard", params={"min_position": head})
            assert live.status_code == 200, live.text
            for model in all_models():
                await rebuild(store, model)
            rebuilt = await client.get("/v1/dashboard")
    finally:
        await store.close()
    assert rebuilt.json() == live.json()
    assert live.json()["action_queue"]["urgent"]  # not an empty comparison
