"""Skill levels and per-queue penalties from the user records, end to end: the users are
written to the database, simulated agents log in over HTTP and Socket.IO, the PBX simulator
places calls over FastAGI and AMI, and the PBX's own record says whose phone was bridged."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from contactcenter.auth import hash_password
from contactcenter.harness import RunningSystem, running_system
from contactcenter.records import Role
from contactcenter.seed import DEMO_PASSWORD
from contactcenter.settings import AgiSettings, HttpSettings, QueueSettings, Settings
from contactcenter.simulator.agents import SimulatedAgent
from contactcenter.simulator.truth import CallTruth

WAIT_S = 10.0
# Long enough to tell "idle since" apart on the server's clock.
IDLE_GAP_S = 0.3
REQUIRED_LEVEL = 7
SALES_DNID, SPANISH_DNID = "200", "300"


def _settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'cc.db'}",
        http=HttpSettings(port=0),
        agi=AgiSettings(port=0),
        queues=(
            QueueSettings(id="support", skills=("support",), wrapup_s=0.1),
            QueueSettings(
                id="sales",
                skills=("sales",),
                dnids=(SALES_DNID,),
                strategy="longest_idle",
                wrapup_s=0.1,
            ),
            QueueSettings(
                id="spanish",
                skills=("es",),
                skill_levels={"es": REQUIRED_LEVEL},
                dnids=(SPANISH_DNID,),
                strategy="longest_idle",
                wrapup_s=0.1,
            ),
        ),
        default_queue="support",
    )


async def _until(condition: Callable[[], bool], what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while not condition():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def _agent(
    system: RunningSystem,
    username: str,
    endpoint: str,
    skills: list[str],
    *,
    levels: Mapping[str, int] | None = None,
    penalties: Mapping[str, int] | None = None,
) -> SimulatedAgent:
    """A user record with these skills, levels and penalties, logged in and Ready."""
    await system.runtime.db.users.add(
        username,
        username,
        Role.AGENT,
        hash_password(DEMO_PASSWORD),
        endpoint,
        skills,
        skill_levels=levels,
        queue_penalties=penalties,
    )
    (agent,) = await system.add_agents(
        [username], answer_delay=lambda: 0.05, seed=len(system.agents)
    )
    await _until(lambda: agent.state == "ready", f"{username} Ready")
    return agent


async def _call(system: RunningSystem, dnid: str) -> CallTruth:
    number = random.Random(dnid).choice(system.data.known_numbers)
    return await asyncio.wait_for(
        system.pbx.place_call(number, dnid, patience_s=WAIT_S / 2, talk_s=0.2), WAIT_S
    )


async def test_the_lower_penalty_agent_gets_the_call_though_the_other_idled_longer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="contactcenter.agents")
    async with running_system(_settings(tmp_path), n_agents=0, n_customers=3) as system:
        backup = await _agent(
            system, "sales-backup", "PJSIP/3101", ["sales"], penalties={"sales": 1}
        )
        await asyncio.sleep(IDLE_GAP_S)
        # Also a penalty for a queue that is no longer configured: dropped, login goes on.
        first = await _agent(
            system,
            "sales-first",
            "PJSIP/3102",
            ["sales"],
            penalties={"sales": 0, "retired-queue": 3},
        )

        truth = await _call(system, SALES_DNID)

    assert truth.outcome == "answered", truth
    assert truth.endpoint == "PJSIP/3102"
    assert (first.offers, backup.offers) == (1, 0)
    dropped = [r.getMessage() for r in caplog.records if "retired-queue" in r.getMessage()]
    assert dropped and "sales-first" in dropped[0] and "not configured" in dropped[0]


async def test_a_queue_requiring_level_7_goes_to_the_level_8_agent(tmp_path: Path) -> None:
    async with running_system(_settings(tmp_path), n_agents=0, n_customers=3) as system:
        # Level 5 written out, as an agent whose skill has no level would count anyway.
        five = await _agent(system, "es-five", "PJSIP/3201", ["es"], levels={"es": 5})
        await asyncio.sleep(IDLE_GAP_S)
        eight = await _agent(system, "es-eight", "PJSIP/3202", ["es"], levels={"es": 8})

        truth = await _call(system, SPANISH_DNID)

    assert truth.outcome == "answered", truth
    assert truth.endpoint == "PJSIP/3202"
    assert (eight.offers, five.offers) == (1, 0)
