"""Priorities through the PBX simulator: the customer's value tier (from their record) and the
IVR menu's choice set a call's priority, and the agent is offered the waiting calls highest
priority first, whatever their order of arrival."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from contactcenter.harness import RunningSystem, running_system
from contactcenter.records import ValueTier
from contactcenter.settings import AgiSettings, HttpSettings, QueueSettings, Settings
from tests.integration.test_call_control import Desktop, _until


def _settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'cc.db'}",
        http=HttpSettings(port=0),
        agi=AgiSettings(port=0),
        queues=(
            QueueSettings(id="support", skills=("support",), wrapup_s=0.0, offer_timeout_s=5.0),
        ),
        ivr={
            "prompt": "cc-main-menu",
            "options": {"1": {"queue": "support"}, "9": {"queue": "support", "priority": 20}},
            "retries": 0,
            "timeout_ms": 1000,
        },
        calls={
            "dial_template": "Local/{number}@customers",
            "tier_priority": {"standard": 0, "platinum": 5},
        },
    )


@pytest.fixture
async def system(tmp_path: Path) -> AsyncIterator[RunningSystem]:
    async with running_system(_settings(tmp_path), n_agents=1, n_customers=60) as running:
        yield running


async def _number_of_tier(system: RunningSystem, tier: ValueTier) -> str:
    for number in system.data.known_numbers:
        customer = await system.runtime.db.customers.find_by_phone(number)
        if customer is not None and customer.value_tier is tier:
            return number
    raise AssertionError(f"no seeded customer of tier {tier}")


async def test_value_tier_and_menu_choice_order_the_queue(system: RunningSystem) -> None:
    standard = await _number_of_tier(system, ValueTier.STANDARD)
    platinum = await _number_of_tier(system, ValueTier.PLATINUM)
    desktop = Desktop(system.base_url, system.data.agents[0])
    await desktop.start()  # logged in, Not Ready: the calls wait
    placed = []
    try:
        # arrival order: standard "1", platinum "1", unknown caller "9" (the premium key)
        for number, key in ((standard, "1"), (platinum, "1"), ("5550999", "9")):
            placed.append(
                asyncio.ensure_future(system.pbx.place_call(number, "100", 30.0, 0.2, [key]))
            )
            waiting = len(placed)
            await _until(
                lambda n=waiting: (
                    sum(  # type: ignore[misc]
                        1 for c in system.runtime.calls.active.values() if c.record.queued_at
                    )
                    == n
                ),
                "the call to queue",
            )
        offered: list[str] = []
        for _ in range(3):
            await desktop.ok("agent.ready", {})
            await _until(lambda: len(desktop.got("call.offered")) > len(offered), "an offer")
            call = desktop.got("call.offered")[-1]["call"]
            offered.append(call["caller_number"])
            await desktop.ok("call.answer", {"call_id": call["id"]})
            await _until(
                lambda cid=call["id"]: any(  # type: ignore[misc]
                    e["call"]["id"] == cid for e in desktop.got("call.ended")
                ),
                "the call to end",
            )
        await asyncio.gather(*placed)
    finally:
        await desktop.stop()
    assert offered == ["5550999", platinum, standard]
    await system.runtime.writer.flush()
    records = {r.caller_number: r for r in await system.runtime.db.calls.between(0, 4e9)}
    assert records["5550999"].priority == 20 and records["5550999"].ivr_path == ("menu:9",)
    assert records[platinum].priority == 5 and records[standard].priority == 0
