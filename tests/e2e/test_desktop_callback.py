"""In a real Chromium: a callback's turn pops on the desktop with the customer and the number.
Agent first, the agent answers and their phone, then the customer's, rings; caller first, the
pop says "Calling back" with nothing to press, and the call connects by itself."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Literal

import pytest
from playwright.async_api import Browser, Page, expect

from contactcenter.harness import RunningSystem, running_system
from contactcenter.settings import CallbackSettings
from contactcenter.simulator.outbound import Callee
from tests.e2e.conftest import e2e_settings, login, new_page

pytestmark = pytest.mark.browser

Connect = Literal["caller_first", "agent_first"]


@pytest.fixture
async def started(tmp_path: Path) -> AsyncIterator[Callable[[Connect], Awaitable[RunningSystem]]]:
    """`await started(connect)`: the server and the simulator with `[callbacks] connect`."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(connect: Connect) -> RunningSystem:
            callbacks = CallbackSettings(connect=connect, ring_timeout_s=5.0)
            settings = e2e_settings(tmp_path, callbacks=callbacks)
            return await stack.enter_async_context(
                running_system(settings, n_agents=1, n_customers=5)
            )

        yield start


async def _ready_desktop(browser: Browser, system: RunningSystem, errors: list[str]) -> Page:
    page = await new_page(browser, errors)
    await login(page, f"{system.base_url}/desktop", "agent1")
    await page.get_by_test_id("btn-ready").click()
    state = page.get_by_test_id("state-label")
    await expect(state).not_to_contain_text("Not", ignore_case=True)
    return page


async def test_agent_first_callback_pops_then_the_agent_answers(
    browser: Browser, started: Callable[[Connect], Awaitable[RunningSystem]]
) -> None:
    system = await started("agent_first")
    number = system.data.known_numbers[1]
    customer = await system.runtime.db.customers.find_by_phone(number)
    assert customer is not None
    system.pbx.callees[number] = Callee("human", talk_s=30.0)
    errors: list[str] = []
    page = await _ready_desktop(browser, system, errors)
    await system.runtime.callbacks.request(number, "support")
    await expect(page.get_by_test_id("screen-pop")).to_be_visible(timeout=10_000)
    await expect(page.get_by_test_id("pop-kicker")).to_have_text(f"Callback to {number}")
    await expect(page.get_by_test_id("pop-caller")).to_have_text(number)
    await expect(page.get_by_test_id("pop-customer-name")).to_have_text(customer.name)
    await page.get_by_test_id("btn-answer").click()
    await expect(page.get_by_test_id("call-panel")).to_be_visible(timeout=10_000)
    assert errors == []


async def test_caller_first_callback_says_calling_back_and_connects_by_itself(
    browser: Browser, started: Callable[[Connect], Awaitable[RunningSystem]]
) -> None:
    system = await started("caller_first")
    number = system.data.known_numbers[2]
    customer = await system.runtime.db.customers.find_by_phone(number)
    assert customer is not None
    system.pbx.callees[number] = Callee("human", answer_delay_s=1.0, talk_s=30.0)
    errors: list[str] = []
    page = await _ready_desktop(browser, system, errors)
    await system.runtime.callbacks.request(number, "support")
    await expect(page.get_by_test_id("screen-pop")).to_be_visible(timeout=10_000)
    await expect(page.get_by_test_id("pop-kicker")).to_have_text(f"Calling back {customer.name}…")
    await expect(page.get_by_test_id("btn-answer")).to_be_hidden()
    await expect(page.get_by_test_id("call-panel")).to_be_visible(timeout=10_000)
    assert errors == []
