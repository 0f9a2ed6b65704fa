"""Errors of the persistence adapter."""

from __future__ import annotations

from contactcenter.errors import ContactCenterError, InvalidRequest


class PersistenceError(ContactCenterError):
    """The database refused or could not carry out an operation."""


class DuplicateRecord(InvalidRequest):
    """A unique value (phone number, account number, username) is already taken.

    `field` names the offending field when it is known.
    """
