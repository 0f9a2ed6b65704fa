"""The ACD core's timed rules (part of AcdCore, acd/core.py): timers firing (widening steps,
overflow by time, wrap-up end, RONA and its limit), overflow by estimated wait, the service-level
record borrowing reads, and the site-local day for "least calls today". Pure, as the core."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from acd import messages as m
from acd.index import LazyHeap
from acd.model import AgentState, QueueConfig
from acd.queries import AcdQueries
from acd.state import (
    RONA_LIMIT_REASON,
    RONA_REASON,
    TIMER_SLACK_S,
    WITHDRAWN_OVERFLOW,
    WITHDRAWN_RONA,
    AgentEntry,
    Timer,
    overflow_timer_key,
    some,
    widen_timer_key,
)
from acd.state import Agent as _Agent
from acd.state import Call as _Call
from contactcenter.ids import CallId, QueueId


class AcdTimedRules(AcdQueries):
    _timers: dict[str, Timer]
    _ewt_check: list[_Call]
    _ewt_visited: dict[CallId, set[QueueId]]
    _borrowers: dict[QueueId, tuple[QueueId, ...]]
    _dirty: set[QueueId]
    _site_tz: ZoneInfo
    _day_end: float

    # --- provided by AcdCore -------------------------------------------------------------

    def _push_call(self, call: _Call) -> None:
        raise NotImplementedError

    def _make_ready(
        self, agent: _Agent, now: float, out: list[m.Output], *, keep_place: bool = False
    ) -> None:
        raise NotImplementedError

    def _withdraw(
        self, call: _Call, agent: _Agent, reason: str, out: list[m.Output], *, cancel_timer: bool
    ) -> None:
        raise NotImplementedError

    def _unserve(self, agent: _Agent) -> None:
        raise NotImplementedError

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
        raise NotImplementedError

    def _dispatch(self, now: float, out: list[m.Output]) -> None:
        raise NotImplementedError

    def _agent_entry_live(self, entry: AgentEntry) -> bool:
        raise NotImplementedError

    # --- the timed rules -----------------------------------------------------------------

    def _timer_fired(self, msg: m.TimerFired, now: float, out: list[m.Output]) -> None:
        timer = self._timers.get(msg.key)
        if timer is None or now + TIMER_SLACK_S < timer.at:
            return
        del self._timers[msg.key]
        if timer.kind == "widen":
            call = self._calls[some(timer.call_id)]
            call.step = timer.step
            if not call.offers:
                self._push_call(call)
            self._schedule_widen(call, out)
            return
        if timer.kind == "overflow":
            self._overflow(self._calls[some(timer.call_id)], now, out)
            return
        agent = self._agents[some(timer.agent_id)]
        if timer.kind == "wrapup":
            self._make_ready(agent, now, out)
            return
        call = self._calls[some(timer.call_id)]
        self._withdraw(call, agent, WITHDRAWN_RONA, out, cancel_timer=False)
        out.append(m.OfferTimedOut(call.id, agent.id, now))
        if call.target == agent.id:
            call.target = None  # a directed call the agent let ring becomes an ordinary one
        agent.ronas += 1
        limit = self._queues[call.queue_id].max_consecutive_rona
        if limit and agent.ronas >= limit:
            self._unserve(agent)
            self._set_state(agent, AgentState.LOGGED_OUT, now, out, reason=RONA_LIMIT_REASON)
        else:
            self._set_state(agent, AgentState.NOT_READY, now, out, reason=RONA_REASON)
        if not call.offers:
            self._push_call(call)

    def _schedule_widen(self, call: _Call, out: list[m.Output]) -> None:
        widen = self._queues[call.queue_id].widen
        if call.step < len(widen):
            key = widen_timer_key(call.id, call.step + 1)
            at = call.entered_at + widen[call.step].after_s
            self._timers[key] = Timer("widen", at, call_id=call.id, step=call.step + 1)
            out.append(m.ScheduleTimer(key, at))

    def _schedule_overflow(self, call: _Call, out: list[m.Output]) -> None:
        q = self._queues[call.queue_id]
        if q.overflow_after_s is not None:
            key, at = overflow_timer_key(call.id), call.entered_at + q.overflow_after_s
            self._timers[key] = Timer("overflow", at, call_id=call.id)
            out.append(m.ScheduleTimer(key, at))

    def _cancel_call_timers(self, call: _Call, out: list[m.Output]) -> None:
        q = self._queues[call.queue_id]
        if not q.widen and q.overflow_after_s is None:
            return
        for key in (widen_timer_key(call.id, call.step + 1), overflow_timer_key(call.id)):
            if self._timers.pop(key, None) is not None:
                out.append(m.CancelTimer(key))

    def _overflow(self, call: _Call, now: float, out: list[m.Output]) -> None:
        for agent_id in tuple(call.offers):
            agent = self._agents[agent_id]
            self._withdraw(call, agent, WITHDRAWN_OVERFLOW, out, cancel_timer=True)
            self._make_ready(agent, now, out, keep_place=True)
        self._cancel_call_timers(call, out)
        old, new = call.queue_id, some(self._queues[call.queue_id].overflow_queue)
        del self._members[old][call.id]
        call.queue_id, call.entered_at, call.step, call.target = new, now, 0, None
        self._members[new][call.id] = call
        out.append(m.CallOverflowed(call.id, old, new, now))
        self._push_call(call)
        self._schedule_widen(call, out)
        self._schedule_overflow(call, out)
        if self._queues[new].overflow_when_ewt_exceeds_s is not None:
            self._ewt_check.append(call)

    def _overflow_on_ewt(self, now: float, out: list[m.Output]) -> None:
        """Calls that entered a queue with an EWT rule in this step and still wait un-offered:
        those whose estimated wait exceeds the limit overflow now (then routing runs again)."""
        calls, self._ewt_check = self._ewt_check, []
        moved = False
        for call in calls:
            if self._calls.get(call.id) is not call or call.offers or call.target is not None:
                continue
            q = self._queues[call.queue_id]
            limit = q.overflow_when_ewt_exceeds_s
            if limit is None or q.overflow_queue is None:
                continue
            visited = self._ewt_visited.setdefault(call.id, {call.queue_id})
            if q.overflow_queue in visited:
                continue  # went round a cycle of estimate overflows within one input: stay
            ewt = self.estimated_wait_s(call.id, now)
            if ewt is not None and ewt > limit:
                visited.add(q.overflow_queue)
                self._overflow(call, now, out)
                moved = True
        if moved:
            self._dispatch(now, out)

    def _record_outcome(self, q: QueueConfig, now: float, met: bool) -> None:
        """An answer (met: within the SL threshold) or abandon in the queue, for its SL."""
        self._outcomes[q.id].append((now, met))
        counts = self._sl_counts[q.id]
        counts[0] += met
        counts[1] += 1
        if self._borrowers[q.id]:
            self._dirty.update(self._borrowers[q.id])

    def _new_day(self, now: float) -> None:
        """A new site-local day: "least_calls" counts restart; READY agents are re-ordered."""
        local = datetime.fromtimestamp(now, tz=self._site_tz)
        tomorrow = datetime.combine(local.date() + timedelta(days=1), time(0), self._site_tz)
        first = self._day_end == float("-inf")
        self._day_end = tomorrow.timestamp()
        if first:
            return
        for agent in self._agents.values():
            agent.calls = {}
        for qid, q in self._queues.items():
            if q.strategy != "least_calls":
                continue
            for band, heap in enumerate(self._ready[qid]):
                fresh: LazyHeap[AgentEntry] = LazyHeap(self._agent_entry_live)
                for entry in heap:
                    agent = self._agents[entry[5]]
                    key = (0.0, agent.idle_since, agent.idle_seq)
                    agent.keys[qid] = key
                    fresh.push((entry[0], *key, entry[4], entry[5]))
                self._ready[qid][band] = fresh
