"""SharedAcdService: the ACD shell's interface (`AcdService` in contactcenter/acd_service.py)
on top of shared queues, so that several server nodes route one set of queues together.

It takes the same inputs (acd/messages.py) and emits the same outputs to the same handlers
(`on_offer`, `on_offer_withdrawn`, `on_agent_state`, `on_offer_timed_out`), with the same timer
keys; every decision is one atomic `SharedQueues` operation, so it holds across nodes.

What it maps:
* AgentLogin: the agent's queues are those whose skills they all have (penalty 0), their levels
  those given (DEFAULT_SKILL_LEVEL otherwise); a call's requirement is its queue's skills at the
  queue's `skill_levels` (1 when not named).
* An offer is an assignment (agent `assigned`, state RINGING); AcceptOffer is `answer`
  (ON_CALL); CallFinished is `finish` (WRAP_UP with the queue's timer, or READY at once);
  the offer timer (RONA) is `requeue` of that very assignment, the caller leaving while it rings
  is `withdraw`.
* Timers are this node's (`loop.call_later`). The node that made an offer runs its RONA timer;
  an AcceptOffer that arrives at another node makes that timer harmless (`requeue` refuses an
  answered call). A node that stops loses its timers: its ringing offers then wait for an
  answer or for the caller to leave.

Differences from the in-process core (refused at construction where they matter):
* strategies other than "longest_idle", widening (`widen`), overflow and
  `max_consecutive_rona` are not available: a queue that uses them is a ConfigError;
* `decide()` cannot decide before its first await (the decision is a Redis round trip): its
  errors raise when the returned coroutine is awaited;
* a re-login of an agent already logged in changes nothing (the core updates the skills);
* an agent freed by a caller who hung up during the ring is ready from that moment (the core
  gives back their old place in the idle order);
* a request of an agent who is not logged in raises InvalidTransition, whether or not they
  ever were (the core raises UnknownAgent for one it never saw);
* there is no `core` to query: use `agent_status()`.
Errors of the store (Redis down) raise SharedQueueUnavailable from `submit`; nothing is changed
by a failed operation, and the caller keeps its call (still on its channel) to submit again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

from acd import messages as m
from acd.errors import InvalidSkills, InvalidTransition, OfferNotFound, UnknownQueue
from acd.model import DEFAULT_SKILL_LEVEL, MAX_SKILL_LEVEL, MIN_SKILL_LEVEL, AgentState
from acd.model import QueueConfig as QueueConfig
from acd.state import offer_timer_key, wrapup_timer_key
from contactcenter.clock import Clock
from contactcenter.errors import ConfigError
from contactcenter.ids import AgentId, CallId, QueueId
from contactcenter.sharedqueue.ports import (
    AgentLogin,
    AgentStateConflict,
    AgentStatus,
    Assignment,
    QueueCall,
    SharedQueues,
)

logger = logging.getLogger(__name__)

LOGIN_REASON = "login"
RONA_REASON = "rona"
WITHDRAWN_RONA = "rona"
WITHDRAWN_CALLER_LEFT = "caller_left"
WITHDRAWN_AGENT_LOGOUT = "agent_logout"

OfferHandler = Callable[[m.OfferCall], Awaitable[None]]
WithdrawHandler = Callable[[m.WithdrawOffer], Awaitable[None]]
StateHandler = Callable[[m.AgentStateChanged], Awaitable[None]]
RonaHandler = Callable[[m.OfferTimedOut], Awaitable[None]]
OverflowHandler = Callable[[m.CallOverflowed], Awaitable[None]]


def check_supported(queue: QueueConfig) -> None:
    """Raise ConfigError naming the queue and the setting the shared queues cannot honour."""
    unsupported = []
    if queue.strategy != "longest_idle":
        unsupported.append(f"strategy {queue.strategy!r} (only 'longest_idle')")
    if queue.widen:
        unsupported.append("widen")
    if queue.overflow_queue is not None:
        unsupported.append("overflow_queue / overflow_after_s")
    if queue.max_consecutive_rona:
        unsupported.append("max_consecutive_rona")
    if unsupported:
        raise ConfigError(
            f"queue {queue.id}: not available with shared (Redis) routing: "
            + ", ".join(unsupported)
        )


class SharedAcdService:
    def __init__(
        self, shared: SharedQueues, queues: Mapping[QueueId, QueueConfig], clock: Clock
    ) -> None:
        for queue in queues.values():
            check_supported(queue)
        self.shared = shared
        self._queues = dict(queues)
        self._clock = clock
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._configured = False
        self.on_offer: OfferHandler | None = None
        self.on_offer_withdrawn: WithdrawHandler | None = None
        self.on_agent_state: StateHandler | None = None
        self.on_offer_timed_out: RonaHandler | None = None
        self.on_overflow: OverflowHandler | None = None  # never called: no overflow here

    # --- the AcdService interface ----------------------------------------------------------

    async def submit(self, message: m.Input) -> list[m.Output]:
        """Carry out one input through the shared queues and then its outputs, in order."""
        if not self._configured:
            for qid, queue in self._queues.items():
                await self.shared.configure_queue(qid, queue.priority_aging_per_s)
            self._configured = True
        outputs = await self._handle(message, self._clock.now())
        await self._execute(outputs)
        return outputs

    def decide(self, message: m.Input) -> Coroutine[Any, Any, list[m.Output]]:
        """As `submit`: the decision itself needs a round trip, so its errors raise when the
        returned coroutine is awaited."""
        return self.submit(message)

    async def agent_status(self, agent_id: AgentId) -> AgentStatus | None:
        return await self.shared.agent(agent_id)

    async def close(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

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
        raise AssertionError(msg)  # pragma: no cover

    async def _status(self, agent_id: AgentId) -> AgentStatus:
        status = await self.shared.agent(agent_id)
        if status is None:
            raise InvalidTransition(f"agent {agent_id} is not logged in")
        return status

    async def _login(self, msg: m.AgentLogin, now: float) -> list[m.Output]:
        for skill, level in msg.skill_levels.items():
            if skill not in msg.skills:
                raise InvalidSkills(f"agent {msg.agent_id}: level for {skill!r}, not a skill")
            if not MIN_SKILL_LEVEL <= level <= MAX_SKILL_LEVEL:
                raise InvalidSkills(f"agent {msg.agent_id}: level {level} of {skill!r} not 1-10")
        if await self.shared.agent(msg.agent_id) is not None:
            return []
        levels = {s: msg.skill_levels.get(s, DEFAULT_SKILL_LEVEL) for s in msg.skills}
        queues = {qid: 0 for qid, q in self._queues.items() if q.skills <= msg.skills}
        await self.shared.login(AgentLogin(msg.agent_id, levels, queues), now)
        return [self._state(msg.agent_id, AgentState.NOT_READY, now, reason=LOGIN_REASON)]

    async def _logout(self, agent_id: AgentId, now: float) -> list[m.Output]:
        status = await self.shared.agent(agent_id)
        if status is None:
            return []
        out: list[m.Output] = []
        if status.state in ("on_call", "busy"):
            raise InvalidTransition(f"agent {agent_id} is on a call; it must end first")
        if status.state == "assigned" and status.call_id is not None:
            call_id = status.call_id
            if await self.shared.requeue(call_id, now, WITHDRAWN_AGENT_LOGOUT, agent_id):
                out += [
                    m.CancelTimer(offer_timer_key(call_id, agent_id)),
                    m.WithdrawOffer(call_id, agent_id, WITHDRAWN_AGENT_LOGOUT),
                ]
                await self.shared.logout(agent_id)
                out.append(self._state(agent_id, AgentState.LOGGED_OUT, now))
                return out + await self._route_call(call_id, now)
            return await self._logout(agent_id, now)  # answered meanwhile: decide again
        if status.state == "wrap_up":
            out.append(m.CancelTimer(wrapup_timer_key(agent_id)))
        try:
            await self.shared.logout(agent_id)
        except AgentStateConflict:
            return await self._logout(agent_id, now)  # given a call meanwhile
        out.append(self._state(agent_id, AgentState.LOGGED_OUT, now))
        return out

    async def _ready(self, agent_id: AgentId, now: float, *, timer: bool = False) -> list[m.Output]:
        status = await self._status(agent_id)
        if status.state != "not_ready" and status.state != "wrap_up":
            return []
        out: list[m.Output] = []
        if status.state == "wrap_up" and not timer:  # "ready now" ends the wrap-up early
            out.append(m.CancelTimer(wrapup_timer_key(agent_id)))
        try:
            await self.shared.ready(agent_id, now)
        except AgentStateConflict:
            return out
        out.append(self._state(agent_id, AgentState.READY, now))
        return out + await self._route_agent(agent_id, now)

    async def _not_ready(self, agent_id: AgentId, reason: str, now: float) -> list[m.Output]:
        status = await self._status(agent_id)
        if status.state in ("assigned", "on_call", "busy"):
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
        needs = {s: queue.skill_levels.get(s, MIN_SKILL_LEVEL) for s in queue.skills}
        at = now if msg.enqueued_at is None else msg.enqueued_at
        call = QueueCall(msg.call_id, msg.queue_id, msg.priority, at, needs)
        if not await self.shared.enqueue(call):
            raise InvalidTransition(f"call {msg.call_id} is already queued or with an agent")
        return await self._route_call(msg.call_id, now)

    async def _remove(self, call_id: CallId, now: float) -> list[m.Output]:
        if await self.shared.remove_call(call_id):
            return []
        agent_id = await self.shared.withdraw(call_id, now)
        if agent_id is None:
            return []  # gone, or answered (CallFinished frees the agent)
        out: list[m.Output] = [
            m.CancelTimer(offer_timer_key(call_id, agent_id)),
            m.WithdrawOffer(call_id, agent_id, WITHDRAWN_CALLER_LEFT),
            self._state(agent_id, AgentState.READY, now),
        ]
        return out + await self._route_agent(agent_id, now)

    async def _accept(self, call_id: CallId, agent_id: AgentId, now: float) -> list[m.Output]:
        if not await self.shared.answer(call_id, agent_id, now):
            raise OfferNotFound(f"call {call_id} is not offered to agent {agent_id}")
        return [
            m.CancelTimer(offer_timer_key(call_id, agent_id)),
            self._state(agent_id, AgentState.ON_CALL, now, call_id=call_id),
        ]

    async def _finished(self, call_id: CallId, agent_id: AgentId, now: float) -> list[m.Output]:
        status = await self.shared.agent(agent_id)
        if status is None or status.state != "on_call" or status.call_id != call_id:
            return []
        held = await self.shared.assignment(call_id)
        queue = None if held is None else self._queues.get(held.queue_id)
        wrapup_s = 0.0 if queue is None else queue.wrapup_s
        try:
            await self.shared.finish(agent_id, now, ready=wrapup_s <= 0)
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
            call_id, agent_id = CallId(call), AgentId(agent)
            if await self.shared.requeue(call_id, now, RONA_REASON, agent_id) is None:
                return []  # answered, withdrawn or already moved on
            out: list[m.Output] = [
                m.WithdrawOffer(call_id, agent_id, WITHDRAWN_RONA),
                m.OfferTimedOut(call_id, agent_id, now),
                self._state(agent_id, AgentState.NOT_READY, now, reason=RONA_REASON),
            ]
            return out + await self._route_call(call_id, now)
        return []

    # --- routing ---------------------------------------------------------------------------

    async def _route_agent(self, agent_id: AgentId, now: float) -> list[m.Output]:
        got = await self.shared.assign_for_agent(agent_id, now)
        return [] if got is None else self._offer(got, now)

    async def _route_call(self, call_id: CallId, now: float) -> list[m.Output]:
        got = await self.shared.assign_for_call(call_id, now)
        return [] if got is None else self._offer(got, now)

    def _offer(self, got: Assignment, now: float) -> list[m.Output]:
        queue = self._queues.get(got.queue_id)
        timeout = 15.0 if queue is None else queue.offer_timeout_s
        return [
            m.OfferCall(got.call_id, got.agent_id, got.queue_id),
            self._state(got.agent_id, AgentState.RINGING, now, call_id=got.call_id),
            m.ScheduleTimer(offer_timer_key(got.call_id, got.agent_id), now + timeout),
        ]

    @staticmethod
    def _state(
        agent_id: AgentId,
        state: AgentState,
        now: float,
        *,
        reason: str | None = None,
        call_id: CallId | None = None,
    ) -> m.AgentStateChanged:
        return m.AgentStateChanged(agent_id, state, reason, call_id, now)

    # --- outputs (as AcdService) -----------------------------------------------------------

    async def _execute(self, outputs: list[m.Output]) -> None:
        for out in outputs:
            if isinstance(out, m.ScheduleTimer):
                self._schedule(out.key, out.at)
            elif isinstance(out, m.CancelTimer):
                handle = self._timers.pop(out.key, None)
                if handle is not None:
                    handle.cancel()
            else:
                await self._notify(out)

    async def _notify(self, out: m.Output) -> None:
        try:
            if isinstance(out, m.OfferCall):
                if self.on_offer is not None:
                    await self.on_offer(out)
            elif isinstance(out, m.WithdrawOffer):
                if self.on_offer_withdrawn is not None:
                    await self.on_offer_withdrawn(out)
            elif isinstance(out, m.AgentStateChanged):
                if self.on_agent_state is not None:
                    await self.on_agent_state(out)
            elif isinstance(out, m.OfferTimedOut) and self.on_offer_timed_out is not None:
                await self.on_offer_timed_out(out)
        except Exception:
            logger.exception("shared ACD output handler failed on %r", out)

    def _schedule(self, key: str, at: float) -> None:
        old = self._timers.pop(key, None)
        if old is not None:
            old.cancel()
        delay = max(0.0, at - self._clock.now())
        self._timers[key] = asyncio.get_running_loop().call_later(delay, self._fire, key)

    def _fire(self, key: str) -> None:
        self._timers.pop(key, None)
        task = asyncio.get_running_loop().create_task(self._fire_async(key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _fire_async(self, key: str) -> None:
        try:
            await self.submit(m.TimerFired(key))
        except Exception:
            logger.exception("shared ACD timer %s failed", key)
