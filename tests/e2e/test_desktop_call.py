"""In a real Chromium: an agent logs in, goes Ready, gets a screen pop with the caller's name,
answers, hangs up and files a disposition; the customer's history then shows the call."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from contactcenter.harness import RunningSystem, running_system
from contactcenter.seed import DEMO_PASSWORD
from contactcenter.settings import AgiSettings, HttpSettings, QueueSettings, Settings
from tests.conftest import require_service

CHROMIUM = os.environ.get("CC_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("CC_TEST_ARTIFACTS", "test-artifacts"))

pytestmark = pytest.mark.browser


@pytest.fixture
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        require_service("chromium", f"{CHROMIUM} not found (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=chromium,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        await browser.close()


@pytest.fixture
async def system(tmp_path: Path) -> AsyncIterator[RunningSystem]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'cc.db'}",
        http=HttpSettings(port=0),
        agi=AgiSettings(port=0),
        queues=(
            QueueSettings(
                id="support", name="Support", skills=("support",), wrapup_s=30, offer_timeout_s=30
            ),
        ),
    )
    async with running_system(settings, n_agents=1, n_customers=5) as running:
        yield running


async def _login(page: Page, base_url: str, username: str) -> None:
    await page.goto(f"{base_url}/desktop")
    await page.get_by_test_id("login-username").fill(username)
    await page.get_by_test_id("login-password").fill(DEMO_PASSWORD)
    await page.get_by_test_id("login-submit").click()


async def test_agent_takes_a_call_and_files_a_disposition(
    browser: Browser, system: RunningSystem, artifacts: Path
) -> None:
    customer = await system.runtime.db.customers.find_by_phone(system.data.known_numbers[2])
    assert customer is not None
    page = await browser.new_page(viewport={"width": 1366, "height": 768})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    await _login(page, system.base_url, "agent1")
    state = page.get_by_test_id("state-label")
    await expect(state).to_contain_text("Not ready", ignore_case=True)
    await page.get_by_test_id("btn-ready").click()
    await expect(state).to_contain_text("Ready", ignore_case=True)
    await expect(state).not_to_contain_text("Not", ignore_case=True)

    call = asyncio.create_task(
        system.pbx.place_call(customer.phones[0], "100", patience_s=60.0, talk_s=60.0)
    )
    pop = page.get_by_test_id("screen-pop")
    await expect(pop).to_be_visible(timeout=10_000)
    await expect(page.get_by_test_id("pop-customer-name")).to_have_text(customer.name)
    await expect(page.get_by_test_id("pop-account")).to_contain_text(customer.account_number or "")

    await page.get_by_test_id("btn-answer").click()
    await expect(page.get_by_test_id("call-panel")).to_be_visible(timeout=10_000)
    await expect(page.get_by_test_id("btn-answer")).to_be_hidden(timeout=10_000)
    await expect(page.get_by_test_id("pop-customer-name")).to_have_text(customer.name)
    await page.screenshot(path=str(artifacts / "desktop-in-call.png"))
    await page.get_by_test_id("btn-hangup").click()

    await expect(page.get_by_test_id("wrapup-panel")).to_be_visible(timeout=10_000)
    await page.get_by_test_id("disposition-select").select_option("resolved")
    await page.get_by_test_id("disposition-note").fill("Customer asked about the invoice.")
    await page.get_by_test_id("btn-save-disposition").click()
    await expect(page.get_by_test_id("saved-message")).to_be_visible(timeout=10_000)

    truth = await asyncio.wait_for(call, 10)
    assert truth.outcome == "answered" and truth.hung_up_by == "server"

    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{system.base_url}/api/auth/login",
            json={"username": "agent1", "password": DEMO_PASSWORD},
        ) as resp:
            token = (await resp.json())["token"]
        async with http.get(
            f"{system.base_url}/api/customers/{customer.id}/history",
            headers={"Authorization": f"Bearer {token}"},
        ) as resp:
            history = (await resp.json())["calls"]
    assert len(history) == 1
    assert history[0]["outcome"] == "answered"
    assert history[0]["agent_id"] == "agent1"
    assert history[0]["disposition"] == "resolved"
    assert history[0]["note"] == "Customer asked about the invoice."
    assert errors == [], f"the page raised: {errors}"
