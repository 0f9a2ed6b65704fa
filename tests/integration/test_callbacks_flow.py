"""Callbacks end to end through the PBX simulator: a due callback is dialled (AMD), the person
who answers waits at the callback's place in its queue and reaches an agent; busy callees are
retried up to max_attempts; a virtual-hold callback goes ahead of callers who queued later."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from contactcenter.callbacks import CallbackService, CallbackSource, CallbackState
from contactcenter.harness import RunningSystem, running_system
from contactcenter.ids import CallId, QueueId
from contactcenter.records import Direction, Outcome
from contactcenter.settings import (
    AgiSettings,
    CallbackSettings,
    HttpSettings,
    QueueSettings,
    Settings,
)
from contactcenter.simulator.outbound import Callee
from tests.integration.test_call_control import Desktop, _ended, _until


def _settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'cc.db'}",
        http=HttpSettings(port=0),
        agi=AgiSettings(port=0),
        queues=(
            QueueSettings(
                id="support",
                skills=("support",),
                wrapup_s=0.2,
                offer_timeout_s=5.0,
                ring_timeout_s=5.0,
            ),
        ),
        calls={"dial_template": "Local/{number}@customers"},
        callbacks=CallbackSettings(max_attempts=2, retry_delay_s=1.0, ring_timeout_s=2.0),
    )


@pytest.fixture
async def system(tmp_path: Path) -> AsyncIterator[RunningSystem]:
    async with running_system(_settings(tmp_path), n_agents=1, n_customers=5) as running:
        yield running


async def _state(system: RunningSystem, callback_id: int, state: CallbackState) -> None:
    async def reached() -> bool:
        cb = await system.runtime.db.callbacks.get(callback_id)
        return cb is not None and cb.state is state

    deadline = asyncio.get_running_loop().time() + 15.0
    while not await reached():
        assert asyncio.get_running_loop().time() < deadline, f"callback never {state.value}"
        await asyncio.sleep(0.05)


def _service(system: RunningSystem) -> CallbackService:
    return system.runtime.callbacks


async def test_a_due_callback_is_dialled_and_the_person_reaches_an_agent(
    system: RunningSystem,
) -> None:
    number = "5557101"
    system.pbx.callees[number] = Callee("human", patience_s=10.0, talk_s=0.3)
    desktop = Desktop(system.base_url, system.data.agents[0])
    await desktop.start()
    try:
        await desktop.ok("agent.ready", {})
        callback = await _service(system).request(number, "support", note="invoice")
        await _until(lambda: bool(desktop.got("call.offered")), "the callback's offer")
        offered = desktop.got("call.offered")[-1]["call"]
        assert offered["direction"] == "outbound" and offered["dialed_number"] == number
        await desktop.ok("call.answer", {"call_id": offered["id"]})
        record = await _ended(system, CallId(offered["id"]))
        assert record.outcome is Outcome.ANSWERED_HUMAN and record.talk_s is not None
        await _state(system, callback.id, CallbackState.COMPLETED)
        done = await system.runtime.db.callbacks.get(callback.id)
        assert done is not None and done.attempts == 1 and done.last_call_id == offered["id"]
        assert done.last_outcome == Outcome.ANSWERED_HUMAN.value
    finally:
        await desktop.stop()


async def test_a_busy_callee_is_retried_then_the_callback_fails(system: RunningSystem) -> None:
    number = "5557102"
    system.pbx.callees[number] = Callee("busy")
    callback = await _service(system).request(number, "support")
    await _state(system, callback.id, CallbackState.FAILED)
    failed = await system.runtime.db.callbacks.get(callback.id)
    assert failed is not None and failed.attempts == 2 and failed.last_outcome == "busy"
    calls = [
        c
        for c in await system.runtime.db.calls.between(0, system.runtime.clock.now() + 1)
        if c.dialed_number == number
    ]
    assert len(calls) == 2  # every attempt is an ordinary call in the history
    assert {c.outcome for c in calls} == {Outcome.BUSY}
    assert all(c.direction is Direction.OUTBOUND for c in calls)


async def test_virtual_hold_keeps_the_callers_place(system: RunningSystem) -> None:
    """A caller who queued long ago and chose a callback is served before a caller who has been
    waiting a shorter time, once the callback is answered."""
    desktop = Desktop(system.base_url, system.data.agents[0])
    await desktop.start()
    later = asyncio.ensure_future(
        system.pbx.place_call(system.data.known_numbers[0], "100", 30.0, 0.3)
    )
    try:
        await _until(lambda: bool(system.runtime.calls.active), "the later caller to queue")
        waiting = next(iter(system.runtime.calls.active))
        await _until(lambda: system.runtime.acd.core.position(waiting) == 1, "it to wait")
        number = "5557103"
        system.pbx.callees[number] = Callee("human", patience_s=10.0, talk_s=0.3)
        now = system.runtime.clock.now()
        callback = await _service(system).virtual_hold(
            CallId("earlier-call"), number, QueueId("support"), now - 120.0, 0
        )
        assert callback.source == CallbackSource.VIRTUAL_HOLD.value
        await _state(system, callback.id, CallbackState.DIALING)
        await _until(
            lambda: any(
                live.record.dialed_number == number and live.record.queued_at is not None
                for live in system.runtime.calls.active.values()
            ),
            "the answered callback to queue",
        )
        call_id = next(
            cid
            for cid, live in system.runtime.calls.active.items()
            if live.record.dialed_number == number
        )
        assert system.runtime.acd.core.position(call_id) == 1
        assert system.runtime.acd.core.position(waiting) == 2
        await desktop.ok("agent.ready", {})
        await _until(lambda: bool(desktop.got("call.offered")), "the first offer")
        assert desktop.got("call.offered")[0]["call"]["id"] == call_id
    finally:
        await desktop.stop()
        later.cancel()
        await asyncio.gather(later, return_exceptions=True)
