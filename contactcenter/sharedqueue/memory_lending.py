"""Borrowing in MemorySharedQueues (memory.py), step by step as the Lua library's
(redis_lua.py `record_outcome`, `sl_met`, `head_call`, `lender_agent`, `borrowed_call`): a
queue with no READY agent of its own for its first call takes the best READY agent of a
queue it borrows from, while that lender's service level over its window meets its target."""

from __future__ import annotations

import bisect
import itertools

from contactcenter.ids import AgentId, CallId, QueueId
from contactcenter.sharedqueue.memory_index import (
    AgentRec,
    CallRec,
    QueueRec,
    ZKey,
    ZSet,
    agent_of,
    call_of,
)

Rank = tuple[float, float, int]


class Lending:
    _agents: dict[AgentId, AgentRec]
    _calls: dict[CallId, CallRec]
    _now: float
    _outcome_seq: itertools.count[int]

    def _queue(self, queue_id: QueueId) -> QueueRec:
        raise NotImplementedError

    def _zset(self, key: ZKey) -> ZSet:
        raise NotImplementedError

    def _rank(self, member: str, score: float, w: float) -> Rank:
        raise NotImplementedError

    def _record_outcome(self, q: QueueId, met: bool) -> None:
        queue = self._queue(q)
        if queue.borrowers:  # only a lender's service level is looked at
            bisect.insort(queue.outcomes, (self._now, next(self._outcome_seq), met))

    def _abandoned(self, call: CallRec) -> None:
        if self._now - call.enqueued_at >= self._queue(call.queue).sl.short_abandon_s:
            self._record_outcome(call.queue, False)

    def _sl_met(self, q: QueueId) -> bool:
        queue = self._queue(q)
        cut = self._now - queue.sl.window_s
        del queue.outcomes[: bisect.bisect_right(queue.outcomes, (cut, float("inf"), True))]
        if not queue.outcomes:
            return True
        met = sum(1 for o in queue.outcomes if o[2])
        return met / len(queue.outcomes) >= queue.sl.target

    def _head_call(self, q: QueueId) -> tuple[CallId, Rank] | None:
        queue = self._queue(q)
        best: tuple[CallId, Rank] | None = None
        for pf in queue.profiles:
            head = self._zset(("w", q, pf)).first()
            if head is not None:
                rank = self._rank(head[0], head[1], queue.aging)
                if best is None or rank < best[1]:
                    best = (call_of(head[0]), rank)
        return best

    def _lender_agent(self, q: QueueId) -> tuple[AgentId, QueueId] | None:
        best: tuple[tuple[int, float, str], QueueId] | None = None
        for lender in self._queue(q).lend:
            if not self._sl_met(lender):
                continue
            for pen in self._queue(lender).penalties:
                head = self._zset(("r", lender, "", str(pen))).first()
                if head is not None:
                    key = (pen, head[1], head[0])
                    if best is None or key < best[0]:
                        best = (key, lender)
                    break
        return None if best is None else (agent_of(best[0][2]), best[1])

    def _borrowed_call(self, a: AgentId) -> tuple[CallId, Rank, QueueId] | None:
        queues = self._agents[a].queues
        best: tuple[CallId, Rank, QueueId] | None = None
        for q in queues:
            borrowers = self._queue(q).borrowers
            if not borrowers or not self._sl_met(q):
                continue
            for b in borrowers:
                if b in queues:
                    continue
                head = self._head_call(b)
                if head is not None and (best is None or head[1] < best[1]):
                    best = (head[0], head[1], q)
        return best
