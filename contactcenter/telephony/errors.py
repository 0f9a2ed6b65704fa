"""Errors of the telephony adapters. All derive from contactcenter.errors.TelephonyError."""

from __future__ import annotations

from typing import TYPE_CHECKING

from contactcenter.errors import AmiUnavailable, TelephonyError

if TYPE_CHECKING:
    from contactcenter.telephony.agi_protocol import AgiReply
    from contactcenter.telephony.ami_protocol import AmiMessage

__all__ = [
    "AgiChannelDead",
    "AgiCommandError",
    "AgiConnectionClosed",
    "AgiError",
    "AgiTimeout",
    "AgiUnknownCommand",
    "AgiUsageError",
    "AmiActionError",
    "AmiAuthError",
    "AmiError",
    "AmiTimeout",
    "AmiUnavailable",
    "TelephonyError",
    "UnknownCall",
]


class AgiError(TelephonyError):
    """A FastAGI session failed."""


class AgiConnectionClosed(AgiError):
    """Asterisk closed the FastAGI socket (EOF), or the session was closed."""


class AgiTimeout(AgiError):
    """No reply to a command within its timeout. The session is closed: it is out of step."""


class AgiCommandError(AgiError):
    """Asterisk answered a command with an error code. `reply` is the parsed reply."""

    def __init__(self, message: str, reply: AgiReply) -> None:
        super().__init__(message)
        self.reply = reply


class AgiChannelDead(AgiCommandError):
    """511: the command is not permitted on a dead channel (the caller hung up)."""


class AgiUnknownCommand(AgiCommandError):
    """510: Asterisk does not know the command."""


class AgiUsageError(AgiCommandError):
    """520: wrong arguments for the command."""


class AmiError(TelephonyError):
    """An AMI operation failed."""


class AmiAuthError(AmiError):
    """Asterisk refused the AMI login (wrong username or secret)."""


class AmiActionError(AmiError):
    """An AMI action answered `Response: Error`. `response` is Asterisk's message."""

    def __init__(self, message: str, response: AmiMessage) -> None:
        super().__init__(message)
        self.response = response


class UnknownCall(TelephonyError):
    """The call id is not (or no longer) known to the telephony adapter."""


class AmiTimeout(AmiError):
    """An AMI action got no response in time."""
