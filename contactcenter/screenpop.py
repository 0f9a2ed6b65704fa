"""JSON shapes sent to desktops and returned by the HTTP API (see docs/realtime.md)."""

from __future__ import annotations

from typing import Any

from contactcenter.records import CallRecord, Customer


def call_json(call: CallRecord) -> dict[str, Any]:
    return {
        "id": call.id,
        "direction": call.direction.value,
        "caller_number": call.caller_number,
        "dialed_number": call.dialed_number,
        "customer_id": call.customer_id,
        "queue_id": call.queue_id,
        "agent_id": call.agent_id,
        "arrived_at": call.arrived_at,
        "queued_at": call.queued_at,
        "offered_at": call.offered_at,
        "answered_at": call.answered_at,
        "ended_at": call.ended_at,
        "wait_s": call.wait_s,
        "talk_s": call.talk_s,
        "hold_s": call.hold_s,
        "wrap_s": call.wrap_s,
        "outcome": call.outcome.value if call.outcome else None,
        "transferred": call.transferred,
        "disposition": call.disposition,
        "note": call.note,
        "priority": call.priority,
        "ivr_path": list(call.ivr_path),
        "recording": call.recording,
        "ivr_digits": ivr_digits(call.ivr_path),
    }


def customer_json(customer: Customer | None) -> dict[str, Any] | None:
    if customer is None:
        return None
    return {
        "id": customer.id,
        "name": customer.name,
        "phones": list(customer.phones),
        "account_number": customer.account_number,
        "value_tier": customer.value_tier.value,
        "notes": customer.notes,
    }


def customer_pop(customer: Customer | None, history: list[CallRecord]) -> dict[str, Any]:
    """The customer part of a screen pop: the record and their last calls, newest first."""
    return {"customer": customer_json(customer), "history": [call_json(c) for c in history]}


def ivr_digits(path: tuple[str, ...] | list[str]) -> str:
    """The digits the caller pressed, read from the IVR path ("menu:2" -> "2")."""
    out = []
    for step in path:
        _, _, choice = step.rpartition(":")
        if choice and all(ch.isdigit() or ch in "*#" for ch in choice):
            out.append(choice)
    return "".join(out)
