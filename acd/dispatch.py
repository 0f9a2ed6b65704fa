"""The ACD core's dispatch (part of AcdCore, acd/core.py): after every input, offer waiting
calls to READY agents, each queue's best call to the agent its strategy picks among the
acceptable ones (or a borrowed one), looking only at the heads of the heaps of the queues
touched since the last dispatch. Pure, as the core."""

from __future__ import annotations

import itertools

from acd import messages as m
from acd.index import LazyHeap
from acd.model import AgentState
from acd.routing import QueuePolicy, effective_priority
from acd.state import Agent as _Agent
from acd.state import AgentEntry, CallEntry, Timer, offer_timer_key, some
from acd.state import Call as _Call
from acd.timed import AcdTimedRules
from contactcenter.ids import AgentId, QueueId

# (queue's best call's global key, queue, call step, agent's queue (borrowing), agent band)
_Pick = tuple[tuple[float, float, int], QueueId, int, QueueId, int]


class AcdDispatch(AcdTimedRules):
    _waiting: dict[QueueId, list[LazyHeap[CallEntry]]]
    _directed: dict[AgentId, LazyHeap[CallEntry]]
    _dirty_agents: set[AgentId]
    _policy: dict[QueueId, QueuePolicy]
    _seq: itertools.count[int]

    # --- routing -------------------------------------------------------------------------

    def _dispatch(self, now: float, out: list[m.Output]) -> None:
        """Offer calls to READY agents until no queue has a call and an acceptable agent. Only
        queues touched since the last dispatch can have both, so only those are looked at."""
        while self._dirty_agents:
            agent = self._agents[self._dirty_agents.pop()]
            heap = self._directed.get(agent.id)
            if heap is None or agent.state is not AgentState.READY:
                continue
            directed = heap.pop()
            if heap.peek() is None:
                del self._directed[agent.id]
            if directed is not None:
                self._offer(self._calls[directed[4]], [agent], now, out)
        dirty = self._dirty
        while dirty:
            best: _Pick | None = None
            for qid in tuple(dirty):
                pick = self._best_pick(qid, now)
                if pick is None:
                    dirty.discard(qid)
                elif best is None or pick[0] < best[0]:
                    best = pick
            if best is None:
                return
            _, qid, step, agent_qid, band = best
            call = self._calls[some(self._waiting[qid][step].pop())[4]]
            if agent_qid == qid and self._queues[qid].strategy == "ring_all":
                # Every acceptable READY agent of the lowest penalty rings; the others stay.
                heaps = self._ready[qid][: step + 1]
                lowest = min(e[0] for h in heaps if (e := h.peek()) is not None)
                agents = []
                for band_heap in heaps:
                    while (e := band_heap.peek()) is not None and e[0] == lowest:
                        agents.append(some(band_heap.pop()))
                agents.sort()
                self._offer(call, [self._agents[e[5]] for e in agents], now, out)
                continue
            entry = some(self._ready[agent_qid][band].pop())
            if self._queues[agent_qid].strategy in ("round_robin", "weighted_random"):
                self._policy[agent_qid].picked((entry[1], entry[2], entry[3]))
            self._offer(call, [self._agents[entry[5]]], now, out)

    def _best_pick(self, qid: QueueId, now: float) -> _Pick | None:
        """The queue's first call (in its order) that has an acceptable READY agent, and the
        band of the agent its strategy prefers, or None."""
        ready, waiting = self._ready[qid], self._waiting[qid]
        found: tuple[CallEntry, int, int] | None = None
        if len(ready) == 1:  # no widening: the common case, kept short
            if ready[0].peek() is not None and (head := waiting[0].peek()) is not None:
                found = (head, 0, 0)
        else:
            best_agent: tuple[AgentEntry, int] | None = None
            for step, (agents, calls) in enumerate(zip(ready, waiting, strict=True)):
                top = agents.peek()  # bands 0..step are acceptable to a call at this step
                if top is not None and (best_agent is None or top < best_agent[0]):
                    best_agent = (top, step)
                call = calls.peek()
                if call is None or best_agent is None:
                    continue
                if found is None or call < found[0]:
                    found = (call, step, best_agent[1])
        agent_qid = qid
        if found is None:
            if not self._queues[qid].borrow_from:
                return None
            borrowed = self._borrowed_pick(qid, now)
            if borrowed is None:
                return None
            found, agent_qid = (borrowed[0], borrowed[1], borrowed[3]), borrowed[2]
        entry = found[0]
        q = self._queues[qid]
        if q.priority_aging_per_s <= 0:  # the entry starts with (-priority, enqueued_at, seq)
            return (entry[0], entry[1], entry[2]), qid, found[1], agent_qid, found[2]
        c = self._calls[entry[4]]
        prio = effective_priority(q, c.priority, c.enqueued_at, now)
        return (-prio, c.enqueued_at, c.seq), qid, found[1], agent_qid, found[2]

    def _borrowed_pick(
        self, qid: QueueId, now: float
    ) -> tuple[CallEntry, int, QueueId, int] | None:
        """The queue's first waiting call, and the best READY agent (lender's order) of a
        lending queue whose service level is met; None if either is missing."""
        head: tuple[CallEntry, int] | None = None
        for step, calls in enumerate(self._waiting[qid]):
            call = calls.peek()
            if call is not None and (head is None or call < head[0]):
                head = (call, step)
        if head is None:
            return None
        best: tuple[AgentEntry, QueueId, int] | None = None
        for lender in self._queues[qid].borrow_from:
            if not self.service_level_met(lender, now):
                continue
            for band, agents in enumerate(self._ready[lender]):
                top = agents.peek()
                if top is not None and (best is None or top < best[0]):
                    best = (top, lender, band)
        if best is None:
            return None
        return head[0], head[1], best[1], best[2]

    def _offer(self, call: _Call, agents: list[_Agent], now: float, out: list[m.Output]) -> None:
        call.offers = [a.id for a in agents]
        call.gen = next(self._seq)
        at = now + self._queues[call.queue_id].offer_timeout_s
        for agent in agents:
            agent.call_queue = call.queue_id
            key = offer_timer_key(call.id, agent.id)
            self._timers[key] = Timer("offer", at, agent.id, call.id)
            out.append(m.OfferCall(call.id, agent.id, call.queue_id))
            self._set_state(agent, AgentState.RINGING, now, out, call_id=call.id)
            out.append(m.ScheduleTimer(key, at))
