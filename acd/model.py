"""ACD configuration and state vocabulary."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, get_args

from contactcenter.ids import QueueId

# How a queue picks among the agents acceptable for a call (see acd/routing.py).
Strategy = Literal[
    "longest_idle", "least_calls", "round_robin", "most_skilled", "weighted_random", "ring_all"
]
STRATEGIES: tuple[str, ...] = get_args(Strategy)

MIN_SKILL_LEVEL = 1
MAX_SKILL_LEVEL = 10
# The level of a skill an agent has without saying how well (AgentLogin.skill_levels).
DEFAULT_SKILL_LEVEL = 5


class AgentState(StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    NOT_READY = "not_ready"
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"


@dataclass(frozen=True, slots=True)
class WidenStep:
    """After a call has waited `after_s`, agents whose level is up to `level_drop` below the
    queue's required level (for every required skill) are acceptable too."""

    after_s: float
    level_drop: int


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """One queue. The defaults route exactly as the first ACD did: any agent with the queue's
    skills, longest idle first, calls by priority then enqueue time, RONA never logs out.

    * `skill_levels`: required minimum level (1-10) per skill (skills not named: any level).
    * `widen`: steps, by increasing `after_s`, that lower the required levels for a call that
      has waited that long (a `level_drop` of 10 or more accepts any agent with the skills).
    * `priority_aging_per_s`: w in effective priority = priority + w * seconds waited.
    * `strategy`: how to choose among the acceptable READY agents.
    * `max_consecutive_rona`: that many RONAs in a row log the agent out (0: never).
    * `overflow_queue` / `overflow_after_s`: a call still waiting (or ringing) that long after
      it entered this queue moves to the other queue (its enqueue time, hence its place and
      aging, go with it; widening and the next overflow count from its entry there).
    """

    id: QueueId
    name: str
    skills: frozenset[str]
    wrapup_s: float = 10.0
    offer_timeout_s: float = 15.0
    sl_threshold_s: float = 20.0
    skill_levels: Mapping[str, int] = field(default_factory=dict)
    widen: tuple[WidenStep, ...] = ()
    priority_aging_per_s: float = 0.0
    strategy: Strategy = "longest_idle"
    max_consecutive_rona: int = 0
    overflow_queue: QueueId | None = None
    overflow_after_s: float | None = None

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"queue {self.id}: unknown strategy {self.strategy!r}")
        if self.priority_aging_per_s < 0 or self.max_consecutive_rona < 0:
            raise ValueError(f"queue {self.id}: aging and RONA limit must not be negative")
        if (self.overflow_queue is None) != (self.overflow_after_s is None):
            raise ValueError(f"queue {self.id}: overflow_queue and overflow_after_s go together")
        if self.overflow_after_s is not None and self.overflow_after_s < 0:
            raise ValueError(f"queue {self.id}: overflow_after_s must not be negative")
        afters = [w.after_s for w in self.widen]
        if any(a < 0 for a in afters) or afters != sorted(set(afters)):
            raise ValueError(f"queue {self.id}: widen steps need increasing, non-negative times")
