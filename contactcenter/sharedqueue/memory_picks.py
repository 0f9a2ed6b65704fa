"""The picks of MemorySharedQueues (memory.py), step by step as the Lua library's
(redis_lua.py `best_call`, `best_agents`, `serve_call`, `serve_agent`): the best call for an
agent, the best agents for a call ("ring_all": all of the lowest penalty), and borrowing
(`record_outcome`, `sl_met`, `head_call`, `lender_agent`, `borrowed_call`): a queue with no
READY agent of its own for its first call takes the best READY agent of a queue it borrows
from, while that lender's service level over its window meets its target."""

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
from contactcenter.sharedqueue.ports import NO_CONTEXT, Assignment, RouteContext

Rank = tuple[float, float, int]


class Picks:
    _agents: dict[AgentId, AgentRec]
    _calls: dict[CallId, CallRec]
    _zsets: dict[ZKey, ZSet]
    _now: float
    _outcome_seq: itertools.count[int]

    def _queue(self, queue_id: QueueId) -> QueueRec:
        raise NotImplementedError

    def _zset(self, key: ZKey) -> ZSet:
        raise NotImplementedError

    def _roll_day(self, q: QueueId, day: float) -> None:
        raise NotImplementedError

    def _assign(
        self, a: AgentId, call_id: CallId, now: float, lq: QueueId | None = None
    ) -> Assignment:
        raise NotImplementedError

    def _assign_group(self, agents: list[AgentId], call_id: CallId, now: float) -> list[Assignment]:
        raise NotImplementedError

    def _rank(self, member: str, score: float, w: float) -> tuple[float, float, int]:
        """(-effective priority, e, seq): the same arithmetic as the Lua `rank_of`."""
        es, ss, _ = member.split("|", 2)
        eff = w * (self._now - score) if w > 0 else -score
        return (-eff, float(es), int(ss))

    def _best_call(self, a: AgentId) -> tuple[CallId, tuple[float, float, int], bool] | None:
        direct = self._zset(("t", a)).first()
        if direct is not None:
            return call_of(direct[0]), (0.0, 0.0, 0), True
        best: tuple[CallId, tuple[float, float, int], bool] | None = None
        for q, pf, _ in self._agents[a].rk:
            head = self._zset(("w", q, pf)).first()
            if head is not None:
                rank = self._rank(head[0], head[1], self._queue(q).aging)
                if best is None or rank < best[1]:
                    best = (call_of(head[0]), rank, False)
        return best

    def _best_agents(self, call_id: CallId, ctx: RouteContext) -> list[AgentId]:
        call = self._calls.get(call_id)
        if call is None or call.state != "waiting":
            return []
        if call.target is not None:
            return [call.target] if self._is_ready(call.target) else []
        queue = self._queue(call.queue)
        if queue.strategy == "least_calls":
            self._roll_day(call.queue, ctx.day)
        for pen in queue.penalties:
            zset = self._zsets.get(("r", call.queue, call.profile, str(pen)))
            members = [] if zset is None else zset.members()
            if members:
                chosen = members if queue.strategy == "ring_all" else members[:1]
                return [agent_of(m) for m in chosen]
        return []

    def _serve_call(self, call_id: CallId, ctx: RouteContext, out: list[Assignment]) -> None:
        agents = self._best_agents(call_id, ctx)
        if agents:
            out += self._assign_group(agents, call_id, self._now)
            return
        call = self._calls.get(call_id)
        if call is None or call.state != "waiting" or call.target is not None:
            return
        lent = self._lender_agent(call.queue)
        head = self._head_call(call.queue)
        if lent is not None and head is not None:
            out.append(self._assign(lent[0], head[0], self._now, lent[1]))

    def _offer_best(self, a: AgentId, x: CallId, directed: bool, out: list[Assignment]) -> None:
        if not directed and self._queue(self._calls[x].queue).strategy == "ring_all":
            self._serve_call(x, NO_CONTEXT, out)
        else:
            out.append(self._assign(a, x, self._now))

    def _serve_agent(self, a: AgentId, out: list[Assignment]) -> None:
        while self._is_ready(a):
            best = self._best_call(a)
            if best is None or not best[2]:
                borrowed = self._borrowed_call(a)
                if borrowed is not None and (best is None or borrowed[1] < best[1]):
                    out.append(self._assign(a, borrowed[0], self._now, borrowed[2]))
                    return
            if best is None:
                return
            self._offer_best(a, best[0], best[2], out)

    def _is_ready(self, a: AgentId) -> bool:
        agent = self._agents.get(a)
        return agent is not None and agent.state == "ready"

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
