"""The shared-queues port: queue contents, agent states and assignments that several server
nodes route together, with every "pick a call and an agent" one atomic step.

Two implementations keep the same semantics (one contract suite tests both):
`MemorySharedQueues` (one process, the embedded default) and `RedisSharedQueues` (several
processes on one Redis; each operation is one Lua script).

Vocabulary
----------
* A *call* waits in one queue with a priority, an enqueue time and required skills with minimum
  levels (its *profile*), or for one *target agent* only.
* An *agent* logs in with skills (level 1-10) and queues (each with a penalty, as Asterisk's
  app_queue: lower penalty is offered calls first). Agent states:
  ``not_ready`` (after login, or with a reason), ``ready``, ``assigned`` (holds a call given by
  `assign_*`, not yet answered: the offer rings), ``on_call`` (after `answer`), ``on_hold``
  (`hold`), ``busy`` (working outside the ACD) and ``wrap_up`` (after `finish`). An agent who
  is assigned, on call, on hold or busy *holds* work: only `finish` (and, while assigned,
  `requeue` / `withdraw` / `move`) ends it.
* An *assignment* is the pair (call, agent) made by `assign_for_agent` or `assign_for_call`;
  it lasts until `finish` (or `requeue` / `withdraw` before it is answered). Every assignment
  gets a number from one counter of the deployment (`Assignment.seq`), in the order the
  assignments were made.

Routing rules (the rules of the in-process core, acd/routing.py)
-------------------------------------------------------------
* Calls: higher effective priority first, p + w x (now - enqueued_at) with the queue's aging
  weight w (`configure_queue`); equal effective priority: earlier enqueue time, then earlier
  enqueue (first come, first served). Within one queue this order does not depend on `now`, so
  it is kept sorted: key e - p / w (w > 0) or -p (w = 0), ties by (e, enqueue order).
* A call goes only to an agent logged in to its queue whose level is >= the call's minimum for
  every required skill (`reprofile` lowers it: widening). A call with a target agent (a
  *directed* call) goes only to that agent (skills and queues are not checked), before any
  other call of theirs; it becomes an ordinary call of its queue when the agent does not
  answer it (`requeue`), logs out, or is not logged in when it is enqueued.
* Agents: lowest penalty for the call's queue first, then the queue's strategy
  (`configure_queue`: longest_idle, least_calls, most_skilled, round_robin, weighted_random;
  see redis_lua.py for the scores), then longest idle, then agent id.
* An agent who becomes ready takes the best call among those waiting in their queues that they
  are skilled for (their directed calls first). Penalties do not matter in this direction: a
  call still waiting means no agent with a lower penalty was free for it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from contactcenter.errors import ContactCenterError
from contactcenter.ids import AgentId, CallId, QueueId

AgentStateName = Literal["not_ready", "ready", "assigned", "on_call", "on_hold", "busy", "wrap_up"]

MIN_LEVEL = 1
MAX_LEVEL = 10
# Characters that separate the parts of keys and profiles: not allowed in names.
_RESERVED = frozenset(":,=|{}")


class SharedQueueError(ContactCenterError):
    """A shared-queue operation was refused. The message names the agent, call or field."""


class UnknownAgent(SharedQueueError):
    """The agent is not logged in."""


class AgentStateConflict(SharedQueueError):
    """The operation is not allowed in the agent's current state (e.g. logout while holding a
    call). `state` is that state."""

    def __init__(self, message: str, state: str) -> None:
        super().__init__(message)
        self.state = state


class QueueNotEmpty(SharedQueueError):
    """A queue's aging weight cannot change while calls wait in it."""


class SharedQueueUnavailable(SharedQueueError):
    """The shared store (Redis) cannot be reached or refused the command. The operation may or
    may not have been applied (it is atomic: all of it or none); read back before retrying."""


@dataclass(frozen=True, slots=True)
class QueueCall:
    """A call to route. `skills`: required skill -> minimum level (1-10)."""

    call_id: CallId
    queue_id: QueueId
    priority: int
    enqueued_at: float
    skills: Mapping[str, int] = field(default_factory=dict)
    target_agent: AgentId | None = None
    entered_at: float | None = None  # entered this queue (widening, overflow); default e
    step: int = 0  # the widening step `skills` belongs to

    def __post_init__(self) -> None:
        check_name("call_id", self.call_id)
        check_name("queue_id", self.queue_id)
        if not _is_int(self.priority):
            raise ValueError(f"call {self.call_id}: priority must be an integer")
        if not (self.enqueued_at >= 0):  # also refuses NaN
            raise ValueError(f"call {self.call_id}: enqueued_at must be a time >= 0")
        for skill, level in self.skills.items():
            check_name(f"call {self.call_id}: skill", skill)
            check_level(f"call {self.call_id}: skill {skill!r}", level)
        if self.target_agent is not None:
            check_name(f"call {self.call_id}: target_agent", self.target_agent)


@dataclass(frozen=True, slots=True)
class AgentLogin:
    """An agent's skills (skill -> level 1-10) and queues (queue -> penalty >= 0)."""

    agent_id: AgentId
    skills: Mapping[str, int]
    queues: Mapping[QueueId, int]

    def __post_init__(self) -> None:
        check_name("agent_id", self.agent_id)
        for skill, level in self.skills.items():
            check_name(f"agent {self.agent_id}: skill", skill)
            check_level(f"agent {self.agent_id}: skill {skill!r}", level)
        for queue, penalty in self.queues.items():
            check_name(f"agent {self.agent_id}: queue", queue)
            if not _is_int(penalty) or penalty < 0:
                raise ValueError(
                    f"agent {self.agent_id}: queue {queue!r}: penalty must be an integer >= 0"
                )


@dataclass(frozen=True, slots=True)
class Assignment:
    call_id: CallId
    agent_id: AgentId
    queue_id: QueueId
    assigned_at: float
    seq: int


@dataclass(frozen=True, slots=True)
class AgentStatus:
    """`call_id`: the call assigned, on call or on hold, or just finished (wrap_up). `idle`:
    ready since (the agent's place in the idle order; kept when an offer is taken back)."""

    agent_id: AgentId
    state: AgentStateName
    since: float
    reason: str | None = None
    call_id: CallId | None = None
    skills: Mapping[str, int] = field(default_factory=dict)
    queues: Mapping[QueueId, int] = field(default_factory=dict)
    idle: float | None = None


@dataclass(frozen=True, slots=True)
class RouteContext:
    """What a node passes to an operation that may (re)index a READY agent: `day`, the start
    of the site-local day ("least_calls" counts the answers since then), and `draws`, one
    unit exponential variate per "weighted_random" queue the agent may be indexed in (the
    agent's key there is the queue's clock + draw / weight). Stores draw nothing themselves."""

    day: float = 0.0
    draws: Mapping[QueueId, float] = field(default_factory=dict)


NO_CONTEXT = RouteContext()


@dataclass(frozen=True, slots=True)
class ServiceLevel:
    """A lending queue's service level rule (acd.model.QueueConfig sl_*): answered within
    `threshold_s` / (answered + abandoned after `short_abandon_s`), over `window_s`, must be at
    least `target` for the queue to lend agents (no outcome yet: it lends)."""

    threshold_s: float = 20.0
    target: float = 0.8
    window_s: float = 1800.0
    short_abandon_s: float = 5.0


DEFAULT_SERVICE_LEVEL = ServiceLevel()


@dataclass(frozen=True, slots=True)
class Requeued:
    """`requeue` / `rona`: the agent the call was taken from, whether the RONA limit logged
    them out, and the calls directed to them that became ordinary calls (logged out)."""

    agent_id: AgentId
    logged_out: bool = False
    released: tuple[CallId, ...] = ()


@dataclass(frozen=True, slots=True)
class Answered:
    """`answer`: the call's queue, widening step and enqueue time, and (a "ring_all" call)
    the other agents it rang at, in offer order, READY again at their old place."""

    queue_id: QueueId
    step: int
    enqueued_at: float
    others: tuple[AgentId, ...] = ()


@dataclass(frozen=True, slots=True)
class Moved:
    """`move`: where the call was, the agent whose offer was withdrawn (READY again at the old
    place), and the call's widening step and entry time in its old queue."""

    from_queue: QueueId
    withdrawn: AgentId | None
    old_step: int
    old_entered_at: float
    also_withdrawn: tuple[AgentId, ...] = ()  # a "ring_all" call's other agents

    @property
    def all_withdrawn(self) -> tuple[AgentId, ...]:
        return () if self.withdrawn is None else (self.withdrawn, *self.also_withdrawn)


@dataclass(frozen=True, slots=True)
class WaitInfo:
    """`wait_info`: the call's 1-based position (calls of its queue ahead of it, ringing ones
    included; a directed call: its agent's directed calls ahead), whether it rings, and its
    queue's recent answers (count, first, last, within the window) and logged-in agents."""

    position: int
    ringing: bool
    queue_id: QueueId
    answers: int
    first_answer: float
    last_answer: float
    serving: int


class MoveTargetLoggedOut(SharedQueueError):
    """`move` to an agent who is not logged in."""


class SharedQueues(Protocol):
    """Every method is atomic: it is applied entirely or not at all, and two nodes calling at
    once see each other's effects in one order. `ctx` (RouteContext): see there."""

    async def configure_queue(
        self,
        queue_id: QueueId,
        aging_per_s: float,
        strategy: str = "longest_idle",
        skills: Collection[str] = (),
        *,
        borrow_from: Collection[QueueId] = (),
        lends_to: Collection[QueueId] = (),
        service_level: ServiceLevel = DEFAULT_SERVICE_LEVEL,
    ) -> None:
        """Set the queue's priority aging weight w (>= 0; default 0), its strategy (how READY
        agents of one penalty are ordered, acd/routing.py; "ring_all" offers to all), its
        skills (whose levels "most_skilled" and "weighted_random" add up, 5 if unknown), the
        queues it borrows agents from and lends agents to, and its service level rule (a
        lender's: answers and abandons are counted for it). Another weight raises QueueNotEmpty
        while calls wait in the queue (their order was fixed with the old one); the same
        weight again always succeeds."""
        ...

    async def enqueue(self, call: QueueCall) -> bool:
        """Queue the call. False (and nothing changes) when a call with this id is already
        waiting or assigned, so a retry after an error is safe. A call whose target agent is
        not logged in is an ordinary call."""
        ...

    async def remove_call(self, call_id: CallId, now: float | None = None) -> bool:
        """Take a waiting call out (the caller hung up). False if it was not waiting. With
        `now`, an abandon after the short-abandon time counts against a lender's service
        level (as `withdraw` always does)."""
        ...

    async def login(self, agent: AgentLogin, now: float, ctx: RouteContext = NO_CONTEXT) -> bool:
        """Log the agent in: not_ready, reason "login"; True. An agent already logged in keeps
        their state and call and gets the new skills and queues (READY: re-indexed at their
        idle time); False."""
        ...

    async def logout(self, agent_id: AgentId) -> list[CallId] | None:
        """None if the agent was not logged in, else the calls that were directed to the agent
        and are now ordinary calls of their queues. Raises AgentStateConflict while the agent
        holds work."""
        ...

    async def ready(self, agent_id: AgentId, now: float, ctx: RouteContext = NO_CONTEXT) -> None:
        """The agent can take calls from `now` (an agent already ready keeps their idle time).
        Does not route: call `assign_for_agent` next. Raises UnknownAgent, or
        AgentStateConflict while the agent holds work."""
        ...

    async def not_ready(self, agent_id: AgentId, now: float, reason: str | None = None) -> None:
        """Raises UnknownAgent, or AgentStateConflict while the agent holds work."""
        ...

    async def busy(self, agent_id: AgentId, now: float) -> None:
        """The agent works outside the ACD (e.g. an outbound call): no calls until `finish`.
        Raises UnknownAgent, or AgentStateConflict while the agent holds work."""
        ...

    async def finish(
        self, agent_id: AgentId, now: float, *, ready: bool = False, ctx: RouteContext = NO_CONTEXT
    ) -> CallId | None:
        """End the agent's assignment (on call, on hold, or assigned) or busy spell: the agent
        goes to wrap_up (keeping the call's id), or straight to ready when `ready`. Returns the
        call that ended (None after busy). Raises UnknownAgent, or AgentStateConflict if the
        agent held nothing."""
        ...

    async def requeue(
        self,
        call_id: CallId,
        now: float,
        reason: str = "rona",
        agent_id: AgentId | None = None,
        *,
        rona_limit: int | None = None,
    ) -> Requeued | None:
        """An assigned, unanswered call goes back to waiting at its old place (its enqueue time
        and priority are kept; a call directed to that agent becomes an ordinary call) and its
        agent goes not_ready with `reason`. With `rona_limit` (a RONA) the agent's count of
        consecutive RONAs (reset by `answer`) goes up, and reaching a limit > 0 logs them out.
        None if the call was not assigned, was answered, or (given `agent_id`) is another's."""
        ...

    async def answer(
        self, call_id: CallId, agent_id: AgentId, now: float, ctx: RouteContext = NO_CONTEXT
    ) -> Answered | None:
        """The agent answered the call assigned to them: the agent goes on_call (and `requeue`
        no longer applies), the answer counts for the queue's rate and the agent's calls today.
        None if the call is not assigned to this agent or was answered."""
        ...

    async def hold(self, agent_id: AgentId, call_id: CallId, on_hold: bool, now: float) -> bool:
        """on_call <-> on_hold for the agent's call: True if the state changed, False if it
        was already so. Raises AgentStateConflict if the agent is not on that call."""
        ...

    async def withdraw(self, call_id: CallId, now: float) -> AgentId | None:
        """The caller of an assigned, unanswered call left: the call is gone and its agent is
        ready again, at their old place in the idle order. Returns that agent, or None if the
        call was not assigned and unanswered (a waiting call leaves with `remove_call`)."""
        ...

    async def withdraw_all(self, call_id: CallId, now: float) -> list[AgentId]:
        """As `withdraw`, for every agent the call rings at ("ring_all"), in offer order."""
        ...

    async def move(
        self,
        call_id: CallId,
        to_queue: QueueId,
        skills: Mapping[str, int],
        target: AgentId | None,
        now: float,
        *,
        step: int = 0,
        if_queue: QueueId | None = None,
        if_entered_at: float | None = None,
    ) -> Moved | None:
        """A waiting or ringing call moves to `to_queue` (with the requirement `skills` at
        widening `step` there, entered `now`; the same queue keeps its requirement and entry)
        and to `target` (None: an ordinary call). It keeps its enqueue time, priority and
        order. A ringing offer is withdrawn: that agent is READY again at their old place.
        None if the call is not waiting or ringing (or not in `if_queue` since
        `if_entered_at`); raises MoveTargetLoggedOut."""
        ...

    async def reprofile(
        self,
        call_id: CallId,
        queue_id: QueueId,
        entered_at: float,
        skills: Mapping[str, int],
        step: int,
    ) -> bool:
        """Widening: the call, still in `queue_id` since `entered_at` (waiting or ringing),
        gets the requirement `skills` of widening `step`, keeping its place. False if not."""
        ...

    async def assign_for_agent(self, agent_id: AgentId, now: float) -> Assignment | None:
        """The agent takes the best call waiting for them, if the agent is ready and there is
        one. The assignment is recorded before it is returned."""
        ...

    async def assign_for_call(
        self, call_id: CallId, now: float, ctx: RouteContext = NO_CONTEXT
    ) -> Assignment | None:
        """The waiting call goes to the best ready agent for it, if any."""
        ...

    async def offers_for_agent(
        self, agent_id: AgentId, now: float, ctx: RouteContext = NO_CONTEXT
    ) -> list[Assignment]:
        """As `assign_for_agent`, and every assignment it made: a "ring_all" call goes to
        every READY agent of the lowest penalty who may take it (if the agent is not among
        them, the agent tries the next call)."""
        ...

    async def offers_for_call(
        self, call_id: CallId, now: float, ctx: RouteContext = NO_CONTEXT
    ) -> list[Assignment]:
        """As `assign_for_call`; a "ring_all" call goes to every READY agent of the lowest
        penalty who may take it (the first answer wins: `answer`), in the queue's order."""
        ...

    async def serve_borrowers(
        self, queue_id: QueueId, now: float, ctx: RouteContext = NO_CONTEXT
    ) -> list[Assignment]:
        """After an answer in a lending queue (its service level may now be met): the first
        call of each queue that borrows from it is offered as `offers_for_call` does."""
        ...

    async def assign_after_move(
        self, call_id: CallId, agent_id: AgentId, now: float, ctx: RouteContext = NO_CONTEXT
    ) -> list[Assignment]:
        """After `move` withdrew the agent's offer: the agent's best call and the moved call's
        best agent, the one that ranks first served first (as the core's global pass), then
        the agent again if still ready. The assignments made, in order."""
        ...

    async def agent(self, agent_id: AgentId) -> AgentStatus | None:
        """The agent's state, None if not logged in."""
        ...

    async def assignment(self, call_id: CallId) -> Assignment | None:
        """The call's current assignment (e.g. to learn the outcome of an assign whose reply
        was lost)."""
        ...

    async def call(self, call_id: CallId) -> QueueCall | None:
        """A waiting or assigned call as it is now (queue, requirement, target, entry, step)."""
        ...

    async def wait_info(self, call_id: CallId, now: float, window_s: float) -> WaitInfo | None:
        """Position and the queue's recent answers (see WaitInfo), None if not waiting/ringing."""
        ...

    async def serving(self, queue_id: QueueId) -> int:
        """Logged-in agents who serve the queue."""
        ...

    async def waiting(self, queue_id: QueueId, now: float) -> list[CallId]:
        """The calls waiting in the queue in routing order at `now` (O(calls in the queue):
        for tests and diagnostics, not for routing). Targeted calls are not listed."""
        ...

    async def waiting_count(self, queue_id: QueueId) -> int:
        """Calls waiting in the queue, targeted ones included."""
        ...

    async def close(self) -> None: ...


def unknown_agent(agent_id: str, op: str) -> UnknownAgent:
    return UnknownAgent(f"agent {agent_id!r} is not logged in ({op})")


def state_conflict(agent_id: str, state: str, op: str) -> AgentStateConflict:
    what = "there is nothing to finish" if op == "finish" else f"cannot {op} before finish"
    return AgentStateConflict(f"agent {agent_id!r} is {state}: {what}", state)


def check_name(what: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what}: must be a non-empty string, got {value!r}")
    bad = _RESERVED.intersection(value)
    if bad:
        raise ValueError(f"{what} {value!r}: must not contain {''.join(sorted(bad))!r}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_level(what: str, level: object) -> None:
    if not isinstance(level, int) or isinstance(level, bool):
        raise ValueError(f"{what}: level must be an integer {MIN_LEVEL}-{MAX_LEVEL}")
    if not MIN_LEVEL <= level <= MAX_LEVEL:
        raise ValueError(f"{what}: level {level} is not in {MIN_LEVEL}-{MAX_LEVEL}")


def profile_of(skills: Mapping[str, int]) -> str:
    """The canonical requirement string: "skill=level" pairs sorted by skill, joined by ","."""
    return ",".join(f"{s}={skills[s]}" for s in sorted(skills))


def member_of(enqueued_at: float, seq: int, call_id: str) -> str:
    """A waiting call's member in its sorted set: ties of the score sort by enqueue time, then
    enqueue order (fixed-width fields sort as text in the same order as numbers)."""
    return f"{enqueued_at:020.6f}|{seq:012d}|{call_id}"


def parse_profile(profile: str) -> dict[str, int]:
    """The requirement of a profile string (profile_of's inverse)."""
    if not profile:
        return {}
    return {s: int(level) for s, _, level in (pair.partition("=") for pair in profile.split(","))}


SUPPORTED_STRATEGIES = (
    "longest_idle", "least_calls", "most_skilled", "round_robin", "weighted_random", "ring_all"
)  # fmt: skip


def check_strategy(queue_id: str, strategy: str) -> None:
    if strategy not in SUPPORTED_STRATEGIES:
        raise ValueError(
            f"queue {queue_id!r}: strategy {strategy!r} is not one of "
            + ", ".join(SUPPORTED_STRATEGIES)
        )
