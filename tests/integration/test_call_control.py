"""Every call control end to end over real sockets: a desktop (Socket.IO) -> CallService -> AMI
-> the PBX simulator (which answers with Asterisk's frames) -> AMI events back -> the call
history (row columns and append-only events) and the desktop's events.

The simulator's own record of what happened on the "PBX" (CallTruth) is checked too, so a
test fails if the server only believes it acted.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio

from contactcenter.harness import RunningSystem, running_system
from contactcenter.ids import AgentId, CallId, QueueId, new_call_id
from contactcenter.ports import OriginateRequest
from contactcenter.records import CallRecord, Direction, Outcome
from contactcenter.seed import DEMO_PASSWORD
from contactcenter.settings import AgiSettings, HttpSettings, QueueSettings, Settings
from contactcenter.simulator.outbound import Callee
from contactcenter.simulator.truth import CallTruth

NS = "/agent"
WAIT_S = 10.0


def _settings(tmp_path: Path, **calls: Any) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'cc.db'}",
        http=HttpSettings(port=0),
        agi=AgiSettings(port=0),
        queues=(
            QueueSettings(
                id="support",
                name="Support",
                skills=("support",),
                wrapup_s=0.2,
                offer_timeout_s=5.0,
                ring_timeout_s=5.0,
                short_abandon_s=0.3,
            ),
        ),
        calls={"dial_template": "Local/{number}@customers", **calls},
    )


@pytest.fixture
async def system(tmp_path: Path) -> AsyncIterator[RunningSystem]:
    async with running_system(_settings(tmp_path), n_agents=2, n_customers=5) as running:
        yield running


async def _until(condition: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


class Desktop:
    """One agent's desktop over the real Socket.IO contract, driven by hand."""

    def __init__(self, base_url: str, username: str) -> None:
        self.base_url = base_url
        self.username = username
        self.sio = socketio.AsyncClient()
        self.events: list[tuple[str, Any]] = []

    async def start(self) -> None:
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{self.base_url}/api/auth/login",
                json={"username": self.username, "password": DEMO_PASSWORD},
            ) as resp,
        ):
            token = (await resp.json())["token"]
        self.sio.on("*", self._on_any, namespace=NS)
        await self.sio.connect(
            self.base_url, namespaces=[NS], auth={"token": token}, transports=["websocket"]
        )

    async def _on_any(self, event: str, data: Any = None) -> None:
        self.events.append((event, data))

    def got(self, event: str) -> list[Any]:
        return [data for name, data in self.events if name == event]

    async def call(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        ack: dict[str, Any] = await self.sio.call(event, payload, namespace=NS, timeout=WAIT_S)
        return ack

    async def ok(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        ack = await self.call(event, payload)
        assert ack.get("ok"), f"{event} refused: {ack}"
        return ack

    async def stop(self) -> None:
        await self.sio.disconnect()


async def _connected_call(
    system: RunningSystem, desktop: Desktop, *, talk_s: float = 30.0
) -> tuple[CallId, asyncio.Task[CallTruth]]:
    """An inbound call that the desktop's agent answers; returns once it is connected."""
    await desktop.ok("agent.ready", {})
    number = system.data.known_numbers[0]
    placed = asyncio.ensure_future(system.pbx.place_call(number, "100", 30.0, talk_s))
    await _until(lambda: bool(desktop.got("call.offered")), "the offer")
    call_id = CallId(desktop.got("call.offered")[-1]["call"]["id"])
    await desktop.ok("call.answer", {"call_id": call_id})
    await _until(lambda: bool(desktop.got("call.answered")), "the answer")
    return call_id, placed


async def _history(system: RunningSystem, call_id: CallId) -> tuple[CallRecord, list[str]]:
    await system.runtime.writer.flush()
    record = await system.runtime.db.calls.get(call_id)
    assert record is not None
    events = await system.runtime.db.calls.events(call_id)
    return record, [e.kind for e in events]


async def _ended(system: RunningSystem, call_id: CallId) -> CallRecord:
    async def ended() -> bool:
        await system.runtime.writer.flush()
        rec = await system.runtime.db.calls.get(call_id)
        return rec is not None and rec.ended_at is not None

    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while not await ended():
        assert loop.time() < deadline, "the call never ended in the history"
        await asyncio.sleep(0.05)
    record = await system.runtime.db.calls.get(call_id)
    assert record is not None
    return record


async def test_hold_resume_mute_dtmf_recording_and_hangup(system: RunningSystem) -> None:
    desktop = Desktop(system.base_url, system.data.agents[0])
    await desktop.start()
    try:
        call_id, placed = await _connected_call(system, desktop)
        truth = system.pbx.truth.calls[-1]
        await _until(lambda: truth.recording is not None, "MixMonitor on the PBX")
        assert truth.recording == f"cc-{call_id}.wav"

        held = await desktop.ok("call.hold", {"call_id": call_id})
        assert held["call_id"] == call_id
        await _until(lambda: bool(desktop.got("call.held")), "call.held")
        assert truth.holds == 1
        refused = await desktop.call("call.hold", {"call_id": call_id})
        assert refused == {"ok": False, "error": "the call is already on hold", "field": "call_id"}
        await asyncio.sleep(0.3)
        unheld = await desktop.ok("call.unhold", {"call_id": call_id})
        assert unheld["held_s"] >= 0.3
        await _until(lambda: truth.resumes == 1, "the Bridge on the PBX")

        muted = await desktop.ok("call.mute", {"call_id": call_id, "muted": True})
        assert muted["muted"] is True and truth.muted is True
        assert desktop.got("call.muted")[-1] == {"call_id": call_id, "muted": True}
        await desktop.ok("call.mute", {"call_id": call_id, "muted": False})
        assert truth.muted is False

        await desktop.ok("call.dtmf", {"call_id": call_id, "digits": "12#"})
        assert truth.dtmf_sent == "12#"
        bad = await desktop.call("call.dtmf", {"call_id": call_id, "digits": "12x"})
        assert bad["ok"] is False and bad["field"] == "digits"

        await desktop.ok("call.hangup", {"call_id": call_id})
        await placed
        record = await _ended(system, call_id)
        record, kinds = await _history(system, call_id)
        assert record.outcome is Outcome.ANSWERED
        assert record.recording == f"cc-{call_id}.wav"
        assert record.hold_s >= 0.3
        assert record.talk_s is not None and record.answered_at is not None
        assert record.ended_at is not None
        whole = record.ended_at - record.answered_at
        assert abs(record.talk_s + record.hold_s - whole) < 0.01, "talk excludes hold"
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"{system.base_url}/api/auth/login",
                json={"username": system.data.agents[0], "password": DEMO_PASSWORD},
            ) as resp:
                token = (await resp.json())["token"]
            auth = {"Authorization": f"Bearer {token}"}
            async with http.get(f"{system.base_url}/api/calls/{call_id}", headers=auth) as resp:
                body = await resp.json()
            assert body["recording"] == f"cc-{call_id}.wav" and body["hold_s"] == record.hold_s
            customer = record.customer_id
            async with http.get(
                f"{system.base_url}/api/customers/{customer}/history", headers=auth
            ) as resp:
                calls = (await resp.json())["calls"]
            assert calls[0]["id"] == call_id and calls[0]["recording"] == f"cc-{call_id}.wav"
        for kind in ("recording_started", "held", "resumed", "muted", "unmuted", "dtmf"):
            assert kind in kinds, f"{kind} missing from {kinds}"
        assert kinds.index("held") < kinds.index("resumed") < kinds.index("ended")
    finally:
        await desktop.stop()


async def test_hangup_while_on_hold_frees_the_parked_agent_leg(system: RunningSystem) -> None:
    desktop = Desktop(system.base_url, system.data.agents[0])
    await desktop.start()
    try:
        call_id, placed = await _connected_call(system, desktop, talk_s=1.0)
        await desktop.ok("call.hold", {"call_id": call_id})
        await placed  # the caller hangs up while on music
        record = await _ended(system, call_id)
        assert record.outcome is Outcome.ANSWERED and record.hold_s > 0
        await _until(lambda: system.pbx.list_channels() == [], "no channel left on the PBX")
    finally:
        await desktop.stop()


async def test_blind_transfer_to_a_number(system: RunningSystem) -> None:
    desktop = Desktop(system.base_url, system.data.agents[0])
    await desktop.start()
    try:
        call_id, placed = await _connected_call(system, desktop, talk_s=2.0)
        truth = system.pbx.truth.calls[-1]
        ack = await desktop.ok(
            "call.transfer",
            {"call_id": call_id, "mode": "blind", "target": {"kind": "number", "id": "5551234"}},
        )
        assert ack["state"] == "completed"
        assert desktop.got("call.transfer")[-1]["target"] == {"kind": "number", "id": "5551234"}
        await _until(lambda: bool(desktop.got("call.ended")), "call.ended for the agent")
        record = await _ended(system, call_id)
        record, kinds = await _history(system, call_id)
        assert record.transferred == 1 and record.outcome is Outcome.ANSWERED
        assert record.hangup_cause == "transferred"
        assert "transferred" in kinds
        await placed
        assert truth.transferred_to == "cc-transfer,5551234"
        assert truth.hung_up_by == "caller", "the caller talked on with the far party"
    finally:
        await desktop.stop()


async def test_refused_action_leaves_the_call_and_tells_the_desktop(
    system: RunningSystem,
) -> None:
    """Asterisk answers `Response: Error` (here: the agent leg vanished from the PBX's view):
    the call stays connected, the desktop gets call.error and the ack's error."""
    desktop = Desktop(system.base_url, system.data.agents[0])
    await desktop.start()
    try:
        call_id, placed = await _connected_call(system, desktop)
        registry = system.runtime.calls._control._registry  # type: ignore[attr-defined]
        real_leg = registry.agent_leg_of(call_id)
        registry.set_agent_leg(call_id, "PJSIP/gone-00000099")
        ack = await desktop.call("call.hold", {"call_id": call_id})
        assert ack["ok"] is False and "does not exist" in ack["error"]
        await _until(lambda: bool(desktop.got("call.error")), "call.error")
        error = desktop.got("call.error")[-1]
        assert error["call_id"] == call_id and error["action"] == "hold"
        registry.set_agent_leg(call_id, real_leg)
        # not stranded: the call is still connected and can be held for real
        await desktop.ok("call.hold", {"call_id": call_id})
        await desktop.ok("call.unhold", {"call_id": call_id})
        await desktop.ok("call.hangup", {"call_id": call_id})
        await placed
        record, kinds = await _history(system, call_id)
        assert "action_failed" in kinds and record.outcome is Outcome.ANSWERED
    finally:
        await desktop.stop()


async def test_an_agent_cannot_act_on_another_agents_call(system: RunningSystem) -> None:
    owner = Desktop(system.base_url, system.data.agents[0])
    other = Desktop(system.base_url, system.data.agents[1])
    await owner.start()
    await other.start()
    try:
        call_id, placed = await _connected_call(system, owner)
        for event, payload in (
            ("call.hold", {"call_id": call_id}),
            ("call.mute", {"call_id": call_id, "muted": True}),
            ("call.dtmf", {"call_id": call_id, "digits": "1"}),
            (
                "call.transfer",
                {"call_id": call_id, "mode": "blind", "target": {"kind": "number", "id": "1"}},
            ),
        ):
            ack = await other.call(event, payload)
            assert ack == {
                "ok": False,
                "error": "this call is not yours",
                "field": None,
                "forbidden": True,
            }, event
        truth = system.pbx.truth.calls[-1]
        assert truth.holds == 0 and truth.muted is None and truth.dtmf_sent == ""
        await owner.ok("call.hangup", {"call_id": call_id})
        await placed
    finally:
        await owner.stop()
        await other.stop()


@pytest.mark.parametrize("mode,options", [("listen", "q"), ("whisper", "qw"), ("barge", "qB")])
async def test_supervisor_spy_modes(system: RunningSystem, mode: str, options: str) -> None:
    desktop = Desktop(system.base_url, system.data.agents[0])
    await desktop.start()
    try:
        call_id, placed = await _connected_call(system, desktop)
        truth = system.pbx.truth.calls[-1]
        agent = AgentId(system.data.agents[0])
        await system.runtime.calls.spy("PJSIP/2001", agent, mode)  # type: ignore[arg-type]
        await _until(lambda: bool(truth.spied_by), "ChanSpyStart on the PBX")
        assert truth.spied_by == [f"PJSIP/2001:{options}"]
        registry = system.runtime.calls._control._registry  # type: ignore[attr-defined]
        await _until(lambda: registry.spy_leg_of(call_id) is not None, "the spy leg")
        await system.runtime.calls.stop_spy(agent)
        assert not any(c.name.startswith("PJSIP/2001") for c in system.pbx.list_channels())
        await desktop.ok("call.hangup", {"call_id": call_id})
        await placed
        _, kinds = await _history(system, call_id)
        assert kinds.count("spy_started") == 1 and kinds.count("spy_stopped") == 1
        events = await system.runtime.db.calls.events(call_id)
        started = next(e for e in events if e.kind == "spy_started")
        assert started.data == {"supervisor": "PJSIP/2001", "mode": mode}
    finally:
        await desktop.stop()


async def test_recording_can_be_turned_off(tmp_path: Path) -> None:
    async with running_system(
        _settings(tmp_path, record=False), n_agents=1, n_customers=5
    ) as system:
        desktop = Desktop(system.base_url, system.data.agents[0])
        await desktop.start()
        try:
            call_id, placed = await _connected_call(system, desktop, talk_s=0.3)
            await placed
            record = await _ended(system, call_id)
            assert record.recording is None
            assert system.pbx.truth.calls[-1].recording is None
        finally:
            await desktop.stop()


# --- outbound --------------------------------------------------------------------------------

OUTCOMES = [
    ("human", Outcome.ANSWERED_HUMAN, None, "HUMAN"),
    ("notsure", Outcome.ANSWERED_HUMAN, "amd not sure", "NOTSURE"),
    ("machine", Outcome.MACHINE, None, "MACHINE"),
    ("amd_hangup", Outcome.NO_ANSWER, "hung up during amd", "HANGUP"),
    ("busy", Outcome.BUSY, "busy", None),
    ("noanswer", Outcome.NO_ANSWER, "no answer", None),
    ("congestion", Outcome.FAILED, "congestion", None),
    ("invalid", Outcome.FAILED, "invalid channel or number", None),
]


@pytest.mark.parametrize("behaviour,outcome,cause,amd", OUTCOMES)
async def test_originate_outcomes_are_mapped_and_recorded(
    system: RunningSystem, behaviour: str, outcome: Outcome, cause: str | None, amd: str | None
) -> None:
    from contactcenter import events as ev

    finished: list[ev.OriginateFinished] = []

    async def on_finished(event: ev.OriginateFinished) -> None:
        finished.append(event)

    system.runtime.bus.subscribe(ev.OriginateFinished, on_finished)
    number = "5557001"
    system.pbx.callees[number] = Callee(behaviour, patience_s=0.5, talk_s=0.2)  # type: ignore[arg-type]
    call_id = new_call_id()
    await system.runtime.calls.originate(
        OriginateRequest(
            call_id, number, "5559000", "Campaign 7", timeout_s=1.0, queue_id=QueueId("support")
        )
    )
    await _until(lambda: bool(finished), "OriginateFinished")
    assert len(finished) == 1
    event = finished[0]
    assert (event.call_id, event.outcome, event.cause, event.amd_status) == (
        call_id,
        outcome.value,
        cause,
        amd,
    )
    record = await _ended(system, call_id)
    record, kinds = await _history(system, call_id)
    assert record.direction is Direction.OUTBOUND and record.dialed_number == number
    assert kinds[0] == "dialing" and "dial_finished" in kinds
    if outcome is Outcome.ANSWERED_HUMAN:
        # nobody is Ready: the person answered, waited in the queue, and was dropped
        assert record.outcome is Outcome.DROPPED and record.queued_at is not None
    else:
        assert record.outcome is outcome and record.hangup_cause == cause
    await asyncio.sleep(0.2)
    assert len(finished) == 1, "one OriginateFinished per call"


async def test_unknown_technology_and_refused_originate(system: RunningSystem) -> None:
    from contactcenter import events as ev

    finished: list[ev.OriginateFinished] = []

    async def on_finished(event: ev.OriginateFinished) -> None:
        finished.append(event)

    system.runtime.bus.subscribe(ev.OriginateFinished, on_finished)
    control = system.runtime.calls._control  # type: ignore[attr-defined]
    control._dial_template = "Bogus/{number}"
    bad_tech = new_call_id()
    await system.runtime.calls.originate(OriginateRequest(bad_tech, "5557002", amd=False))
    await _until(lambda: len(finished) == 1, "the unknown technology's outcome")
    assert finished[0].outcome == "failed" and finished[0].cause == "invalid channel or number"
    refused = new_call_id()
    await system.runtime.calls.originate(OriginateRequest(refused, "not-a-number"))
    await _until(lambda: len(finished) == 2, "the refused originate's outcome")
    assert finished[1].call_id == refused and finished[1].outcome == "failed"
    for call_id in (bad_tech, refused):
        record = await _ended(system, call_id)
        assert record.outcome is Outcome.FAILED


async def test_answered_person_is_connected_to_an_agent_like_an_inbound_call(
    system: RunningSystem,
) -> None:
    desktop = Desktop(system.base_url, system.data.agents[0])
    await desktop.start()
    try:
        await desktop.ok("agent.ready", {})
        number = "5557003"
        system.pbx.callees[number] = Callee("human", patience_s=10.0, talk_s=0.5)
        call_id = new_call_id()
        await system.runtime.calls.originate(
            OriginateRequest(call_id, number, "5559000", queue_id=QueueId("support"))
        )
        await _until(lambda: bool(desktop.got("call.offered")), "the offer")
        offered = desktop.got("call.offered")[-1]["call"]
        assert offered["id"] == call_id and offered["direction"] == "outbound"
        await desktop.ok("call.answer", {"call_id": call_id})
        record = await _ended(system, call_id)
        assert record.outcome is Outcome.ANSWERED_HUMAN and record.talk_s is not None
        assert record.recording == f"cc-{call_id}.wav"
        truth = next(t for t in system.pbx.truth.calls if t.uniqueid == call_id)
        assert truth.amd_status == "HUMAN" and truth.answered_at is not None
    finally:
        await desktop.stop()


# --- attended transfer between two agents ----------------------------------------------------


async def test_attended_transfer_consult_then_complete(system: RunningSystem) -> None:
    first = Desktop(system.base_url, system.data.agents[0])
    second = Desktop(system.base_url, system.data.agents[1])
    await first.start()
    await second.start()
    try:
        call_id, placed = await _connected_call(system, first)
        truth = system.pbx.truth.calls[-1]
        await second.ok("agent.ready", {})
        target = {"kind": "agent", "id": system.data.agents[1]}
        ack = await first.ok(
            "call.transfer", {"call_id": call_id, "mode": "attended", "target": target}
        )
        assert ack["state"] == "consulting" and truth.holds == 1
        await _until(lambda: bool(second.got("call.transfer")), "the consult on the target")
        consult = second.got("call.transfer")[-1]
        assert consult["state"] == "consulting" and consult["call"]["id"] == call_id
        assert consult["from_agent"] == system.data.agents[0]
        # the caller hears music meanwhile; the two agents talk in their own bridge
        caller = next(c for c in system.pbx.list_channels() if c.uniqueid == truth.uniqueid)
        assert caller.context == "cc-hold" and not caller.bridge_id
        # a forged complete from the target (not the call's agent yet) is refused
        forged = await second.call("call.transfer_complete", {"call_id": call_id})
        assert forged["ok"] is False and forged["error"] == "this call is not yours"

        done = await first.ok("call.transfer_complete", {"call_id": call_id})
        assert done["state"] == "completed"
        await _until(lambda: bool(first.got("call.ended")), "call.ended for the first agent")
        await _until(lambda: bool(second.got("call.answered")), "the call for the target")
        assert second.got("call.answered")[-1]["call"]["id"] == call_id
        assert truth.transferred_to is not None and truth.transferred_to.startswith("PJSIP/1002")
        # the first agent's disposition still goes onto the call
        await first.ok(
            "call.disposition", {"call_id": call_id, "disposition": "resolved", "note": ""}
        )
        await second.ok("call.hangup", {"call_id": call_id})
        await placed
        record = await _ended(system, call_id)
        record, kinds = await _history(system, call_id)
        assert record.agent_id == system.data.agents[1] and record.transferred == 1
        assert record.outcome is Outcome.ANSWERED and record.hold_s > 0
        assert kinds.index("consult_started") < kinds.index("transferred") < kinds.index("ended")
        await _until(lambda: system.pbx.list_channels() == [], "no channel left on the PBX")
    finally:
        await first.stop()
        await second.stop()


async def test_attended_transfer_cancel_and_refusals(system: RunningSystem) -> None:
    first = Desktop(system.base_url, system.data.agents[0])
    second = Desktop(system.base_url, system.data.agents[1])
    await first.start()
    await second.start()
    try:
        call_id, placed = await _connected_call(system, first)
        truth = system.pbx.truth.calls[-1]
        target = {"kind": "agent", "id": system.data.agents[1]}
        payload = {"call_id": call_id, "mode": "attended", "target": target}
        not_ready = await first.call("call.transfer", payload)
        assert not_ready["ok"] is False and "is not ready" in not_ready["error"]
        assert truth.holds == 0, "a refused transfer does not touch the call"

        await second.ok("agent.ready", {})
        system.pbx.silent_endpoints.add("PJSIP/1002")
        no_answer = await first.call("call.transfer", payload)
        assert no_answer["ok"] is False and "did not answer" in no_answer["error"]
        assert truth.resumes == 1, "the caller is back with the agent"
        assert desktop_error(first) == "transfer"
        system.pbx.silent_endpoints.clear()

        await _until(lambda: bool(second.got("agent.state")), "the target's state")
        await second.ok("agent.ready", {})
        await first.ok("call.transfer", payload)
        cancelled = await first.ok("call.transfer_cancel", {"call_id": call_id})
        assert cancelled["state"] == "cancelled"
        await _until(lambda: truth.resumes == 2, "the caller bridged with the agent again")
        await _until(
            lambda: any(d["state"] == "cancelled" for d in second.got("call.transfer")),
            "the target told",
        )
        await first.ok("call.hangup", {"call_id": call_id})
        await placed
        record, kinds = await _history(system, call_id)
        assert record.agent_id == system.data.agents[0] and record.transferred == 0
        assert "consult_cancelled" in kinds
        await _until(lambda: system.pbx.list_channels() == [], "no channel left on the PBX")
    finally:
        await first.stop()
        await second.stop()


def desktop_error(desktop: Desktop) -> str | None:
    errors = desktop.got("call.error")
    return errors[-1]["action"] if errors else None


# --- waiting callers: position prompts and the callback offer ----------------------------------


async def test_waiting_caller_hears_position_and_takes_a_callback(tmp_path: Path) -> None:
    """Nobody is Ready: between spells of music the caller hears their place in the queue, and
    presses 1 at the callback offer. The call ends `callback_requested` and CallbackRequested
    goes on the bus once."""
    from contactcenter import events as ev

    settings = _settings(tmp_path, prompt_interval_s=0.2, callback_offer=True)
    async with running_system(settings, n_agents=1, n_customers=5) as system:
        requested: list[ev.CallbackRequested] = []

        async def on_callback(event: ev.CallbackRequested) -> None:
            requested.append(event)

        system.runtime.bus.subscribe(ev.CallbackRequested, on_callback)
        # two unknown callers (same priority): the first waits and gives up, the second is
        # behind it and takes the callback at the second offer
        first = asyncio.ensure_future(system.pbx.place_call("5559991", "100", 1.5, 1.0))
        await asyncio.sleep(0.1)
        second = await system.pbx.place_call("5559992", "100", 10.0, 1.0, digits=["", "1"])
        await first
        assert second.hung_up_by == "server" and second.answered_at is None
        # second in line: "there are" 1 "calls waiting", the estimated wait (no answers yet:
        # the queue's default handle time per logged-in agent, over a minute), then the offer
        # (no answer); once the first caller left: "you are next", the offer, 1, the confirmation
        heard = second.heard
        assert heard[:4] == ["queue-thereare", "1", "queue-callswaiting", "queue-holdtime"]
        assert int(heard[4]) >= 1 and heard[5:7] == ["queue-minutes", "cc-callback-offer"]
        assert "queue-youarenext" in heard[7:]
        assert heard[-2:] == ["cc-callback-offer", "cc-callback-confirm"]
        assert len(requested) == 1
        call_id = requested[0].call_id
        assert requested[0].number == "5559992"
        assert requested[0].queue_id == "support"
        record = await _ended(system, call_id)
        _, kinds = await _history(system, call_id)
        assert record.outcome is Outcome.CALLBACK_REQUESTED and record.wait_s is not None
        assert "callback_requested" in kinds
        others = [
            c for c in await system.runtime.db.calls.between(0, 4e9) if c.caller_number == "5559991"
        ]
        assert [c.outcome for c in others] == [Outcome.ABANDONED]
        assert await system.runtime.calls.position(call_id) is None


async def test_blind_transfer_to_a_queue_is_answered_again(system: RunningSystem) -> None:
    first = Desktop(system.base_url, system.data.agents[0])
    second = Desktop(system.base_url, system.data.agents[1])
    await first.start()
    await second.start()
    try:
        call_id, placed = await _connected_call(system, first)
        truth = system.pbx.truth.calls[-1]
        await asyncio.sleep(0.3)
        bad = await first.call(
            "call.transfer",
            {"call_id": call_id, "mode": "blind", "target": {"kind": "queue", "id": "nope"}},
        )
        assert bad == {"ok": False, "error": "unknown queue 'nope'", "field": "target.id"}
        await second.ok("agent.ready", {})
        ack = await first.ok(
            "call.transfer",
            {"call_id": call_id, "mode": "blind", "target": {"kind": "queue", "id": "support"}},
        )
        assert ack["state"] == "completed"
        await _until(lambda: bool(first.got("call.ended")), "wrap-up for the first agent")
        await _until(lambda: bool(second.got("call.offered")), "the offer to the second agent")
        assert second.got("call.offered")[-1]["call"]["id"] == call_id
        await second.ok("call.answer", {"call_id": call_id})
        await _until(lambda: bool(second.got("call.answered")), "the second answer")
        assert truth.dial_attempts == 2
        await asyncio.sleep(0.3)
        await second.ok("call.hangup", {"call_id": call_id})
        await placed
        record = await _ended(system, call_id)
        _, kinds = await _history(system, call_id)
        assert record.agent_id == system.data.agents[1] and record.transferred == 1
        assert record.outcome is Outcome.ANSWERED and record.queue_id == "support"
        assert record.talk_s is not None and record.talk_s >= 0.6, "both agents' talk"
        assert record.answered_at is not None and record.ended_at is not None
        assert record.talk_s <= record.ended_at - record.answered_at
        assert kinds.count("answered") == 2 and "transferred" in kinds
    finally:
        await first.stop()
        await second.stop()


async def test_three_way_conference_then_the_first_agent_leaves(system: RunningSystem) -> None:
    first = Desktop(system.base_url, system.data.agents[0])
    second = Desktop(system.base_url, system.data.agents[1])
    await first.start()
    await second.start()
    try:
        call_id, placed = await _connected_call(system, first, talk_s=3.0)
        truth = system.pbx.truth.calls[-1]
        await second.ok("agent.ready", {})
        target = {"kind": "agent", "id": system.data.agents[1]}
        await first.ok("call.transfer", {"call_id": call_id, "mode": "attended", "target": target})
        ack = await first.ok("call.conference", {"call_id": call_id})
        assert ack["state"] == "conference"

        def room() -> list[str]:
            chans = system.pbx.list_channels()
            caller = next((c for c in chans if c.uniqueid == truth.uniqueid), None)
            if caller is None or not caller.bridge_id:
                return []
            return sorted(c.name for c in chans if c.bridge_id == caller.bridge_id)

        await _until(lambda: len(room()) == 3, "three parties in the conference")
        assert any(n.startswith("PJSIP/1001") for n in room())
        assert any(n.startswith("PJSIP/1002") for n in room())
        refused = await first.call("call.hold", {"call_id": call_id})
        assert refused["ok"] is False
        await first.ok("call.transfer_complete", {"call_id": call_id})
        await _until(lambda: len(room()) == 2, "the first agent left the conference")
        assert not any(n.startswith("PJSIP/1001") for n in room())
        await _until(lambda: bool(second.got("call.answered")), "the call for the target")
        await placed  # the caller hangs up after their talk time
        record = await _ended(system, call_id)
        _, kinds = await _history(system, call_id)
        assert record.agent_id == system.data.agents[1] and record.transferred == 1
        assert "conference_started" in kinds and record.outcome is Outcome.ANSWERED
        await _until(lambda: system.pbx.list_channels() == [], "no channel left on the PBX")
    finally:
        await first.stop()
        await second.stop()


# --- AMI outage: answered and ended while nobody listened ---------------------------------------


async def test_call_answered_and_ended_during_an_ami_outage(tmp_path: Path) -> None:
    """The agent accepts, and at once the AMI link drops (and stays down a second): the agent's
    phone answers and the caller hangs up in the dark. After the reconnect the resync finds
    the caller gone and the dialplan's AstDB note of the answer: the call is recorded once,
    answered (at the noted time), ended."""
    from contactcenter.telephony.resync import ANSWERED_FAMILY, LOST_CAUSE

    settings = _settings(tmp_path)
    async with running_system(
        settings, n_agents=1, n_customers=5, phone_answer_delay_s=0.4
    ) as system:
        desktop = Desktop(system.base_url, system.data.agents[0])
        await desktop.start()
        try:
            await desktop.ok("agent.ready", {})
            placed = asyncio.ensure_future(
                system.pbx.place_call(system.data.known_numbers[0], "100", 30.0, 0.3)
            )
            await _until(lambda: bool(desktop.got("call.offered")), "the offer")
            call_id = CallId(desktop.got("call.offered")[-1]["call"]["id"])
            await desktop.ok("call.answer", {"call_id": call_id})
            system.pbx.kill_ami_connections(refuse_for_s=1.5)
            truth = await placed
            assert truth.answered_at is not None and truth.hung_up_at is not None
            assert system.pbx.astdb.get((ANSWERED_FAMILY, truth.uniqueid)) is not None
            record = await _ended(system, call_id)
            _, kinds = await _history(system, call_id)
            assert record.outcome is Outcome.ANSWERED and record.hangup_cause == LOST_CAUSE
            assert record.answered_at is not None
            assert abs(record.answered_at - truth.answered_at) < 1.0  # AstDB keeps seconds
            assert kinds.count("answered") == 1 and kinds.count("ended") == 1
            # the note is gone once read
            assert (ANSWERED_FAMILY, truth.uniqueid) not in system.pbx.astdb
        finally:
            await desktop.stop()


async def test_answer_note_is_deleted_after_a_normal_call(system: RunningSystem) -> None:
    from contactcenter.telephony.resync import ANSWERED_FAMILY

    desktop = Desktop(system.base_url, system.data.agents[0])
    await desktop.start()
    try:
        call_id, placed = await _connected_call(system, desktop, talk_s=0.2)
        truth = await placed
        await _ended(system, call_id)
        await _until(
            lambda: (ANSWERED_FAMILY, truth.uniqueid) not in system.pbx.astdb,
            "DBDel of the answer note",
        )
    finally:
        await desktop.stop()


async def test_refused_blind_transfer_leaves_the_caller_with_the_agent(
    system: RunningSystem,
) -> None:
    desktop = Desktop(system.base_url, system.data.agents[0])
    await desktop.start()
    try:
        call_id, placed = await _connected_call(system, desktop)
        truth = system.pbx.truth.calls[-1]
        await _until(lambda: truth.recording is not None, "the recording")
        registry = system.runtime.calls._control._registry  # type: ignore[attr-defined]
        real_leg = registry.agent_leg_of(call_id)
        registry.set_agent_leg(call_id, "PJSIP/gone-00000099")
        payload = {
            "call_id": call_id,
            "mode": "blind",
            "target": {"kind": "number", "id": "5551234"},
        }
        ack = await desktop.call("call.transfer", payload)
        assert ack == {
            "ok": False,
            "error": "Channel specified does not exist",
            "field": None,
        }
        error = desktop.got("call.error")[-1]
        assert (error["action"], error["error"]) == ("transfer", "Channel specified does not exist")
        assert truth.transferred_to is None and not truth.recording_stopped
        registry.set_agent_leg(call_id, real_leg)
        # still the agent's call, still recorded, and the transfer works now
        await desktop.ok("call.transfer", payload)
        await placed
        record = await _ended(system, call_id)
        _, kinds = await _history(system, call_id)
        assert record.transferred == 1 and kinds.count("action_failed") == 1
        assert truth.transferred_to == "cc-transfer,5551234" and truth.recording_stopped
    finally:
        await desktop.stop()


async def test_caller_hangs_up_during_a_consultation(system: RunningSystem) -> None:
    first = Desktop(system.base_url, system.data.agents[0])
    second = Desktop(system.base_url, system.data.agents[1])
    await first.start()
    await second.start()
    try:
        call_id, placed = await _connected_call(system, first, talk_s=1.0)
        await second.ok("agent.ready", {})
        target = {"kind": "agent", "id": system.data.agents[1]}
        await first.ok("call.transfer", {"call_id": call_id, "mode": "attended", "target": target})
        await placed  # the caller gives up while on hold
        record = await _ended(system, call_id)
        assert record.outcome is Outcome.ANSWERED and record.agent_id == system.data.agents[0]
        await _until(lambda: system.pbx.list_channels() == [], "every leg hung up")
        await _until(
            lambda: any(d["state"] == "cancelled" for d in second.got("call.transfer")),
            "the target told",
        )
        # the target agent is routable again
        states = second.got("agent.state")
        await _until(lambda: second.got("agent.state")[-1]["state"] == "ready", "target Ready")
        assert states
    finally:
        await first.stop()
        await second.stop()


class Console(Desktop):
    """The supervisor console's Socket.IO namespace, driven by hand."""

    async def start(self) -> None:
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{self.base_url}/api/auth/login",
                json={"username": self.username, "password": DEMO_PASSWORD},
            ) as resp,
        ):
            token = (await resp.json())["token"]
        await self.sio.connect(
            self.base_url,
            namespaces=["/supervisor"],
            auth={"token": token},
            transports=["websocket"],
        )

    async def call(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        ack: dict[str, Any] = await self.sio.call(
            event, payload, namespace="/supervisor", timeout=WAIT_S
        )
        return ack


async def test_supervisor_moves_a_waiting_call_to_one_agent_and_listens_in(
    system: RunningSystem,
) -> None:
    """The console's move and listen reach the ACD and the PBX, and the history shows both."""
    first = Desktop(system.base_url, system.data.agents[0])
    second = Desktop(system.base_url, system.data.agents[1])
    console = Console(system.base_url, "supervisor")
    for client in (first, second, console):
        await client.start()
    try:
        number = system.data.known_numbers[1]
        placed = asyncio.ensure_future(system.pbx.place_call(number, "100", 30.0, 30.0))
        await _until(lambda: bool(system.runtime.calls.active), "the call to arrive")
        call_id = next(iter(system.runtime.calls.active))
        await _until(
            lambda: system.runtime.acd.core.position(call_id) == 1, "the call to wait in the queue"
        )
        refused = await console.call("call.move", {"call_id": call_id, "to_agent": "nobody"})
        assert refused["ok"] is False
        await console.ok("call.move", {"call_id": call_id, "to_agent": system.data.agents[1]})
        # Directed to the second agent: the first, Ready first, is not offered it.
        await first.ok("agent.ready", {})
        await asyncio.sleep(0.5)
        assert first.got("call.offered") == []
        await second.ok("agent.ready", {})
        await _until(lambda: bool(second.got("call.offered")), "the offer to the chosen agent")
        await second.ok("call.answer", {"call_id": call_id})
        await _until(lambda: bool(second.got("call.answered")), "the answer")
        truth = system.pbx.truth.calls[-1]
        await console.ok("call.spy", {"agent_id": system.data.agents[1], "mode": "listen"})
        await _until(lambda: bool(truth.spied_by), "ChanSpyStart on the PBX")
        assert truth.spied_by == ["PJSIP/2001:q"]
        await second.ok("call.hangup", {"call_id": call_id})
        await placed
        _, kinds = await _history(system, call_id)
        assert kinds.count("moved") == 1 and kinds.count("spy_started") == 1
        events = await system.runtime.db.calls.events(call_id)
        moved = next(e for e in events if e.kind == "moved")
        assert moved.data["to_agent"] == system.data.agents[1]
        audit = await system.runtime.db.supervisor_audit.recent()
        assert {(a.action, a.outcome) for a in audit} >= {("move", "done"), ("listen", "done")}
    finally:
        for client in (first, second, console):
            await client.stop()
