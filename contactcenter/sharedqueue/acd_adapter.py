"""SharedAcdService: the ACD shell's interface (`AcdService` in contactcenter/acd_service.py)
on top of shared queues, so that several server nodes route one set of queues together.

It takes the same inputs (acd/messages.py) and emits the same outputs to the same handlers
(`on_offer`, `on_offer_withdrawn`, `on_agent_state`, `on_offer_timed_out`, `on_overflow`,
`on_call_moved`), with the same timer keys; every decision is one atomic `SharedQueues`
operation, so it holds across nodes. Queries (`agent_view`, `position`, `estimated_wait_s`,
`queue_status`) read the store (acd_queries.py).

What it maps (acd_mapping.py):
* Strategies, ring_all included (every READY agent of the lowest penalty rings; the first
  answer wins, the others get WithdrawOffer "answered_elsewhere"), and borrowing
  (`borrow_from`, while the lender's service level, counted in the store, is met).
* AgentLogin: the agent serves the queues whose skills they all have at levels acceptable at
  some widening step, with their `penalties` (0 by default); levels are those given
  (DEFAULT_SKILL_LEVEL otherwise). A call's requirement is its queue's skills at the queue's
  `skill_levels` (1 when not named), lowered at each widening step (`reprofile`).
* Strategies: the store orders each queue's READY agents by penalty, then by the strategy's
  key (redis_scripts.py); the node passes the site-local day ("least_calls") and the
  exponential draws ("weighted_random", from `rng`, as the core's QueuePolicy draws them).
* An offer is an assignment (agent `assigned`, state RINGING); AcceptOffer is `answer`
  (ON_CALL); AgentHold is `hold`; CallFinished is `finish` (WRAP_UP with the queue's timer, or
  READY at once); the offer timer (RONA) is `requeue` of that very assignment (counting
  consecutive RONAs against `max_consecutive_rona`), the caller leaving while it rings is
  `withdraw`; MoveCall and overflow are `move`.
* Timers are this node's (`loop.call_later`): the node that made an offer runs its RONA timer,
  the node that enqueued (or moved) a call its widening and overflow timers. A timer checks the
  store when it fires (the call's queue, entry time and step), so a timer made stale by another
  node does nothing. A node that stops loses its timers: its ringing offers then wait for an
  answer or for the caller to leave, and its waiting calls no longer widen or overflow by time
  (they are still routed at their current requirement).

Differences from the in-process core:
* borrowing looks at a lender when something happens to the borrower's calls, to the
  lender's agents, or to an answer in the lender (the core: at any input that touches either
  queue), and gives a borrower's first call to the READY lender agent at hand when that
  agent becomes ready;
* decisions are made call by call or agent by agent (`offers_for_call` / `offers_for_agent`,
  and `assign_after_move` after a move that freed one agent) rather than by one global pass
  over every queue: when one input frees several agents (a "ring_all" call answered, moved
  or left) they take calls one after the other, and calls that one input makes ordinary
  (a logout releasing directed calls) are routed in their agent's order;
* the overflow on estimated wait (`overflow_when_ewt_exceeds_s`) reads the estimate and then
  moves the call in a second atomic step that applies only if the call still waits there;
* "weighted_random": an agent given back their place after a re-login that added the queue
  (no key of theirs there yet) is keyed with the mean draw (1) instead of a fresh one;
* a node that stops takes its timers with it (see above): the core never loses a timer;
* a request of (or a MoveCall to) an agent who is not logged in raises InvalidTransition,
  whether or not they ever were (the core raises UnknownAgent for one it never saw);
  `agent_view` raises
  UnknownAgent for any agent not logged in (the core shows a LOGGED_OUT agent it saw);
* a re-login that only changes the penalty of a queue the agent does not serve changes nothing;
* a queue's strategy changed in the settings applies to agents as they next become ready.
Errors of the store (Redis down) raise SharedQueueUnavailable from `submit`; nothing is changed
by a failed operation, and the caller keeps its call (still on its channel) to submit again.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from acd import messages as m
from acd.core import RONA_LIMIT_REASON
from acd.errors import InvalidTransition, OfferNotFound, UnknownQueue
from acd.model import AgentState
from acd.model import QueueConfig as QueueConfig
from acd.routing import step_of
from acd.state import offer_timer_key, wrapup_timer_key
from contactcenter.acd_shell import AcdShell
from contactcenter.clock import Clock
from contactcenter.ids import AgentId, CallId, QueueId
from contactcenter.sharedqueue import acd_mapping as mp
from contactcenter.sharedqueue.acd_moves import SharedAcdMoves
from contactcenter.sharedqueue.ports import (
    AgentLogin,
    AgentStateConflict,
    AgentStatus,
    QueueCall,
    SharedQueues,
)

logger = logging.getLogger(__name__)

LOGIN_REASON = "login"
RONA_REASON = "rona"
WITHDRAWN_RONA = "rona"
WITHDRAWN_CALLER_LEFT = "caller_left"
WITHDRAWN_AGENT_LOGOUT = "agent_logout"
WITHDRAWN_ANSWERED_ELSEWHERE = "answered_elsewhere"


def check_supported(queues: Mapping[QueueId, QueueConfig]) -> None:
    """Raise UnknownQueue for an overflow or lending queue that is not configured."""
    mp.check_supported(queues)


class SharedAcdService(SharedAcdMoves, AcdShell):
    def __init__(
        self,
        shared: SharedQueues,
        queues: Mapping[QueueId, QueueConfig],
        clock: Clock,
        *,
        rng: random.Random | None = None,
        site_tz: ZoneInfo | None = None,
    ) -> None:
        """`rng` draws the "weighted_random" variates (as AcdCore's `rng`); `site_tz` says
        when a day starts for "least_calls" (default UTC)."""
        mp.check_supported(queues)
        AcdShell.__init__(self, clock)
        self.shared = shared
        self._queues = dict(queues)
        self._rng = rng if rng is not None else random.Random(0)
        self._tz = site_tz if site_tz is not None else ZoneInfo("UTC")
        self._used_skills = frozenset().union(*(q.skills for q in self._queues.values()))
        self._configured = False

    # --- the AcdService interface ----------------------------------------------------------

    async def submit(self, message: m.Input) -> list[m.Output]:
        """Carry out one input through the shared queues and then its outputs, in order."""
        await self._configure()
        outputs = await self._handle(message, self._clock.now())
        await self._execute(outputs)
        return outputs

    async def _configure(self) -> None:
        if not self._configured:
            for qid, q in self._queues.items():
                await self.shared.configure_queue(
                    qid,
                    q.priority_aging_per_s,
                    q.strategy,
                    sorted(q.skills),
                    borrow_from=q.borrow_from,
                    lends_to=[b for b, c in self._queues.items() if qid in c.borrow_from],
                    service_level=mp.service_level(q),
                )
            self._configured = True

    async def agent_status(self, agent_id: AgentId) -> AgentStatus | None:
        return await self.shared.agent(agent_id)

    # --- inputs ----------------------------------------------------------------------------

    async def _handle(self, msg: m.Input, now: float) -> list[m.Output]:
        match msg:
            case m.AgentLogin():
                return await self._login(msg, now)
            case m.AgentLogout():
                return await self._logout(msg.agent_id, now)
            case m.AgentReady():
                return await self._ready(msg.agent_id, now)
            case m.AgentNotReady():
                return await self._not_ready(msg.agent_id, msg.reason, now)
            case m.EnqueueCall():
                return await self._enqueue(msg, now)
            case m.RemoveCall():
                return await self._remove(msg.call_id, now)
            case m.AcceptOffer():
                return await self._accept(msg.call_id, msg.agent_id, now)
            case m.CallFinished():
                return await self._finished(msg.call_id, msg.agent_id, now)
            case m.TimerFired():
                return await self._timer_fired(msg.key, now)
            case m.MoveCall():
                return await self._move(msg, now)
            case m.AgentHold():
                return await self._hold(msg, now)
        raise AssertionError(msg)  # pragma: no cover

    async def _status(self, agent_id: AgentId) -> AgentStatus:
        status = await self.shared.agent(agent_id)
        if status is None:
            raise InvalidTransition(f"agent {agent_id} is not logged in")
        return status

    async def _login(self, msg: m.AgentLogin, now: float) -> list[m.Output]:
        levels = mp.login_levels(msg)
        queues = mp.login_queues(msg, levels, self._queues)
        unused = msg.skills - self._used_skills
        out: list[m.Output] = []
        status = await self.shared.agent(msg.agent_id)
        if status is not None:
            if dict(status.skills) == levels and dict(status.queues) == queues:
                return []
            ctx = self._ctx(now, queues if status.state == "ready" else None)
            await self.shared.login(AgentLogin(msg.agent_id, levels, queues), now, ctx)
            if unused:
                out.append(m.AgentSkillUnused(msg.agent_id, unused))
            return out + await self._route_agent(msg.agent_id, now)
        else:
            await self.shared.login(AgentLogin(msg.agent_id, levels, queues), now)
            out.append(self._state(msg.agent_id, AgentState.NOT_READY, now, reason=LOGIN_REASON))
        if unused:
            out.append(m.AgentSkillUnused(msg.agent_id, unused))
        return out

    async def _logout(self, agent_id: AgentId, now: float) -> list[m.Output]:
        status = await self.shared.agent(agent_id)
        if status is None:
            return []
        out: list[m.Output] = []
        if status.state in ("on_call", "on_hold", "busy"):
            raise InvalidTransition(f"agent {agent_id} is on a call; it must end first")
        if status.state == "assigned" and status.call_id is not None:
            call_id = status.call_id
            if await self.shared.requeue(call_id, now, WITHDRAWN_AGENT_LOGOUT, agent_id):
                out += [
                    m.WithdrawOffer(call_id, agent_id, WITHDRAWN_AGENT_LOGOUT),
                    m.CancelTimer(offer_timer_key(call_id, agent_id)),
                ]
                released = await self.shared.logout(agent_id) or []
                out.append(self._state(agent_id, AgentState.LOGGED_OUT, now))
                return out + await self._route_calls([call_id, *released], now)
            return await self._logout(agent_id, now)  # answered meanwhile: decide again
        if status.state == "wrap_up":
            out.append(m.CancelTimer(wrapup_timer_key(agent_id)))
        try:
            released = await self.shared.logout(agent_id) or []
        except AgentStateConflict:
            return await self._logout(agent_id, now)  # given a call meanwhile
        out.append(self._state(agent_id, AgentState.LOGGED_OUT, now))
        return out + await self._route_calls(released, now)

    async def _ready(self, agent_id: AgentId, now: float, *, timer: bool = False) -> list[m.Output]:
        status = await self._status(agent_id)
        if status.state != "not_ready" and status.state != "wrap_up":
            return []
        out: list[m.Output] = []
        if status.state == "wrap_up" and not timer:  # "ready now" ends the wrap-up early
            out.append(m.CancelTimer(wrapup_timer_key(agent_id)))
        try:
            await self.shared.ready(agent_id, now, self._ctx(now, status.queues))
        except AgentStateConflict:
            return out
        out.append(self._state(agent_id, AgentState.READY, now))
        return out + await self._route_agent(agent_id, now)

    async def _not_ready(self, agent_id: AgentId, reason: str, now: float) -> list[m.Output]:
        status = await self._status(agent_id)
        if status.state in ("assigned", "on_call", "on_hold", "busy"):
            return []
        if status.state == "not_ready" and status.reason == reason:
            return []
        out: list[m.Output] = []
        if status.state == "wrap_up":
            out.append(m.CancelTimer(wrapup_timer_key(agent_id)))
        try:
            await self.shared.not_ready(agent_id, now, reason)
        except AgentStateConflict:
            return out  # given a call meanwhile: it rings, as in the core
        out.append(self._state(agent_id, AgentState.NOT_READY, now, reason=reason))
        return out

    async def _enqueue(self, msg: m.EnqueueCall, now: float) -> list[m.Output]:
        queue = self._queues.get(msg.queue_id)
        if queue is None:
            raise UnknownQueue(f"unknown queue {msg.queue_id}")
        at = now if msg.enqueued_at is None else msg.enqueued_at
        step = step_of(queue, now - at) if queue.widen else 0
        call = QueueCall(
            msg.call_id,
            msg.queue_id,
            msg.priority,
            at,
            mp.needs(queue, step),
            msg.target_agent,
            at,
            step,
        )
        if not await self.shared.enqueue(call):
            raise InvalidTransition(f"call {msg.call_id} is already queued or with an agent")
        out = mp.schedule_timers(queue, msg.call_id, step, at)
        offered = await self._route_call(msg.call_id, now)
        out += offered
        if not offered and queue.overflow_when_ewt_exceeds_s is not None:
            out += await self._overflow_on_ewt(msg.call_id, now, {msg.queue_id})
        return out

    async def _remove(self, call_id: CallId, now: float) -> list[m.Output]:
        info = await self.shared.call(call_id)
        if info is None:
            return []
        cancels = [
            m.CancelTimer(k)
            for k in mp.call_timers(self._queues[info.queue_id], call_id, info.step)
        ]
        if await self.shared.remove_call(call_id, now):
            return list(cancels)
        agents = await self.shared.withdraw_all(call_id, now)
        if not agents:
            return []  # gone, or answered (CallFinished frees the agent)
        out: list[m.Output] = [
            *cancels,
            *self._withdrawn(call_id, tuple(agents), WITHDRAWN_CALLER_LEFT, now),
        ]
        return out + await self._route_agents(agents, now)

    async def _accept(self, call_id: CallId, agent_id: AgentId, now: float) -> list[m.Output]:
        got = await self.shared.answer(call_id, agent_id, now, self._ctx(now))
        if got is None:
            raise OfferNotFound(f"call {call_id} is not offered to agent {agent_id}")
        queue = self._queues.get(got.queue_id)
        cancels = [] if queue is None else mp.call_timers(queue, call_id, got.step)
        out: list[m.Output] = [
            m.CancelTimer(offer_timer_key(call_id, agent_id)),
            *self._withdrawn(call_id, got.others, WITHDRAWN_ANSWERED_ELSEWHERE, now),
            *(m.CancelTimer(k) for k in cancels),
            self._state(agent_id, AgentState.ON_CALL, now, call_id=call_id),
        ]
        out += await self._route_agents(list(got.others), now)
        if any(got.queue_id in q.borrow_from for q in self._queues.values()):
            lent = await self.shared.serve_borrowers(got.queue_id, now, self._ctx(now))
            out += [x for g in lent for x in self._offer(g, now)]
        return out

    async def _hold(self, msg: m.AgentHold, now: float) -> list[m.Output]:
        try:
            changed = await self.shared.hold(msg.agent_id, msg.call_id, msg.on_hold, now)
        except AgentStateConflict as exc:
            raise InvalidTransition(f"agent {msg.agent_id} is not on call {msg.call_id}") from exc
        if not changed:
            return []
        state = AgentState.ON_HOLD if msg.on_hold else AgentState.ON_CALL
        return [self._state(msg.agent_id, state, now, call_id=msg.call_id)]

    async def _finished(self, call_id: CallId, agent_id: AgentId, now: float) -> list[m.Output]:
        status = await self.shared.agent(agent_id)
        if (
            status is None
            or status.state not in ("on_call", "on_hold")
            or status.call_id != call_id
        ):
            return []
        held = await self.shared.assignment(call_id)
        queue = None if held is None else self._queues.get(held.queue_id)
        wrapup_s = 0.0 if queue is None else queue.wrapup_s
        ctx = self._ctx(now, status.queues if wrapup_s <= 0 else None)
        try:
            await self.shared.finish(agent_id, now, ready=wrapup_s <= 0, ctx=ctx)
        except AgentStateConflict:
            return []  # finished by another node meanwhile
        if wrapup_s <= 0:
            return [self._state(agent_id, AgentState.READY, now)] + await self._route_agent(
                agent_id, now
            )
        return [
            self._state(agent_id, AgentState.WRAP_UP, now, call_id=call_id),
            m.ScheduleTimer(wrapup_timer_key(agent_id), now + wrapup_s),
        ]

    async def _timer_fired(self, key: str, now: float) -> list[m.Output]:
        kind, _, rest = key.partition(":")
        if kind == "wrapup":
            agent_id = AgentId(rest)
            status = await self.shared.agent(agent_id)
            if status is None or status.state != "wrap_up":
                return []
            return await self._ready(agent_id, now, timer=True)
        if kind == "offer":
            call, _, agent = rest.partition(":")
            return await self._rona(CallId(call), AgentId(agent), now)
        if kind == "widen":
            call, _, step = rest.rpartition(":")
            return await self._widen(CallId(call), int(step), now)
        if kind == "overflow":
            return await self._overflow_timer(CallId(rest), now)
        return []

    async def _rona(self, call_id: CallId, agent_id: AgentId, now: float) -> list[m.Output]:
        held = await self.shared.assignment(call_id)
        if held is None or held.agent_id != agent_id:
            return []
        queue = self._queues.get(held.queue_id)
        limit = 0 if queue is None else queue.max_consecutive_rona
        got = await self.shared.requeue(call_id, now, RONA_REASON, agent_id, rona_limit=limit)
        if got is None:
            return []  # answered, withdrawn or already moved on
        out: list[m.Output] = [
            m.WithdrawOffer(call_id, agent_id, WITHDRAWN_RONA),
            m.OfferTimedOut(call_id, agent_id, now),
        ]
        if got.logged_out:
            out.append(self._state(agent_id, AgentState.LOGGED_OUT, now, reason=RONA_LIMIT_REASON))
        else:
            out.append(self._state(agent_id, AgentState.NOT_READY, now, reason=RONA_REASON))
        return out + await self._route_calls([call_id, *got.released], now)
