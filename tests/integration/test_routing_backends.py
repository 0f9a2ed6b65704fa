"""ACD behaviours end to end (PBX simulator -> FastAGI -> server -> Socket.IO desktops), on both
routing backends: the in-process core (SQLite, no Redis) and the Redis shared queues of a
cluster node (PostgreSQL, Redis). RONA puts the call back and the agent Not Ready, the RONA
limit logs the agent out, widening lets a lower-level agent take a call that waited, and "least
calls" gives the call to the agent who took fewer calls today."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from contactcenter.harness import RunningSystem, running_system
from contactcenter.settings import AgiSettings, HttpSettings, QueueSettings, Settings
from tests.conftest import REDIS_URL, redis_keyspace, throwaway_postgres
from tests.integration.test_call_control import Desktop, _ended, _until

QUEUES = (
    QueueSettings(
        id="support",
        skills=("support",),
        dnids=("100",),
        wrapup_s=0.0,
        offer_timeout_s=0.6,
        ring_timeout_s=5.0,
        max_consecutive_rona=2,
    ),
    QueueSettings(
        id="expert",
        skills=("support",),
        dnids=("200",),
        skill_levels={"support": 8},
        widen=((0.8, 10),),
        wrapup_s=0.0,
        offer_timeout_s=5.0,
    ),
    QueueSettings(
        id="fair",
        skills=("support",),
        dnids=("300",),
        strategy="least_calls",
        wrapup_s=0.0,
        offer_timeout_s=5.0,
    ),
)


@pytest.fixture(params=["memory", "redis"])
async def system(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RunningSystem]:
    common: dict[str, Any] = {
        "http": HttpSettings(port=0),
        "agi": AgiSettings(port=0),
        "queues": QUEUES,
        "calls": {"dial_template": "Local/{number}@customers"},
    }
    if request.param == "memory":
        settings = Settings(database_url=f"sqlite:///{tmp_path / 'cc.db'}", **common)
        async with running_system(settings, n_agents=2, n_customers=5) as running:
            yield running
        return
    async with throwaway_postgres() as database_url, redis_keyspace() as prefix:
        settings = Settings(
            database_url=database_url,
            redis_url=REDIS_URL,
            redis_prefix=prefix,
            routing="redis",
            **common,
        )
        async with running_system(settings, n_agents=2, n_customers=5) as running:
            yield running


def _states(desktop: Desktop) -> list[tuple[str, str | None]]:
    return [(s["state"], s["reason"]) for s in desktop.got("agent.state")]


async def test_rona_requeues_and_the_limit_logs_the_agent_out(system: RunningSystem) -> None:
    sleepy = Desktop(system.base_url, system.data.agents[0])
    awake = Desktop(system.base_url, system.data.agents[1])
    await sleepy.start()
    await awake.start()
    try:
        await sleepy.ok("agent.ready", {})
        placed = asyncio.ensure_future(
            system.pbx.place_call(system.data.known_numbers[0], "100", 30.0, 0.3)
        )
        await _until(lambda: ("not_ready", "rona") in _states(sleepy), "the first RONA")
        call_id = sleepy.got("call.offered")[-1]["call"]["id"]
        assert [w["reason"] for w in sleepy.got("call.offer_withdrawn")] == ["rona"]
        await sleepy.ok("agent.ready", {})  # offered again (the call kept its place), RONA 2
        await _until(lambda: ("logged_out", "rona_limit") in _states(sleepy), "the RONA limit")
        assert len(sleepy.got("call.offered")) == 2
        await awake.ok("agent.ready", {})
        await _until(lambda: bool(awake.got("call.offered")), "the offer to the other agent")
        assert awake.got("call.offered")[-1]["call"]["id"] == call_id
        await awake.ok("call.answer", {"call_id": call_id})
        truth = await placed
        record = await _ended(system, call_id)
        assert record.agent_id == system.data.agents[1] and truth.endpoint == "PJSIP/1002"
        events = [e.kind for e in await system.runtime.db.calls.events(call_id)]
        assert events.count("offer_withdrawn") == 2 and events.count("offered") == 3
    finally:
        await sleepy.stop()
        await awake.stop()


async def test_widening_lets_a_lower_level_agent_take_a_call_that_waited(
    system: RunningSystem,
) -> None:
    await system.runtime.db.users.set_routing(system.data.agents[0], skill_levels={"support": 5})
    desktop = Desktop(system.base_url, system.data.agents[0])
    await desktop.start()
    try:
        await desktop.ok("agent.ready", {})
        start = asyncio.get_running_loop().time()
        placed = asyncio.ensure_future(
            system.pbx.place_call(system.data.known_numbers[1], "200", 30.0, 0.2)
        )
        await _until(lambda: bool(desktop.got("call.offered")), "the offer after widening")
        waited = asyncio.get_running_loop().time() - start
        assert waited >= 0.7, f"offered after {waited:.2f} s, before the widening step"
        offered = desktop.got("call.offered")[-1]
        assert offered["queue"]["id"] == "expert"
        await desktop.ok("call.answer", {"call_id": offered["call"]["id"]})
        assert (await placed).answered_at is not None
    finally:
        await desktop.stop()


async def test_least_calls_prefers_the_agent_with_fewer_calls_today(
    system: RunningSystem,
) -> None:
    first = Desktop(system.base_url, system.data.agents[0])
    second = Desktop(system.base_url, system.data.agents[1])
    await first.start()
    await second.start()
    try:
        # agent1 takes one call of the "fair" queue while agent2 is not ready
        await first.ok("agent.ready", {})
        placed = asyncio.ensure_future(
            system.pbx.place_call(system.data.known_numbers[2], "300", 30.0, 0.2)
        )
        await _until(lambda: bool(first.got("call.offered")), "the first offer")
        await first.ok("call.answer", {"call_id": first.got("call.offered")[-1]["call"]["id"]})
        await placed
        await _until(lambda: _states(first)[-1][0] == "ready", "agent1 ready again")
        # agent2 goes ready after agent1: longest idle would pick agent1, least calls agent2
        await second.ok("agent.ready", {})
        placed = asyncio.ensure_future(
            system.pbx.place_call(system.data.known_numbers[3], "300", 30.0, 0.2)
        )
        await _until(lambda: bool(second.got("call.offered")), "the offer to agent2")
        assert len(first.got("call.offered")) == 1
        await second.ok("call.answer", {"call_id": second.got("call.offered")[-1]["call"]["id"]})
        await placed
    finally:
        await first.stop()
        await second.stop()
