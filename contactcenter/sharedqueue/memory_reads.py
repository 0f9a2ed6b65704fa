"""The reads of MemorySharedQueues (memory.py): agent and call states, positions and the
queue's recent answers (as redis.py and the WAIT_INFO script read them)."""

from __future__ import annotations

from contactcenter.ids import AgentId, CallId, QueueId
from contactcenter.sharedqueue.memory_index import (
    AgentRec,
    CallRec,
    QueueRec,
    ZKey,
    ZSet,
    call_of,
)
from contactcenter.sharedqueue.ports import (
    AgentStatus,
    Assignment,
    QueueCall,
    WaitInfo,
    parse_profile,
)


class Reads:
    _agents: dict[AgentId, AgentRec]
    _calls: dict[CallId, CallRec]
    _queues: dict[QueueId, QueueRec]
    _zsets: dict[ZKey, ZSet]

    def _queue(self, queue_id: QueueId) -> QueueRec:
        raise NotImplementedError

    def _zset(self, key: ZKey) -> ZSet:
        raise NotImplementedError

    async def agent(self, agent_id: AgentId) -> AgentStatus | None:
        agent = self._agents.get(agent_id)
        if agent is None:
            return None
        return AgentStatus(
            agent_id,
            agent.state,
            agent.since,
            agent.reason,
            agent.call,
            dict(agent.skills),
            dict(agent.queues),
            agent.idle if agent.state == "ready" else None,
        )

    async def assignment(self, call_id: CallId) -> Assignment | None:
        call = self._calls.get(call_id)
        if call is None or call.state == "waiting" or call.agent is None:
            return None
        return Assignment(call_id, call.agent, call.queue, call.assigned_at, call.assign_seq)

    async def call(self, call_id: CallId) -> QueueCall | None:
        c = self._calls.get(call_id)
        if c is None or c.state == "answered":
            return None
        skills = parse_profile(c.profile)
        return QueueCall(
            call_id, c.queue, c.priority, c.enqueued_at, skills, c.target, c.entered, c.step
        )

    async def wait_info(self, call_id: CallId, now: float, window_s: float) -> WaitInfo | None:
        call = self._calls.get(call_id)
        if call is None or call.state == "answered":
            return None
        ringing = call.state == "assigned"
        queue = self._queue(call.queue)
        if call.target is not None:
            directed = self._zset(("t", call.target))
            ahead = directed.members()[: directed.rank_of(call.member, call.score)]
            pos = 1 + sum(1 for x in ahead if self._calls[call_of(x)].queue == call.queue)
            agent = self._agents.get(call.target)
            if agent is not None and agent.state == "assigned" and agent.call != call_id:
                other = self._calls[agent.call] if agent.call is not None else None
                if (
                    other is not None
                    and other.queue == call.queue
                    and other.target == call.target
                    and (other.score, other.member) < (call.score, call.member)
                ):
                    pos += 1
        else:
            keys = [("w", call.queue, pf) for pf in queue.profiles] + [("g", call.queue)]
            pos = 1 + sum(self._zset(k).rank_of(call.member, call.score) for k in keys)
        answers = queue.answers
        while answers and answers[0] <= now - window_s:
            answers.pop(0)
        first, last = (answers[0], answers[-1]) if answers else (0.0, 0.0)
        return WaitInfo(pos, ringing, call.queue, len(answers), first, last, len(queue.agents))

    async def serving(self, queue_id: QueueId) -> int:
        return len(self._queue(queue_id).agents)

    async def waiting(self, queue_id: QueueId, now: float) -> list[CallId]:
        queue = self._queue(queue_id)
        calls: list[tuple[float, float, int, CallId]] = []
        for pf in queue.profiles:
            zset = self._zsets.get(("w", queue_id, pf))
            for member in [] if zset is None else zset.members():
                call_id = call_of(member)
                call = self._calls[call_id]
                eff = call.priority + queue.aging * (now - call.enqueued_at)
                calls.append((-eff, call.enqueued_at, call.seq, call_id))
        return [c[3] for c in sorted(calls)]

    async def waiting_count(self, queue_id: QueueId) -> int:
        queue = self._queues.get(queue_id)
        return 0 if queue is None else queue.waiting
