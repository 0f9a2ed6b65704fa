"""The in-memory indexes of MemorySharedQueues (memory.py): a Redis-like sorted set and the
records of agents, calls and queues, as the Redis implementation keeps them in hashes."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from contactcenter.ids import AgentId, CallId, QueueId
from contactcenter.sharedqueue.ports import (
    DEFAULT_SERVICE_LEVEL,
    AgentStateName,
    ServiceLevel,
)

ZKey = tuple[str, ...]


class ZSet:
    """A Redis sorted set: members ordered by (score, member)."""

    __slots__ = ("_items", "_scores")

    def __init__(self) -> None:
        self._items: list[tuple[float, str]] = []
        self._scores: dict[str, float] = {}

    def add(self, member: str, score: float) -> None:
        self.remove(member)
        self._scores[member] = score
        bisect.insort(self._items, (score, member))

    def remove(self, member: str) -> None:
        score = self._scores.pop(member, None)
        if score is not None:
            i = bisect.bisect_left(self._items, (score, member))
            del self._items[i]

    def first(self) -> tuple[str, float] | None:
        if not self._items:
            return None
        score, member = self._items[0]
        return member, score

    def rank_of(self, member: str, score: float) -> int:
        """How many members come before (score, member), present or not."""
        return bisect.bisect_left(self._items, (score, member))

    def members(self) -> list[str]:
        return [m for _, m in self._items]

    def items(self) -> list[tuple[str, float]]:
        return [(m, s) for s, m in self._items]


@dataclass(slots=True)
class AgentRec:
    skills: dict[str, int]
    queues: dict[QueueId, int]
    state: AgentStateName
    since: float
    idle: float = 0.0
    iseq: int = 0  # order of becoming ready (ties of idle times)
    reason: str | None = None
    call: CallId | None = None
    rk: list[tuple[QueueId, str, int]] = field(default_factory=list)
    ks: dict[QueueId, float] = field(default_factory=dict)  # last score per queue
    ronas: int = 0
    nc_day: float | None = None
    nc: dict[QueueId, int] = field(default_factory=dict)  # answered on day nc_day


@dataclass(slots=True)
class CallRec:
    queue: QueueId
    priority: int
    enqueued_at: float
    profile: str
    target: AgentId | None
    member: str
    score: float
    seq: int
    entered: float
    step: int
    zkey: ZKey = ()
    state: str = "waiting"
    agent: AgentId | None = None
    assigned_at: float = 0.0
    assign_seq: int = 0
    group: list[AgentId] = field(default_factory=list)  # "ring_all": every agent it rings at


@dataclass(slots=True)
class QueueRec:
    aging: float = 0.0
    strategy: str = "longest_idle"
    skills: tuple[str, ...] = ()
    waiting: int = 0
    profiles: set[str] = field(default_factory=set)
    penalties: list[int] = field(default_factory=list)  # sorted, distinct
    agents: set[AgentId] = field(default_factory=set)  # logged in, serving
    rr: tuple[int, int] = (0, -1)
    wr: float = 0.0
    day: float | None = None
    answers: list[float] = field(default_factory=list)  # times, oldest first
    lend: tuple[QueueId, ...] = ()  # the queues this one borrows from
    borrowers: tuple[QueueId, ...] = ()  # the queues that borrow from this one
    sl: ServiceLevel = DEFAULT_SERVICE_LEVEL
    outcomes: list[tuple[float, int, bool]] = field(default_factory=list)  # (at, n, met)


def satisfies(skills: dict[str, int], profile: str) -> bool:
    if not profile:
        return True
    for pair in profile.split(","):
        skill, level = pair.split("=")
        if skills.get(skill, 0) < int(level):
            return False
    return True


def agent_of(member: str) -> AgentId:
    return AgentId(member.split("|", 2)[2])


def call_of(member: str) -> CallId:
    return CallId(member.split("|", 2)[2])
