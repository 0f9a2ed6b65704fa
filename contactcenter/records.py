"""Plain dataclasses that cross the persistence boundary. The core never sees ORM objects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from contactcenter.ids import AgentId, CallId, CampaignId, CustomerId, QueueId


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    MANAGER = "manager"
    ADMIN = "admin"


class ValueTier(StrEnum):
    """How the CRM ranks a customer. Higher tiers are served first."""

    STANDARD = "standard"
    SILVER = "silver"
    GOLD = "gold"
    PLATINUM = "platinum"


class Outcome(StrEnum):
    """Call outcomes, as defined in docs/metrics.md."""

    ANSWERED = "answered"
    ABANDONED = "abandoned"
    SHORT_ABANDONED = "short_abandoned"
    IVR_COMPLETED = "ivr_completed"
    IVR_ABANDONED = "ivr_abandoned"
    OVERFLOWED = "overflowed"
    CALLBACK_REQUESTED = "callback_requested"
    VOICEMAIL = "voicemail"
    # The queue was not open (after hours, holiday, or no agent logged in) and its action
    # told the caller so and ended the call (docs/metrics.md).
    CLOSED = "closed"
    FAILED = "failed"
    # outbound
    ANSWERED_HUMAN = "answered_human"
    MACHINE = "machine"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    DROPPED = "dropped"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


@dataclass(frozen=True, slots=True)
class Customer:
    id: CustomerId
    name: str
    phones: tuple[str, ...]
    account_number: str | None = None
    value_tier: ValueTier = ValueTier.STANDARD
    notes: str = ""


@dataclass(frozen=True, slots=True)
class NewCustomer:
    name: str
    phones: tuple[str, ...]
    account_number: str | None = None
    value_tier: ValueTier = ValueTier.STANDARD
    notes: str = ""


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    display_name: str
    role: Role
    password_hash: str
    endpoint: str | None = None  # the agent's Asterisk endpoint, e.g. "PJSIP/1001"
    skills: tuple[str, ...] = ()
    active: bool = True
    team: str | None = None  # an agent's team, or the team a supervisor leads
    # Level (1-10) of some of `skills`; a skill without one counts as 5 (acd DEFAULT_SKILL_LEVEL).
    skill_levels: Mapping[str, int] = field(default_factory=dict)
    # Penalty (>= 0, app_queue's member penalty) per queue id; a queue not named: 0.
    queue_penalties: Mapping[str, int] = field(default_factory=dict)

    @property
    def agent_id(self) -> AgentId:
        return AgentId(self.username)


@dataclass(slots=True)
class CallRecord:
    """One row of the call history: every call-level fact of docs/metrics.md.

    Times are epoch seconds (floats); the repository stores them as UTC timestamps.
    """

    id: CallId
    direction: Direction
    arrived_at: float
    caller_number: str | None = None
    dialed_number: str | None = None
    customer_id: CustomerId | None = None
    queue_id: QueueId | None = None
    campaign_id: CampaignId | None = None
    agent_id: AgentId | None = None
    queued_at: float | None = None
    offered_at: float | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    wait_s: float | None = None
    talk_s: float | None = None
    hold_s: float = 0.0
    wrap_s: float | None = None
    outcome: Outcome | None = None
    transferred: int = 0
    disposition: str | None = None
    note: str | None = None
    priority: int = 0
    skills_required: tuple[str, ...] = field(default_factory=tuple)
    ivr_path: tuple[str, ...] = field(default_factory=tuple)
    hangup_cause: str | None = None
    recording: str | None = None  # the PBX's recording file name (MixMonitor), if recorded


@dataclass(frozen=True, slots=True)
class CallEvent:
    """An append-only fact about a call (the audit trail of the history row)."""

    call_id: CallId
    at: float
    kind: str
    data: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CallUpdate:
    """Set some columns of one call's history row."""

    call_id: CallId
    fields: dict[str, object]


# One write to the call history: a new row, an update of a row, or an appended event.
CallWrite = CallRecord | CallUpdate | CallEvent


@dataclass(frozen=True, slots=True)
class AgentStateEntry:
    """One line of the agent state log: the agent entered `state` at `at`."""

    agent_id: AgentId
    state: str
    at: float
    reason: str | None = None
    call_id: CallId | None = None


# What the history writer batches: call history writes and agent state log entries.
HistoryWrite = CallRecord | CallUpdate | CallEvent | AgentStateEntry
