"""MemoryLiveState: live state for one server process (the embedded default).

Every method runs without awaiting in the middle, so on one event loop each is atomic; that is
what makes `claim_agent` safe here without a lock.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import date, timedelta

from contactcenter.ids import AgentId, CallId, QueueId
from contactcenter.ports import AgentSnapshot, QueueCounters, WaitingCall

logger = logging.getLogger(__name__)

COUNTER_DAYS = 3  # how long the per-day queue counters are kept

STANDARD_COUNTERS = frozenset(
    f.name for f in dataclasses.fields(QueueCounters) if f.name != "extra"
)


def counters_from(values: dict[str, int]) -> QueueCounters:
    """QueueCounters from raw name -> count; names that are not fields go into `extra`."""
    known = {k: v for k, v in values.items() if k in STANDARD_COUNTERS}
    extra = {k: v for k, v in values.items() if k not in STANDARD_COUNTERS}
    return QueueCounters(**known, extra=extra)


class MemoryLiveState:
    def __init__(self) -> None:
        self._agents: dict[AgentId, AgentSnapshot] = {}
        self._waiting: dict[QueueId, dict[CallId, WaitingCall]] = {}
        self._counters: dict[tuple[QueueId, str], dict[str, int]] = {}
        self._claims: dict[AgentId, CallId] = {}

    async def put_agent(self, agent: AgentSnapshot) -> None:
        self._agents[agent.agent_id] = agent

    async def remove_agent(self, agent_id: AgentId) -> None:
        self._agents.pop(agent_id, None)

    async def agents(self) -> list[AgentSnapshot]:
        """Every agent, by agent id."""
        return [self._agents[a] for a in sorted(self._agents)]

    async def put_waiting(self, call: WaitingCall) -> None:
        """Add the call to its queue, or replace its details if it is already there."""
        self._waiting.setdefault(call.queue_id, {})[call.call_id] = call

    async def remove_waiting(self, queue_id: QueueId, call_id: CallId) -> bool:
        calls = self._waiting.get(queue_id)
        if calls is None or call_id not in calls:
            return False
        del calls[call_id]
        if not calls:
            del self._waiting[queue_id]
        return True

    async def waiting(self, queue_id: QueueId) -> list[WaitingCall]:
        """Oldest first (ties: by call id, as Redis orders equal scores)."""
        calls = self._waiting.get(queue_id, {})
        return sorted(calls.values(), key=lambda c: (c.queued_at, c.call_id))

    async def incr(self, queue_id: QueueId, day: str, counter: str, by: int = 1) -> int:
        key = (queue_id, day)
        if key not in self._counters:
            self._forget_old_days(day)
        values = self._counters.setdefault(key, {})
        values[counter] = values.get(counter, 0) + by
        return values[counter]

    def _forget_old_days(self, today: str) -> None:
        """Drop counters older than COUNTER_DAYS before `today` (Redis expires them instead)."""
        try:
            oldest = (date.fromisoformat(today) - timedelta(days=COUNTER_DAYS)).isoformat()
        except ValueError:
            return
        for key in [k for k in self._counters if k[1] < oldest]:
            del self._counters[key]

    async def counters(self, queue_id: QueueId, day: str) -> QueueCounters:
        return counters_from(dict(self._counters.get((queue_id, day), {})))

    async def claim_agent(self, agent_id: AgentId, call_id: CallId) -> bool:
        """True if the agent is now this call's (also when it already was)."""
        holder = self._claims.setdefault(agent_id, call_id)
        return holder == call_id

    async def release_agent(self, agent_id: AgentId, call_id: CallId) -> None:
        if self._claims.get(agent_id) == call_id:
            del self._claims[agent_id]

    async def claimed_by(self, agent_id: AgentId) -> CallId | None:
        """The call the agent is claimed for, if any."""
        return self._claims.get(agent_id)

    async def close(self) -> None:
        pass
