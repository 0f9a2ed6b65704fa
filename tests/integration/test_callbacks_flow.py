"""Callbacks end to end through the PBX simulator. A due callback waits in its queue as a
reservation (an outbound call with no channel yet) at the callback's place; when its turn
comes (an agent is offered it):

- caller first (the default): the offered agent is kept, the customer is dialled with AMD and
  a person is connected to that agent; busy callees are retried up to max_attempts, and the
  agent is Ready again at once after each failed attempt;
- agent first: the agent's desktop pops the callback, the agent accepts, their phone rings
  first and then dials the customer; no answer schedules a retry; RONA puts the reservation
  back at its place.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Literal

import pytest

from acd.model import AgentState
from contactcenter.callbacks import Callback, CallbackService, CallbackState
from contactcenter.clock import utc_day
from contactcenter.harness import RunningSystem, running_system
from contactcenter.ids import AgentId, CallId, QueueId
from contactcenter.records import Direction, Outcome
from contactcenter.settings import (
    AgiSettings,
    CallbackSettings,
    HttpSettings,
    QueueSettings,
    Settings,
)
from contactcenter.simulator.outbound import Callee
from tests.integration.test_call_control import Desktop, _ended, _history, _until

AGENT = "agent1"
ENDPOINT = "PJSIP/1001"


def _settings(
    tmp_path: Path,
    connect: Connect,
    *,
    wrapup_s: float,
    retry_delay_s: float,
    offer_timeout_s: float,
) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'cc.db'}",
        http=HttpSettings(port=0),
        agi=AgiSettings(port=0),
        queues=(
            QueueSettings(
                id="support",
                skills=("support",),
                wrapup_s=wrapup_s,
                offer_timeout_s=offer_timeout_s,
                ring_timeout_s=5.0,
            ),
        ),
        calls={"dial_template": "Local/{number}@customers"},
        callbacks=CallbackSettings(
            max_attempts=2,
            retry_delay_s=retry_delay_s,
            ring_timeout_s=2.0,
            caller_id="5559000",
            connect=connect,
        ),
    )


Connect = Literal["caller_first", "agent_first"]
System = Callable[..., Awaitable[RunningSystem]]


@pytest.fixture
async def make_system(tmp_path: Path) -> AsyncIterator[System]:
    """`await make_system(connect, wrapup_s=..., ...)`: the server and the simulator, one agent."""
    stack = contextlib.AsyncExitStack()

    async def make(
        connect: Connect,
        *,
        wrapup_s: float = 0.2,
        retry_delay_s: float = 1.0,
        offer_timeout_s: float = 5.0,
    ) -> RunningSystem:
        settings = _settings(
            tmp_path,
            connect,
            wrapup_s=wrapup_s,
            retry_delay_s=retry_delay_s,
            offer_timeout_s=offer_timeout_s,
        )
        return await stack.enter_async_context(running_system(settings, n_agents=1, n_customers=5))

    async with stack:
        yield make


async def _state(system: RunningSystem, callback_id: int, state: CallbackState) -> Callback:
    deadline = asyncio.get_running_loop().time() + 15.0
    while True:
        cb = await system.runtime.db.callbacks.get(callback_id)
        if cb is not None and cb.state is state:
            return cb
        assert asyncio.get_running_loop().time() < deadline, f"callback never {state.value}"
        await asyncio.sleep(0.05)


async def _current(system: RunningSystem, callback_id: int) -> Callback:
    callback = await system.runtime.callbacks.get(callback_id)
    assert callback is not None
    return callback


async def _offered_answered(system: RunningSystem) -> tuple[int, int]:
    """Today's live queue counters (the wallboard's offered and answered)."""
    day = utc_day(system.runtime.clock.now())
    counters = await system.runtime.live.counters(QueueId("support"), day)
    return counters.offered, counters.answered


def _service(system: RunningSystem) -> CallbackService:
    return system.runtime.callbacks


def _agent_state(system: RunningSystem) -> AgentState:
    return system.runtime.acd.core.agent_state(AgentId(AGENT)).state


def _dialled(system: RunningSystem, number: str) -> bool:
    """Did the PBX see a dial to this number (a channel created towards it)?"""
    return any(c.caller_number == number for c in system.pbx.truth.calls)


def _waiting_call(system: RunningSystem, caller: str) -> CallId | None:
    for cid, live in system.runtime.calls.active.items():
        if live.record.caller_number == caller and live.phase.value == "queued":
            return cid
    return None


def _position(system: RunningSystem, caller: str) -> int | None:
    call_id = _waiting_call(system, caller)
    return None if call_id is None else system.runtime.acd.core.position(call_id)


# --- caller first ---------------------------------------------------------------------------


async def test_caller_first_keeps_the_offered_agent_and_connects_the_person(
    make_system: System,
) -> None:
    system = await make_system("caller_first")
    number = system.data.known_numbers[1]
    system.pbx.callees[number] = Callee("human", patience_s=10.0, talk_s=0.3)
    desktop = Desktop(system.base_url, AGENT)
    await desktop.start()
    try:
        await desktop.ok("agent.ready", {})
        callback = await _service(system).request(number, "support", note="invoice")
        await _until(lambda: bool(desktop.got("call.offered")), "the callback's offer")
        offer = desktop.got("call.offered")[-1]
        assert offer["callback"]["mode"] == "caller_first"
        assert offer["callback"]["id"] == callback.id and offer["callback"]["number"] == number
        assert offer["call"]["direction"] == "outbound" and offer["call"]["dialed_number"] == number
        assert offer["customer"] is not None and offer["customer"]["phones"] == [number]
        call_id = CallId(offer["call"]["id"])
        # nobody presses answer: the agent is kept for the callback, the person is put through
        await _until(lambda: bool(desktop.got("call.answered")), "the connection")
        assert desktop.got("call.answered")[-1]["call"]["id"] == call_id
        record = await _ended(system, call_id)
        assert record.outcome is Outcome.ANSWERED_HUMAN and record.talk_s is not None
        assert record.agent_id == AGENT and record.direction is Direction.OUTBOUND
        done = await _state(system, callback.id, CallbackState.COMPLETED)
        assert done.attempts == 1 and done.last_call_id == call_id
        assert done.last_outcome == Outcome.ANSWERED_HUMAN.value
        _, events = await _history(system, call_id)
        assert events.index("queued") < events.index("offered") < events.index("dialing")
        assert events.index("dialing") < events.index("answered")
        # not an inbound call of the queue: neither offered nor answered there
        assert await _offered_answered(system) == (0, 0)
    finally:
        await desktop.stop()


async def test_caller_first_busy_is_retried_then_fails_and_the_agent_skips_wrap_up(
    make_system: System,
) -> None:
    system = await make_system("caller_first", wrapup_s=30.0)
    number = "5557102"
    system.pbx.callees[number] = Callee("busy")
    desktop = Desktop(system.base_url, AGENT)
    await desktop.start()
    try:
        await desktop.ok("agent.ready", {})
        callback = await _service(system).request(number, "support")
        failed = await _state(system, callback.id, CallbackState.FAILED)
        assert failed.attempts == 2 and failed.last_outcome == "busy"
        # a 30 s wrap-up would still run: the agent is Ready again at once instead
        await _until(lambda: _agent_state(system) is AgentState.READY, "the agent to be free")
        await system.runtime.writer.flush()
        calls = [
            c
            for c in await system.runtime.db.calls.between(0, system.runtime.clock.now() + 1)
            if c.dialed_number == number
        ]
        assert len(calls) == 2  # every attempt is an ordinary call in the history
        assert {c.outcome for c in calls} == {Outcome.BUSY}
        assert all(c.direction is Direction.OUTBOUND and c.agent_id == AGENT for c in calls)
        assert {len(desktop.got("call.offered")), len(desktop.got("call.ended"))} == {2}
    finally:
        await desktop.stop()


async def test_virtual_hold_is_dialled_only_when_its_turn_comes(make_system: System) -> None:
    """Callers A (queued first) and B (later) wait; a virtual-hold caller whose place is
    between them is not dialled while A waits, and is dialled (and put through) before B."""
    system = await make_system("caller_first")
    number = "5557103"
    system.pbx.callees[number] = Callee("human", patience_s=10.0, talk_s=0.3)
    first, later = "5550901", "5550902"  # unknown callers: priority 0, as the callback's
    desktop = Desktop(system.base_url, AGENT)
    await desktop.start()
    calls = system.runtime.calls
    core = system.runtime.acd.core
    placed = [asyncio.ensure_future(system.pbx.place_call(first, "100", 30.0, 0.5))]
    try:
        await _until(lambda: _position(system, first) == 1, "A to wait")
        a = _waiting_call(system, first)
        assert a is not None
        a_queued = calls.active[a].record.queued_at
        assert a_queued is not None
        await asyncio.sleep(0.2)
        placed.append(asyncio.ensure_future(system.pbx.place_call(later, "100", 30.0, 0.5)))
        await _until(lambda: _position(system, later) == 2, "B to wait")
        b = _waiting_call(system, later)
        assert b is not None
        callback = await _service(system).virtual_hold(
            CallId("earlier-call"), number, QueueId("support"), a_queued + 0.1, 0
        )
        await _state(system, callback.id, CallbackState.QUEUED)
        reserved = next(cid for cid, live in calls.active.items() if live.callback is not None)
        assert (core.position(a), core.position(reserved), core.position(b)) == (1, 2, 3)
        # the reservation is no caller on the line: not listed as waiting
        waiting = await system.runtime.live.waiting(QueueId("support"))
        assert {w.call_id for w in waiting} == {a, b}
        await desktop.ok("agent.ready", {})
        await _until(lambda: bool(desktop.got("call.offered")), "the first offer")
        assert desktop.got("call.offered")[0]["call"]["id"] == a
        await desktop.ok("call.answer", {"call_id": a})
        await _until(lambda: bool(desktop.got("call.answered")), "A connected")
        # A talks: the callback's turn has not come, its customer is not dialled
        await asyncio.sleep(0.3)
        assert not _dialled(system, number)
        assert (await _current(system, callback.id)).state is CallbackState.QUEUED
        await _until(lambda: len(desktop.got("call.offered")) == 2, "the next offer")
        assert desktop.got("call.offered")[1]["call"]["id"] == reserved
        assert b in calls.active and calls.active[b].record.answered_at is None  # B still waits
        await _state(system, callback.id, CallbackState.COMPLETED)
        assert _dialled(system, number)
        record = await _ended(system, reserved)
        assert record.outcome is Outcome.ANSWERED_HUMAN and record.agent_id == AGENT
        assert await _offered_answered(system) == (2, 1)  # A and B offered, A answered
    finally:
        await desktop.stop()
        for task in placed:
            task.cancel()
        await asyncio.gather(*placed, return_exceptions=True)


# --- agent first ----------------------------------------------------------------------------


async def test_agent_first_pops_the_agent_then_rings_them_then_the_customer(
    make_system: System,
) -> None:
    system = await make_system("agent_first")
    number = system.data.known_numbers[2]
    system.pbx.callees[number] = Callee("human", patience_s=10.0, talk_s=0.4)
    desktop = Desktop(system.base_url, AGENT)
    await desktop.start()
    try:
        await desktop.ok("agent.ready", {})
        callback = await _service(system).request(number, "support", note="meter reading")
        await _until(lambda: bool(desktop.got("call.offered")), "the callback's offer")
        offer = desktop.got("call.offered")[-1]
        assert offer["callback"]["mode"] == "agent_first"
        assert offer["callback"]["number"] == number
        assert offer["callback"]["note"] == "meter reading"
        assert offer["customer"]["phones"] == [number] and isinstance(offer["history"], list)
        call_id = CallId(offer["call"]["id"])
        # the pop comes before any dial
        await asyncio.sleep(0.3)
        assert not _dialled(system, number)
        assert (await _current(system, callback.id)).state is CallbackState.QUEUED
        await desktop.ok("call.answer", {"call_id": call_id})
        await _until(lambda: bool(desktop.got("call.answered")), "the customer connected")
        record = await _ended(system, call_id)
        assert record.outcome is Outcome.ANSWERED_HUMAN and record.agent_id == AGENT
        assert record.direction is Direction.OUTBOUND and record.dialed_number == number
        assert record.customer_id == offer["customer"]["id"] and record.talk_s is not None
        done = await _state(system, callback.id, CallbackState.COMPLETED)
        assert done.attempts == 1 and done.last_call_id == call_id
        # the PBX rang the agent's phone first, and it dialled the customer
        agent_leg = next(c for c in system.pbx.truth.calls if c.caller_number == number)
        assert agent_leg.endpoint == ENDPOINT and agent_leg.answered_at is not None
        _, events = await _history(system, call_id)
        assert events.index("accepted") < events.index("dialing") < events.index("answered")
    finally:
        await desktop.stop()


async def test_agent_first_no_answer_schedules_a_retry_and_frees_the_agent(
    make_system: System,
) -> None:
    system = await make_system("agent_first", retry_delay_s=600.0)
    number = "5557105"
    system.pbx.callees[number] = Callee("noanswer")
    desktop = Desktop(system.base_url, AGENT)
    await desktop.start()
    try:
        await desktop.ok("agent.ready", {})
        callback = await _service(system).request(number, "support")
        await _until(lambda: bool(desktop.got("call.offered")), "the callback's offer")
        call_id = CallId(desktop.got("call.offered")[-1]["call"]["id"])
        await desktop.ok("call.answer", {"call_id": call_id})
        record = await _ended(system, call_id)
        assert record.outcome is Outcome.NO_ANSWER and record.answered_at is None
        retry = await _state(system, callback.id, CallbackState.SCHEDULED)
        assert retry.attempts == 1 and retry.last_outcome == "no_answer"
        assert retry.due_at > system.runtime.clock.now() + 500
        assert desktop.got("call.ended")[-1]["call"]["id"] == call_id
        # wrap-up as the queue says (0.2 s), then Ready: free for the next call
        await _until(lambda: _agent_state(system) is AgentState.READY, "the agent to be free")
    finally:
        await desktop.stop()


async def test_agent_first_rona_puts_the_reservation_back_at_its_place(
    make_system: System,
) -> None:
    system = await make_system("agent_first", offer_timeout_s=1.0)
    number = "5557106"
    system.pbx.callees[number] = Callee("human", talk_s=0.2)
    desktop = Desktop(system.base_url, AGENT)
    await desktop.start()
    core = system.runtime.acd.core
    later = asyncio.ensure_future(system.pbx.place_call("5550903", "100", 30.0, 0.5))
    try:
        callback = await _service(system).request(number, "support")
        await _state(system, callback.id, CallbackState.QUEUED)
        reserved = next(c for c, lv in system.runtime.calls.active.items() if lv.callback)
        await _until(lambda: _position(system, "5550903") == 2, "B behind")
        await desktop.ok("agent.ready", {})
        await _until(lambda: bool(desktop.got("call.offer_withdrawn")), "RONA")
        withdrawn = desktop.got("call.offer_withdrawn")[-1]
        assert withdrawn == {"call_id": reserved, "reason": "rona"}
        assert _agent_state(system) is AgentState.NOT_READY
        assert core.position(reserved) == 1  # back at its place, ahead of B
        assert not _dialled(system, number)
        assert (await _current(system, callback.id)).state is CallbackState.QUEUED
        await desktop.ok("agent.ready", {})
        await _until(lambda: len(desktop.got("call.offered")) == 2, "the offer again")
        assert desktop.got("call.offered")[1]["call"]["id"] == reserved
    finally:
        await desktop.stop()
        later.cancel()
        await asyncio.gather(later, return_exceptions=True)


async def test_agent_first_agent_phone_unanswered_keeps_the_callback_unattempted(
    make_system: System,
) -> None:
    system = await make_system("agent_first")
    number = "5557107"
    system.pbx.callees[number] = Callee("human", talk_s=0.2)
    system.pbx.silent_endpoints.add(ENDPOINT)
    desktop = Desktop(system.base_url, AGENT)
    await desktop.start()
    try:
        await desktop.ok("agent.ready", {})
        callback = await _service(system).request(number, "support")
        await _until(lambda: bool(desktop.got("call.offered")), "the callback's offer")
        call_id = CallId(desktop.got("call.offered")[-1]["call"]["id"])
        ack = await desktop.call("call.answer", {"call_id": call_id})
        assert not ack.get("ok") and "did not answer" in str(ack)
        assert not _dialled(system, number)
        current = await _state(system, callback.id, CallbackState.QUEUED)
        assert current.attempts == 0
        assert system.runtime.acd.core.position(call_id) == 1
        assert _agent_state(system) is AgentState.NOT_READY
    finally:
        await desktop.stop()


async def test_agent_first_agent_hangs_up_while_the_customer_rings(make_system: System) -> None:
    system = await make_system("agent_first", retry_delay_s=600.0)
    number = "5557108"
    system.pbx.callees[number] = Callee("noanswer")
    desktop = Desktop(system.base_url, AGENT)
    await desktop.start()
    try:
        await desktop.ok("agent.ready", {})
        callback = await _service(system).request(number, "support")
        await _until(lambda: bool(desktop.got("call.offered")), "the callback's offer")
        call_id = CallId(desktop.got("call.offered")[-1]["call"]["id"])
        await desktop.ok("call.answer", {"call_id": call_id})
        await _until(lambda: _dialled(system, number), "the customer's phone to ring")
        await desktop.ok("call.hangup", {"call_id": call_id})
        record = await _ended(system, call_id)
        assert record.outcome is Outcome.FAILED and record.answered_at is None
        assert record.hangup_cause == "the agent hung up before the answer"
        retry = await _state(system, callback.id, CallbackState.SCHEDULED)
        assert retry.attempts == 1 and retry.last_outcome == "failed"
    finally:
        await desktop.stop()


async def test_cancelling_a_waiting_callback_takes_its_reservation_out(
    make_system: System,
) -> None:
    system = await make_system("agent_first")
    number = "5557109"
    system.pbx.callees[number] = Callee("human", talk_s=0.2)
    callback = await _service(system).request(number, "support")
    await _state(system, callback.id, CallbackState.QUEUED)
    reserved = next(c for c, lv in system.runtime.calls.active.items() if lv.callback)
    assert system.runtime.acd.core.position(reserved) == 1
    cancelled = await _service(system).cancel(callback.id)
    assert cancelled.state is CallbackState.CANCELLED
    assert system.runtime.acd.core.position(reserved) is None
    record = await _ended(system, reserved)
    assert record.outcome is Outcome.FAILED and record.hangup_cause == "callback cancelled"
    assert (await _current(system, callback.id)).state is CallbackState.CANCELLED
    assert not _dialled(system, number)
