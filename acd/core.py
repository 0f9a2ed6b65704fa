"""The ACD routing core: agent states, waiting calls, offers, RONA and wrap-up. Pure and
synchronous: `handle(input, now)` changes the state and returns the commands and events for
the shell, in the order they must be carried out. It never reads the clock and does no I/O.

Semantics the shell can rely on:

* Requests (AgentLogin, AgentReady, AgentNotReady, AgentLogout, EnqueueCall, AcceptOffer)
  that cannot be honoured raise an `AcdError` and leave the state untouched. Facts
  (RemoveCall, CallFinished, TimerFired) that are stale - the call is gone, the agent moved on,
  the timer was cancelled - are harmless: they return no outputs.
* AgentReady / AgentNotReady while RINGING or ON_CALL are ignored (no outputs): an agent cannot
  step away from a call that is ringing or connected. Ready while Ready, or Not Ready with the
  same reason, is also a no-op. From WRAP_UP both end the wrap-up ("ready now").
* AgentLogout is idempotent (unknown or logged-out agent: no outputs), withdraws a ringing offer
  (reason "agent_logout"; the call goes back to its place), ends a wrap-up, and is refused with
  InvalidTransition while ON_CALL (the call's end comes first).
* AcceptOffer that does not match a live offer raises OfferNotFound.
* After every input the core dispatches: each waiting, un-offered call in global order
  (effective priority descending, then enqueue time, then arrival order) is offered to the
  READY agent its queue's strategy picks among the acceptable ones (skills include all of the
  queue's skills, levels meet the requirement as widened for the call's wait). Default queues:
  priority without aging, longest idle agent. A "ring_all" queue offers the call to every
  acceptable READY agent (of the lowest penalty among them); the first AcceptOffer wins and
  the others get WithdrawOffer "answered_elsewhere". See acd/routing.py for bands, aging and
  strategies.
* RONA: the agent goes NOT_READY "rona", or LOGGED_OUT "rona_limit" after the queue's
  `max_consecutive_rona` unanswered offers in a row (an accepted offer resets the count).
* Overflow: a call that waited its queue's `overflow_after_s` there (ringing or not: a ringing
  offer is withdrawn, reason "overflow") moves to the queue's `overflow_queue` (CallOverflowed).
* Directed calls (EnqueueCall.target_agent, MoveCall.to_agent) wait in a heap per agent and
  are offered to that agent first when they are READY; see messages.EnqueueCall for when they
  become ordinary calls.
* MoveCall (supervisor) moves a waiting call to another queue and/or agent (CallMoved);
  AgentHold switches ON_CALL <-> ON_HOLD. ON_HOLD behaves like ON_CALL otherwise.
* Penalties (AgentLogin.penalties): a queue's READY agents are ordered by penalty first,
  then by its strategy, so higher penalties get calls only when no lower one is READY.
* Borrowing (QueueConfig.borrow_from): a queue with a waiting call and no acceptable READY
  agent of its own takes the best READY agent of a lending queue whose service level over
  its window (AcdQueries.service_level) meets the lender's target; lenders are looked at when
  something happens to the borrower or the lender (a lender's SL recovering only by the
  passage of time counts at the next event).
* "least_calls" counts the calls each agent answered in the queue since the start of the
  site-local day (`site_tz`); at midnight the counts restart from 0 and READY agents are
  re-ordered.
* An AgentLogin with skills no queue requires is accepted and reported (AgentSkillUnused).
* Timer keys are `offer:{call_id}:{agent_id}`, `wrapup:{agent_id}`, `widen:{call_id}:{step}`
  and `overflow:{call_id}`.
  A TimerFired is acted upon only if that timer is still live and `now` is no earlier than its
  deadline minus TIMER_SLACK_S (so a late-delivered timer of an earlier offer or wrap-up with
  the same key cannot cut a new one short).
"""

from __future__ import annotations

import itertools
import random
from collections import deque
from collections.abc import Mapping
from typing import assert_never
from zoneinfo import ZoneInfo

from acd import messages as m
from acd.dispatch import AcdDispatch
from acd.errors import (
    CallNotWaiting,
    InvalidPenalty,
    InvalidSkills,
    InvalidTransition,
    OfferNotFound,
    UnknownAgent,
    UnknownQueue,
)
from acd.index import LazyHeap
from acd.model import DEFAULT_SKILL_LEVEL, MAX_SKILL_LEVEL, MIN_SKILL_LEVEL, AgentState
from acd.model import QueueConfig as QueueConfig
from acd.routing import QueuePolicy, band_of, call_key, step_of
from acd.state import (
    EWT_MAX_ANSWERS,
    LOGIN_REASON,
    RONA_LIMIT_REASON,
    RONA_REASON,
    TIMER_SLACK_S,
    WITHDRAWN_AGENT_LOGOUT,
    WITHDRAWN_ANSWERED_ELSEWHERE,
    WITHDRAWN_CALLER_LEFT,
    WITHDRAWN_MOVED,
    WITHDRAWN_OVERFLOW,
    WITHDRAWN_RONA,
    AgentEntry,
    AgentView,
    CallEntry,
    Timer,
    some,
    widen_timer_key,
)
from acd.state import Agent as _Agent
from acd.state import Call as _Call
from acd.state import offer_timer_key as offer_timer_key
from acd.state import wrapup_timer_key as wrapup_timer_key
from contactcenter.ids import AgentId, CallId, QueueId

__all__ = [
    "EWT_MAX_ANSWERS",
    "LOGIN_REASON",
    "RONA_LIMIT_REASON",
    "RONA_REASON",
    "TIMER_SLACK_S",
    "WITHDRAWN_AGENT_LOGOUT",
    "WITHDRAWN_ANSWERED_ELSEWHERE",
    "WITHDRAWN_CALLER_LEFT",
    "WITHDRAWN_MOVED",
    "WITHDRAWN_OVERFLOW",
    "WITHDRAWN_RONA",
    "AcdCore",
    "AgentView",
    "offer_timer_key",
    "widen_timer_key",
    "wrapup_timer_key",
]


class AcdCore(AcdDispatch):
    def __init__(
        self,
        queues: Mapping[QueueId, QueueConfig],
        rng: random.Random | None = None,
        site_tz: ZoneInfo | None = None,
    ) -> None:
        """`rng` drives the "weighted_random" strategy (seed it for reproducible runs);
        `site_tz` says when a day starts for "least_calls" (default UTC)."""
        self._queues: dict[QueueId, QueueConfig] = dict(queues)
        for q in self._queues.values():
            if q.overflow_queue is not None and q.overflow_queue not in self._queues:
                raise UnknownQueue(f"queue {q.id} overflows to unknown queue {q.overflow_queue}")
            for lender in q.borrow_from:
                if lender not in self._queues or lender == q.id:
                    raise UnknownQueue(f"queue {q.id} borrows from unknown queue {lender}")
        self._borrowers: dict[QueueId, tuple[QueueId, ...]] = {
            q: tuple(b for b, c in self._queues.items() if q in c.borrow_from) for q in self._queues
        }
        self._used_skills = frozenset().union(*(q.skills for q in self._queues.values()))
        # Service level outcomes per queue over its window: (at, met); counts [met, total].
        self._outcomes: dict[QueueId, deque[tuple[float, bool]]] = {q: deque() for q in queues}
        self._sl_counts: dict[QueueId, list[int]] = {q: [0, 0] for q in self._queues}
        self._site_tz = site_tz if site_tz is not None else ZoneInfo("UTC")
        self._day_end = float("-inf")  # when the current site-local day ends
        rng = rng if rng is not None else random.Random(0)
        self._policy = {q: QueuePolicy(cfg, rng) for q, cfg in self._queues.items()}
        self._agents: dict[AgentId, _Agent] = {}
        self._calls: dict[CallId, _Call] = {}  # waiting, offered or not
        self._members: dict[QueueId, dict[CallId, _Call]] = {q: {} for q in self._queues}
        self._accepted: dict[CallId, AgentId] = {}
        self._serving: dict[QueueId, set[AgentId]] = {q: set() for q in self._queues}
        # READY agents per (queue, level band); waiting un-offered calls per (queue, step).
        self._ready: dict[QueueId, list[LazyHeap[AgentEntry]]] = {
            q: [LazyHeap(self._agent_entry_live) for _ in range(len(c.widen) + 1)]
            for q, c in self._queues.items()
        }
        self._waiting: dict[QueueId, list[LazyHeap[CallEntry]]] = {
            q: [LazyHeap(self._call_entry_live) for _ in range(len(c.widen) + 1)]
            for q, c in self._queues.items()
        }
        # Directed calls, per target agent (same entries as the waiting heaps).
        self._directed: dict[AgentId, LazyHeap[CallEntry]] = {}
        self._dirty_agents: set[AgentId] = set()  # READY agents that may have a directed call
        self._answers: dict[QueueId, deque[float]] = {
            q: deque(maxlen=EWT_MAX_ANSWERS) for q in self._queues
        }
        self._ewt_check: list[_Call] = []  # calls that just entered a queue with an EWT rule
        self._ewt_visited: dict[CallId, set[QueueId]] = {}  # queues seen in one input's chain
        self._timers: dict[str, Timer] = {}
        self._dirty: set[QueueId] = set()  # queues that may have a call and a READY agent
        self._seq = itertools.count(1)

    # --- the one entry point -------------------------------------------------------------

    def handle(self, msg: m.Input, now: float) -> list[m.Output]:
        out: list[m.Output] = []
        if now >= self._day_end:
            self._new_day(now)
        match msg:
            case m.AgentLogin():
                self._login(msg, now, out)
            case m.AgentLogout():
                self._logout(msg, now, out)
            case m.AgentReady():
                self._ready_request(msg, now, out)
            case m.AgentNotReady():
                self._not_ready(msg, now, out)
            case m.EnqueueCall():
                self._enqueue(msg, now, out)
            case m.RemoveCall():
                self._remove(msg, now, out)
            case m.AcceptOffer():
                self._accept(msg, now, out)
            case m.CallFinished():
                self._finished(msg, now, out)
            case m.TimerFired():
                self._timer_fired(msg, now, out)
            case m.MoveCall():
                self._move(msg, now, out)
            case m.AgentHold():
                self._hold(msg, now, out)
            case _:
                assert_never(msg)
        self._dispatch(now, out)
        if self._ewt_check:
            while self._ewt_check:
                self._overflow_on_ewt(now, out)
            self._ewt_visited.clear()
        return out

    # --- agents --------------------------------------------------------------------------

    def _login(self, msg: m.AgentLogin, now: float, out: list[m.Output]) -> None:
        levels = self._levels(msg)
        penalties = self._penalties(msg)
        unused = msg.skills - self._used_skills
        agent = self._agents.get(msg.agent_id)
        if agent is not None and agent.state is not AgentState.LOGGED_OUT:
            # Already logged in (a second desktop, a reconnect): skills and penalties may change.
            if agent.skills != msg.skills or agent.levels != levels or agent.penalties != penalties:
                self._unserve(agent)
                self._set_skills(agent, msg.skills, levels)
                agent.penalties = penalties
                if agent.state is AgentState.READY:
                    agent.gen = next(self._seq)
                    self._index_ready(agent)
                if unused:
                    out.append(m.AgentSkillUnused(agent.id, unused))
            return
        if agent is None:
            agent = _Agent(
                msg.agent_id, msg.skills, AgentState.LOGGED_OUT, None, None, now, len(self._agents)
            )
            self._agents[msg.agent_id] = agent
        agent.ronas, agent.calls, agent.keys, agent.penalties = 0, {}, {}, penalties
        self._set_skills(agent, msg.skills, levels)
        self._set_state(agent, AgentState.NOT_READY, now, out, reason=LOGIN_REASON)
        if unused:
            out.append(m.AgentSkillUnused(agent.id, unused))

    def _penalties(self, msg: m.AgentLogin) -> dict[QueueId, int]:
        for qid, penalty in msg.penalties.items():
            if qid not in self._queues:
                raise UnknownQueue(f"agent {msg.agent_id}: penalty for unknown queue {qid}")
            if penalty < 0:
                raise InvalidPenalty(f"agent {msg.agent_id}: penalty {penalty} for {qid} < 0")
        return {q: p for q, p in msg.penalties.items() if p}

    def _levels(self, msg: m.AgentLogin) -> dict[str, int]:
        for skill, level in msg.skill_levels.items():
            if skill not in msg.skills:
                raise InvalidSkills(f"agent {msg.agent_id}: level for {skill!r}, not a skill")
            if not MIN_SKILL_LEVEL <= level <= MAX_SKILL_LEVEL:
                raise InvalidSkills(f"agent {msg.agent_id}: level {level} of {skill!r} not 1-10")
        return {s: msg.skill_levels.get(s, DEFAULT_SKILL_LEVEL) for s in msg.skills}

    def _set_skills(self, agent: _Agent, skills: frozenset[str], levels: dict[str, int]) -> None:
        agent.skills, agent.levels, agent.bands = skills, levels, {}
        for qid, q in self._queues.items():
            band = band_of(q, levels) if q.skills <= skills else None
            if band is not None:
                agent.bands[qid] = band
                self._serving[qid].add(agent.id)

    def _logout(self, msg: m.AgentLogout, now: float, out: list[m.Output]) -> None:
        agent = self._agents.get(msg.agent_id)
        if agent is None or agent.state is AgentState.LOGGED_OUT:
            return
        if agent.state in (AgentState.ON_CALL, AgentState.ON_HOLD):
            raise InvalidTransition(f"agent {agent.id} is on a call; it must end first")
        if agent.state is AgentState.RINGING:
            call = self._calls[some(agent.call_id)]
            self._withdraw(call, agent, WITHDRAWN_AGENT_LOGOUT, out, cancel_timer=True)
            if call.target == agent.id:
                call.target = None
            if not call.offers:
                self._push_call(call)
        elif agent.state is AgentState.WRAP_UP:
            self._end_wrapup_timer(agent, out)
        self._unserve(agent)
        self._set_state(agent, AgentState.LOGGED_OUT, now, out)

    def _ready_request(self, msg: m.AgentReady, now: float, out: list[m.Output]) -> None:
        agent = self._logged_in(msg.agent_id)
        if agent.state in (AgentState.READY, *_BUSY):
            return
        if agent.state is AgentState.WRAP_UP:
            self._end_wrapup_timer(agent, out)
        self._make_ready(agent, now, out)

    def _not_ready(self, msg: m.AgentNotReady, now: float, out: list[m.Output]) -> None:
        agent = self._logged_in(msg.agent_id)
        if agent.state in _BUSY:
            return
        if agent.state is AgentState.NOT_READY and agent.reason == msg.reason:
            return
        if agent.state is AgentState.WRAP_UP:
            self._end_wrapup_timer(agent, out)
        self._set_state(agent, AgentState.NOT_READY, now, out, reason=msg.reason)

    # --- calls ---------------------------------------------------------------------------

    def _enqueue(self, msg: m.EnqueueCall, now: float, out: list[m.Output]) -> None:
        members = self._queue_members(msg.queue_id)
        if msg.call_id in self._calls or msg.call_id in self._accepted:
            raise InvalidTransition(f"call {msg.call_id} is already queued or with an agent")
        at = now if msg.enqueued_at is None else msg.enqueued_at
        call = _Call(msg.call_id, msg.queue_id, msg.priority, at, next(self._seq))
        call.entered_at = at
        call.target = self._directed_to(msg.target_agent)
        self._calls[call.id] = call
        members[call.id] = call
        q = self._queues[call.queue_id]
        if q.widen:
            call.step = step_of(q, now - at)
            self._schedule_widen(call, out)
        self._push_call(call)
        self._schedule_overflow(call, out)
        if q.overflow_when_ewt_exceeds_s is not None:
            self._ewt_check.append(call)

    def _directed_to(self, agent_id: AgentId | None) -> AgentId | None:
        """The target of a directed call, or None when it is to be an ordinary call."""
        if agent_id is None:
            return None
        agent = self._agents.get(agent_id)
        return agent_id if agent is not None and agent.state is not AgentState.LOGGED_OUT else None

    def _move(self, msg: m.MoveCall, now: float, out: list[m.Output]) -> None:
        call = self._calls.get(msg.call_id)
        if call is None:
            raise CallNotWaiting(f"call {msg.call_id} is not waiting in a queue")
        new = call.queue_id if msg.to_queue is None else msg.to_queue
        if new not in self._queues:
            raise UnknownQueue(f"cannot move call {call.id} to unknown queue {new}")
        if msg.to_agent is not None:
            if msg.to_agent not in self._agents:
                raise UnknownAgent(f"cannot move call {call.id} to unknown agent {msg.to_agent}")
            if self._agents[msg.to_agent].state is AgentState.LOGGED_OUT:
                raise InvalidTransition(
                    f"cannot move call {call.id} to agent {msg.to_agent}: logged out"
                )
        for agent_id in tuple(call.offers):
            agent = self._agents[agent_id]
            self._withdraw(call, agent, WITHDRAWN_MOVED, out, cancel_timer=True)
            self._make_ready(agent, now, out, keep_place=True)
        old = call.queue_id
        if new != old:
            self._cancel_call_timers(call, out)
            del self._members[old][call.id]
            call.queue_id, call.entered_at, call.step = new, now, 0
            self._members[new][call.id] = call
        call.target = msg.to_agent
        out.append(m.CallMoved(call.id, old, new, msg.to_agent, now))
        self._push_call(call)
        if new != old:
            self._schedule_widen(call, out)
            self._schedule_overflow(call, out)
            if self._queues[new].overflow_when_ewt_exceeds_s is not None:
                self._ewt_check.append(call)

    def _hold(self, msg: m.AgentHold, now: float, out: list[m.Output]) -> None:
        agent = self._logged_in(msg.agent_id)
        if agent.state not in (AgentState.ON_CALL, AgentState.ON_HOLD) or (
            agent.call_id != msg.call_id
        ):
            raise InvalidTransition(f"agent {agent.id} is not on call {msg.call_id}")
        state = AgentState.ON_HOLD if msg.on_hold else AgentState.ON_CALL
        if agent.state is not state:
            self._set_state(agent, state, now, out, call_id=msg.call_id)

    def _remove(self, msg: m.RemoveCall, now: float, out: list[m.Output]) -> None:
        call = self._calls.pop(msg.call_id, None)
        if call is None:
            return  # never queued, already gone, or accepted (CallFinished frees the agent)
        del self._members[call.queue_id][call.id]
        q = self._queues[call.queue_id]
        if now - call.enqueued_at >= q.short_abandon_s:  # an abandon; short ones do not count
            self._record_outcome(q, now, False)
        self._cancel_call_timers(call, out)
        for agent_id in tuple(call.offers):
            agent = self._agents[agent_id]
            self._withdraw(call, agent, WITHDRAWN_CALLER_LEFT, out, cancel_timer=True)
            # The agent did nothing wrong: back to READY in their old place.
            self._make_ready(agent, now, out, keep_place=True)

    def _accept(self, msg: m.AcceptOffer, now: float, out: list[m.Output]) -> None:
        call = self._calls.get(msg.call_id)
        if call is None or msg.agent_id not in call.offers:
            raise OfferNotFound(f"call {msg.call_id} is not offered to agent {msg.agent_id}")
        agent = self._agents[msg.agent_id]
        key = offer_timer_key(call.id, agent.id)
        del self._timers[key]
        out.append(m.CancelTimer(key))
        call.offers.remove(agent.id)
        for other_id in tuple(call.offers):  # ring_all: the others stop ringing
            other = self._agents[other_id]
            self._withdraw(call, other, WITHDRAWN_ANSWERED_ELSEWHERE, out, cancel_timer=True)
            self._make_ready(other, now, out, keep_place=True)
        del self._calls[call.id]
        del self._members[call.queue_id][call.id]
        self._cancel_call_timers(call, out)
        self._accepted[call.id] = agent.id
        self._answers[call.queue_id].append(now)
        q = self._queues[call.queue_id]
        self._record_outcome(q, now, now - call.enqueued_at <= q.sl_threshold_s)
        agent.ronas = 0
        agent.calls[call.queue_id] = agent.calls.get(call.queue_id, 0) + 1
        self._set_state(agent, AgentState.ON_CALL, now, out, call_id=call.id)

    def _finished(self, msg: m.CallFinished, now: float, out: list[m.Output]) -> None:
        agent = self._agents.get(msg.agent_id)
        if (
            agent is None
            or agent.state not in (AgentState.ON_CALL, AgentState.ON_HOLD)
            or agent.call_id != msg.call_id
        ):
            return
        del self._accepted[msg.call_id]
        wrapup_s = self._queues[some(agent.call_queue)].wrapup_s
        if wrapup_s <= 0:
            self._make_ready(agent, now, out)
            return
        key = wrapup_timer_key(agent.id)
        self._timers[key] = Timer("wrapup", now + wrapup_s, agent.id)
        self._set_state(agent, AgentState.WRAP_UP, now, out, call_id=msg.call_id)
        out.append(m.ScheduleTimer(key, now + wrapup_s))

    def _withdraw(
        self, call: _Call, agent: _Agent, reason: str, out: list[m.Output], *, cancel_timer: bool
    ) -> None:
        key = offer_timer_key(call.id, agent.id)
        self._timers.pop(key, None)
        call.offers.remove(agent.id)
        out.append(m.WithdrawOffer(call.id, agent.id, reason))
        if cancel_timer:
            out.append(m.CancelTimer(key))

    def _push_call(self, call: _Call) -> None:
        """(Re)index a waiting, un-offered call at its place: its original enqueue time."""
        call.gen = next(self._seq)
        k0, k1 = call_key(self._queues[call.queue_id], call.priority, call.enqueued_at)
        entry = (k0, k1, call.seq, call.gen, call.id)
        if call.target is not None:
            heap = self._directed.get(call.target)
            if heap is None:
                heap = self._directed[call.target] = LazyHeap(self._directed_entry_live)
            heap.push(entry)
            self._dirty_agents.add(call.target)
            return
        self._waiting[call.queue_id][call.step].push(entry)
        self._dirty.add(call.queue_id)

    # --- agent state helpers -------------------------------------------------------------

    def _make_ready(
        self, agent: _Agent, now: float, out: list[m.Output], *, keep_place: bool = False
    ) -> None:
        if not keep_place:
            agent.idle_since, agent.idle_seq = now, next(self._seq)
        self._set_state(agent, AgentState.READY, now, out, keep_place=keep_place)

    def _set_state(
        self,
        agent: _Agent,
        state: AgentState,
        now: float,
        out: list[m.Output],
        *,
        reason: str | None = None,
        call_id: CallId | None = None,
        keep_place: bool = False,
    ) -> None:
        agent.state, agent.reason, agent.call_id, agent.since = state, reason, call_id, now
        agent.gen = next(self._seq)  # whatever READY entries the agent had are stale now
        if state is AgentState.READY:
            self._index_ready(agent, keep_place=keep_place)
            if agent.id in self._directed:
                self._dirty_agents.add(agent.id)
        elif state is AgentState.LOGGED_OUT and agent.id in self._directed:
            self._release_directed(agent.id)
        out.append(m.AgentStateChanged(agent.id, state, reason, call_id, now))

    def _release_directed(self, agent_id: AgentId) -> None:
        """The agent logged out: their directed calls become ordinary calls of their queues."""
        heap = self._directed.pop(agent_id)
        for entry in list(heap):
            call = self._calls[entry[4]]
            call.target = None
            self._push_call(call)

    def _index_ready(self, agent: _Agent, *, keep_place: bool = False) -> None:
        for qid, band in agent.bands.items():
            key = agent.keys.get(qid) if keep_place else None
            if key is None and self._queues[qid].strategy == "longest_idle":
                key = (agent.idle_since, 0.0, agent.idle_seq)
            if key is None:
                key = self._policy[qid].key(
                    idle_since=agent.idle_since,
                    idle_seq=agent.idle_seq,
                    position=agent.position,
                    calls=agent.calls.get(qid, 0),
                    levels=agent.levels,
                )
                agent.keys[qid] = key
            self._ready[qid][band].push((agent.penalties.get(qid, 0), *key, agent.gen, agent.id))
            self._dirty.add(qid)
            if self._borrowers[qid]:
                self._dirty.update(self._borrowers[qid])

    def _end_wrapup_timer(self, agent: _Agent, out: list[m.Output]) -> None:
        key = wrapup_timer_key(agent.id)
        if self._timers.pop(key, None) is not None:
            out.append(m.CancelTimer(key))

    def _unserve(self, agent: _Agent) -> None:
        for qid in agent.bands:
            self._serving[qid].discard(agent.id)

    # --- lookups -------------------------------------------------------------------------

    def _logged_in(self, agent_id: AgentId) -> _Agent:
        agent = self._agent(agent_id)
        if agent.state is AgentState.LOGGED_OUT:
            raise InvalidTransition(f"agent {agent_id} is logged out")
        return agent

    def _agent_entry_live(self, entry: AgentEntry) -> bool:
        agent = self._agents.get(entry[5])
        return agent is not None and agent.state is AgentState.READY and agent.gen == entry[4]

    def _call_entry_live(self, entry: CallEntry) -> bool:
        call = self._calls.get(entry[4])
        return call is not None and not call.offers and call.gen == entry[3]

    def _directed_entry_live(self, entry: CallEntry) -> bool:
        call = self._calls.get(entry[4])
        if call is None or call.offers or call.gen != entry[3]:
            return False
        return call.target is not None


_BUSY = (AgentState.RINGING, AgentState.ON_CALL, AgentState.ON_HOLD)
