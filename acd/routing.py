"""Selection policies of the ACD core: which agents are acceptable for a call (skill levels and
widening), in what order calls are served (priority aging), and which acceptable agent a
queue's strategy picks. Pure functions and a little per-queue memory; no I/O.

Levels and bands. An agent's *deficit* for a queue is the largest shortfall of their level
below the queue's required level, over the required skills (0 when they meet them all). The
agent's *band* for the queue is the first widening step at which the deficit is accepted (band
0: meets the requirement; band k: accepted once a call reached widen step k; None: never, so
the agent does not serve the queue). A call at step k may go to agents of bands 0..k. The core
keeps one READY heap per (queue, band) and one waiting heap per (queue, step), so a decision
looks at the heads of a few heaps, never at all agents.

Priority aging. Effective priority at time t is p + w * (t - e) (e: enqueue time). For two calls
of one queue, p_a + w(t - e_a) > p_b + w(t - e_b)  <=>  e_a - p_a / w < e_b - p_b / w: the order
does not depend on t, so a heap keyed by e - p/w (then e, then arrival) is right at every
decision time. With w = 0 the key is (-p, e) as before. Across queues (their w may differ) the
core compares the heads' effective priorities at the decision time itself.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from acd.model import DEFAULT_SKILL_LEVEL, QueueConfig

# A READY agent's place in one queue's heap: (primary, secondary, seq); smallest goes first.
AgentKey = tuple[float, float, int]


def band_of(queue: QueueConfig, levels: Mapping[str, int]) -> int | None:
    deficit = max((need - levels.get(s, 0) for s, need in queue.skill_levels.items()), default=0)
    if deficit <= 0:
        return 0
    drop = 0
    for step, widen in enumerate(queue.widen, start=1):
        drop = max(drop, widen.level_drop)
        if deficit <= drop:
            return step
    return None


def step_of(queue: QueueConfig, waited: float) -> int:
    """The widening step a call is at after waiting `waited` seconds."""
    return sum(1 for w in queue.widen if w.after_s <= waited)


def total_level(queue: QueueConfig, levels: Mapping[str, int]) -> int:
    return sum(levels.get(s, DEFAULT_SKILL_LEVEL) for s in queue.skills)


def call_key(queue: QueueConfig, priority: int, enqueued_at: float) -> tuple[float, float]:
    w = queue.priority_aging_per_s
    if w <= 0:
        return (-priority, enqueued_at)
    return (enqueued_at - priority / w, enqueued_at)


def effective_priority(queue: QueueConfig, priority: int, enqueued_at: float, now: float) -> float:
    return priority + queue.priority_aging_per_s * (now - enqueued_at)


class QueuePolicy:
    """One queue's strategy and its memory (round-robin position, weighted-random clock)."""

    __slots__ = ("_clock", "_pointer", "_rng", "queue")

    def __init__(self, queue: QueueConfig, rng: random.Random) -> None:
        self.queue = queue
        self._rng = rng
        self._pointer: tuple[float, float] = (0.0, -1.0)  # round robin: (round, position)
        self._clock = 0.0  # weighted random: the key of the last pick

    def key(
        self,
        *,
        idle_since: float,
        idle_seq: int,
        position: int,
        calls: int,
        levels: Mapping[str, int],
    ) -> AgentKey:
        match self.queue.strategy:
            case "longest_idle" | "ring_all":
                return (idle_since, 0.0, idle_seq)
            case "least_calls":
                return (float(calls), idle_since, idle_seq)
            case "most_skilled":
                return (float(-total_level(self.queue, levels)), idle_since, idle_seq)
            case "round_robin":
                # Like Asterisk's rrmemory: members in login order, starting after the last
                # one picked. An agent's next turn is the first (round, position) after the
                # pointer; the pointer only moves forward, so keys stay comparable.
                rnd, last = self._pointer
                return (rnd if position > last else rnd + 1, float(position), idle_seq)
            case "weighted_random":
                # An exponential race: weight = total skill level. Keys continue from the last
                # pick (memorylessness), so each pick is an exact weighted draw among the READY.
                weight = max(1, total_level(self.queue, levels))
                return (self._clock + self._rng.expovariate(weight), 0.0, idle_seq)
        raise AssertionError(self.queue.strategy)  # pragma: no cover

    def picked(self, key: AgentKey) -> None:
        if self.queue.strategy == "round_robin":
            self._pointer = (key[0], key[1])
        elif self.queue.strategy == "weighted_random":
            self._clock = max(self._clock, key[0])
