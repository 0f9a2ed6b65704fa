"""ACD configuration and state vocabulary."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from contactcenter.ids import QueueId


class AgentState(StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    NOT_READY = "not_ready"
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"


@dataclass(frozen=True, slots=True)
class QueueConfig:
    id: QueueId
    name: str
    skills: frozenset[str]
    wrapup_s: float = 10.0
    offer_timeout_s: float = 15.0
    sl_threshold_s: float = 20.0
