"""Call control of a connected call: hold and resume, mute, DTMF, recording, and a
supervisor's listen / whisper / barge. Part of CallService (see call_base.py)."""

from __future__ import annotations

import logging
from typing import Any

from acd import messages as m
from acd.errors import AcdError
from contactcenter.call_base import CallServiceBase
from contactcenter.errors import InvalidRequest, NotFound, TelephonyError
from contactcenter.events import CallHeld, CallResumed
from contactcenter.ids import AgentId, CallId
from contactcenter.live_call import LiveCall, Phase
from contactcenter.ports import SpyMode

logger = logging.getLogger(__name__)


class CallControls(CallServiceBase):
    async def _control_action(self, live: LiveCall, action: str, run: Any, **data: object) -> None:
        """Run one PBX action for the agent's call. A refusal leaves the call as it was, is
        written to the call's events, and reaches the desktop as `call.error`."""
        rec = live.record
        if live.busy:
            raise InvalidRequest("another action on this call is still in progress", "call_id")
        live.busy = True
        try:
            await run
        except TelephonyError as exc:
            logger.warning("%s failed call_id=%s: %s", action, rec.id, exc)
            await self._event(rec.id, "action_failed", action=action, error=str(exc), **data)
            if rec.agent_id is not None:
                await self._notifier.to_agent(
                    rec.agent_id,
                    "call.error",
                    {"call_id": rec.id, "action": action, "error": str(exc)},
                )
            raise
        finally:
            live.busy = False

    async def hold(self, agent_id: AgentId, call_id: CallId) -> dict[str, Any]:
        live = self._connected_call(agent_id, call_id)
        if live.held_since is not None:
            raise InvalidRequest("the call is already on hold", "call_id")
        if live.conference or live.consult is not None:
            raise InvalidRequest("hold is not available during a transfer or conference", "call_id")
        await self._control_action(live, "hold", self._control.hold(call_id))
        now = self._clock.now()
        live.held_since = now
        await self._agent_hold(agent_id, call_id, True)
        await self._event(call_id, "held", agent=agent_id)
        payload = {"call_id": call_id, "at": now}
        await self._notifier.to_agent(agent_id, "call.held", payload)
        await self._bus.publish(CallHeld(call_id, agent_id, now))
        return payload

    async def unhold(self, agent_id: AgentId, call_id: CallId) -> dict[str, Any]:
        live = self._connected_call(agent_id, call_id)
        if live.held_since is None:
            raise InvalidRequest("the call is not on hold", "call_id")
        await self._control_action(live, "unhold", self._control.unhold(call_id))
        now = self._clock.now()
        held = self._end_hold(live, now)
        await self._agent_hold(agent_id, call_id, False)
        await self._event(call_id, "resumed", agent=agent_id, held_s=held)
        payload = {"call_id": call_id, "held_s": held, "hold_s": live.record.hold_s}
        await self._notifier.to_agent(agent_id, "call.unheld", payload)
        await self._bus.publish(CallResumed(call_id, agent_id, held, now))
        return payload

    async def _agent_hold(self, agent_id: AgentId, call_id: CallId, on_hold: bool) -> None:
        """The ACD's agent state follows hold (ON_CALL <-> ON_HOLD)."""
        try:
            await self._acd.submit(m.AgentHold(agent_id, call_id, on_hold))
        except AcdError as exc:
            logger.warning("ACD refused AgentHold call_id=%s: %s", call_id, exc)

    async def mute(self, agent_id: AgentId, call_id: CallId, muted: bool) -> dict[str, Any]:
        live = self._connected_call(agent_id, call_id)
        await self._control_action(live, "mute", self._control.mute(call_id, muted), muted=muted)
        live.muted = muted
        await self._event(call_id, "muted" if muted else "unmuted", agent=agent_id)
        payload = {"call_id": call_id, "muted": muted}
        await self._notifier.to_agent(agent_id, "call.muted", payload)
        return payload

    async def send_dtmf(self, agent_id: AgentId, call_id: CallId, digits: str) -> dict[str, Any]:
        live = self._connected_call(agent_id, call_id)
        await self._control_action(
            live, "dtmf", self._control.send_dtmf(call_id, digits), digits=digits
        )
        await self._event(call_id, "dtmf", agent=agent_id, digits=digits)
        return {"call_id": call_id, "digits": digits}

    async def spy(self, supervisor_endpoint: str, agent_id: AgentId, mode: SpyMode) -> None:
        """Ring the supervisor's endpoint into the agent's call: listen, whisper (the agent
        hears the supervisor) or barge (both parties do). Recorded in the call's events."""
        if mode not in ("listen", "whisper", "barge"):
            raise InvalidRequest(
                f"unknown mode {mode!r}; expected listen, whisper or barge", "mode"
            )
        if not supervisor_endpoint or "/" not in supervisor_endpoint:
            raise InvalidRequest(
                f"not an endpoint: {supervisor_endpoint!r} (e.g. PJSIP/2001)", "endpoint"
            )
        live = self._call_of_agent(agent_id)
        call_id = live.record.id
        try:
            await self._control.spy(call_id, supervisor_endpoint, mode)
        except TelephonyError as exc:
            await self._event(call_id, "action_failed", action="spy", error=str(exc), mode=mode)
            raise
        live.spy = (supervisor_endpoint, mode)
        await self._event(call_id, "spy_started", supervisor=supervisor_endpoint, mode=mode)

    async def stop_spy(self, agent_id: AgentId) -> None:
        live = self._call_of_agent(agent_id)
        call_id = live.record.id
        if live.spy is None:
            raise NotFound(f"nobody is listening to agent {agent_id}'s call")
        await self._control.stop_spy(call_id)
        supervisor, mode = live.spy
        live.spy = None
        await self._event(call_id, "spy_stopped", supervisor=supervisor, mode=mode)

    async def _start_recording(self, live: LiveCall) -> None:
        rec = live.record
        filename = f"cc-{rec.id}.{self._settings.calls.recording_format}"
        try:
            await self._control.start_recording(rec.id, filename)
        except TelephonyError as exc:
            logger.warning("recording failed call_id=%s: %s", rec.id, exc)
            await self._event(rec.id, "action_failed", action="record", error=str(exc))
            return
        if self.active.get(rec.id) is not live or live.phase is not Phase.CONNECTED:
            return
        live.recording = filename
        self._update(rec.id, recording=filename)
        await self._event(rec.id, "recording_started", file=filename)

    async def _stop_recording(self, live: LiveCall) -> None:
        rec = live.record
        try:
            await self._control.stop_recording(rec.id)
        except TelephonyError as exc:
            logger.info("stop recording failed call_id=%s: %s", rec.id, exc)
        await self._event(rec.id, "recording_stopped", file=live.recording)
        live.recording = None
