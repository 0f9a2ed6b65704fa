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
  (priority descending, then enqueue time, then arrival order) is offered to the longest-idle
  READY agent who serves its queue (the agent's skills include all of the queue's skills).
* Timer keys are `offer:{call_id}:{agent_id}` and `wrapup:{agent_id}`. A TimerFired is acted
  upon only if that timer is still live and `now` is no earlier than its deadline minus
  TIMER_SLACK_S (so a late-delivered timer of an earlier offer or wrap-up with the same key
  cannot cut a new one short).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar, assert_never

from acd import messages as m
from acd.errors import InvalidTransition, OfferNotFound, UnknownAgent, UnknownQueue
from acd.index import LazyHeap
from acd.model import AgentState, QueueConfig
from contactcenter.ids import AgentId, CallId, QueueId

TIMER_SLACK_S = 1.0
LOGIN_REASON = "login"
RONA_REASON = "rona"
WITHDRAWN_RONA = "rona"
WITHDRAWN_CALLER_LEFT = "caller_left"
WITHDRAWN_AGENT_LOGOUT = "agent_logout"


def offer_timer_key(call_id: CallId, agent_id: AgentId) -> str:
    return f"offer:{call_id}:{agent_id}"


def wrapup_timer_key(agent_id: AgentId) -> str:
    return f"wrapup:{agent_id}"


@dataclass(frozen=True, slots=True)
class AgentView:
    """What the core knows of one agent. `idle_since` is set while READY (routing order)."""

    agent_id: AgentId
    state: AgentState
    reason: str | None
    call_id: CallId | None
    since: float
    skills: frozenset[str]
    idle_since: float | None


# Heap entries. Agents: (idle_since, idle_seq, gen, agent). Calls: (-priority, enqueued_at,
# seq, gen, call). `gen` (unique over the core's life, so a call id enqueued again or an
# agent logging in again never revives an old entry) ties an entry to one stint of the agent
# in READY / of the call waiting un-offered; any later change makes older entries stale.
_AgentEntry = tuple[float, int, int, AgentId]
_CallEntry = tuple[int, float, int, int, CallId]


@dataclass(slots=True, eq=False)
class _Agent:
    id: AgentId
    skills: frozenset[str]
    queues: tuple[QueueId, ...]
    state: AgentState
    reason: str | None
    call_id: CallId | None
    since: float
    call_queue: QueueId | None = None
    idle_since: float = 0.0
    idle_seq: int = 0
    gen: int = 0


@dataclass(slots=True, eq=False)
class _Call:
    id: CallId
    queue_id: QueueId
    priority: int
    enqueued_at: float
    seq: int
    offered_to: AgentId | None = None
    gen: int = 0


@dataclass(frozen=True, slots=True)
class _Timer:
    kind: Literal["offer", "wrapup"]
    at: float
    agent_id: AgentId
    call_id: CallId | None = None


class AcdCore:
    def __init__(self, queues: Mapping[QueueId, QueueConfig]) -> None:
        self._queues: dict[QueueId, QueueConfig] = dict(queues)
        self._agents: dict[AgentId, _Agent] = {}
        self._calls: dict[CallId, _Call] = {}  # waiting, offered or not
        self._members: dict[QueueId, dict[CallId, _Call]] = {q: {} for q in self._queues}
        self._accepted: dict[CallId, AgentId] = {}
        self._serving: dict[QueueId, set[AgentId]] = {q: set() for q in self._queues}
        self._ready: dict[QueueId, LazyHeap[_AgentEntry]] = {
            q: LazyHeap(self._agent_entry_live) for q in self._queues
        }
        self._waiting: dict[QueueId, LazyHeap[_CallEntry]] = {
            q: LazyHeap(self._call_entry_live) for q in self._queues
        }
        self._timers: dict[str, _Timer] = {}
        self._dirty: set[QueueId] = set()  # queues that may have a call and a READY agent
        self._seq = itertools.count(1)

    # --- the one entry point -------------------------------------------------------------

    def handle(self, msg: m.Input, now: float) -> list[m.Output]:
        out: list[m.Output] = []
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
                self._enqueue(msg, now)
            case m.RemoveCall():
                self._remove(msg, now, out)
            case m.AcceptOffer():
                self._accept(msg, now, out)
            case m.CallFinished():
                self._finished(msg, now, out)
            case m.TimerFired():
                self._timer_fired(msg, now, out)
            case _:
                assert_never(msg)
        self._dispatch(now, out)
        return out

    # --- read-only queries ---------------------------------------------------------------

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
        return [c.id for c in sorted(calls, key=lambda c: (-c.priority, c.enqueued_at, c.seq))]

    def queue_of(self, call_id: CallId) -> QueueId | None:
        """The queue a call waits in (None once accepted, removed, or never seen)."""
        call = self._calls.get(call_id)
        return call.queue_id if call is not None else None

    def offer_of(self, call_id: CallId) -> AgentId | None:
        """The agent whose desktop rings with this call, if any."""
        call = self._calls.get(call_id)
        return call.offered_to if call is not None else None

    def agent_of(self, call_id: CallId) -> AgentId | None:
        """The agent who accepted this call and has not finished it yet."""
        return self._accepted.get(call_id)

    def agents_serving(self, queue_id: QueueId) -> frozenset[AgentId]:
        """Logged-in agents (any state) whose skills cover the queue's skills."""
        if queue_id not in self._serving:
            raise UnknownQueue(queue_id)
        return frozenset(self._serving[queue_id])

    def ready_agents(self, queue_id: QueueId) -> list[AgentId]:
        """READY agents serving the queue, longest idle first."""
        if queue_id not in self._ready:
            raise UnknownQueue(queue_id)
        return [e[3] for e in sorted(self._ready[queue_id])]

    # --- agents --------------------------------------------------------------------------

    def _login(self, msg: m.AgentLogin, now: float, out: list[m.Output]) -> None:
        agent = self._agents.get(msg.agent_id)
        if agent is not None and agent.state is not AgentState.LOGGED_OUT:
            # Already logged in (a second desktop, a reconnect): only the skills may change.
            if agent.skills != msg.skills:
                self._unserve(agent)
                agent.skills, agent.queues = msg.skills, self._queues_for(msg.skills)
                self._serve(agent)
                if agent.state is AgentState.READY:
                    agent.gen = next(self._seq)
                    self._index_ready(agent)
            return
        if agent is None:
            agent = _Agent(msg.agent_id, msg.skills, (), AgentState.LOGGED_OUT, None, None, now)
            self._agents[msg.agent_id] = agent
        agent.skills, agent.queues = msg.skills, self._queues_for(msg.skills)
        self._serve(agent)
        self._set_state(agent, AgentState.NOT_READY, now, out, reason=LOGIN_REASON)

    def _logout(self, msg: m.AgentLogout, now: float, out: list[m.Output]) -> None:
        agent = self._agents.get(msg.agent_id)
        if agent is None or agent.state is AgentState.LOGGED_OUT:
            return
        if agent.state is AgentState.ON_CALL:
            raise InvalidTransition(f"agent {agent.id} is on a call; it must end first")
        if agent.state is AgentState.RINGING:
            call = self._calls[_some(agent.call_id)]
            self._withdraw(call, WITHDRAWN_AGENT_LOGOUT, out, cancel_timer=True)
            self._push_call(call)
        elif agent.state is AgentState.WRAP_UP:
            self._end_wrapup_timer(agent, out)
        self._unserve(agent)
        self._set_state(agent, AgentState.LOGGED_OUT, now, out)

    def _ready_request(self, msg: m.AgentReady, now: float, out: list[m.Output]) -> None:
        agent = self._logged_in(msg.agent_id)
        if agent.state in (AgentState.READY, AgentState.RINGING, AgentState.ON_CALL):
            return
        if agent.state is AgentState.WRAP_UP:
            self._end_wrapup_timer(agent, out)
        self._make_ready(agent, now, out)

    def _not_ready(self, msg: m.AgentNotReady, now: float, out: list[m.Output]) -> None:
        agent = self._logged_in(msg.agent_id)
        if agent.state in (AgentState.RINGING, AgentState.ON_CALL):
            return
        if agent.state is AgentState.NOT_READY and agent.reason == msg.reason:
            return
        if agent.state is AgentState.WRAP_UP:
            self._end_wrapup_timer(agent, out)
        self._set_state(agent, AgentState.NOT_READY, now, out, reason=msg.reason)

    # --- calls ---------------------------------------------------------------------------

    def _enqueue(self, msg: m.EnqueueCall, now: float) -> None:
        members = self._queue_members(msg.queue_id)
        if msg.call_id in self._calls or msg.call_id in self._accepted:
            raise InvalidTransition(f"call {msg.call_id} is already queued or with an agent")
        at = now if msg.enqueued_at is None else msg.enqueued_at
        call = _Call(msg.call_id, msg.queue_id, msg.priority, at, next(self._seq))
        self._calls[call.id] = call
        members[call.id] = call
        self._push_call(call)

    def _remove(self, msg: m.RemoveCall, now: float, out: list[m.Output]) -> None:
        call = self._calls.pop(msg.call_id, None)
        if call is None:
            return  # never queued, already gone, or accepted (CallFinished frees the agent)
        del self._members[call.queue_id][call.id]
        if call.offered_to is not None:
            agent = self._withdraw(call, WITHDRAWN_CALLER_LEFT, out, cancel_timer=True)
            # The agent did nothing wrong: back to READY in their old place.
            self._make_ready(agent, now, out, keep_place=True)

    def _accept(self, msg: m.AcceptOffer, now: float, out: list[m.Output]) -> None:
        call = self._calls.get(msg.call_id)
        if call is None or call.offered_to != msg.agent_id:
            raise OfferNotFound(f"call {msg.call_id} is not offered to agent {msg.agent_id}")
        agent = self._agents[msg.agent_id]
        key = offer_timer_key(call.id, agent.id)
        del self._timers[key]
        out.append(m.CancelTimer(key))
        del self._calls[call.id]
        del self._members[call.queue_id][call.id]
        self._accepted[call.id] = agent.id
        self._set_state(agent, AgentState.ON_CALL, now, out, call_id=call.id)

    def _finished(self, msg: m.CallFinished, now: float, out: list[m.Output]) -> None:
        agent = self._agents.get(msg.agent_id)
        if agent is None or agent.state is not AgentState.ON_CALL or agent.call_id != msg.call_id:
            return
        del self._accepted[msg.call_id]
        wrapup_s = self._queues[_some(agent.call_queue)].wrapup_s
        if wrapup_s <= 0:
            self._make_ready(agent, now, out)
            return
        key = wrapup_timer_key(agent.id)
        self._timers[key] = _Timer("wrapup", now + wrapup_s, agent.id)
        self._set_state(agent, AgentState.WRAP_UP, now, out, call_id=msg.call_id)
        out.append(m.ScheduleTimer(key, now + wrapup_s))

    def _timer_fired(self, msg: m.TimerFired, now: float, out: list[m.Output]) -> None:
        timer = self._timers.get(msg.key)
        if timer is None or now + TIMER_SLACK_S < timer.at:
            return
        del self._timers[msg.key]
        agent = self._agents[timer.agent_id]
        if timer.kind == "wrapup":
            self._make_ready(agent, now, out)
            return
        call = self._calls[_some(timer.call_id)]
        self._withdraw(call, WITHDRAWN_RONA, out, cancel_timer=False)
        out.append(m.OfferTimedOut(call.id, agent.id, now))
        self._set_state(agent, AgentState.NOT_READY, now, out, reason=RONA_REASON)
        self._push_call(call)

    # --- routing -------------------------------------------------------------------------

    def _dispatch(self, now: float, out: list[m.Output]) -> None:
        """Offer calls to READY agents until no queue has both. Only queues touched since the
        last dispatch can have both, so only those are looked at."""
        dirty = self._dirty
        while dirty:
            best: tuple[_CallEntry, QueueId] | None = None
            for qid in tuple(dirty):
                head = self._waiting[qid].peek()
                if head is None or self._ready[qid].peek() is None:
                    dirty.discard(qid)
                elif best is None or head < best[0]:
                    best = (head, qid)
            if best is None:
                return
            head, qid = best
            agent_entry = self._ready[qid].pop()
            assert agent_entry is not None
            self._offer(self._calls[head[4]], self._agents[agent_entry[3]], now, out)

    def _offer(self, call: _Call, agent: _Agent, now: float, out: list[m.Output]) -> None:
        call.offered_to = agent.id
        call.gen = next(self._seq)
        agent.call_queue = call.queue_id
        key = offer_timer_key(call.id, agent.id)
        at = now + self._queues[call.queue_id].offer_timeout_s
        self._timers[key] = _Timer("offer", at, agent.id, call.id)
        out.append(m.OfferCall(call.id, agent.id, call.queue_id))
        self._set_state(agent, AgentState.RINGING, now, out, call_id=call.id)
        out.append(m.ScheduleTimer(key, at))

    def _withdraw(
        self, call: _Call, reason: str, out: list[m.Output], *, cancel_timer: bool
    ) -> _Agent:
        agent = self._agents[_some(call.offered_to)]
        key = offer_timer_key(call.id, agent.id)
        self._timers.pop(key, None)
        call.offered_to = None
        out.append(m.WithdrawOffer(call.id, agent.id, reason))
        if cancel_timer:
            out.append(m.CancelTimer(key))
        return agent

    def _push_call(self, call: _Call) -> None:
        """(Re)index a waiting, un-offered call at its place: its original enqueue time."""
        call.gen = next(self._seq)
        entry = (-call.priority, call.enqueued_at, call.seq, call.gen, call.id)
        self._waiting[call.queue_id].push(entry)
        self._dirty.add(call.queue_id)

    # --- agent state helpers -------------------------------------------------------------

    def _make_ready(
        self, agent: _Agent, now: float, out: list[m.Output], *, keep_place: bool = False
    ) -> None:
        if not keep_place:
            agent.idle_since, agent.idle_seq = now, next(self._seq)
        self._set_state(agent, AgentState.READY, now, out)

    def _set_state(
        self,
        agent: _Agent,
        state: AgentState,
        now: float,
        out: list[m.Output],
        *,
        reason: str | None = None,
        call_id: CallId | None = None,
    ) -> None:
        agent.state, agent.reason, agent.call_id, agent.since = state, reason, call_id, now
        agent.gen = next(self._seq)  # whatever READY entries the agent had are stale now
        if state is AgentState.READY:
            self._index_ready(agent)
        out.append(m.AgentStateChanged(agent.id, state, reason, call_id, now))

    def _index_ready(self, agent: _Agent) -> None:
        entry = (agent.idle_since, agent.idle_seq, agent.gen, agent.id)
        for qid in agent.queues:
            self._ready[qid].push(entry)
            self._dirty.add(qid)

    def _end_wrapup_timer(self, agent: _Agent, out: list[m.Output]) -> None:
        key = wrapup_timer_key(agent.id)
        if self._timers.pop(key, None) is not None:
            out.append(m.CancelTimer(key))

    def _serve(self, agent: _Agent) -> None:
        for qid in agent.queues:
            self._serving[qid].add(agent.id)

    def _unserve(self, agent: _Agent) -> None:
        for qid in agent.queues:
            self._serving[qid].discard(agent.id)

    # --- lookups -------------------------------------------------------------------------

    def _queues_for(self, skills: frozenset[str]) -> tuple[QueueId, ...]:
        return tuple(qid for qid, q in self._queues.items() if q.skills <= skills)

    def _agent(self, agent_id: AgentId) -> _Agent:
        agent = self._agents.get(agent_id)
        if agent is None:
            raise UnknownAgent(agent_id)
        return agent

    def _logged_in(self, agent_id: AgentId) -> _Agent:
        agent = self._agent(agent_id)
        if agent.state is AgentState.LOGGED_OUT:
            raise InvalidTransition(f"agent {agent_id} is logged out")
        return agent

    def _queue_members(self, queue_id: QueueId) -> dict[CallId, _Call]:
        members = self._members.get(queue_id)
        if members is None:
            raise UnknownQueue(queue_id)
        return members

    def _agent_entry_live(self, entry: _AgentEntry) -> bool:
        agent = self._agents.get(entry[3])
        return agent is not None and agent.state is AgentState.READY and agent.gen == entry[2]

    def _call_entry_live(self, entry: _CallEntry) -> bool:
        call = self._calls.get(entry[4])
        return call is not None and call.offered_to is None and call.gen == entry[3]


T = TypeVar("T")


def _some(value: T | None) -> T:
    assert value is not None
    return value
