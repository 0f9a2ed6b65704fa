"""Runs a pure IVR flow (a generator of actions, ivr/) over a FastAGI session."""

from __future__ import annotations

import logging
from collections.abc import Generator

from contactcenter.telephony.agi_session import AgiSession
from ivr import actions as a
from ivr.flows import FlowResult

logger = logging.getLogger(__name__)


async def perform(session: AgiSession, action: a.Action, *, answered: bool = False) -> object:
    """Carry out one action and return what the flow receives back."""
    if isinstance(action, a.Answer):
        if not answered:
            await session.answer()
        return None
    if isinstance(action, a.Play):
        await session.stream_file(action.prompt)
        return None
    if isinstance(action, a.Collect):
        return await session.get_data(action.prompt, action.timeout_ms, action.max_digits)
    if isinstance(action, a.SetVariable):
        await session.set_variable(action.name, action.value)
        return None
    if isinstance(action, a.Hangup):
        await session.hangup()
        return None
    if isinstance(action, a.Enqueue):
        return None  # queueing is the caller's job, from the flow's result
    raise TypeError(f"unknown IVR action {action!r}")


async def run_flow(
    session: AgiSession,
    flow: Generator[a.Action, object, FlowResult],
    *,
    answered: bool = False,
) -> FlowResult:
    """Drive the flow to its end. `answered`: the channel is already answered (the flow's
    Answer actions are then no-ops)."""
    try:
        action = next(flow)
        while True:
            action = flow.send(await perform(session, action, answered=answered))
    except StopIteration as stop:
        result: FlowResult = stop.value
        return result
