"""SharedAcdService's calls that change place (MoveCall, overflow by time and by estimated
wait, widening) and its routing steps: the same outputs as the core's (acd/core.py `_move`,
`_overflow`, `_overflow_on_ewt`, widen timers), each change one atomic store operation."""

from __future__ import annotations

import random
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from acd import messages as m
from acd.core import TIMER_SLACK_S, WITHDRAWN_MOVED, WITHDRAWN_OVERFLOW
from acd.errors import CallNotWaiting, InvalidTransition, UnknownQueue
from acd.model import AgentState
from acd.state import offer_timer_key
from contactcenter.ids import AgentId, CallId, QueueId
from contactcenter.sharedqueue import acd_mapping as mp
from contactcenter.sharedqueue.acd_queries import SharedAcdQueries
from contactcenter.sharedqueue.ports import Assignment, MoveTargetLoggedOut, RouteContext


class SharedAcdMoves(SharedAcdQueries):
    _rng: random.Random
    _tz: ZoneInfo

    def _ctx(self, now: float, served: Mapping[QueueId, int] | None = None) -> RouteContext:
        return mp.context(now, self._tz, self._rng, served or (), self._queues)

    async def _widen(self, call_id: CallId, step: int, now: float) -> list[m.Output]:
        info = await self.shared.call(call_id)
        if info is None or info.step != step - 1:
            return []
        queue = self._queues[info.queue_id]
        entered = info.entered_at if info.entered_at is not None else info.enqueued_at
        if step > len(queue.widen) or now + TIMER_SLACK_S < entered + queue.widen[step - 1].after_s:
            return []
        if not await self.shared.reprofile(
            call_id, info.queue_id, entered, mp.needs(queue, step), step
        ):
            return []
        out = mp.schedule_timers(queue, call_id, step, entered, overflow=False)
        return out + await self._route_call(call_id, now)

    async def _overflow_timer(self, call_id: CallId, now: float) -> list[m.Output]:
        info = await self.shared.call(call_id)
        if info is None:
            return []
        queue = self._queues[info.queue_id]
        entered = info.entered_at if info.entered_at is not None else info.enqueued_at
        if queue.overflow_queue is None or queue.overflow_after_s is None:
            return []
        if now + TIMER_SLACK_S < entered + queue.overflow_after_s:
            return []
        out = await self._overflow(call_id, info.queue_id, entered, now, timer=True)
        if out is None:
            return []
        return out + await self._after_move(call_id, queue.overflow_queue, out, now)

    async def _overflow(
        self, call_id: CallId, from_queue: QueueId, entered: float, now: float, *, timer: bool
    ) -> list[m.Output] | None:
        """Move the call to its queue's overflow queue (if it is still in `from_queue` since
        `entered`): the core's outputs, up to the new queue's timers (routing not included)."""
        queue = self._queues[from_queue]
        to = queue.overflow_queue
        assert to is not None
        target = self._queues[to]
        moved = await self.shared.move(
            call_id,
            to,
            mp.needs(target, 0),
            None,
            now,
            if_queue=from_queue,
            if_entered_at=entered,
        )
        if moved is None:
            return None
        out = self._withdrawn(call_id, moved.all_withdrawn, WITHDRAWN_OVERFLOW, now)
        cancels = mp.call_timers(queue, call_id, moved.old_step)
        if timer:  # the overflow timer itself has fired
            cancels = [k for k in cancels if not k.startswith("overflow:")]
        out += [m.CancelTimer(k) for k in cancels]
        out.append(m.CallOverflowed(call_id, from_queue, to, now))
        return out + mp.schedule_timers(target, call_id, 0, now)

    async def _after_move(
        self, call_id: CallId, queue_id: QueueId, out: list[m.Output], now: float
    ) -> list[m.Output]:
        """Routing after a move, then the estimated-wait overflow of the new queue."""
        routed = await self._route_moved(call_id, out, now)
        offered = any(isinstance(o, m.OfferCall) and o.call_id == call_id for o in routed)
        if not offered and self._queues[queue_id].overflow_when_ewt_exceeds_s is not None:
            routed += await self._overflow_on_ewt(call_id, now, {queue_id})
        return routed

    async def _route_moved(
        self, call_id: CallId, out: list[m.Output], now: float, target: AgentId | None = None
    ) -> list[m.Output]:
        """As the core's dispatch after a move: the target's directed calls first, then the
        agent whose offer was withdrawn (the only READY agent who can take the calls that
        wait), then the moved call."""
        routed: list[m.Output] = []
        if target is not None:
            routed += await self._route_agent(target, now)
        freed = [o.agent_id for o in out if isinstance(o, m.WithdrawOffer) and o.agent_id != target]
        if len(freed) == 1:
            got = await self.shared.assign_after_move(call_id, freed[0], now, self._ctx(now))
            return routed + [x for g in got for x in self._offer(g, now)]
        for agent_id in freed:  # a "ring_all" call rang at several: agent by agent
            routed += await self._route_agent(agent_id, now)
        return routed + await self._route_call(call_id, now)

    async def _overflow_on_ewt(
        self, call_id: CallId, now: float, visited: set[QueueId]
    ) -> list[m.Output]:
        """A call that entered a queue with an estimated-wait rule and found no agent: if its
        estimated wait exceeds the limit it overflows now (no cycle within one input)."""
        out: list[m.Output] = []
        while True:
            info = await self.shared.call(call_id)
            if info is None or info.target_agent is not None:
                return out
            queue = self._queues[info.queue_id]
            limit, to = queue.overflow_when_ewt_exceeds_s, queue.overflow_queue
            if limit is None or to is None or to in visited:
                return out
            ewt = await self.estimated_wait_s(call_id)
            if ewt is None or ewt <= limit:
                return out
            entered = info.entered_at if info.entered_at is not None else info.enqueued_at
            step = await self._overflow(call_id, info.queue_id, entered, now, timer=False)
            if step is None:
                return out
            visited.add(to)
            out += step
            routed = await self._route_moved(call_id, step, now)
            out += routed
            if any(isinstance(o, m.OfferCall) and o.call_id == call_id for o in routed):
                return out

    async def _move(self, msg: m.MoveCall, now: float) -> list[m.Output]:
        info = await self.shared.call(msg.call_id)
        if info is None:
            raise CallNotWaiting(f"call {msg.call_id} is not waiting in a queue")
        new = info.queue_id if msg.to_queue is None else msg.to_queue
        target = self._queues.get(new)
        if target is None:
            raise UnknownQueue(f"cannot move call {msg.call_id} to unknown queue {new}")
        try:
            moved = await self.shared.move(msg.call_id, new, mp.needs(target, 0), msg.to_agent, now)
        except MoveTargetLoggedOut as exc:
            raise InvalidTransition(
                f"cannot move call {msg.call_id} to agent {msg.to_agent}: logged out"
            ) from exc
        if moved is None:
            raise CallNotWaiting(f"call {msg.call_id} is not waiting in a queue")
        out = self._withdrawn(msg.call_id, moved.all_withdrawn, WITHDRAWN_MOVED, now)
        old = moved.from_queue
        if new != old:
            old_q = self._queues[old]
            out += [m.CancelTimer(k) for k in mp.call_timers(old_q, msg.call_id, moved.old_step)]
        out.append(m.CallMoved(msg.call_id, old, new, msg.to_agent, now))
        if new == old:
            return out + await self._route_moved(msg.call_id, out, now, msg.to_agent)
        out += mp.schedule_timers(target, msg.call_id, 0, now)
        routed = await self._route_moved(msg.call_id, out, now, msg.to_agent)
        offered = any(isinstance(o, m.OfferCall) and o.call_id == msg.call_id for o in routed)
        if not offered and target.overflow_when_ewt_exceeds_s is not None and not msg.to_agent:
            routed += await self._overflow_on_ewt(msg.call_id, now, {new})
        return out + routed

    def _withdrawn(
        self, call_id: CallId, agents: tuple[AgentId, ...], reason: str, now: float
    ) -> list[m.Output]:
        """The core's outputs for offers taken back: each agent READY again."""
        out: list[m.Output] = []
        for agent_id in agents:
            out += [
                m.WithdrawOffer(call_id, agent_id, reason),
                m.CancelTimer(offer_timer_key(call_id, agent_id)),
                self._state(agent_id, AgentState.READY, now),
            ]
        return out

    # --- routing ---------------------------------------------------------------------------

    async def _route_agent(self, agent_id: AgentId, now: float) -> list[m.Output]:
        got = await self.shared.offers_for_agent(agent_id, now, self._ctx(now))
        return [x for g in got for x in self._offer(g, now)]

    async def _route_agents(self, agent_ids: list[AgentId], now: float) -> list[m.Output]:
        out: list[m.Output] = []
        for agent_id in agent_ids:
            out += await self._route_agent(agent_id, now)
        return out

    async def _route_call(self, call_id: CallId, now: float) -> list[m.Output]:
        got = await self.shared.offers_for_call(call_id, now, self._ctx(now))
        return [x for g in got for x in self._offer(g, now)]

    async def _route_calls(self, call_ids: list[CallId], now: float) -> list[m.Output]:
        out: list[m.Output] = []
        for call_id in call_ids:
            out += await self._route_call(call_id, now)
        return out

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
