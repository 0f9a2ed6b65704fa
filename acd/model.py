"""ACD configuration and state vocabulary."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from itertools import pairwise
from typing import Literal, get_args
from zoneinfo import ZoneInfo

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
    ON_HOLD = "on_hold"
    WRAP_UP = "wrap_up"


@dataclass(frozen=True, slots=True)
class WidenStep:
    """After a call has waited `after_s`, agents whose level is up to `level_drop` below the
    queue's required level (for every required skill) are acceptable too."""

    after_s: float
    level_drop: int


ActionKind = Literal["hangup", "overflow", "voicemail", "callback"]
ACTION_KINDS: tuple[str, ...] = get_args(ActionKind)


@dataclass(frozen=True, slots=True)
class QueueAction:
    """What the shell does with a caller when a queue is not open (see QueueStatus): `hangup`
    (after a prompt), `overflow` to `queue`, `voicemail`, or `callback` (offer virtual hold).
    Written in settings as "hangup", "overflow:<queue>", "voicemail", "callback"."""

    kind: ActionKind
    queue: QueueId | None = None

    def __post_init__(self) -> None:
        if self.kind not in ACTION_KINDS:
            raise ValueError(f"unknown action {self.kind!r} (one of {', '.join(ACTION_KINDS)})")
        if (self.kind == "overflow") != (self.queue is not None):
            raise ValueError("an overflow action names its queue (overflow:<queue>), no other")

    @classmethod
    def parse(cls, text: str) -> QueueAction:
        kind, sep, target = text.partition(":")
        if kind == "overflow" and (not sep or not target):
            raise ValueError(f"{text!r}: overflow needs a queue, as in overflow:<queue>")
        if kind != "overflow" and sep:
            raise ValueError(f"{text!r}: only overflow takes a queue")
        if kind not in ACTION_KINDS:
            raise ValueError(f"unknown action {text!r} (one of {', '.join(ACTION_KINDS)})")
        return cls(kind, QueueId(target) if sep else None)  # type: ignore[arg-type]

    def __str__(self) -> str:
        return f"overflow:{self.queue}" if self.kind == "overflow" else self.kind


StatusReason = Literal["open", "closed", "after_hours", "holiday"]


@dataclass(frozen=True, slots=True)
class QueueStatus:
    """Whether a queue takes calls now. `reason`: "open"; "holiday" (a holiday date of the
    queue, in its timezone); "after_hours" (outside its weekly opening hours); "closed" (no
    logged-in agent serves it). The first that applies, in that order from "holiday", wins.
    `action`: the queue's configured action for that reason (after_hours_action for holidays
    too, closed_action for "closed"); None when open, or when no action is configured for the
    reason, in which case the caller is queued as usual."""

    open: bool
    reason: StatusReason
    action: QueueAction | None


# Minutes since local midnight: [start, end), 0 <= start < end <= 1440.
TimeRange = tuple[int, int]


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """A queue's opening hours in its own timezone. `weekly[d]` (d: 0 Monday .. 6 Sunday) holds
    the day's open ranges in minutes since local midnight; a day not listed is closed all day.
    `weekly` None: open around the clock (holidays still close). Ranges do not cross midnight
    (write 22:00-24:00 and 00:00-06:00)."""

    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    weekly: Mapping[int, tuple[TimeRange, ...]] | None = None
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        for day, ranges in (self.weekly or {}).items():
            if not 0 <= day <= 6:
                raise ValueError(f"weekday {day} is not 0 (Monday) to 6 (Sunday)")
            ordered = sorted(ranges)
            for start, end in ordered:
                if not 0 <= start < end <= 1440:
                    raise ValueError(f"weekday {day}: bad time range {start}-{end} (minutes)")
            for (_, end), (start, _) in pairwise(ordered):
                if start < end:
                    raise ValueError(f"weekday {day}: time ranges overlap")

    def local(self, now: float) -> datetime:
        return datetime.fromtimestamp(now, tz=self.tz)

    def status(self, now: float) -> StatusReason:
        """ "holiday", "after_hours" or "open" at epoch time `now`."""
        local = self.local(now)
        if local.date() in self.holidays:
            return "holiday"
        if self.weekly is None:
            return "open"
        minute = local.hour * 60 + local.minute
        for start, end in self.weekly.get(local.weekday(), ()):
            if start <= minute < end:
                return "open"
        return "after_hours"

    def next_open(self, now: float) -> float | None:
        """The first moment at or after epoch time `now` when the queue is open by its hours
        and holidays (`now` itself when open). None when it never opens within a year."""
        if self.status(now) == "open":
            return now
        local = self.local(now)
        minute_now = local.hour * 60 + local.minute
        for ahead in range(367):
            day = local.date() + timedelta(days=ahead)
            if day in self.holidays:
                continue
            if self.weekly is None:
                starts = [0]
            else:
                starts = sorted(start for start, _ in self.weekly.get(day.weekday(), ()))
            for start in starts:
                if ahead == 0 and start <= minute_now:
                    continue  # already past (a range still open now returned above)
                midnight = datetime.combine(day, time(0), tzinfo=self.tz)
                # wall-clock minutes: a DST change that day shifts the instant, as it should
                opening = midnight.replace(hour=start // 60, minute=start % 60)
                return max(now, opening.timestamp())
        return None


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
    * `overflow_when_ewt_exceeds_s`: a call that enters this queue, finds no agent at once and
      whose estimated wait (AcdQueries.estimated_wait_s) exceeds this, moves to
      `overflow_queue` right away. Either overflow rule (or both) needs `overflow_queue`.
    * `ewt_default_handle_s`: the handle time (talk + wrap-up) the estimated wait assumes
      before the queue has answered enough calls to measure its rate (docs/metrics.md).
    * `hours`, `after_hours_action`, `closed_action`: see QueueStatus (None: always open /
      no action, the caller is queued as before).
    * `penalty` of agents: see AgentLogin.penalties.
    * `borrow_from`: queues whose READY agents this queue may take (whatever their skills),
      when none of its own is acceptable, only while the lending queue's service level over
      its last `sl_window_s` seconds is at least the lender's `sl_target` (AcdQueries.
      service_level; `short_abandon_s` as in docs/metrics.md).
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
    overflow_when_ewt_exceeds_s: float | None = None
    ewt_default_handle_s: float = 180.0
    hours: BusinessHours | None = None
    after_hours_action: QueueAction | None = None
    closed_action: QueueAction | None = None
    borrow_from: tuple[QueueId, ...] = ()
    sl_target: float = 0.8
    sl_window_s: float = 1800.0
    short_abandon_s: float = 5.0

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"queue {self.id}: unknown strategy {self.strategy!r}")
        if self.priority_aging_per_s < 0 or self.max_consecutive_rona < 0:
            raise ValueError(f"queue {self.id}: aging and RONA limit must not be negative")
        rules = (self.overflow_after_s, self.overflow_when_ewt_exceeds_s)
        if (self.overflow_queue is None) != all(r is None for r in rules):
            raise ValueError(
                f"queue {self.id}: overflow_queue goes with overflow_after_s and/or"
                " overflow_when_ewt_exceeds_s"
            )
        if any(r is not None and r < 0 for r in rules):
            raise ValueError(f"queue {self.id}: overflow timers must not be negative")
        if self.ewt_default_handle_s <= 0 or self.sl_window_s <= 0:
            raise ValueError(f"queue {self.id}: ewt_default_handle_s, sl_window_s must be > 0")
        if not 0 <= self.sl_target <= 1:
            raise ValueError(f"queue {self.id}: sl_target must be within 0..1")
        afters = [w.after_s for w in self.widen]
        if any(a < 0 for a in afters) or afters != sorted(set(afters)):
            raise ValueError(f"queue {self.id}: widen steps need increasing, non-negative times")
