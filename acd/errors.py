"""Errors of the ACD core. A *request* the core cannot honour raises one of these (and leaves
the core's state untouched); a stale *fact* (a late timer, a hang-up of a call already gone) is
not an error: it yields no outputs."""

from __future__ import annotations

from contactcenter.errors import ContactCenterError


class AcdError(ContactCenterError):
    """Base of the ACD core's errors."""


class UnknownAgent(AcdError):
    """The agent never logged in to this ACD."""


class UnknownQueue(AcdError):
    """The queue is not configured."""


class OfferNotFound(AcdError):
    """An accept for an offer that is not (or no longer) live: the call was withdrawn, went to
    another agent, was never offered to this agent, or is unknown."""


class InvalidTransition(AcdError):
    """The request does not fit the agent's or the call's current state (for example a Ready
    from a logged-out agent, a logout while on a call, or a call enqueued twice)."""


class InvalidSkills(AcdError):
    """A login whose skill levels are out of range (1-10) or name a skill the agent lacks."""


class CallNotWaiting(AcdError):
    """The request needs a waiting call, and the call is with an agent, gone, or unknown."""


class InvalidPenalty(AcdError):
    """A login whose queue penalty is negative."""
