"""What an IVR flow asks the telephony side to do.

A flow is a generator: it yields one of these actions and receives the action's result
through `send()`: the digits for `Collect` (a str, or None on timeout), None for the others.
The FastAGI driver (contactcenter/ivr_driver.py) turns them into AGI commands; tests answer
them by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from contactcenter.ids import QueueId


@dataclass(frozen=True, slots=True)
class Answer:
    """Answer the channel. Result: None."""


@dataclass(frozen=True, slots=True)
class Play:
    """Play a sound file (Asterisk name, no extension). Result: None."""

    prompt: str


@dataclass(frozen=True, slots=True)
class Collect:
    """Play `prompt` (interruptible) and collect up to `max_digits` DTMF digits, waiting
    `timeout_ms` for them. Result: the digits as a str, or None (or "") on timeout."""

    prompt: str
    max_digits: int = 1
    timeout_ms: int = 5000


@dataclass(frozen=True, slots=True)
class SetVariable:
    """Set a channel variable. Result: None."""

    name: str
    value: str


@dataclass(frozen=True, slots=True)
class Enqueue:
    """The flow is done with the caller: queue the call. Result: None. The flow then returns
    its FlowResult, which carries the same queue and priority."""

    queue_id: QueueId
    priority: int = 0


@dataclass(frozen=True, slots=True)
class Hangup:
    """Hang up the caller. Result: None."""


Action = Answer | Play | Collect | SetVariable | Enqueue | Hangup
