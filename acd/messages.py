"""What goes into the ACD core and what comes out.

Inputs are requests and facts (imperative or past tense); outputs are commands for the shell
(`OfferCall`, `WithdrawOffer`, `ScheduleTimer`, `CancelTimer`) and events (`AgentStateChanged`,
`OfferTimedOut`, `CallOverflowed`). Timers are data: the core asks for `ScheduleTimer(key, at)`
and later receives `TimerFired(key)`; it re-checks its state when one fires, so a stale timer
is harmless.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from acd.model import AgentState
from contactcenter.ids import AgentId, CallId, QueueId

# --- inputs ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentLogin:
    """`skill_levels` says how well (1-10) the agent masters some of `skills`; a skill without
    a level counts as DEFAULT_SKILL_LEVEL (5). Levels matter only to queues that require
    levels or pick the most skilled agent.

    `penalties` (app_queue's member penalty, >= 0, default 0) per queue the agent serves: a
    queue offers its calls to its READY agents of the lowest penalty first, and to agents of
    a higher penalty only when no agent of a lower one is READY (and acceptable). The queue's
    strategy orders agents within one penalty. Which queues an agent serves still follows
    from skills (and levels): a penalty for a queue the agent does not serve has no effect;
    one for an unknown queue is refused (UnknownQueue)."""

    agent_id: AgentId
    skills: frozenset[str]
    skill_levels: Mapping[str, int] = field(default_factory=dict)
    penalties: Mapping[QueueId, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AgentLogout:
    agent_id: AgentId


@dataclass(frozen=True, slots=True)
class AgentReady:
    """The agent asks to go Ready (also "ready now" from wrap-up)."""

    agent_id: AgentId


@dataclass(frozen=True, slots=True)
class AgentNotReady:
    agent_id: AgentId
    reason: str


@dataclass(frozen=True, slots=True)
class EnqueueCall:
    """The call waits in the queue. `enqueued_at` (default: now) is its place in the FCFS order
    among calls of equal priority: a call that comes back (say after a failed connect) passes
    its original enqueue time to keep its old place.

    `target_agent` makes it a *directed* call (a transfer to an agent, a supervisor moving a
    call to an agent, a callback for one agent). The rule:

    * It is offered only to that agent, whatever their skills, and only when they are READY
      (so after their wrap-up), ahead of every ordinary call that agent could take. Directed
      calls of one agent are served among themselves by priority, then enqueue time.
    * It becomes an ordinary call of its queue (routed to any acceptable agent, at its
      original place) when that agent does not answer it (RONA), logs out (also by the RONA
      limit), or is not logged in (or unknown) when the call is enqueued or moved to them.
    * It still belongs to its queue: RemoveCall, MoveCall, and the queue's overflow apply to it
      (an overflowed call is an ordinary call of the overflow queue).
    """

    call_id: CallId
    queue_id: QueueId
    priority: int = 0
    enqueued_at: float | None = None
    target_agent: AgentId | None = None


@dataclass(frozen=True, slots=True)
class MoveCall:
    """Supervisor: move a waiting (or ringing) call to another queue and/or to one agent. A
    ringing offer is withdrawn (reason "moved"); the call keeps its original enqueue time, so
    its place and aging. `to_queue` None: its current queue; `to_agent` None: an ordinary call
    of that queue, otherwise a directed call of that agent (see EnqueueCall). A move to another
    queue restarts widening and the overflow timer there, as an overflow does. Raises
    CallNotWaiting, UnknownQueue, UnknownAgent, or InvalidTransition (agent logged out)."""

    call_id: CallId
    to_queue: QueueId | None = None
    to_agent: AgentId | None = None


@dataclass(frozen=True, slots=True)
class AgentHold:
    """The agent put their call on hold (`on_hold`) or took it back: ON_CALL <-> ON_HOLD.
    Holding while on hold (or resuming while on call) is a no-op; raises InvalidTransition if
    the agent is not on that call."""

    agent_id: AgentId
    call_id: CallId
    on_hold: bool


@dataclass(frozen=True, slots=True)
class RemoveCall:
    """The call left before it was answered (caller hung up): drop it and any offer."""

    call_id: CallId


@dataclass(frozen=True, slots=True)
class AcceptOffer:
    """The offered agent answered: the agent goes On call and the call leaves the queue."""

    call_id: CallId
    agent_id: AgentId


@dataclass(frozen=True, slots=True)
class CallFinished:
    """The agent's call ended (on call or on hold): the agent goes to Wrap-up for the queue's
    wrap-up time."""

    call_id: CallId
    agent_id: AgentId


@dataclass(frozen=True, slots=True)
class TimerFired:
    key: str


Input = (
    AgentLogin
    | AgentLogout
    | AgentReady
    | AgentNotReady
    | EnqueueCall
    | RemoveCall
    | AcceptOffer
    | CallFinished
    | TimerFired
    | MoveCall
    | AgentHold
)

# --- outputs -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OfferCall:
    """Command: offer this call to this agent (ring the desktop)."""

    call_id: CallId
    agent_id: AgentId
    queue_id: QueueId


@dataclass(frozen=True, slots=True)
class WithdrawOffer:
    """Command: take the offer back from the agent's desktop."""

    call_id: CallId
    agent_id: AgentId
    reason: str


@dataclass(frozen=True, slots=True)
class ScheduleTimer:
    key: str
    at: float


@dataclass(frozen=True, slots=True)
class CancelTimer:
    key: str


@dataclass(frozen=True, slots=True)
class AgentStateChanged:
    agent_id: AgentId
    state: AgentState
    reason: str | None
    call_id: CallId | None
    at: float


@dataclass(frozen=True, slots=True)
class OfferTimedOut:
    """RONA: the agent did not answer in time; the call went back to its place in the queue."""

    call_id: CallId
    agent_id: AgentId
    at: float


@dataclass(frozen=True, slots=True)
class CallOverflowed:
    """The call waited its queue's `overflow_after_s` and now waits in `to_queue` (any ringing
    offer was withdrawn first, reason "overflow")."""

    call_id: CallId
    from_queue: QueueId
    to_queue: QueueId
    at: float


@dataclass(frozen=True, slots=True)
class CallMoved:
    """A supervisor's MoveCall took effect: the call now waits in `to_queue` (perhaps the same
    queue), directed to `to_agent` if that is set."""

    call_id: CallId
    from_queue: QueueId
    to_queue: QueueId
    to_agent: AgentId | None
    at: float


@dataclass(frozen=True, slots=True)
class AgentSkillUnused:
    """The agent logged in with skills that no queue requires (accepted; the shell warns)."""

    agent_id: AgentId
    skills: frozenset[str]


Output = (
    OfferCall
    | WithdrawOffer
    | ScheduleTimer
    | CancelTimer
    | AgentStateChanged
    | OfferTimedOut
    | CallOverflowed
    | CallMoved
    | AgentSkillUnused
)
