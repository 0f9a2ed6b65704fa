"""Domain events: frozen dataclasses named in the past tense. They flow one way on the bus.

Telephony adapters translate Asterisk's frames into the first group at the edge; the call
service publishes the rest. Asterisk identifiers never appear here.
"""

from __future__ import annotations

from dataclasses import dataclass

from contactcenter.ids import AgentId, CallId, CustomerId, QueueId


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every domain event."""


# --- from the telephony edge -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallArrived(Event):
    """A caller reached the server (FastAGI session start)."""

    call_id: CallId
    at: float
    caller_number: str | None
    dialed_number: str | None


@dataclass(frozen=True, slots=True)
class CallConnected(Event):
    """The caller was bridged to the agent's endpoint (AMI BridgeEnter of the caller)."""

    call_id: CallId
    at: float


@dataclass(frozen=True, slots=True)
class CallHungUp(Event):
    """The caller's channel is gone (AMI Hangup, or the AGI session lost the caller)."""

    call_id: CallId
    at: float
    cause: str | None = None


# --- from the call service ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallQueued(Event):
    call_id: CallId
    queue_id: QueueId
    customer_id: CustomerId | None
    priority: int
    at: float


@dataclass(frozen=True, slots=True)
class CallOffered(Event):
    call_id: CallId
    agent_id: AgentId
    queue_id: QueueId
    at: float


@dataclass(frozen=True, slots=True)
class CallOfferWithdrawn(Event):
    """An offer ended without an answer (RONA, or the caller left)."""

    call_id: CallId
    agent_id: AgentId
    reason: str
    at: float


@dataclass(frozen=True, slots=True)
class CallAnswered(Event):
    call_id: CallId
    agent_id: AgentId
    queue_id: QueueId | None
    at: float


@dataclass(frozen=True, slots=True)
class CallEnded(Event):
    call_id: CallId
    agent_id: AgentId | None
    queue_id: QueueId | None
    outcome: str
    at: float


@dataclass(frozen=True, slots=True)
class CallDispositioned(Event):
    call_id: CallId
    agent_id: AgentId
    disposition: str
    note: str
    at: float


@dataclass(frozen=True, slots=True)
class AgentStateChanged(Event):
    agent_id: AgentId
    state: str
    reason: str | None
    call_id: CallId | None
    at: float
