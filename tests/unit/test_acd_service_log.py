"""The ACD shell logs a warning, naming the agent and the skills, when an agent logs in with
skills no queue uses (the login itself goes through)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from acd import messages as m
from acd.core import AcdCore
from acd.model import AgentState, QueueConfig
from contactcenter.acd_service import AcdService
from contactcenter.clock import FakeClock
from contactcenter.ids import AgentId, QueueId


def test_a_login_with_unused_skills_is_logged_as_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    q = QueueId("sales")
    core = AcdCore({q: QueueConfig(q, "Sales", frozenset({"sales"}))})

    async def run() -> None:
        service = AcdService(core, FakeClock())
        await service.submit(m.AgentLogin(AgentId("ann"), frozenset({"sales", "welsh"})))
        await service.submit(m.AgentLogin(AgentId("bob"), frozenset({"sales"})))
        await service.close()

    with caplog.at_level(logging.WARNING, logger="contactcenter.acd_service"):
        asyncio.run(run())
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["agent ann logged in with skills no queue uses: welsh"]
    assert core.agent_state(AgentId("ann")).state is AgentState.NOT_READY
