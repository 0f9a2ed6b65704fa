"""SharedAcdService's queries (the names and meanings of acd/queries.py AcdQueries, async, read
from the shared store so every node answers alike). `now` is the service clock's."""

from __future__ import annotations

from collections.abc import Mapping

from acd.errors import UnknownAgent, UnknownQueue
from acd.model import AgentState, QueueConfig, QueueStatus
from acd.queries import EWT_MIN_ANSWERS, EWT_WINDOW_S
from acd.state import AgentView
from contactcenter.clock import Clock
from contactcenter.ids import AgentId, CallId, QueueId
from contactcenter.sharedqueue.ports import SharedQueues, WaitInfo

_STATES: Mapping[str, AgentState] = {
    "not_ready": AgentState.NOT_READY,
    "ready": AgentState.READY,
    "assigned": AgentState.RINGING,
    "on_call": AgentState.ON_CALL,
    "on_hold": AgentState.ON_HOLD,
    "busy": AgentState.ON_CALL,  # not produced by the ACD (outbound work elsewhere)
    "wrap_up": AgentState.WRAP_UP,
}


class SharedAcdQueries:
    shared: SharedQueues
    _queues: dict[QueueId, QueueConfig]
    _clock: Clock

    async def agent_view(self, agent_id: AgentId) -> AgentView:
        """The agent as the core's `agent_state` shows it. Raises UnknownAgent when the agent
        is not logged in."""
        status = await self.shared.agent(agent_id)
        if status is None:
            raise UnknownAgent(agent_id)
        return AgentView(
            agent_id,
            _STATES[status.state],
            status.reason,
            status.call_id,
            status.since,
            frozenset(status.skills),
            status.idle,
        )

    async def position(self, call_id: CallId) -> int | None:
        """1-based place of a waiting (or ringing) call among its queue's calls (a directed
        call: among its agent's directed calls); None if it is not waiting."""
        info = await self.shared.wait_info(call_id, self._clock.now(), EWT_WINDOW_S)
        return None if info is None else info.position

    async def estimated_wait_s(self, call_id: CallId) -> float | None:
        """0 while the call rings, else position x the queue's service interval (acd/queries.py
        service_interval_s, from the answers every node recorded); None if not waiting."""
        now = self._clock.now()
        info = await self.shared.wait_info(call_id, now, EWT_WINDOW_S)
        if info is None:
            return None
        if info.ringing:
            return 0.0
        return info.position * self._service_interval(info, now)

    def _service_interval(self, info: WaitInfo, now: float) -> float:
        if info.answers >= EWT_MIN_ANSWERS:
            mean_gap = (info.last_answer - info.first_answer) / (info.answers - 1)
            return max(mean_gap, now - info.last_answer)
        return self._queues[info.queue_id].ewt_default_handle_s / max(1, info.serving)

    async def queue_status(self, queue_id: QueueId) -> QueueStatus:
        """Whether the queue takes calls now (business hours and holidays from its config,
        "closed" when no logged-in agent serves it, counted in the store). Raises
        UnknownQueue."""
        q = self._queues.get(queue_id)
        if q is None:
            raise UnknownQueue(queue_id)
        if q.hours is not None:
            reason = q.hours.status(self._clock.now())
            if reason != "open":
                return QueueStatus(False, reason, q.after_hours_action)
        if not await self.shared.serving(queue_id):
            return QueueStatus(False, "closed", q.closed_action)
        return QueueStatus(True, "open", None)
