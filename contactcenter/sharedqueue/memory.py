"""MemorySharedQueues: the shared-queues port in one process (the embedded default).

It keeps the same indexes as the Redis implementation, in the same order (sorted sets ordered by
score, then member), and follows its scripts (redis_scripts.py) step by step, so both route
identically: waiting calls per (queue, profile), READY agents per (queue, profile, penalty)
scored by the queue's strategy, calls directed per agent, ringing calls per queue. Each method
runs without awaiting, so on one event loop every method is atomic.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Collection, Mapping

from acd.queries import EWT_WINDOW_S
from contactcenter.ids import AgentId, CallId, QueueId
from contactcenter.sharedqueue.memory_index import (
    AgentRec,
    CallRec,
    QueueRec,
    ZKey,
    ZSet,
    agent_of,
    call_of,
    satisfies,
)
from contactcenter.sharedqueue.memory_picks import Picks
from contactcenter.sharedqueue.memory_reads import Reads
from contactcenter.sharedqueue.ports import (
    DEFAULT_SERVICE_LEVEL,
    NO_CONTEXT,
    AgentLogin,
    AgentStateConflict,
    AgentStateName,
    Answered,
    Assignment,
    Moved,
    MoveTargetLoggedOut,
    QueueCall,
    QueueNotEmpty,
    Requeued,
    RouteContext,
    ServiceLevel,
    check_strategy,
    member_of,
    profile_of,
    state_conflict,
    unknown_agent,
)
from contactcenter.sharedqueue.redis_scripts import MAX_ANSWERS, RR

_HOLDING = ("assigned", "on_call", "on_hold", "busy")


class MemorySharedQueues(Picks, Reads):
    def __init__(self) -> None:
        self._agents: dict[AgentId, AgentRec] = {}
        self._calls: dict[CallId, CallRec] = {}
        self._queues: dict[QueueId, QueueRec] = {}
        self._zsets: dict[ZKey, ZSet] = {}
        self._positions: dict[AgentId, int] = {}
        self._call_seq = 0
        self._assign_seq = 0
        self._now = 0.0  # the time of the decision being made (effective priorities)
        self._idle_seq = 0
        self._outcome_seq = itertools.count(1)

    # --- helpers (the same steps as the Lua library in redis_scripts.py) ------------------

    def _zset(self, key: ZKey) -> ZSet:
        zset = self._zsets.get(key)
        if zset is None:
            zset = self._zsets[key] = ZSet()
        return zset

    def _queue(self, queue_id: QueueId) -> QueueRec:
        queue = self._queues.get(queue_id)
        if queue is None:
            queue = self._queues[queue_id] = QueueRec()
        return queue

    def _total_level(self, q: QueueId, skills: dict[str, int]) -> int:
        return sum(skills.get(s, 5) for s in self._queue(q).skills)

    def _roll_day(self, q: QueueId, day: float) -> None:
        queue = self._queue(q)
        if queue.day == day:
            return
        queue.day = day
        for pen in queue.penalties:
            for pf in queue.profiles:
                zset = self._zset(("r", q, pf, str(pen)))
                for member in zset.members():
                    zset.add(member, 0.0)
                    if pf == "":
                        self._agents[agent_of(member)].ks[q] = 0.0

    def _score(self, a: AgentId, agent: AgentRec, q: QueueId, ctx: RouteContext) -> float:
        queue = self._queue(q)
        if queue.strategy == "least_calls":
            self._roll_day(q, ctx.day)
            return float(agent.nc.get(q, 0)) if agent.nc_day == ctx.day else 0.0
        if queue.strategy == "most_skilled":
            return float(-self._total_level(q, agent.skills))
        if queue.strategy == "round_robin":
            pos = self._positions[a]
            rnd, last = queue.rr
            return float((rnd if pos > last else rnd + 1) * RR + pos)
        if queue.strategy == "weighted_random":
            u = ctx.draws.get(q, 1.0)  # no draw passed: an offer taken back after a re-login
            return queue.wr + float(u) / max(1, self._total_level(q, agent.skills))
        return agent.idle

    def _index(self, a: AgentId, agent: AgentRec, keep: bool, ctx: RouteContext) -> None:
        member = f"{agent.idle:020.6f}|{agent.iseq:012d}|{a}"
        agent.rk = []
        for q, pen in agent.queues.items():
            score = agent.ks.get(q) if keep else None
            if score is None:
                score = self._score(a, agent, q, ctx)
            agent.ks[q] = score
            for pf in self._queue(q).profiles:
                if satisfies(agent.skills, pf):
                    self._zset(("r", q, pf, str(pen))).add(member, score)
                    agent.rk.append((q, pf, pen))

    def _unindex(self, a: AgentId, agent: AgentRec) -> None:
        member = f"{agent.idle:020.6f}|{agent.iseq:012d}|{a}"
        for q, pf, pen in agent.rk:
            self._zset(("r", q, pf, str(pen))).remove(member)
        agent.rk = []

    def _register_profile(self, q: QueueId, profile: str) -> None:
        queue = self._queue(q)
        if profile in queue.profiles:
            return
        queue.profiles.add(profile)
        if profile == "":
            return
        for pen in queue.penalties:
            for member, score in self._zset(("r", q, "", str(pen))).items():
                agent = self._agents[agent_of(member)]
                if satisfies(agent.skills, profile):
                    self._zset(("r", q, profile, str(pen))).add(member, score)
                    agent.rk.append((q, profile, pen))

    def _place(self, call: CallRec) -> None:
        if call.target is not None:
            call.zkey = ("t", call.target)
        else:
            self._register_profile(call.queue, call.profile)
            call.zkey = ("w", call.queue, call.profile)
        self._zset(call.zkey).add(call.member, call.score)
        call.state, call.agent, call.assigned_at, call.assign_seq = "waiting", None, 0.0, 0
        self._queue(call.queue).waiting += 1

    def _unplace(self, call: CallRec) -> None:
        self._zset(call.zkey).remove(call.member)
        self._queue(call.queue).waiting -= 1

    def _assign(
        self, a: AgentId, call_id: CallId, now: float, lq: QueueId | None = None
    ) -> Assignment:
        call = self._calls[call_id]
        self._unplace(call)
        self._assign_seq += 1
        call.state, call.agent, call.assigned_at = "assigned", a, now
        call.assign_seq = self._assign_seq
        agent = self._agents[a]
        if call.target is None:
            self._zset(("g", call.queue)).add(call.member, call.score)
            pq = call.queue if lq is None else lq  # a borrowed agent: the lender's order moves
            queue = self._queue(pq)
            s = agent.ks.get(pq)
            if s is not None and queue.strategy == "round_robin":
                rnd = math.floor(s / RR)
                queue.rr = (rnd, int(s - rnd * RR))
            elif s is not None and queue.strategy == "weighted_random":
                queue.wr = max(queue.wr, s)
        self._unindex(a, agent)
        agent.state, agent.since, agent.call, agent.reason = "assigned", now, call_id, None
        return Assignment(call_id, a, call.queue, now, self._assign_seq)

    def _release_directed(self, a: AgentId) -> list[CallId]:
        out = []
        for member in self._zset(("t", a)).members():
            call = self._calls[call_of(member)]
            self._unplace(call)
            call.target = None
            self._place(call)
            out.append(call_of(member))
        return out

    def _drop(self, a: AgentId) -> list[CallId]:
        agent = self._agents.pop(a)
        for q in agent.queues:
            self._queue(q).agents.discard(a)
        return self._release_directed(a)

    def _unassign(self, call: CallRec, a: AgentId) -> None:
        self._zset(("g", call.queue)).remove(call.member)
        if call.target == a:
            call.target = None
        self._agents[a].call = None

    def _logged_in(self, agent_id: AgentId, op: str) -> AgentRec:
        agent = self._agents.get(agent_id)
        if agent is None:
            raise unknown_agent(agent_id, op)
        return agent

    def _ringing(self, call_id: CallId) -> tuple[CallRec, list[AgentId]] | None:
        """The call and the agents it rings at (offer order), if it rings."""
        call = self._calls.get(call_id)
        if call is None or call.state != "assigned" or call.agent is None:
            return None  # waiting, answered or gone
        return call, list(call.group) if call.group else [call.agent]

    def _set_idle(self, agent: AgentRec, now: float) -> None:
        self._idle_seq += 1
        agent.idle, agent.iseq = now, self._idle_seq

    def _give_back(self, a: AgentId, now: float) -> None:
        agent = self._agents[a]
        agent.call, agent.reason, agent.state, agent.since = None, None, "ready", now
        self._index(a, agent, True, NO_CONTEXT)

    def _assign_group(self, agents: list[AgentId], call_id: CallId, now: float) -> list[Assignment]:
        first = self._assign(agents[0], call_id, now)
        out = [first]
        if len(agents) > 1:
            self._calls[call_id].group = list(agents)
            for a in agents[1:]:
                agent = self._agents[a]
                self._unindex(a, agent)
                agent.state, agent.since, agent.call, agent.reason = "assigned", now, call_id, None
                out.append(Assignment(call_id, a, first.queue_id, now, first.seq))
        return out

    # --- the port ----------------------------------------------------------------------------

    async def configure_queue(
        self,
        queue_id: QueueId,
        aging_per_s: float,
        strategy: str = "longest_idle",
        skills: Collection[str] = (),
        *,
        borrow_from: Collection[QueueId] = (),
        lends_to: Collection[QueueId] = (),
        service_level: ServiceLevel = DEFAULT_SERVICE_LEVEL,
    ) -> None:
        check_strategy(queue_id, strategy)
        if not (aging_per_s >= 0):
            raise ValueError(f"queue {queue_id!r}: aging_per_s must be >= 0")
        queue = self._queue(queue_id)
        if queue.waiting > 0 and float(aging_per_s) != queue.aging:
            raise QueueNotEmpty(
                f"queue {queue_id!r}: {queue.waiting} calls wait; change aging when it is empty"
            )
        queue.aging, queue.strategy = float(aging_per_s), strategy
        queue.skills = tuple(sorted(skills))
        queue.lend, queue.borrowers, queue.sl = tuple(borrow_from), tuple(lends_to), service_level

    async def enqueue(self, call: QueueCall) -> bool:
        if call.call_id in self._calls:
            return False
        self._call_seq += 1
        target = call.target_agent if call.target_agent in self._agents else None
        w = self._queue(call.queue_id).aging
        score = call.enqueued_at - call.priority / w if w > 0 else float(-call.priority)
        entered = call.enqueued_at if call.entered_at is None else call.entered_at
        record = CallRec(
            call.queue_id,
            call.priority,
            call.enqueued_at,
            profile_of(call.skills),
            target,
            member_of(call.enqueued_at, self._call_seq, call.call_id),
            score,
            self._call_seq,
            entered,
            call.step,
        )
        self._calls[call.call_id] = record
        self._place(record)
        return True

    async def remove_call(self, call_id: CallId, now: float | None = None) -> bool:
        call = self._calls.get(call_id)
        if call is None or call.state != "waiting":
            return False
        if now is not None:
            self._now = now
            self._abandoned(call)
        self._unplace(call)
        del self._calls[call_id]
        return True

    async def login(self, agent: AgentLogin, now: float, ctx: RouteContext = NO_CONTEXT) -> bool:
        a = agent.agent_id
        old = self._agents.get(a)
        if old is not None:
            if old.state == "ready":
                self._unindex(a, old)
            for q in old.queues:
                self._queue(q).agents.discard(a)
        for q, pen in agent.queues.items():
            queue = self._queue(q)
            queue.profiles.add("")
            queue.agents.add(a)
            if pen not in queue.penalties:
                bisect.insort(queue.penalties, pen)
        if a not in self._positions:
            self._positions[a] = len(self._positions)
        if old is not None:
            old.skills, old.queues = dict(agent.skills), dict(agent.queues)
            if old.state == "ready":
                self._index(a, old, False, ctx)
            return False
        self._agents[a] = AgentRec(
            dict(agent.skills), dict(agent.queues), "not_ready", now, reason="login"
        )
        return True

    async def logout(self, agent_id: AgentId) -> list[CallId] | None:
        agent = self._agents.get(agent_id)
        if agent is None:
            return None
        if agent.state in _HOLDING:
            raise state_conflict(agent_id, agent.state, "log out")
        if agent.state == "ready":
            self._unindex(agent_id, agent)
        return self._drop(agent_id)

    def _check_free(self, agent_id: AgentId, agent: AgentRec, op: str) -> None:
        if agent.state in _HOLDING:
            raise state_conflict(agent_id, agent.state, f"go {op}")

    async def ready(self, agent_id: AgentId, now: float, ctx: RouteContext = NO_CONTEXT) -> None:
        agent = self._logged_in(agent_id, "go ready")
        self._check_free(agent_id, agent, "ready")
        if agent.state == "ready":
            return
        agent.state, agent.since, agent.reason, agent.call = "ready", now, None, None
        self._set_idle(agent, now)
        self._index(agent_id, agent, False, ctx)

    async def not_ready(self, agent_id: AgentId, now: float, reason: str | None = None) -> None:
        if reason is not None and not reason:
            raise ValueError(f"agent {agent_id!r}: reason must be None or a non-empty string")
        agent = self._logged_in(agent_id, "go not_ready")
        self._check_free(agent_id, agent, "not_ready")
        if agent.state == "ready":
            self._unindex(agent_id, agent)
        agent.state, agent.since, agent.reason, agent.call = "not_ready", now, reason, None

    async def busy(self, agent_id: AgentId, now: float) -> None:
        agent = self._logged_in(agent_id, "go busy")
        self._check_free(agent_id, agent, "busy")
        if agent.state == "ready":
            self._unindex(agent_id, agent)
        agent.state, agent.since, agent.reason, agent.call = "busy", now, None, None

    async def finish(
        self, agent_id: AgentId, now: float, *, ready: bool = False, ctx: RouteContext = NO_CONTEXT
    ) -> CallId | None:
        agent = self._logged_in(agent_id, "finish")
        if agent.state not in _HOLDING:
            raise state_conflict(agent_id, agent.state, "finish")
        call_id = agent.call
        call = None if call_id is None else self._calls.get(call_id)
        if call_id is not None and call is not None:
            if call.state == "assigned" and len(call.group) > 1:
                call.group.remove(agent_id)  # a ring_all call rings on at the others
                call.agent = call.group[0]
            else:
                self._zset(("g", call.queue)).remove(call.member)
                del self._calls[call_id]
        agent.reason, agent.since = None, now
        if ready:
            agent.state, agent.call = "ready", None
            self._set_idle(agent, now)
            self._index(agent_id, agent, False, ctx)
        else:
            agent.state = "wrap_up"
        return call_id

    async def requeue(
        self,
        call_id: CallId,
        now: float,
        reason: str = "rona",
        agent_id: AgentId | None = None,
        *,
        rona_limit: int | None = None,
    ) -> Requeued | None:
        found = self._ringing(call_id)
        if found is None:
            return None
        call, agents = found
        a = agent_id if agent_id is not None else call.agent
        if a is None or a not in agents:
            return None
        if call.group:
            call.group.remove(a)
            self._agents[a].call = None
            if call.group:
                call.agent = call.group[0]
            else:
                self._unassign(call, a)
                self._place(call)
        else:
            self._unassign(call, a)
            self._place(call)
        agent = self._agents[a]
        if rona_limit is not None:
            agent.ronas += 1
            if rona_limit > 0 and agent.ronas >= rona_limit:
                return Requeued(a, True, tuple(self._drop(a)))
        agent.state, agent.since, agent.reason = "not_ready", now, reason
        return Requeued(a)

    async def answer(
        self, call_id: CallId, agent_id: AgentId, now: float, ctx: RouteContext = NO_CONTEXT
    ) -> Answered | None:
        agent = self._agents.get(agent_id)
        if agent is None or agent.state != "assigned" or agent.call != call_id:
            return None
        agent.state, agent.since, agent.ronas = "on_call", now, 0
        call = self._calls[call_id]
        call.state = "answered"
        self._now = now
        self._record_outcome(
            call.queue, now - call.enqueued_at <= self._queue(call.queue).sl.threshold_s
        )
        self._zset(("g", call.queue)).remove(call.member)
        if agent.nc_day != ctx.day:
            agent.nc_day, agent.nc = ctx.day, {}
        agent.nc[call.queue] = agent.nc.get(call.queue, 0) + 1
        answers = self._queue(call.queue).answers
        bisect.insort(answers, now)
        del answers[: max(0, len(answers) - MAX_ANSWERS)]
        while answers and answers[0] <= now - EWT_WINDOW_S:
            answers.pop(0)
        others = tuple(o for o in call.group if o != agent_id)
        for other in others:  # ring_all: the others stop ringing
            self._give_back(other, now)
        call.group, call.agent = [], agent_id
        return Answered(call.queue, call.step, call.enqueued_at, others)

    async def hold(self, agent_id: AgentId, call_id: CallId, on_hold: bool, now: float) -> bool:
        agent = self._agents.get(agent_id)
        if agent is None or agent.state not in ("on_call", "on_hold") or agent.call != call_id:
            state = "logged_out" if agent is None else agent.state
            raise AgentStateConflict(f"agent {agent_id!r} is not on call {call_id!r}", state)
        want: AgentStateName = "on_hold" if on_hold else "on_call"
        if agent.state == want:
            return False
        agent.state, agent.since = want, now
        return True

    async def withdraw(self, call_id: CallId, now: float) -> AgentId | None:
        agents = await self.withdraw_all(call_id, now)
        return agents[0] if agents else None

    async def withdraw_all(self, call_id: CallId, now: float) -> list[AgentId]:
        found = self._ringing(call_id)
        if found is None:
            return []
        call, agents = found
        self._now = now
        self._abandoned(call)
        self._zset(("g", call.queue)).remove(call.member)
        del self._calls[call_id]
        for a in agents:
            self._give_back(a, now)
        return agents

    async def move(
        self,
        call_id: CallId,
        to_queue: QueueId,
        skills: Mapping[str, int],
        target: AgentId | None,
        now: float,
        *,
        step: int = 0,
        if_queue: QueueId | None = None,
        if_entered_at: float | None = None,
    ) -> Moved | None:
        call = self._calls.get(call_id)
        if call is None or call.state == "answered":
            return None
        if if_queue is not None and call.queue != if_queue:
            return None
        if if_entered_at is not None and call.entered != if_entered_at:
            return None
        if target is not None and target not in self._agents:
            raise MoveTargetLoggedOut(f"cannot move call {call_id} to agent {target}: logged out")
        withdrawn: list[AgentId] = []
        if call.state == "assigned":
            found = self._ringing(call_id)
            if found is None:
                return None
            withdrawn = found[1]
            call.group = []
            for a in withdrawn:
                self._unassign(call, a)
                agent = self._agents[a]
                agent.reason, agent.state, agent.since = None, "ready", now
        else:
            self._unplace(call)
        first = withdrawn[0] if withdrawn else None
        moved = Moved(call.queue, first, call.step, call.entered, tuple(withdrawn[1:]))
        call.target = target
        if to_queue != call.queue:
            w = self._queue(to_queue).aging
            call.score = call.enqueued_at - call.priority / w if w > 0 else float(-call.priority)
            call.queue, call.profile, call.step, call.entered = (
                to_queue,
                profile_of(skills),
                step,
                now,
            )
        self._place(call)
        for a in withdrawn:
            self._index(a, self._agents[a], True, NO_CONTEXT)
        return moved

    async def reprofile(
        self,
        call_id: CallId,
        queue_id: QueueId,
        entered_at: float,
        skills: Mapping[str, int],
        step: int,
    ) -> bool:
        call = self._calls.get(call_id)
        if call is None or call.state == "answered":
            return False
        if call.queue != queue_id or call.entered != entered_at:
            return False
        if call.state == "waiting":
            self._unplace(call)
            call.profile, call.step = profile_of(skills), step
            self._place(call)
        else:
            call.profile, call.step = profile_of(skills), step
        return True

    async def assign_for_agent(self, agent_id: AgentId, now: float) -> Assignment | None:
        got = await self.offers_for_agent(agent_id, now)
        return next((g for g in got if g.agent_id == agent_id), None)

    async def assign_for_call(
        self, call_id: CallId, now: float, ctx: RouteContext = NO_CONTEXT
    ) -> Assignment | None:
        got = await self.offers_for_call(call_id, now, ctx)
        return got[0] if got else None

    async def offers_for_agent(
        self, agent_id: AgentId, now: float, ctx: RouteContext = NO_CONTEXT
    ) -> list[Assignment]:
        self._now = now
        out: list[Assignment] = []
        self._serve_agent(agent_id, out)
        return out

    async def offers_for_call(
        self, call_id: CallId, now: float, ctx: RouteContext = NO_CONTEXT
    ) -> list[Assignment]:
        self._now = now
        out: list[Assignment] = []
        self._serve_call(call_id, ctx, out)
        return out

    async def serve_borrowers(
        self, queue_id: QueueId, now: float, ctx: RouteContext = NO_CONTEXT
    ) -> list[Assignment]:
        self._now = now
        out: list[Assignment] = []
        for b in self._queue(queue_id).borrowers:
            head = self._head_call(b)
            if head is not None:
                self._serve_call(head[0], ctx, out)
        return out

    async def assign_after_move(
        self, call_id: CallId, agent_id: AgentId, now: float, ctx: RouteContext = NO_CONTEXT
    ) -> list[Assignment]:
        self._now = now
        out: list[Assignment] = []
        if self._is_ready(agent_id):
            best = self._best_call(agent_id)
            call = self._calls.get(call_id)
            if best is not None and best[0] != call_id:
                if call is not None and call.state == "waiting" and not best[2]:
                    mine = self._rank(call.member, call.score, self._queue(call.queue).aging)
                    if not best[1] < mine:
                        best = None  # the moved call ranks first
                if best is not None:
                    self._offer_best(agent_id, best[0], best[2], out)
        self._serve_call(call_id, ctx, out)
        self._serve_agent(agent_id, out)
        return out

    async def close(self) -> None:
        return None
