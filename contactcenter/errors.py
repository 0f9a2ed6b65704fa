"""Errors of the server shell. Each package has its own errors module deriving from these."""

from __future__ import annotations


class ContactCenterError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(ContactCenterError):
    """Settings or a config file is invalid. The message names the file, line and key."""


class NotFound(ContactCenterError):
    """A record that was asked for does not exist."""


class Forbidden(ContactCenterError):
    """The user may not do this."""


class InvalidRequest(ContactCenterError):
    """A request payload is invalid. `field` names the offending field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class TelephonyError(ContactCenterError):
    """Asterisk (or the simulator) refused or could not carry out an action."""


class AmiUnavailable(TelephonyError):
    """The AMI connection is down."""
