"""In a real Chromium: an agent logs in, goes Ready, gets a screen pop with the caller's name
and their earlier calls, answers, hangs up and files a disposition; the customer's history then
shows the call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, expect

from contactcenter.harness import RunningSystem, running_system
from contactcenter.ids import AgentId, CallId, CustomerId, QueueId
from contactcenter.records import CallRecord, Direction, Outcome
from contactcenter.seed import DEMO_PASSWORD
from tests.e2e.conftest import e2e_settings, login, new_page

pytestmark = pytest.mark.browser


@pytest.fixture
async def system(tmp_path: Path) -> AsyncIterator[RunningSystem]:
    async with running_system(e2e_settings(tmp_path), n_agents=1, n_customers=5) as running:
        yield running


async def test_agent_takes_a_call_and_files_a_disposition(
    browser: Browser, system: RunningSystem, artifacts: Path
) -> None:
    customer = await system.runtime.db.customers.find_by_phone(system.data.known_numbers[2])
    assert customer is not None
    earlier = system.runtime.clock.now() - 3 * 86400
    await system.runtime.db.calls.add(
        CallRecord(
            id=CallId("earlier-call-1"),
            direction=Direction.INBOUND,
            arrived_at=earlier,
            caller_number=customer.phones[0],
            customer_id=CustomerId(customer.id),
            queue_id=QueueId("support"),
            agent_id=AgentId("agent7"),
            answered_at=earlier + 20,
            ended_at=earlier + 245,
            talk_s=225,
            outcome=Outcome.ANSWERED,
            disposition="follow-up",
            note="Asked for a refund of the March invoice.",
        )
    )
    errors: list[str] = []
    page = await new_page(browser, errors)

    await login(page, f"{system.base_url}/desktop", "agent1")
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
    await expect(page.get_by_test_id("pop-queue")).to_have_text("Support")
    row = page.get_by_test_id("history-row")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("agent7")
    await expect(row).to_contain_text("3:45")
    await expect(row).to_contain_text("Follow-up")
    await expect(row).to_contain_text("Asked for a refund of the March invoice.")

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
    assert [c["id"] for c in history][1:] == ["earlier-call-1"]
    assert history[0]["outcome"] == "answered"
    assert history[0]["agent_id"] == "agent1"
    assert history[0]["disposition"] == "resolved"
    assert history[0]["note"] == "Customer asked about the invoice."
    assert errors == [], f"the page raised: {errors}"
