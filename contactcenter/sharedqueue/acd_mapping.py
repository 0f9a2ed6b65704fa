"""How SharedAcdService maps the ACD core's configuration onto the shared-queues port: which
queue settings it can honour, a queue's requirement at each widening step, the queues an agent
serves, the timers a call has, the site-local day and the weighted-random draws. Pure
functions (no I/O)."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping
from datetime import datetime, time
from zoneinfo import ZoneInfo

from acd import messages as m
from acd.errors import InvalidPenalty, InvalidSkills, UnknownQueue
from acd.model import DEFAULT_SKILL_LEVEL, MAX_SKILL_LEVEL, MIN_SKILL_LEVEL, QueueConfig
from acd.routing import band_of
from acd.state import overflow_timer_key, widen_timer_key
from contactcenter.ids import CallId, QueueId
from contactcenter.sharedqueue.ports import RouteContext, ServiceLevel


def check_supported(queues: Mapping[QueueId, QueueConfig]) -> None:
    """Raise UnknownQueue for an overflow or lending queue that is not configured (as the
    core does). Every other setting is honoured."""
    for queue in queues.values():
        if queue.overflow_queue is not None and queue.overflow_queue not in queues:
            raise UnknownQueue(
                f"queue {queue.id} overflows to unknown queue {queue.overflow_queue}"
            )
        for lender in queue.borrow_from:
            if lender not in queues or lender == queue.id:
                raise UnknownQueue(f"queue {queue.id} borrows from unknown queue {lender}")


def service_level(queue: QueueConfig) -> ServiceLevel:
    return ServiceLevel(
        queue.sl_threshold_s, queue.sl_target, queue.sl_window_s, queue.short_abandon_s
    )


def needs(queue: QueueConfig, step: int) -> dict[str, int]:
    """The call's requirement at widening `step`: every queue skill at its required level,
    lowered by the largest level_drop of the steps reached (never below 1). An agent meets it
    exactly when acd.routing.band_of(queue, levels) <= step."""
    drop = max((w.level_drop for w in queue.widen[:step]), default=0)
    return {
        s: max(MIN_SKILL_LEVEL, queue.skill_levels.get(s, MIN_SKILL_LEVEL) - drop)
        for s in queue.skills
    }


def login_levels(msg: m.AgentLogin) -> dict[str, int]:
    for skill, level in msg.skill_levels.items():
        if skill not in msg.skills:
            raise InvalidSkills(f"agent {msg.agent_id}: level for {skill!r}, not a skill")
        if not MIN_SKILL_LEVEL <= level <= MAX_SKILL_LEVEL:
            raise InvalidSkills(f"agent {msg.agent_id}: level {level} of {skill!r} not 1-10")
    return {s: msg.skill_levels.get(s, DEFAULT_SKILL_LEVEL) for s in msg.skills}


def login_queues(
    msg: m.AgentLogin, levels: Mapping[str, int], queues: Mapping[QueueId, QueueConfig]
) -> dict[QueueId, int]:
    """The queues the agent serves (all the queue's skills, levels acceptable at some widening
    step), each with the agent's penalty there (0 unless given); penalties are checked as the
    core does (unknown queue, negative)."""
    for qid, penalty in msg.penalties.items():
        if qid not in queues:
            raise UnknownQueue(f"agent {msg.agent_id}: penalty for unknown queue {qid}")
        if penalty < 0:
            raise InvalidPenalty(f"agent {msg.agent_id}: penalty {penalty} for {qid} < 0")
    return {
        qid: msg.penalties.get(qid, 0)
        for qid, q in queues.items()
        if q.skills <= msg.skills and band_of(q, levels) is not None
    }


def call_timers(queue: QueueConfig, call_id: CallId, step: int) -> list[str]:
    """The widening and overflow timers live for a call at `step` of `queue` (to cancel)."""
    keys = []
    if step < len(queue.widen):
        keys.append(widen_timer_key(call_id, step + 1))
    if queue.overflow_after_s is not None:
        keys.append(overflow_timer_key(call_id))
    return keys


def schedule_timers(
    queue: QueueConfig, call_id: CallId, step: int, entered_at: float, *, overflow: bool = True
) -> list[m.Output]:
    """The next widening timer of a call at `step` (and its overflow timer), as the core."""
    out: list[m.Output] = []
    if step < len(queue.widen):
        at = entered_at + queue.widen[step].after_s
        out.append(m.ScheduleTimer(widen_timer_key(call_id, step + 1), at))
    if overflow and queue.overflow_after_s is not None:
        out.append(
            m.ScheduleTimer(overflow_timer_key(call_id), entered_at + queue.overflow_after_s)
        )
    return out


def day_start(now: float, tz: ZoneInfo) -> float:
    """The start of the site-local day that contains `now` ("least_calls" counts from it)."""
    local = datetime.fromtimestamp(now, tz=tz)
    return datetime.combine(local.date(), time(0), tz).timestamp()


def draws(
    rng: random.Random, served: Iterable[QueueId], queues: Mapping[QueueId, QueueConfig]
) -> dict[QueueId, float]:
    """One unit exponential variate per "weighted_random" queue served, in configuration order
    (the core's order: acd.routing.QueuePolicy.key draws expovariate(weight) =
    -log(1 - random()) / weight, so the store's draw / weight is the same double)."""
    mine = set(served)
    return {
        qid: -math.log(1.0 - rng.random())
        for qid, q in queues.items()
        if qid in mine and q.strategy == "weighted_random"
    }


def context(
    now: float,
    tz: ZoneInfo,
    rng: random.Random,
    served: Iterable[QueueId],
    queues: Mapping[QueueId, QueueConfig],
) -> RouteContext:
    return RouteContext(day_start(now, tz), draws(rng, served, queues))
