"""In a real Chromium, two agents' desktops: agent1 takes a call, consults agent2 (the caller on
hold), completes the transfer; agent2's desktop gets the consult, then the call with its screen
pop, and hangs up. The call history shows one call, transferred once, ending with agent2."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from contactcenter.harness import RunningSystem, running_system
from contactcenter.ids import CallId
from contactcenter.records import Outcome
from contactcenter.seed import DEMO_PASSWORD
from contactcenter.settings import AgiSettings, HttpSettings, QueueSettings, Settings

pytestmark = pytest.mark.browser


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
    async with running_system(settings, n_agents=2, n_customers=5) as running:
        yield running


async def _login_ready(page: Page, base_url: str, username: str) -> None:
    await page.goto(f"{base_url}/desktop")
    await page.get_by_test_id("login-username").fill(username)
    await page.get_by_test_id("login-password").fill(DEMO_PASSWORD)
    await page.get_by_test_id("login-submit").click()
    state = page.get_by_test_id("state-label")
    await expect(state).to_contain_text("Not ready", ignore_case=True)
    await page.get_by_test_id("btn-ready").click()
    await expect(state).not_to_contain_text("Not", ignore_case=True)


async def test_warm_transfer_between_two_desktops(
    browser: Browser, system: RunningSystem, artifacts: Path
) -> None:
    customer = await system.runtime.db.customers.find_by_phone(system.data.known_numbers[1])
    assert customer is not None
    first = await browser.new_page(viewport={"width": 1366, "height": 768})
    second = await browser.new_page(viewport={"width": 1366, "height": 768})
    errors: list[str] = []
    for page in (first, second):
        page.on("pageerror", lambda exc: errors.append(str(exc)))

    await _login_ready(first, system.base_url, "agent1")
    call = asyncio.create_task(
        system.pbx.place_call(customer.phones[0], "100", patience_s=60.0, talk_s=60.0)
    )
    await expect(first.get_by_test_id("screen-pop")).to_be_visible(timeout=10_000)
    await first.get_by_test_id("btn-answer").click()
    await expect(first.get_by_test_id("call-panel")).to_be_visible(timeout=10_000)
    call_id = CallId(await first.get_by_test_id("screen-pop").get_attribute("data-call-id") or "")
    truth = system.pbx.truth.calls[-1]

    # hold and resume from the buttons
    await first.get_by_test_id("btn-hold").click()
    await expect(first.get_by_test_id("btn-unhold")).to_be_visible(timeout=10_000)
    await first.get_by_test_id("btn-unhold").click()
    await expect(first.get_by_test_id("btn-hold")).to_be_visible(timeout=10_000)
    assert (truth.holds, truth.resumes) == (1, 1)

    await _login_ready(second, system.base_url, "agent2")
    await first.get_by_test_id("btn-transfer").click()
    await first.get_by_test_id("transfer-mode").select_option("attended")
    await first.get_by_test_id("transfer-kind").select_option("agent")
    await first.get_by_test_id("transfer-target").fill("agent2")
    await first.get_by_test_id("transfer-go").click()

    await expect(first.get_by_test_id("transfer-status")).to_contain_text("agent2", timeout=10_000)
    banner = second.get_by_test_id("consult-banner")
    await expect(banner).to_be_visible(timeout=10_000)
    await expect(banner).to_contain_text(customer.name)
    await first.screenshot(path=str(artifacts / "warm-transfer-consulting.png"))

    await first.get_by_test_id("btn-transfer-complete").click()
    await expect(first.get_by_test_id("wrapup-panel")).to_be_visible(timeout=10_000)
    await expect(second.get_by_test_id("call-panel")).to_be_visible(timeout=10_000)
    await expect(second.get_by_test_id("pop-customer-name")).to_have_text(customer.name)
    await expect(banner).to_be_hidden()
    await second.screenshot(path=str(artifacts / "warm-transfer-target.png"))

    await second.get_by_test_id("btn-hangup").click()
    await expect(second.get_by_test_id("wrapup-panel")).to_be_visible(timeout=10_000)
    await asyncio.wait_for(call, 10)
    await system.runtime.writer.flush()
    record = await system.runtime.db.calls.get(call_id)
    assert record is not None
    assert record.agent_id == "agent2" and record.transferred == 1
    assert record.outcome is Outcome.ANSWERED and record.hold_s > 0
    assert errors == [], f"the pages raised: {errors}"
