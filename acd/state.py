"""The ACD core's bookkeeping records: what it holds per agent, per call and per timer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeVar

from acd.model import AgentState
from acd.routing import AgentKey
from contactcenter.ids import AgentId, CallId, QueueId

# Heap entries. Agents: (penalty, *AgentKey, gen, agent), per (queue, band). Calls: (*call_key, seq,
# gen, call), per (queue, widen step). `gen` (unique over the core's life, so a call id
# enqueued again or an agent logging in again never revives an old entry) ties an entry to one
# stint of the agent in READY / of the call waiting un-offered at one step; any later change
# makes older entries stale.
AgentEntry = tuple[int, float, float, int, int, AgentId]
CallEntry = tuple[float, float, int, int, CallId]


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


@dataclass(slots=True, eq=False)
class Agent:
    id: AgentId
    skills: frozenset[str]
    state: AgentState
    reason: str | None
    call_id: CallId | None
    since: float
    position: int  # order of first login (round robin)
    levels: dict[str, int] = field(default_factory=dict)
    bands: dict[QueueId, int] = field(default_factory=dict)  # queues served -> level band
    keys: dict[QueueId, AgentKey] = field(default_factory=dict)  # last place in each queue
    calls: dict[QueueId, int] = field(default_factory=dict)  # answered today (site-local)
    penalties: dict[QueueId, int] = field(default_factory=dict)  # app_queue penalty, default 0
    ronas: int = 0  # consecutive RONAs
    call_queue: QueueId | None = None
    idle_since: float = 0.0
    idle_seq: int = 0
    gen: int = 0


@dataclass(slots=True, eq=False)
class Call:
    id: CallId
    queue_id: QueueId
    priority: int
    enqueued_at: float
    seq: int
    offers: list[AgentId] = field(default_factory=list)  # ringing agents (several: ring_all)
    entered_at: float = 0.0  # entered its current queue (widening and overflow count from it)
    step: int = 0  # widening step reached
    gen: int = 0
    target: AgentId | None = None  # a directed call's agent (see messages.EnqueueCall)

    @property
    def offered_to(self) -> AgentId | None:
        return self.offers[0] if self.offers else None


@dataclass(frozen=True, slots=True)
class Timer:
    kind: Literal["offer", "wrapup", "widen", "overflow"]
    at: float
    agent_id: AgentId | None = None
    call_id: CallId | None = None
    step: int = 0


def offer_timer_key(call_id: CallId, agent_id: AgentId) -> str:
    return f"offer:{call_id}:{agent_id}"


def wrapup_timer_key(agent_id: AgentId) -> str:
    return f"wrapup:{agent_id}"


def widen_timer_key(call_id: CallId, step: int) -> str:
    return f"widen:{call_id}:{step}"


def overflow_timer_key(call_id: CallId) -> str:
    return f"overflow:{call_id}"


T = TypeVar("T")


def some(value: T | None) -> T:
    assert value is not None
    return value


# Reasons and limits of the core (acd/core.py, acd/timed.py) that the shells share.
TIMER_SLACK_S = 1.0
LOGIN_REASON = "login"
RONA_REASON = "rona"
RONA_LIMIT_REASON = "rona_limit"
WITHDRAWN_RONA = "rona"
WITHDRAWN_CALLER_LEFT = "caller_left"
WITHDRAWN_AGENT_LOGOUT = "agent_logout"
WITHDRAWN_ANSWERED_ELSEWHERE = "answered_elsewhere"
WITHDRAWN_OVERFLOW = "overflow"
WITHDRAWN_MOVED = "moved"
# Estimated wait: answers remembered per queue (the window is also bounded by time).
EWT_MAX_ANSWERS = 200
