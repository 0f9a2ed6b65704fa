"""The ACD core's read-only queries (the shell, the wallboard and tests ask them), apart from
the state changes in acd/core.py."""

from __future__ import annotations

from collections.abc import Mapping

from acd.errors import UnknownAgent, UnknownQueue
from acd.index import LazyHeap
from acd.model import AgentState, QueueConfig
from acd.routing import call_key
from acd.state import Agent, AgentEntry, AgentView, Call
from contactcenter.ids import AgentId, CallId, QueueId


class AcdQueries:
    """What AcdCore lets others read. The attributes are AcdCore's state."""

    _queues: dict[QueueId, QueueConfig]
    _agents: dict[AgentId, Agent]
    _calls: dict[CallId, Call]  # waiting, offered or not
    _members: dict[QueueId, dict[CallId, Call]]
    _accepted: dict[CallId, AgentId]
    _serving: dict[QueueId, set[AgentId]]
    _ready: dict[QueueId, list[LazyHeap[AgentEntry]]]

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
        return [e[4] for e in sorted(e for heap in self._ready[queue_id] for e in heap)]

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
