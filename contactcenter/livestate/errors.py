"""Errors of the live-state adapters."""

from __future__ import annotations

from contactcenter.errors import ContactCenterError


class LiveStateUnavailable(ContactCenterError):
    """The shared live state (Redis) cannot be reached or refused the command."""
