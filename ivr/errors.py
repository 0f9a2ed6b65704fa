"""Errors of the IVR flow engine."""

from __future__ import annotations

from contactcenter.errors import ConfigError, ContactCenterError


class IvrError(ContactCenterError):
    """Base of the IVR engine's errors."""


class FlowConfigError(IvrError, ConfigError):
    """A flow's configuration is invalid (say, a menu option that is not a DTMF key)."""
