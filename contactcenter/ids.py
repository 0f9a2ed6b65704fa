"""Identifiers the whole code base speaks. Asterisk's own ids stay inside the telephony adapter."""

from __future__ import annotations

import uuid
from typing import NewType

CallId = NewType("CallId", str)
AgentId = NewType("AgentId", str)
QueueId = NewType("QueueId", str)
CustomerId = NewType("CustomerId", int)
CampaignId = NewType("CampaignId", str)


def new_call_id() -> CallId:
    """A fresh, globally unique call id (32 hex digits)."""
    return CallId(uuid.uuid4().hex)
