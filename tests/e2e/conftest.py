"""Browser fixtures: a headless Chromium (Playwright), the artifacts folder, a running system."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

from contactcenter.seed import DEMO_PASSWORD
from contactcenter.settings import (
    AgiSettings,
    AuthSettings,
    HttpSettings,
    QueueSettings,
    Settings,
)
from tests.conftest import require_service

CHROMIUM = os.environ.get("CC_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("CC_TEST_ARTIFACTS", "test-artifacts"))
VIEWPORT = {"width": 1366, "height": 768}


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


def e2e_settings(tmp_path: Path, *, port: int = 0, **overrides: Any) -> Settings:
    """Settings for a browser test: SQLite in tmp_path, any free ports, a fixed token key (a
    restarted server accepts the page's token), one "support" queue (`queue` overrides)."""
    queue = {
        "id": "support",
        "name": "Support",
        "skills": ("support",),
        "wrapup_s": 30,
        "offer_timeout_s": 30,
        **overrides.pop("queue", {}),
    }
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'cc.db'}",
        http=HttpSettings(port=port),
        agi=AgiSettings(port=0),
        auth=AuthSettings(secret="e2e-secret"),
        queues=(QueueSettings(**queue),),
        **overrides,
    )


async def new_page(browser: Browser, errors: list[str]) -> Page:
    page = await browser.new_page(viewport=VIEWPORT)  # type: ignore[arg-type]
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page


async def login(page: Page, url: str, username: str) -> None:
    await page.goto(url)
    await page.get_by_test_id("login-username").fill(username)
    await page.get_by_test_id("login-password").fill(DEMO_PASSWORD)
    await page.get_by_test_id("login-submit").click()
