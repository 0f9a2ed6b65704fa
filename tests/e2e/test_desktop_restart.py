"""In a real Chromium: the server restarts (same database, same port) while the agent is in a
call. The page shows that it is reconnecting, reconnects by itself (no reload), and shows the
agent's state: the interrupted call is named, no call is offered while the agent may still be
talking, and after Ready the restarted server offers the next call to the same page."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Browser, expect

from contactcenter.app import RUNTIME, SHUTDOWN_TIMEOUT_S, Runtime, create_app
from contactcenter.clock import SystemClock
from contactcenter.seed import seed_demo
from contactcenter.settings import AmiSettings, Settings
from contactcenter.simulator.pbx import SimulatedPbx
from tests.e2e.conftest import e2e_settings, login, new_page

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _start(settings: Settings, pbx: SimulatedPbx) -> tuple[web.AppRunner, Runtime]:
    runner = web.AppRunner(create_app(settings), shutdown_timeout=SHUTDOWN_TIMEOUT_S)
    await runner.setup()
    await web.TCPSite(runner, settings.http.host, settings.http.port).start()
    runtime = runner.app[RUNTIME]
    pbx.agi_port = runtime.agi.port
    return runner, runtime


async def test_a_desktop_survives_a_server_restart_mid_call(
    browser: Browser, tmp_path: Path, artifacts: Path
) -> None:
    pbx = SimulatedPbx(
        SystemClock(), agi_host="127.0.0.1", agi_port=0, ami_username="cc", ami_secret="ccsecret"
    )
    await pbx.start(ami_host="127.0.0.1", ami_port=0)
    port = _free_port()
    settings = e2e_settings(tmp_path, port=port)
    settings = settings.model_copy(update={"ami": AmiSettings(port=pbx.ami_port)})
    base = f"http://127.0.0.1:{port}"
    runner, runtime = await _start(settings, pbx)
    try:
        data = await seed_demo(runtime.db, 1, 3)
        errors: list[str] = []
        page = await new_page(browser, errors)
        await login(page, f"{base}/desktop", "agent1")
        state = page.get_by_test_id("state-label")
        await page.get_by_test_id("btn-ready").click()
        await expect(state).to_have_attribute("data-state", "ready")
        await page.evaluate("window.__sameDocument = true")

        call = asyncio.create_task(
            pbx.place_call(data.known_numbers[0], "100", patience_s=60, talk_s=6)
        )
        await page.get_by_test_id("btn-answer").click(timeout=10_000)
        await expect(page.get_by_test_id("btn-answer")).to_be_hidden(timeout=10_000)
        await expect(state).to_have_attribute("data-state", "on_call")

        await runner.cleanup()  # the server goes away mid-call
        await expect(page.get_by_test_id("reconnect-banner")).to_be_visible(timeout=10_000)
        runner, runtime = await _start(settings, pbx)

        await expect(page.get_by_test_id("reconnect-banner")).to_be_hidden(timeout=20_000)
        assert await page.evaluate("window.__sameDocument === true"), "the page was reloaded"
        await expect(state).to_have_attribute("data-state", "not_ready", timeout=10_000)
        await expect(page.get_by_test_id("state-reason")).to_have_text("Call interrupted")
        await expect(page.get_by_test_id("idle-title")).to_have_text("Your call was interrupted")
        await page.screenshot(path=str(artifacts / "desktop-after-restart.png"))
        assert (await call).outcome == "answered", "the caller stayed connected to the agent"

        await page.get_by_test_id("btn-ready").click()
        await expect(state).to_have_attribute("data-state", "ready")
        second = asyncio.create_task(
            pbx.place_call(data.known_numbers[1], "100", patience_s=60, talk_s=1)
        )
        await expect(page.get_by_test_id("screen-pop")).to_be_visible(timeout=10_000)
        await page.get_by_test_id("btn-answer").click()
        assert (await second).outcome == "answered"
        assert errors == [], f"the page raised: {errors}"
    finally:
        await runner.cleanup()
        await pbx.close()
