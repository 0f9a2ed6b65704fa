"""The ACD core's read-only queries (the shell, the wallboard and tests ask them), apart from
the state changes in acd/core.py."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

from acd.errors import UnknownAgent, UnknownQueue
from acd.index import LazyHeap
from acd.model import AgentState, QueueConfig, QueueStatus
from acd.routing import call_key
from acd.state import Agent, AgentEntry, AgentView, Call
from contactcenter.ids import AgentId, CallId, QueueId

# Estimated wait: the window of recent answers, and how many it needs to be trusted.
EWT_WINDOW_S = 900.0
EWT_MIN_ANSWERS = 3


def some_int(value: int | None) -> int:
    assert value is not None
    return value


class AcdQueries:
    """What AcdCore lets others read. The attributes are AcdCore's state."""

    _queues: dict[QueueId, QueueConfig]
    _agents: dict[AgentId, Agent]
    _calls: dict[CallId, Call]  # waiting, offered or not
    _members: dict[QueueId, dict[CallId, Call]]
    _accepted: dict[CallId, AgentId]
    _serving: dict[QueueId, set[AgentId]]
    _ready: dict[QueueId, list[LazyHeap[AgentEntry]]]
    _answers: dict[QueueId, deque[float]]  # times of the queue's recent answers, oldest first
    _outcomes: dict[QueueId, deque[tuple[float, bool]]]
    _sl_counts: dict[QueueId, list[int]]

    @property
    def queues(self) -> Mapping[QueueId, QueueConfig]:
        return self._queues

    def agent_state(self, agent_id: AgentId) -> AgentView:
        """Raises UnknownAgent for an agent that never logged in."""
        a = self._agent(agent_id)
        idle = a.idle_since if a.state is AgentState.READY else None
        return AgentView(a.id, a.state, a.reason, a.call_id, a.since, a.skills, idle)

    def waiting(self, queue_id: QueueId) -> list[CallId]:
        """Calls in the queue (ringing ones included), in routing order."""
        calls = self._queue_members(queue_id).values()
        q = self._queues[queue_id]
        return [
            c.id
            for c in sorted(calls, key=lambda c: (*call_key(q, c.priority, c.enqueued_at), c.seq))
        ]

    def queue_of(self, call_id: CallId) -> QueueId | None:
        """The queue a call waits in (None once accepted, removed, or never seen)."""
        call = self._calls.get(call_id)
        return call.queue_id if call is not None else None

    def offer_of(self, call_id: CallId) -> AgentId | None:
        """The agent whose desktop rings with this call, if any (the first, for ring_all)."""
        call = self._calls.get(call_id)
        return call.offered_to if call is not None else None

    def offers_of(self, call_id: CallId) -> tuple[AgentId, ...]:
        """Every agent whose desktop rings with this call (several only for ring_all)."""
        call = self._calls.get(call_id)
        return tuple(call.offers) if call is not None else ()

    def target_of(self, call_id: CallId) -> AgentId | None:
        """The agent a waiting call is directed to (None: an ordinary call, or not waiting)."""
        call = self._calls.get(call_id)
        return call.target if call is not None else None

    def agent_of(self, call_id: CallId) -> AgentId | None:
        """The agent who accepted this call and has not finished it yet."""
        return self._accepted.get(call_id)

    def agents_serving(self, queue_id: QueueId) -> frozenset[AgentId]:
        """Logged-in agents (any state) whose skills cover the queue's skills (and whose levels
        are acceptable at some widening step)."""
        if queue_id not in self._serving:
            raise UnknownQueue(queue_id)
        return frozenset(self._serving[queue_id])

    def ready_agents(self, queue_id: QueueId) -> list[AgentId]:
        """READY agents serving the queue, in the queue's order (default: longest idle first)."""
        if queue_id not in self._ready:
            raise UnknownQueue(queue_id)
        return [e[5] for e in sorted(e for heap in self._ready[queue_id] for e in heap)]

    def position(self, call_id: CallId) -> int | None:
        """1-based place of a waiting call: 1 + how many calls of its queue would be served
        before it (ringing ones included). For an ordinary call, the queue's other ordinary
        calls ahead of it in routing order; for a directed call, the directed calls of the same
        agent ahead of it. None if the call is not waiting (unknown, gone, with an agent)."""
        call = self._calls.get(call_id)
        if call is None:
            return None
        q = self._queues[call.queue_id]
        mine = (*call_key(q, call.priority, call.enqueued_at), call.seq)
        ahead = 0
        for other in self._members[call.queue_id].values():
            if other.target == call.target and (
                (*call_key(q, other.priority, other.enqueued_at), other.seq) < mine
            ):
                ahead += 1
        return ahead + 1

    def service_interval_s(self, queue_id: QueueId, now: float) -> float:
        """Seconds between two answers of the queue, recently (docs/metrics.md, "Estimated wait
        time"): with n >= EWT_MIN_ANSWERS answers in the last EWT_WINDOW_S seconds, first at
        t1 and last at tn, max((tn - t1) / (n - 1), now - tn): the mean gap between them, but
        never less than the time since the last answer (so it grows while answers stop);
        otherwise ewt_default_handle_s / max(1, agents logged in who serve the queue)."""
        q = self._queues.get(queue_id)
        if q is None:
            raise UnknownQueue(queue_id)
        answers = self._answers[queue_id]
        while answers and answers[0] <= now - EWT_WINDOW_S:
            answers.popleft()
        if len(answers) >= EWT_MIN_ANSWERS:
            mean_gap = (answers[-1] - answers[0]) / (len(answers) - 1)
            return max(mean_gap, now - answers[-1])
        return q.ewt_default_handle_s / max(1, len(self._serving[queue_id]))

    def estimated_wait_s(self, call_id: CallId, now: float) -> float | None:
        """Estimated seconds until the call is offered: 0 while it rings, otherwise
        position x service_interval_s of its queue. None if the call is not waiting."""
        call = self._calls.get(call_id)
        if call is None:
            return None
        if call.offers:
            return 0.0
        return some_int(self.position(call_id)) * self.service_interval_s(call.queue_id, now)

    def service_level(self, queue_id: QueueId, now: float) -> float | None:
        """The queue's service level over its last `sl_window_s` seconds, as in
        docs/metrics.md: calls answered within `sl_threshold_s` of their enqueue time / (calls
        answered + calls abandoned after waiting at least `short_abandon_s`), counting the
        calls that were answered or abandoned in the window while in this queue. None before
        any such call."""
        q = self._queues.get(queue_id)
        if q is None:
            raise UnknownQueue(queue_id)
        outcomes, counts = self._outcomes[queue_id], self._sl_counts[queue_id]
        while outcomes and outcomes[0][0] <= now - q.sl_window_s:
            _, met = outcomes.popleft()
            counts[0] -= met
            counts[1] -= 1
        return counts[0] / counts[1] if counts[1] else None

    def service_level_met(self, queue_id: QueueId, now: float) -> bool:
        """Whether the queue may lend agents: its service_level is at least its `sl_target`
        (and a queue with no outcome in its window yet counts as meeting it)."""
        sl = self.service_level(queue_id, now)
        return sl is None or sl >= self._queues[queue_id].sl_target

    def queue_status(self, queue_id: QueueId, now: float) -> QueueStatus:
        """Whether the queue takes calls at epoch time `now`, and if not, why and what the
        shell should do (see QueueStatus). Raises UnknownQueue."""
        q = self._queues.get(queue_id)
        if q is None:
            raise UnknownQueue(queue_id)
        if q.hours is not None:
            reason = q.hours.status(now)
            if reason != "open":
                return QueueStatus(False, reason, q.after_hours_action)
        if not self._serving[queue_id]:
            return QueueStatus(False, "closed", q.closed_action)
        return QueueStatus(True, "open", None)

    # --- lookups -------------------------------------------------------------------------

    def _agent(self, agent_id: AgentId) -> Agent:
        agent = self._agents.get(agent_id)
        if agent is None:
            raise UnknownAgent(agent_id)
        return agent

    def _queue_members(self, queue_id: QueueId) -> dict[CallId, Call]:
        members = self._members.get(queue_id)
        if members is None:
            raise UnknownQueue(queue_id)
        return members
