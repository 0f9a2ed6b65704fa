"""A call in progress as the CallService holds it, and what the CallService needs of the
agents' side (contactcenter/call_service.py and the modules it is split into)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Protocol

from contactcenter.ids import AgentId
from contactcenter.records import CallRecord, Customer


class Phase(StrEnum):
    DIALING = "dialing"  # outbound: the Originate is out, no outcome yet
    IVR = "ivr"
    QUEUED = "queued"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    ENDED = "ended"


class AgentNotifier(Protocol):
    async def to_agent(self, agent_id: AgentId, event: str, payload: dict[str, Any]) -> None: ...


class AgentDirectory(Protocol):
    def endpoint_of(self, agent_id: AgentId) -> str | None: ...
    def call_handled(self, agent_id: AgentId) -> None: ...


@dataclass(slots=True)
class LiveCall:
    record: CallRecord
    customer: Customer | None
    history: list[CallRecord]
    phase: Phase = Phase.IVR
    # Set when the FastAGI session should let the caller go (connecting, or the call is over).
    released: asyncio.Event = field(default_factory=asyncio.Event)
    # Call control state of a connected call.
    held_since: float | None = None
    muted: bool = False
    recording: str | None = None
    spy: tuple[str, str] | None = None  # (supervisor endpoint, mode)
    busy: bool = False  # a call control action is in flight
    consult: Consult | None = None  # an attended transfer in progress
    conference: bool = False  # caller, agent and target together (ConfBridge)
    # Talk accounting across agents (a call transferred to a queue is answered again):
    # talk of earlier agents, and when the current agent's talk (and its hold base) began.
    prior_talk_s: float = 0.0
    talk_from: float | None = None
    hold_base_s: float = 0.0
    # A callback keeps the place its request had in the queue (the ACD's FCFS order).
    place_at: float | None = None
    # A callback attempt (callback_dialer.py): shown in the offer; no PBX channel until dialled.
    callback: dict[str, Any] | None = None


@dataclass(slots=True)
class Consult:
    """An attended transfer: the caller is on hold while the agent talks to the target."""

    kind: str  # "agent" | "number"
    target: str
    target_agent: AgentId | None
    started_at: float


TransferMode = Literal["blind", "attended"]
TransferKind = Literal["agent", "queue", "number"]
