"""Queues that are not open, end to end through the PBX simulator: outside business hours, on a
holiday, and with no agent logged in, the caller gets the queue's action (a prompt and hang-up,
voicemail, a callback when the queue opens, or another queue), and the history says so."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from contactcenter.callbacks import CallbackSource, CallbackState
from contactcenter.harness import RunningSystem, running_system
from contactcenter.records import CallRecord, Outcome
from contactcenter.settings import AgiSettings, HttpSettings, QueueSettings, Settings
from tests.integration.test_call_control import Desktop, _until

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _settings(tmp_path: Path) -> Settings:
    today = datetime.now(UTC)
    tomorrow = today + timedelta(days=1)
    # Open tomorrow only (10:00-11:00 UTC): after hours all of today.
    tomorrow_only = {DAYS[tomorrow.weekday()]: ("10:00-11:00",)}
    common = {"wrapup_s": 0.2, "offer_timeout_s": 5.0, "ring_timeout_s": 5.0}
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'cc.db'}",
        http=HttpSettings(port=0),
        agi=AgiSettings(port=0),
        queues=(
            QueueSettings(id="support", skills=("support",), dnids=("100",), **common),
            QueueSettings(
                id="holiday",
                skills=("support",),
                dnids=("200",),
                holidays=(today.date().isoformat(),),
                after_hours_action="hangup",
                **common,
            ),
            QueueSettings(
                id="billing",
                skills=("billing",),  # nobody has the skill: closed for lack of agents
                dnids=("300",),
                closed_action="voicemail",
                voicemail_box="700@office",
                **common,
            ),
            QueueSettings(
                id="night",
                skills=("support",),
                dnids=("400",),
                hours=tomorrow_only,
                timezone="UTC",
                after_hours_action="overflow:support",
                **common,
            ),
            QueueSettings(
                id="sales",
                skills=("support",),
                dnids=("500",),
                hours=tomorrow_only,
                timezone="UTC",
                after_hours_action="callback",
                **common,
            ),
        ),
        default_queue="support",
        calls={"dial_template": "Local/{number}@customers"},
    )


@pytest.fixture
async def system(tmp_path: Path) -> AsyncIterator[RunningSystem]:
    async with running_system(_settings(tmp_path), n_agents=1, n_customers=5) as running:
        yield running


async def _only_call(system: RunningSystem, since: float) -> CallRecord:
    """The one call that arrived since `since`, once it has ended in the history."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10.0
    while True:
        await system.runtime.writer.flush()
        calls = await system.runtime.db.calls.between(since, since + 3600)
        if len(calls) == 1 and calls[0].ended_at is not None:
            return calls[0]
        assert len(calls) <= 1, calls
        assert loop.time() < deadline, "the call never ended in the history"
        await asyncio.sleep(0.05)


async def test_holiday_plays_the_after_hours_prompt_and_ends_as_closed(
    system: RunningSystem,
) -> None:
    desktop = Desktop(system.base_url, system.data.agents[0])
    await desktop.start()
    try:
        await desktop.ok("agent.ready", {})  # agents are there: the holiday still closes it
        since = system.runtime.clock.now()
        truth = await system.pbx.place_call(system.data.known_numbers[0], "200", 10.0, 1.0)
        record = await _only_call(system, since)
        assert truth.heard == ["cc-after-hours"]
        assert truth.hung_up_by == "server" and truth.answered_at is None
        assert record.outcome is Outcome.CLOSED
        assert record.queue_id == "holiday" and record.queued_at is None
        assert record.hangup_cause == "queue holiday"
        assert not desktop.got("call.offered")
        events = [e.kind for e in await system.runtime.db.calls.events(record.id)]
        assert "queue_closed" in events and "queued" not in events
    finally:
        await desktop.stop()


async def test_no_agent_for_the_queue_sends_the_caller_to_its_voicemail(
    system: RunningSystem,
) -> None:
    since = system.runtime.clock.now()
    truth = await system.pbx.place_call("5550001", "300", 10.0, 1.0)
    record = await _only_call(system, since)
    assert truth.voicemail == "700@office"  # the PBX ran [cc-voicemail] with the queue's box
    assert truth.heard == ["cc-closed"]
    assert record.outcome is Outcome.VOICEMAIL
    assert record.queue_id == "billing" and record.hangup_cause == "queue closed"


async def test_after_hours_overflow_action_queues_the_caller_elsewhere(
    system: RunningSystem,
) -> None:
    desktop = Desktop(system.base_url, system.data.agents[0])
    await desktop.start()
    try:
        await desktop.ok("agent.ready", {})
        placed = asyncio.ensure_future(
            system.pbx.place_call(system.data.known_numbers[0], "400", 10.0, 0.3)
        )
        await _until(lambda: bool(desktop.got("call.offered")), "the offer from support")
        offered = desktop.got("call.offered")[-1]
        assert offered["queue"]["id"] == "support"
        await desktop.ok("call.answer", {"call_id": offered["call"]["id"]})
        truth = await placed
        assert truth.answered_at is not None and truth.heard == []
        record = await system.runtime.db.calls.get(offered["call"]["id"])
        assert record is not None and record.queue_id == "support"
    finally:
        await desktop.stop()


async def test_after_hours_callback_is_booked_for_the_next_opening(
    system: RunningSystem,
) -> None:
    number = system.data.known_numbers[1]
    since = system.runtime.clock.now()
    truth = await system.pbx.place_call(number, "500", 10.0, 1.0, digits=["1"])
    record = await _only_call(system, since)
    assert record.outcome is Outcome.CALLBACK_REQUESTED
    assert truth.heard == ["cc-after-hours", "cc-closed-callback-offer", "cc-callback-confirm"]
    callbacks = await system.runtime.db.callbacks.open()
    assert len(callbacks) == 1
    cb = callbacks[0]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    opening = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 10, 0, tzinfo=UTC)
    assert cb.due_at == opening.timestamp()
    assert cb.queue_id == "sales" and cb.source == CallbackSource.IVR
    assert cb.state == CallbackState.SCHEDULED and cb.number == number
    assert cb.customer_id == record.customer_id is not None


async def test_after_hours_callback_declined_ends_as_closed(system: RunningSystem) -> None:
    since = system.runtime.clock.now()
    truth = await system.pbx.place_call("5550002", "500", 10.0, 1.0, digits=[""])
    record = await _only_call(system, since)
    assert record.outcome is Outcome.CLOSED
    assert truth.heard == ["cc-after-hours", "cc-closed-callback-offer"]
    assert await system.runtime.db.callbacks.open() == []
