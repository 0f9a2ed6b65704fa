"""In a real Chromium, with the PBX simulator placing the calls: a required disposition (and
the keyboard shortcuts), an unknown caller linked to a new customer, a supervisor who forces an
agent Not Ready from the console, and a wallboard figure that changes colour at its threshold."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from contactcenter.harness import running_system
from contactcenter.ids import AgentId
from contactcenter.settings import Threshold, WallboardSettings
from tests.e2e.conftest import e2e_settings, login, new_page

pytestmark = pytest.mark.browser


async def test_a_required_disposition_keeps_the_agent_from_going_ready(
    browser: Browser, tmp_path: Path
) -> None:
    settings = e2e_settings(tmp_path, queue={"disposition_required": True, "wrapup_s": 60})
    async with running_system(settings, n_agents=1, n_customers=3) as system:
        errors: list[str] = []
        page = await new_page(browser, errors)
        await login(page, f"{system.base_url}/desktop", "agent1")
        state = page.get_by_test_id("state-label")
        await expect(state).to_have_attribute("data-state", "not_ready")
        await page.keyboard.press("Alt+KeyR")  # Ready
        await expect(state).to_have_attribute("data-state", "ready")

        call = asyncio.create_task(
            system.pbx.place_call(system.data.known_numbers[0], "100", patience_s=60, talk_s=60)
        )
        await expect(page.get_by_test_id("screen-pop")).to_be_visible(timeout=10_000)
        await page.keyboard.press("Alt+KeyA")  # answer
        await expect(page.get_by_test_id("call-panel")).to_be_visible(timeout=10_000)
        await expect(page.locator("#call-panel #call-controls")).to_have_count(1)
        # connected (the agent's phone answered): the Answer button goes away
        await expect(page.get_by_test_id("btn-answer")).to_be_hidden(timeout=10_000)
        await page.keyboard.press("Alt+KeyX")  # hang up
        await expect(page.get_by_test_id("wrapup-panel")).to_be_visible(timeout=10_000)

        await expect(page.get_by_test_id("disposition-required")).to_be_visible()
        await expect(page.get_by_test_id("btn-ready-now")).to_be_disabled()
        await expect(page.get_by_test_id("btn-ready")).to_be_disabled()
        await page.keyboard.press("Alt+KeyR")
        await asyncio.sleep(0.5)
        await expect(state).to_have_attribute("data-state", "wrap_up")
        await expect(page.get_by_test_id("wrapup-timer")).to_contain_text("left")

        await page.get_by_test_id("disposition-select").select_option("escalated")
        await page.get_by_test_id("btn-save-disposition").click()
        await expect(page.get_by_test_id("saved-message")).to_be_visible(timeout=10_000)
        await expect(page.get_by_test_id("btn-ready-now")).to_be_enabled()
        await page.get_by_test_id("btn-ready-now").click()
        await expect(state).to_have_attribute("data-state", "ready", timeout=10_000)
        assert (await call).outcome == "answered"

        await page.keyboard.press("?")
        await expect(page.get_by_test_id("help-dialog")).to_be_visible()
        await expect(page.get_by_test_id("help-dialog")).to_contain_text("Alt")
        await page.get_by_test_id("help-close").click()
        assert errors == [], f"the page raised: {errors}"


async def test_an_unknown_caller_is_linked_to_a_new_customer(
    browser: Browser, tmp_path: Path
) -> None:
    async with running_system(e2e_settings(tmp_path), n_agents=1, n_customers=3) as system:
        errors: list[str] = []
        page = await new_page(browser, errors)
        await login(page, f"{system.base_url}/desktop", "agent1")
        await page.get_by_test_id("btn-ready").click()
        number = "+15559876543"
        call = asyncio.create_task(system.pbx.place_call(number, "100", patience_s=60, talk_s=60))
        await expect(page.get_by_test_id("pop-customer-name")).to_have_text(
            "Unknown caller", timeout=10_000
        )
        await expect(page.get_by_test_id("search-form")).to_be_visible()
        await page.get_by_test_id("search-q").fill("Hedy")
        await page.get_by_test_id("btn-search").click()
        await expect(page.get_by_test_id("search-empty")).to_be_visible()
        await expect(page.get_by_test_id("new-phone")).to_have_value(number)
        await page.get_by_test_id("new-name").fill("Hedy Lamarr")
        await page.get_by_test_id("new-account").fill("AC-777")
        await page.get_by_test_id("btn-create-customer").click()
        await expect(page.get_by_test_id("pop-customer-name")).to_have_text("Hedy Lamarr")
        await expect(page.get_by_test_id("pop-account")).to_have_text("AC-777")

        await page.get_by_test_id("btn-answer").click()
        await expect(page.get_by_test_id("call-panel")).to_be_visible(timeout=10_000)
        await expect(page.get_by_test_id("btn-answer")).to_be_hidden(timeout=10_000)
        await page.get_by_test_id("btn-edit-customer").click()
        await page.get_by_test_id("edit-notes").fill("Inventor; prefers mornings.")
        await page.get_by_test_id("btn-save-customer").click()
        await expect(page.get_by_test_id("pop-notes")).to_have_text("Inventor; prefers mornings.")
        audit = page.get_by_test_id("audit-row")
        await expect(audit.first).to_contain_text("agent1 · notes")
        await page.get_by_test_id("btn-hangup").click()
        await expect(page.get_by_test_id("wrapup-panel")).to_be_visible(timeout=10_000)
        assert (await call).outcome == "answered"

        await system.runtime.writer.flush()
        customer = await system.runtime.db.customers.find_by_phone(number)
        assert customer is not None and customer.name == "Hedy Lamarr"
        calls = await system.runtime.db.calls.history(customer.id)
        assert len(calls) == 1 and calls[0].caller_number == number
        edits = await system.runtime.db.customers.audit(customer.id)
        assert ("agent1", "notes", "Inventor; prefers mornings.") in [
            (e.user, e.field, e.new) for e in edits
        ]
        assert errors == [], f"the page raised: {errors}"


async def test_a_supervisor_forces_an_agent_not_ready_and_the_agent_sees_it(
    browser: Browser, tmp_path: Path, artifacts: Path
) -> None:
    async with running_system(e2e_settings(tmp_path), n_agents=2, n_customers=5) as system:
        errors: list[str] = []
        # a second agent on a call first, so the console shows a live call and customer
        await system.add_agents(["agent2"], answer_delay=lambda: 0.1)
        busy = asyncio.create_task(
            system.pbx.place_call(system.data.known_numbers[1], "100", patience_s=60, talk_s=10)
        )
        agents = system.runtime.agents.agents
        for _ in range(100):
            if AgentId("agent2") in agents and agents[AgentId("agent2")].state == "on_call":
                break
            await asyncio.sleep(0.1)
        agent = await new_page(browser, errors)
        await login(agent, f"{system.base_url}/desktop", "agent1")
        await agent.get_by_test_id("btn-ready").click()
        state = agent.get_by_test_id("state-label")
        await expect(state).to_have_attribute("data-state", "ready")

        console = await new_page(browser, errors)
        await login(console, f"{system.base_url}/supervisor", "supervisor")
        row = console.locator('[data-testid="agent-row"][data-agent-id="agent1"]')
        await expect(row.get_by_test_id("agent-state")).to_have_text("Ready", timeout=10_000)
        await row.get_by_test_id("force-reason").select_option("Meeting")
        await row.get_by_test_id("btn-force-not-ready").click()
        await expect(console.get_by_test_id("action-result")).to_contain_text("Not ready")

        await expect(state).to_have_attribute("data-state", "not_ready", timeout=10_000)
        await expect(agent.get_by_test_id("state-reason")).to_have_text("Meeting")
        await expect(agent.get_by_test_id("state-forced")).to_have_text("set by supervisor")
        await expect(row.get_by_test_id("agent-reason")).to_have_text("Meeting", timeout=10_000)
        other = console.locator('[data-testid="agent-row"][data-agent-id="agent2"]')
        await expect(other.get_by_test_id("agent-state")).to_have_text("On call", timeout=10_000)
        await expect(other.get_by_test_id("agent-call")).not_to_be_empty()
        shot = artifacts / "supervisor-console.png"
        await console.screenshot(path=str(shot), full_page=True)

        await row.get_by_test_id("btn-listen").click()  # agent1 has no call: refused, says why
        await expect(console.get_by_test_id("action-result")).to_contain_text(
            "not on a connected call"
        )
        await other.get_by_test_id("btn-listen").click()
        # the supervisor's phone (PJSIP/2001) is rung into ChanSpy on the agent's call
        await expect(console.get_by_test_id("action-result")).to_contain_text(
            "listen on", timeout=10_000
        )
        for _ in range(100):  # ChanSpyStart follows once the supervisor's phone answers
            if any(t.spied_by for t in system.pbx.truth.calls):
                break
            await asyncio.sleep(0.1)
        assert any(t.spied_by == ["PJSIP/2001:q"] for t in system.pbx.truth.calls)
        entries = await system.runtime.db.supervisor_audit.recent(10)
        assert [(e.action, e.agent_id, e.outcome) for e in entries][:3] == [
            ("listen", "agent2", "done"),
            ("listen", "agent1", "refused"),
            ("force_state", "agent1", "done"),
        ]
        await busy
        assert errors == [], f"the page raised: {errors}"


async def test_a_wallboard_figure_changes_colour_at_its_threshold(
    browser: Browser, tmp_path: Path, artifacts: Path
) -> None:
    wallboard = WallboardSettings(thresholds={"waiting": Threshold(amber=2, red=4)})
    settings = e2e_settings(tmp_path, wallboard=wallboard, queue={"wrapup_s": 0.5})
    async with running_system(settings, n_agents=3, n_customers=20) as system:
        errors: list[str] = []
        page = await new_page(browser, errors)
        await login(page, f"{system.base_url}/wallboard", "manager")
        waiting = page.get_by_test_id("queue-waiting")
        await expect(waiting).to_have_text("0", timeout=10_000)
        await expect(waiting).to_have_attribute("data-colour", "green")

        numbers = system.data.known_numbers
        calls = []
        for i, expected in enumerate(["green", "amber", "amber", "red"], start=1):
            calls.append(
                asyncio.create_task(
                    system.pbx.place_call(numbers[i], "100", patience_s=60, talk_s=3)
                )
            )
            await expect(waiting).to_have_text(str(i), timeout=10_000)
            await expect(waiting).to_have_attribute("data-colour", expected)
        await page.screenshot(path=str(artifacts / "wallboard-red.png"))

        # Agents arrive and take the calls: the figure goes back to green, the others fill in.
        await system.add_agents(["agent1", "agent2", "agent3"], answer_delay=lambda: 0.2)
        await expect(waiting).to_have_text("0", timeout=20_000)
        await expect(waiting).to_have_attribute("data-colour", "green")
        more = [
            asyncio.create_task(system.pbx.place_call(n, "100", patience_s=60, talk_s=4))
            for n in numbers[5:12]
        ]
        await expect(page.get_by_test_id("queue-answered")).not_to_have_text("0", timeout=20_000)
        await expect(page.get_by_test_id("queue-asa")).not_to_have_text("—", timeout=20_000)
        await asyncio.sleep(1.0)
        shot = artifacts / "wallboard.png"
        await page.screenshot(path=str(shot))
        for call in calls + more:
            assert (await call).outcome == "answered"
        await expect(page.get_by_test_id("queue-aht")).not_to_have_text("—", timeout=20_000)
        assert errors == [], f"the page raised: {errors}"
