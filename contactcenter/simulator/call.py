"""One simulated call's channel state and signals: the AGI host side (variables, answer, digits),
the caller's hang-up, the server's AMI Hangup and Redirect, and the final Hangup events.

The dialplan steps that move the call along are in dialplan.py.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Protocol

from contactcenter.clock import Clock
from contactcenter.simulator import frames
from contactcenter.simulator.agi_commands import AgiTiming
from contactcenter.simulator.channels import Channel, ChannelFactory, ChannelState
from contactcenter.simulator.outbound import AmdVerdict, Callee
from contactcenter.simulator.truth import CallTruth

__all__ = ["CallSettings", "PbxContext", "SimulatedCall"]

logger = logging.getLogger(__name__)

Fields = list[tuple[str, str]]


@dataclass(frozen=True)
class CallSettings:
    """How the simulated Asterisk and phones behave (shared by every call)."""

    agi_host: str
    agi_port: int
    agi_url_host: str = "127.0.0.1:4573"
    timing: AgiTiming = field(default_factory=AgiTiming)
    phone_answer_delay_s: float = 0.05
    agi_exit_on_hangup: bool = False


class PbxContext(Protocol):
    """What a call needs from the PBX."""

    clock: Clock
    factory: ChannelFactory
    settings: CallSettings
    astdb: dict[tuple[str, str], str]
    callees: dict[str, Callee]  # who answers which number (outbound.py)

    def emit(self, fields: Fields) -> None: ...
    def register(self, chan: Channel, call: SimulatedCall) -> None: ...
    def unregister(self, chan: Channel) -> None: ...
    def phone_answers(self, endpoint: str) -> bool: ...
    def amd_verdict(self, call: SimulatedCall) -> AmdVerdict: ...
    def adopt_leg(self, call: SimulatedCall, leg: Channel, old: Channel | None) -> None: ...
    def leave_bridge(self, leg: Channel) -> None: ...
    def join_conference(self, chan: Channel, room: str) -> None: ...


class SimulatedCall:
    """State and signals of one inbound call (implements AgiHost)."""

    def __init__(
        self,
        pbx: PbxContext,
        channel: Channel,
        truth: CallTruth,
        *,
        patience_s: float,
        talk_s: float,
        digits: list[str] | None = None,
    ) -> None:
        self.pbx = pbx
        self.channel = channel
        self.truth = truth
        self.patience_s = patience_s
        self.talk_s = talk_s
        self.digits = list(digits or [])
        self.interrupted = asyncio.Event()
        self.hangup_by: str | None = None
        self.hangup_cause = 16
        self.goto: tuple[str, str, int] | None = None
        self.agent_leg: Channel | None = None
        self.leg_hangup_cause: int | None = None
        self.failed = False
        self.done = asyncio.Event()
        # Call control requests (AMI actions), carried out by the dialplan task.
        self.extra_goto: tuple[str, str, int] | None = None  # the agent leg's Redirect
        self.bridge_requested = False
        self.bridge_with: Channel | None = None  # Bridge of the held caller with another leg
        self.transfer_to: tuple[str, str] | None = None
        self.talk_deadline: float | None = None

    # --- AgiHost ------------------------------------------------------------------------------

    def emit(self, fields: Fields) -> None:
        self.pbx.emit(fields)

    def set_variable(self, name: str, value: str) -> None:
        self.set_channel_variable(self.channel, name, value)

    def set_channel_variable(self, chan: Channel, name: str, value: str) -> None:
        chan.variables[name] = value
        self.emit(frames.varset(chan, name, value))

    def answer(self) -> None:
        if self.channel.state != ChannelState.UP:
            self.channel.state = ChannelState.UP
            self.emit(frames.newstate(self.channel))

    def hangup_from_agi(self) -> None:
        self.request_hangup("server", 16)

    def next_digits(self) -> str | None:
        return self.digits.pop(0) if self.digits else None

    def heard(self, what: str) -> None:
        self.truth.heard.append(what)

    # --- signals ------------------------------------------------------------------------------

    @property
    def bridged(self) -> bool:
        return bool(self.channel.bridge_id)

    def caller_hangs_up(self) -> None:
        """The caller's BYE: HangupRequest at once, the rest when the dialplan lets go."""
        if self.hangup_by is not None or self.channel.hung_up:
            return
        self.hangup_by = "caller"
        self.hangup_cause = 16
        self.emit(frames.hangup_request(self.channel))
        self.interrupted.set()

    def request_hangup(self, by: str, cause: int) -> None:
        if self.hangup_by is not None or self.channel.hung_up:
            return
        self.hangup_by = by
        self.hangup_cause = cause
        self.interrupted.set()

    def request_leg_hangup(self, cause: int) -> None:
        """An AMI Hangup of the agent's leg (the agent side ends the call)."""
        if self.leg_hangup_cause is None:
            self.leg_hangup_cause = cause
            self.interrupted.set()

    def request_redirect(
        self,
        context: str,
        exten: str,
        priority: int,
        extra: tuple[str, str, int] | None = None,
    ) -> None:
        """An AMI Redirect of the caller; `extra` moves the agent's leg too (ExtraChannel)."""
        if self.hangup_by is not None or self.channel.hung_up:
            return
        self.goto = (context, exten, priority)
        self.extra_goto = extra
        self.interrupted.set()

    def request_bridge(self, with_leg: Channel | None = None) -> None:
        """An AMI Bridge of the held caller with the parked agent leg, or with another leg
        (`with_leg`: the transfer target's, which then becomes the call's agent leg)."""
        self.bridge_requested = True
        self.bridge_with = with_leg
        self.interrupted.set()

    def request_transfer(self, context: str, exten: str) -> None:
        """An AMI BlindTransfer of the agent leg: the caller goes to context,exten."""
        self.transfer_to = (context, exten)
        self.interrupted.set()

    def take_goto(self) -> tuple[str, str, int] | None:
        """Consume a pending Redirect (the interrupt is cleared unless a hang-up is pending)."""
        goto, self.goto = self.goto, None
        if self.hangup_by is None and self.leg_hangup_cause is None:
            self.interrupted.clear()
        return goto

    async def wait_interrupt(self, timeout_s: float | None) -> bool:
        """True if interrupted within timeout_s (None: wait for ever)."""
        if self.interrupted.is_set():
            return True
        try:
            await asyncio.wait_for(self.interrupted.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    # --- the end ------------------------------------------------------------------------------

    def hang_up_leg(self, leg: Channel, cause: int) -> None:
        leg.hung_up = True
        self.emit(frames.hangup(leg, cause))
        self.pbx.unregister(leg)

    def finish(self, cause: int | None = None, *, soft_request: bool = True) -> None:
        """The caller's channel goes away: SoftHangupRequest (unless the caller's BYE did it),
        Hangup, and the ground truth is settled."""
        chan = self.channel
        if chan.hung_up:
            return
        if self.hangup_by is None:
            self.hangup_by = "server"
        if cause is None:
            # A BYE outside a bridge shows Cause 0 (recorded); an AMI Hangup its own cause.
            cause = 0 if self.hangup_by == "caller" else self.hangup_cause
        if soft_request:
            self.emit(frames.soft_hangup_request(chan, 16 if cause == 0 else cause))
        chan.hung_up = True
        self.emit(frames.hangup(chan, cause))
        self.pbx.unregister(chan)
        truth = self.truth
        truth.hung_up_at = self.pbx.clock.now()
        truth.hung_up_by = self.hangup_by
        if truth.answered_at is not None:
            truth.outcome = "answered"
        elif self.failed or truth.arrived_at is None:
            truth.outcome = "failed"
        elif self.hangup_by == "caller":
            truth.outcome = "abandoned"
        else:
            truth.outcome = "failed"
        self.done.set()
        logger.debug(
            "simulated call %d ended uniqueid=%s outcome=%s by=%s",
            truth.seq,
            chan.uniqueid,
            truth.outcome,
            truth.hung_up_by,
        )
