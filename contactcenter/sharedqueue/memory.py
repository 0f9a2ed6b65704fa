"""MemorySharedQueues: the shared-queues port in one process (the embedded default).

It keeps the same indexes as the Redis implementation, in the same order (sorted sets ordered by
score, then member), so both route identically: waiting calls per (queue, profile), READY agents
per (queue, profile, penalty), calls targeted per agent. Each method runs without awaiting, so
on one event loop every method is atomic.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from contactcenter.ids import AgentId, CallId, QueueId
from contactcenter.sharedqueue.ports import (
    AgentLogin,
    AgentStateName,
    AgentStatus,
    Assignment,
    QueueCall,
    QueueNotEmpty,
    member_of,
    profile_of,
    state_conflict,
    unknown_agent,
)

_ZKey = tuple[str, ...]
_HOLDING = ("assigned", "on_call", "busy")


class _ZSet:
    """A Redis sorted set: members ordered by (score, member)."""

    __slots__ = ("_items", "_scores")

    def __init__(self) -> None:
        self._items: list[tuple[float, str]] = []
        self._scores: dict[str, float] = {}

    def add(self, member: str, score: float) -> None:
        self.remove(member)
        self._scores[member] = score
        bisect.insort(self._items, (score, member))

    def remove(self, member: str) -> None:
        score = self._scores.pop(member, None)
        if score is not None:
            i = bisect.bisect_left(self._items, (score, member))
            del self._items[i]

    def first(self) -> tuple[str, float] | None:
        if not self._items:
            return None
        score, member = self._items[0]
        return member, score

    def members(self) -> list[str]:
        return [m for _, m in self._items]

    def items(self) -> list[tuple[str, float]]:
        return [(m, s) for s, m in self._items]


@dataclass(slots=True)
class _Agent:
    skills: dict[str, int]
    queues: dict[QueueId, int]
    state: AgentStateName
    since: float
    idle: float = 0.0
    reason: str | None = None
    call: CallId | None = None


@dataclass(slots=True)
class _Call:
    queue: QueueId
    priority: int
    enqueued_at: float
    profile: str
    target: AgentId | None
    zkey: _ZKey
    member: str
    score: float
    seq: int
    state: str = "waiting"
    agent: AgentId | None = None
    assigned_at: float = 0.0
    assign_seq: int = 0


@dataclass(slots=True)
class _Queue:
    aging: float = 0.0
    waiting: int = 0
    profiles: set[str] = field(default_factory=set)
    penalties: list[int] = field(default_factory=list)  # sorted, distinct


def satisfies(skills: dict[str, int], profile: str) -> bool:
    if not profile:
        return True
    for pair in profile.split(","):
        skill, level = pair.split("=")
        if skills.get(skill, 0) < int(level):
            return False
    return True


class MemorySharedQueues:
    def __init__(self) -> None:
        self._agents: dict[AgentId, _Agent] = {}
        self._calls: dict[CallId, _Call] = {}
        self._queues: dict[QueueId, _Queue] = {}
        self._zsets: dict[_ZKey, _ZSet] = {}
        self._call_seq = 0
        self._assign_seq = 0

    # --- helpers (the same steps as the Lua library in redis.py) ---------------------------

    def _zset(self, key: _ZKey) -> _ZSet:
        zset = self._zsets.get(key)
        if zset is None:
            zset = self._zsets[key] = _ZSet()
        return zset

    def _queue(self, queue_id: QueueId) -> _Queue:
        queue = self._queues.get(queue_id)
        if queue is None:
            queue = self._queues[queue_id] = _Queue()
        return queue

    def _index(self, agent_id: AgentId, agent: _Agent) -> None:
        for q, pen in agent.queues.items():
            for pf in self._queue(q).profiles:
                if satisfies(agent.skills, pf):
                    self._zset(("r", q, pf, str(pen))).add(agent_id, agent.idle)

    def _unindex(self, agent_id: AgentId, agent: _Agent) -> None:
        for q, pen in agent.queues.items():
            for pf in self._queue(q).profiles:
                self._zset(("r", q, pf, str(pen))).remove(agent_id)

    def _register_profile(self, queue_id: QueueId, profile: str) -> None:
        queue = self._queue(queue_id)
        queue.profiles.add(profile)
        for pen in queue.penalties:
            for agent_id, idle in self._zset(("r", queue_id, "", str(pen))).items():
                if satisfies(self._agents[AgentId(agent_id)].skills, profile):
                    self._zset(("r", queue_id, profile, str(pen))).add(agent_id, idle)

    def _assign(self, agent_id: AgentId, call_id: CallId, now: float) -> Assignment:
        call = self._calls[call_id]
        self._zset(call.zkey).remove(call.member)
        self._queue(call.queue).waiting -= 1
        self._assign_seq += 1
        call.state, call.agent, call.assigned_at = "assigned", agent_id, now
        call.assign_seq = self._assign_seq
        agent = self._agents[agent_id]
        self._unindex(agent_id, agent)
        agent.state, agent.since, agent.call, agent.reason = "assigned", now, call_id, None
        return Assignment(call_id, agent_id, call.queue, now, self._assign_seq)

    def _logged_in(self, agent_id: AgentId, op: str) -> _Agent:
        agent = self._agents.get(agent_id)
        if agent is None:
            raise unknown_agent(agent_id, op)
        return agent

    # --- the port ----------------------------------------------------------------------------

    async def configure_queue(self, queue_id: QueueId, aging_per_s: float) -> None:
        if not (aging_per_s >= 0):
            raise ValueError(f"queue {queue_id!r}: aging_per_s must be >= 0")
        queue = self._queue(queue_id)
        if queue.waiting > 0 and float(aging_per_s) != queue.aging:
            raise QueueNotEmpty(
                f"queue {queue_id!r}: {queue.waiting} calls wait; change aging when it is empty"
            )
        queue.aging = float(aging_per_s)

    async def enqueue(self, call: QueueCall) -> bool:
        if call.call_id in self._calls:
            return False
        self._call_seq += 1
        member = member_of(call.enqueued_at, self._call_seq, call.call_id)
        profile = profile_of(call.skills)
        queue = self._queue(call.queue_id)
        if call.target_agent is not None:
            zkey: _ZKey = ("t", call.target_agent)
            score = call.enqueued_at
        else:
            w = queue.aging
            score = call.enqueued_at - call.priority / w if w > 0 else float(-call.priority)
            zkey = ("w", call.queue_id, profile)
            if profile not in queue.profiles:
                self._register_profile(call.queue_id, profile)
        self._zset(zkey).add(member, score)
        queue.waiting += 1
        self._calls[call.call_id] = _Call(
            call.queue_id,
            call.priority,
            call.enqueued_at,
            profile,
            call.target_agent,
            zkey,
            member,
            score,
            self._call_seq,
        )
        return True

    async def remove_call(self, call_id: CallId) -> bool:
        call = self._calls.get(call_id)
        if call is None or call.state != "waiting":
            return False
        self._zset(call.zkey).remove(call.member)
        self._queue(call.queue).waiting -= 1
        del self._calls[call_id]
        return True

    async def login(self, agent: AgentLogin, now: float) -> None:
        old = self._agents.get(agent.agent_id)
        if old is not None:
            if old.state in _HOLDING:
                raise state_conflict(agent.agent_id, old.state, "log in again")
            if old.state == "ready":
                self._unindex(agent.agent_id, old)
        for q, pen in agent.queues.items():
            queue = self._queue(q)
            queue.profiles.add("")
            if pen not in queue.penalties:
                bisect.insort(queue.penalties, pen)
        self._agents[agent.agent_id] = _Agent(
            dict(agent.skills), dict(agent.queues), "not_ready", now
        )

    async def logout(self, agent_id: AgentId) -> bool:
        agent = self._agents.get(agent_id)
        if agent is None:
            return False
        if agent.state in _HOLDING:
            raise state_conflict(agent_id, agent.state, "log out")
        if agent.state == "ready":
            self._unindex(agent_id, agent)
        del self._agents[agent_id]
        return True

    def _check_free(self, agent_id: AgentId, agent: _Agent, op: str) -> None:
        if agent.state in _HOLDING:
            raise state_conflict(agent_id, agent.state, f"go {op}")

    async def ready(self, agent_id: AgentId, now: float) -> None:
        agent = self._logged_in(agent_id, "go ready")
        self._check_free(agent_id, agent, "ready")
        if agent.state == "ready":
            return
        agent.state, agent.since, agent.idle, agent.reason = "ready", now, now, None
        self._index(agent_id, agent)

    async def not_ready(self, agent_id: AgentId, now: float, reason: str | None = None) -> None:
        agent = self._logged_in(agent_id, "go not_ready")
        self._check_free(agent_id, agent, "not_ready")
        if agent.state == "ready":
            self._unindex(agent_id, agent)
        agent.state, agent.since, agent.reason = "not_ready", now, reason

    async def busy(self, agent_id: AgentId, now: float) -> None:
        agent = self._logged_in(agent_id, "go busy")
        self._check_free(agent_id, agent, "busy")
        if agent.state == "ready":
            self._unindex(agent_id, agent)
        agent.state, agent.since, agent.reason = "busy", now, None

    async def finish(self, agent_id: AgentId, now: float, *, ready: bool = False) -> CallId | None:
        agent = self._logged_in(agent_id, "finish")
        if agent.state not in _HOLDING:
            raise state_conflict(agent_id, agent.state, "finish")
        call_id = agent.call
        if call_id is not None:
            del self._calls[call_id]
        agent.call, agent.reason, agent.since = None, None, now
        if ready:
            agent.state, agent.idle = "ready", now
            self._index(agent_id, agent)
        else:
            agent.state = "wrap_up"
        return call_id

    async def requeue(
        self, call_id: CallId, now: float, reason: str = "rona", agent_id: AgentId | None = None
    ) -> AgentId | None:
        call = self._calls.get(call_id)
        if call is None or call.state != "assigned" or call.agent is None:
            return None
        if agent_id is not None and call.agent != agent_id:
            return None
        agent_id = call.agent
        if self._agents[agent_id].state != "assigned":
            return None  # answered
        self._zset(call.zkey).add(call.member, call.score)
        self._queue(call.queue).waiting += 1
        call.state, call.agent, call.assigned_at, call.assign_seq = "waiting", None, 0.0, 0
        agent = self._agents[agent_id]
        agent.state, agent.since, agent.reason, agent.call = "not_ready", now, reason, None
        return agent_id

    async def answer(self, call_id: CallId, agent_id: AgentId, now: float) -> bool:
        agent = self._agents.get(agent_id)
        if agent is None or agent.state != "assigned" or agent.call != call_id:
            return False
        agent.state, agent.since = "on_call", now
        return True

    async def withdraw(self, call_id: CallId, now: float) -> AgentId | None:
        call = self._calls.get(call_id)
        if call is None or call.state != "assigned" or call.agent is None:
            return None
        agent_id = call.agent
        agent = self._agents[agent_id]
        if agent.state != "assigned":
            return None  # answered
        del self._calls[call_id]
        agent.state, agent.since, agent.idle, agent.call = "ready", now, now, None
        self._index(agent_id, agent)
        return agent_id

    async def assign_for_agent(self, agent_id: AgentId, now: float) -> Assignment | None:
        agent = self._agents.get(agent_id)
        if agent is None or agent.state != "ready":
            return None
        best: tuple[float, float, int, CallId] | None = None  # (-eff, e, seq, call)

        def consider(key: _ZKey, w: float | None) -> None:
            # the same arithmetic as the Lua script (see redis.py)
            nonlocal best
            zset = self._zsets.get(key)
            head = None if zset is None else zset.first()
            if head is None:
                return
            member, score = head
            es, ss, call_id = member.split("|", 2)
            if w is None:
                call = self._calls[CallId(call_id)]
                eff = call.priority + self._queue(call.queue).aging * (now - score)
            elif w > 0:
                eff = w * (now - score)
            else:
                eff = -score
            rank = (-eff, float(es), int(ss), CallId(call_id))
            if best is None or rank[:3] < best[:3]:
                best = rank

        for q in agent.queues:
            queue = self._queue(q)
            for pf in queue.profiles:
                if satisfies(agent.skills, pf):
                    consider(("w", q, pf), queue.aging)
        consider(("t", agent_id), None)
        if best is None:
            return None
        return self._assign(agent_id, best[3], now)

    async def assign_for_call(self, call_id: CallId, now: float) -> Assignment | None:
        call = self._calls.get(call_id)
        if call is None or call.state != "waiting":
            return None
        if call.target is not None:
            target = self._agents.get(call.target)
            if target is not None and target.state == "ready":
                return self._assign(call.target, call_id, now)
            return None
        for pen in self._queue(call.queue).penalties:
            zset = self._zsets.get(("r", call.queue, call.profile, str(pen)))
            head = None if zset is None else zset.first()
            if head is not None:
                return self._assign(AgentId(head[0]), call_id, now)
        return None

    async def agent(self, agent_id: AgentId) -> AgentStatus | None:
        agent = self._agents.get(agent_id)
        if agent is None:
            return None
        return AgentStatus(agent_id, agent.state, agent.since, agent.reason, agent.call)

    async def assignment(self, call_id: CallId) -> Assignment | None:
        call = self._calls.get(call_id)
        if call is None or call.state != "assigned" or call.agent is None:
            return None
        return Assignment(call_id, call.agent, call.queue, call.assigned_at, call.assign_seq)

    async def waiting(self, queue_id: QueueId, now: float) -> list[CallId]:
        queue = self._queue(queue_id)
        calls: list[tuple[float, float, int, CallId]] = []
        for pf in queue.profiles:
            zset = self._zsets.get(("w", queue_id, pf))
            for member in [] if zset is None else zset.members():
                call_id = CallId(member.split("|", 2)[2])
                call = self._calls[call_id]
                eff = call.priority + queue.aging * (now - call.enqueued_at)
                calls.append((-eff, call.enqueued_at, call.seq, call_id))
        return [c[3] for c in sorted(calls)]

    async def waiting_count(self, queue_id: QueueId) -> int:
        queue = self._queues.get(queue_id)
        return 0 if queue is None else queue.waiting

    async def close(self) -> None:
        return None
