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


# --- call control (agent actions, supervision, outbound) ---------------------------------


@dataclass(frozen=True, slots=True)
class OriginateFinished(Event):
    """The outcome of one outbound dial (`CallControl.originate`), published once per call.

    `outcome` is one of docs/metrics.md's outbound outcomes: answered_human, machine, no_answer,
    busy, failed. `cause` says why in words (e.g. "congestion", "invalid channel"); `amd_status`
    / `amd_cause` are the answering-machine detector's verdict when AMD ran (else None).
    An `answered_human` call goes on: it arrives over FastAGI `outbound` next.
    """

    call_id: CallId
    outcome: str
    cause: str | None
    amd_status: str | None
    amd_cause: str | None
    at: float


@dataclass(frozen=True, slots=True)
class CallbackRequested(Event):
    """A waiting caller asked to be called back (pressed 1 at the offer) and was let go."""

    call_id: CallId
    number: str | None
    queue_id: QueueId | None
    at: float


@dataclass(frozen=True, slots=True)
class CallHeld(Event):
    call_id: CallId
    agent_id: AgentId
    at: float


@dataclass(frozen=True, slots=True)
class CallResumed(Event):
    call_id: CallId
    agent_id: AgentId
    held_s: float
    at: float


@dataclass(frozen=True, slots=True)
class CallTransferred(Event):
    """The agent handed the call on: `kind` agent / queue / number, `mode` blind / attended."""

    call_id: CallId
    agent_id: AgentId
    mode: str
    kind: str
    target: str
    at: float
