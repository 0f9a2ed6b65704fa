"""CallService's state and the helpers every part of it uses: writing call facts, finding a
call or an agent's call, hold accounting. The parts: call_controls.py (hold, mute, DTMF,
recording, supervisor spy), call_transfers.py (blind and attended transfers, conference),
call_service.py (arrival, queueing, ACD outputs, answer, outbound, the end of a call)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from acd import messages as m
from contactcenter.acd_service import Acd
from contactcenter.bus import EventBus
from contactcenter.clock import Clock
from contactcenter.errors import Forbidden, InvalidRequest, NotFound
from contactcenter.events import CallEnded
from contactcenter.history_writer import HistoryWriter
from contactcenter.ids import AgentId, CallId
from contactcenter.live_call import AgentDirectory, AgentNotifier, LiveCall, Phase
from contactcenter.ports import CallControl, CallRepository, CustomerRepository, LiveState
from contactcenter.records import CallEvent, CallRecord, CallUpdate, Outcome
from contactcenter.screenpop import call_json
from contactcenter.settings import QueueSettings, Settings

logger = logging.getLogger(__name__)

# How many past calls a screen pop carries.
HISTORY_IN_POP = 10


class CallServiceBase:
    # Ended calls kept for dispositions and wrap-up accounting (bounded).
    _RECENT_MAX = 5000

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        calls: CallRepository,
        customers: CustomerRepository,
        live: LiveState,
        acd: Acd,
        bus: EventBus,
        control: CallControl,
        notifier: AgentNotifier,
        agents: AgentDirectory,
        writer: HistoryWriter,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._calls = calls
        self._customers = customers
        self._live = live
        self._acd = acd
        self._bus = bus
        self._control = control
        self._notifier = notifier
        self._agents = agents
        self._writer = writer
        self.active: dict[CallId, LiveCall] = {}
        self._last_call_of_agent: dict[AgentId, CallId] = {}
        self._recent: dict[CallId, CallRecord] = {}
        # Where an agent's phone is when their desktop is on another node (set by the app).
        self.endpoint_directory: Callable[[AgentId], Awaitable[str | None]] | None = None
        self._tasks: set[asyncio.Future[None]] = set()
        # Set by the callback dialer: dials a callback attempt once an agent accepted it.
        self.dial_callback: Callable[[LiveCall, AgentId, str], Awaitable[None]] | None = None

    def ended_payload(self, rec: CallRecord) -> dict[str, Any]:
        queue = self._queue_of(rec)
        return {
            "call": call_json(rec),
            "wrapup_s": queue.wrapup_s if queue else 0,
            "dispositions": list(queue.dispositions) if queue else [],
            "disposition_required": queue.disposition_required if queue else False,
        }

    async def _endpoint_of(self, agent_id: AgentId) -> str | None:
        """The agent's phone: from their desktop's session here, else (their desktop is on
        another node) from their user record."""
        local = self._agents.endpoint_of(agent_id)
        if local or self.endpoint_directory is None:
            return local
        return await self.endpoint_directory(agent_id)

    def _own_call(self, agent_id: AgentId, call_id: CallId) -> LiveCall:
        live = self.active.get(call_id)
        if live is None:
            raise NotFound("no such active call")
        if live.record.agent_id != agent_id:
            raise Forbidden("this call is not yours")
        return live

    def _agents_call_record(self, agent_id: AgentId, call_id: CallId) -> CallRecord:
        live = self.active.get(call_id)
        recent = self._recent.get(call_id)
        if live is not None:
            if live.record.agent_id == agent_id:
                return live.record
            if recent is not None and recent.agent_id == agent_id:
                return recent  # the agent transferred the call on and is wrapping up
            raise Forbidden("this call is not yours")
        if recent is None:
            raise NotFound("no such call of yours to disposition")
        if recent.agent_id != agent_id:
            raise Forbidden("this call is not yours")
        return recent

    def _queue_of(self, rec: CallRecord) -> QueueSettings | None:
        return self._settings.queue(rec.queue_id) if rec.queue_id else None

    def _connected_call(self, agent_id: AgentId, call_id: CallId) -> LiveCall:
        live = self._own_call(agent_id, call_id)
        if live.phase is not Phase.CONNECTED:
            raise InvalidRequest("the call is not connected", "call_id")
        return live

    @staticmethod
    def _leg_talk(live: LiveCall, now: float) -> float:
        """Talk time with the current agent: since they were connected, less time on hold."""
        if live.talk_from is None:
            return 0.0
        return max(0.0, now - live.talk_from - (live.record.hold_s - live.hold_base_s))

    def _end_hold(self, live: LiveCall, now: float) -> float:
        """Close a hold period: its seconds go onto the call's hold_s."""
        if live.held_since is None:
            return 0.0
        held = max(0.0, now - live.held_since)
        live.held_since = None
        rec = live.record
        rec.hold_s += held
        self._update(rec.id, hold_s=rec.hold_s)
        return held

    def _call_of_agent(self, agent_id: AgentId) -> LiveCall:
        for live in self.active.values():
            if live.record.agent_id == agent_id and live.phase is Phase.CONNECTED:
                return live
        raise NotFound(f"agent {agent_id} is not on a connected call")

    def record_of(self, call_id: CallId) -> CallRecord | None:
        """A call in progress or recently ended (None when it is unknown or long gone)."""
        live = self.active.get(call_id)
        return live.record if live is not None else self._recent.get(call_id)

    def _remember(self, rec: CallRecord) -> None:
        recent = self._recent
        recent[rec.id] = rec
        if len(recent) > self._RECENT_MAX:
            recent.pop(next(iter(recent)))

    async def _event(self, call_id: CallId, kind: str, **data: object) -> None:
        self._writer.write(CallEvent(call_id, self._clock.now(), kind, dict(data)))

    def _update(self, call_id: CallId, **fields: object) -> None:
        self._writer.write(CallUpdate(call_id, fields))

    async def _finish(
        self,
        live: LiveCall,
        outcome: Outcome,
        now: float,
        cause: str | None,
        **extra: float | None,
    ) -> None:
        rec = live.record
        live.phase = Phase.ENDED
        live.released.set()
        rec.ended_at = now
        rec.outcome = outcome
        rec.hangup_cause = cause
        self._update(rec.id, ended_at=now, outcome=outcome, hangup_cause=cause, **extra)
        await self._event(rec.id, "ended", outcome=outcome.value, cause=cause)
        self.active.pop(rec.id, None)
        self._remember(rec)
        logger.info("call ended call_id=%s outcome=%s agent_id=%s", rec.id, outcome, rec.agent_id)
        agent_id = rec.agent_id
        if agent_id is not None:
            # The agent had accepted the call: free them, whether or not it was connected.
            await self._live.release_agent(agent_id, rec.id)
            if rec.answered_at is not None:
                self._agents.call_handled(agent_id)
            await self._acd.submit(m.CallFinished(rec.id, agent_id))
            await self._notifier.to_agent(agent_id, "call.ended", self.ended_payload(rec))
        await self._bus.publish(CallEnded(rec.id, agent_id, rec.queue_id, outcome.value, now))

    async def _finish_connected(self, live: LiveCall, now: float, cause: str | None) -> None:
        """A connected call ends (implemented by CallService)."""
        raise NotImplementedError
