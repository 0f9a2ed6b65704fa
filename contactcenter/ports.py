"""Ports: the Protocols the services depend on. Adapters implement them; tests use fakes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from contactcenter.ids import AgentId, CallId, CustomerId, QueueId
from contactcenter.records import (
    AgentStateEntry,
    CallEvent,
    CallRecord,
    CallWrite,
    Customer,
    HistoryWrite,
    NewCustomer,
    Role,
    User,
)

# --- persistence -------------------------------------------------------------------------


class CustomerRepository(Protocol):
    async def get(self, customer_id: CustomerId) -> Customer | None: ...
    async def find_by_phone(self, number: str) -> Customer | None:
        """Exact match on a normalised phone number (digits and a leading '+')."""
        ...

    async def search(self, query: str, limit: int = 20) -> list[Customer]:
        """Case-insensitive substring match on name, phone or account number."""
        ...

    async def create(self, customer: NewCustomer) -> Customer: ...
    async def update(self, customer: Customer) -> Customer: ...


class CallRepository(Protocol):
    async def add(self, call: CallRecord) -> None: ...
    async def update(self, call_id: CallId, **fields: object) -> None:
        """Set the named columns of one call in a single atomic UPDATE."""
        ...

    async def get(self, call_id: CallId) -> CallRecord | None: ...
    async def history(self, customer_id: CustomerId, limit: int | None = None) -> list[CallRecord]:
        """The customer's calls, newest first."""
        ...

    async def between(self, start: float, end: float) -> list[CallRecord]:
        """Calls that arrived in [start, end), oldest first."""
        ...

    async def append_event(self, event: CallEvent) -> None: ...
    async def events(self, call_id: CallId) -> list[CallEvent]: ...
    async def write_batch(self, writes: Sequence[CallWrite]) -> None:
        """Apply the writes in order, in one transaction (all or nothing)."""
        ...


class HistoryStore(Protocol):
    async def write_batch(self, writes: Sequence[HistoryWrite]) -> None:
        """Apply call and agent-state writes in order, in one transaction (all or nothing)."""
        ...


class UserRepository(Protocol):
    async def get_by_username(self, username: str) -> User | None: ...
    async def add(
        self,
        username: str,
        display_name: str,
        role: Role,
        password_hash: str,
        endpoint: str | None = None,
        skills: Sequence[str] = (),
        team: str | None = None,
        skill_levels: Mapping[str, int] | None = None,
        queue_penalties: Mapping[str, int] | None = None,
    ) -> User: ...
    async def set_routing(
        self,
        username: str,
        *,
        skills: Sequence[str] | None = None,
        skill_levels: Mapping[str, int] | None = None,
        queue_penalties: Mapping[str, int] | None = None,
    ) -> User: ...
    async def list(self, role: Role | None = None) -> list[User]: ...


class AgentStateLogRepository(Protocol):
    async def append(self, entry: AgentStateEntry) -> None: ...
    async def entries(
        self, agent_id: AgentId, start: float, end: float
    ) -> list[AgentStateEntry]: ...


# --- live state --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentSnapshot:
    agent_id: AgentId
    display_name: str
    state: str
    since: float
    reason: str | None = None
    call_id: CallId | None = None
    queues: tuple[QueueId, ...] = ()


@dataclass(frozen=True, slots=True)
class WaitingCall:
    call_id: CallId
    queue_id: QueueId
    queued_at: float
    priority: int = 0
    caller_number: str | None = None
    customer_name: str | None = None


@dataclass(frozen=True, slots=True)
class QueueCounters:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    answered_within_sl: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class LiveState(Protocol):
    """What is happening now, shared by every server process (memory for one, Redis for many)."""

    async def put_agent(self, agent: AgentSnapshot) -> None: ...
    async def remove_agent(self, agent_id: AgentId) -> None: ...
    async def agents(self) -> list[AgentSnapshot]: ...
    async def put_waiting(self, call: WaitingCall) -> None: ...
    async def remove_waiting(self, queue_id: QueueId, call_id: CallId) -> bool:
        """Remove a waiting call; True if it was there."""
        ...

    async def waiting(self, queue_id: QueueId) -> list[WaitingCall]:
        """Calls waiting in the queue, oldest first."""
        ...

    async def incr(self, queue_id: QueueId, day: str, counter: str, by: int = 1) -> int: ...
    async def counters(self, queue_id: QueueId, day: str) -> QueueCounters: ...
    async def claim_agent(self, agent_id: AgentId, call_id: CallId) -> bool:
        """Atomically give the agent this call; False if the agent already has one."""
        ...

    async def release_agent(self, agent_id: AgentId, call_id: CallId) -> None:
        """Drop the agent's claim, only if it is still for this call."""
        ...

    async def close(self) -> None: ...


# --- telephony ---------------------------------------------------------------------------


SpyMode = Literal["listen", "whisper", "barge"]


@dataclass(frozen=True, slots=True)
class OriginateRequest:
    """One outbound dial. `number` is what the trunk dials; `queue_id` is where an answered
    person waits for an agent; `variables` go onto the channel (e.g. campaign and lead ids)."""

    call_id: CallId
    number: str
    caller_id_number: str | None = None
    caller_id_name: str | None = None
    timeout_s: float = 30.0
    amd: bool = True
    queue_id: QueueId | None = None
    variables: tuple[tuple[str, str], ...] = ()


class CallControl(Protocol):
    """Drive calls on the PBX. Implemented over AMI for Asterisk and for the simulator.

    Every method raises contactcenter.errors.TelephonyError when the PBX refuses (its message
    is Asterisk's); the call is then as it was before the attempt.
    """

    async def connect_to_agent(self, call_id: CallId, endpoint: str, ring_timeout_s: float) -> None:
        """Send a waiting caller to the agent's endpoint (Setvar CC_ENDPOINT + Redirect)."""
        ...

    async def hangup(self, call_id: CallId) -> None: ...

    async def hold(self, call_id: CallId) -> None:
        """Caller to music on hold, the agent's leg parked (kept up) meanwhile."""
        ...

    async def unhold(self, call_id: CallId) -> None:
        """Bridge the held caller with the parked agent leg again."""
        ...

    async def mute(self, call_id: CallId, muted: bool) -> None:
        """Mute (or unmute) what the agent says to the caller."""
        ...

    async def send_dtmf(self, call_id: CallId, digits: str) -> None:
        """Play DTMF digits to the far end (IVRs of the party the agent called)."""
        ...

    async def blind_transfer(self, call_id: CallId, number: str) -> None:
        """Send the caller to `number` (the trunk's dial plan); the agent's leg leaves."""
        ...

    async def start_recording(self, call_id: CallId, filename: str) -> None: ...
    async def stop_recording(self, call_id: CallId) -> None: ...

    async def spy(self, call_id: CallId, supervisor_endpoint: str, mode: SpyMode) -> None:
        """Ring the supervisor's endpoint into ChanSpy on the call (listen/whisper/barge)."""
        ...

    async def stop_spy(self, call_id: CallId) -> None: ...

    async def consult(
        self, call_id: CallId, endpoint: str, timeout_s: float, caller_id: str | None = None
    ) -> None:
        """Attended transfer: ring `endpoint` and bridge it with the (parked) agent leg."""
        ...

    async def complete_transfer(self, call_id: CallId) -> None:
        """Bridge the held caller with the consulted party; the agent's leg leaves."""
        ...

    async def cancel_consult(self, call_id: CallId) -> None:
        """Drop the consulted party and bridge the caller with the agent again."""
        ...

    async def conference(self, call_id: CallId) -> None:
        """Caller, agent and consulted party into one conference."""
        ...

    async def leave_conference(self, call_id: CallId) -> None:
        """The agent leaves the conference; the consulted party keeps the caller."""
        ...

    async def drop_consult(self, call_id: CallId) -> None:
        """The consulted party leaves (the conference goes on without them)."""
        ...

    async def requeue(self, call_id: CallId) -> None:
        """Take the caller from the agent back to music on hold (to wait in a queue again)."""
        ...

    async def hangup_agent_leg(self, call_id: CallId) -> None:
        """End the agent's parked leg (the caller hung up while on hold)."""
        ...

    async def originate(self, request: OriginateRequest) -> None:
        """Start an outbound dial; its outcome arrives later as an OriginateFinished event."""
        ...

    async def dial_from_agent(
        self, request: OriginateRequest, endpoint: str, agent_timeout_s: float
    ) -> None:
        """Agent first: ring the agent's `endpoint` (showing the customer's number) and, once
        it answers, dial `request.number` from it with the callback caller ID. Returns when
        the agent answered; raises TelephonyError if the agent's phone did not (the customer
        was not dialled). The customer's outcome arrives later as one OriginateFinished
        (`answered_human` when they answer; busy / no_answer / failed); then the call is
        connected (CallConnected) and ends as any call (CallHungUp)."""
        ...
