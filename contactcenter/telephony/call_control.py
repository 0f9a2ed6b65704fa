"""CallControl over AMI: every call control of the agent desktop, the supervisor and the dialer.

The contexts named here are those of config/asterisk/extensions.conf (docs/asterisk.md):

- connect: Setvar CC_ENDPOINT / CC_RING_TIMEOUT, Redirect to `cc-connect,s,1`.
- hold: one Redirect moves the caller to `cc-hold` (music) and, with `ExtraChannel`, the agent's
  leg to `cc-agent-hold` (Wait), so the agent's phone stays up. Resume: `Bridge` of the two.
- mute: `MuteAudio` of the agent's leg, direction `in` (what the agent's phone sends).
- DTMF: one `PlayDTMF` per digit on the caller's channel (the far end hears them).
- blind transfer to a number: `BlindTransfer` of the agent's leg to `cc-transfer,<number>`.
- recording: `MixMonitor` / `StopMixMonitor` on the caller's channel.
- supervision: `Originate` of the supervisor's endpoint into `ChanSpy(<agent leg>,q|qw|qB)`.
- outbound: async `Originate` of `dial_template` into `cc-outbound,s,1` (AMD, then FastAGI
  `outbound`), `ChannelId` = the call id, so every later event and the AGI session carry it.
- callback, agent first: async `Originate` of the agent's endpoint into `cc-callback,s,1`
  (`ChannelId` = the call id), which Dials `CC_DIAL` (the customer) with caller ID
  `CC_CALLER_ID`; the customer's leg (DialEnd ANSWER) becomes the call's channel.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable

from contactcenter.ids import CallId
from contactcenter.ports import CallControl, OriginateRequest, SpyMode
from contactcenter.telephony.ami import AmiClient
from contactcenter.telephony.channels import ChannelRegistry
from contactcenter.telephony.errors import AmiActionError, TelephonyError, UnknownCall

__all__ = [
    "AGENT_HOLD_CONTEXT",
    "CALLBACK_CONTEXT",
    "CONFERENCE_CONTEXT",
    "CONNECT_CONTEXT",
    "HOLD_CONTEXT",
    "OUTBOUND_CONTEXT",
    "SPY_OPTIONS",
    "TRANSFER_CONTEXT",
    "AmiCallControl",
    "originate_action_id",
]

logger = logging.getLogger(__name__)

CONNECT_CONTEXT = "cc-connect"
HOLD_CONTEXT = "cc-hold"
AGENT_HOLD_CONTEXT = "cc-agent-hold"
TRANSFER_CONTEXT = "cc-transfer"
OUTBOUND_CONTEXT = "cc-outbound"
CONFERENCE_CONTEXT = "cc-conference"
CALLBACK_CONTEXT = "cc-callback"
# ChanSpy options (app_chanspy): q quiet (no beep, no channel name); w whisper (the supervisor
# talks to the spied channel only); B barge (the supervisor talks to both parties).
SPY_OPTIONS: dict[str, str] = {"listen": "q", "whisper": "qw", "barge": "qB"}
DTMF_DIGITS = frozenset("0123456789*#ABCD")


def originate_action_id(call_id: CallId) -> str:
    """The ActionID of a call's Originate: its OriginateResponse carries it back."""
    return f"orig-{call_id}"


def agent_first_action_id(call_id: CallId) -> str:
    """The ActionID of an agent-first callback's Originate (the agent's phone)."""
    return f"agentfirst-{call_id}"


def spy_action_id(call_id: CallId) -> str:
    return f"spy-{call_id}"


class AmiCallControl:
    """Implements contactcenter.ports.CallControl with AMI actions.

    `dial_template` makes the Originate channel of an outbound number (`PJSIP/{number}@carrier`).
    """

    def __init__(
        self,
        ami: AmiClient,
        registry: ChannelRegistry,
        *,
        dial_template: str = "PJSIP/{number}@carrier",
        expect_originate: Callable[[CallId, bool], None] | None = None,
        on_requeue: Callable[[CallId], None] | None = None,
    ) -> None:
        self._expect = expect_originate
        self._on_requeue = on_requeue
        self._ami = ami
        self._registry = registry
        self._dial_template = dial_template

    def _channel(self, call_id: CallId) -> str:
        channel = self._registry.channel_of(call_id)
        if channel is None:
            raise UnknownCall(f"no Asterisk channel known for call {call_id}")
        return channel

    def _agent_leg(self, call_id: CallId) -> str:
        leg = self._registry.agent_leg_of(call_id)
        if leg is None:
            raise UnknownCall(f"no agent leg known for call {call_id}")
        return leg

    async def _act(self, what: str, call_id: CallId, name: str, fields: dict[str, str]) -> None:
        logger.info("%s call_id=%s %s", what, call_id, fields)
        try:
            await self._ami.action(name, fields)
        except AmiActionError as exc:
            logger.warning("%s failed call_id=%s: %s", what, call_id, exc)
            raise TelephonyError(_message(exc)) from exc

    async def connect_to_agent(self, call_id: CallId, endpoint: str, ring_timeout_s: float) -> None:
        channel = self._channel(call_id)
        ring = str(max(1, math.ceil(ring_timeout_s)))
        logger.info(
            "connect call_id=%s channel=%s endpoint=%s ring_timeout_s=%s",
            call_id, channel, endpoint, ring,
        )  # fmt: skip
        try:
            for name, value in (("CC_ENDPOINT", endpoint), ("CC_RING_TIMEOUT", ring)):
                await self._ami.action(
                    "Setvar", {"Channel": channel, "Variable": name, "Value": value}
                )
            await self._ami.action(
                "Redirect",
                {"Channel": channel, "Context": CONNECT_CONTEXT, "Exten": "s", "Priority": "1"},
            )
        except AmiActionError as exc:
            logger.warning("connect failed call_id=%s: %s", call_id, exc)
            raise TelephonyError(_message(exc)) from exc

    async def hangup(self, call_id: CallId) -> None:
        # An agent-first callback has only the agent's leg until the customer answers.
        if self._registry.channel_of(call_id) is None and self._registry.agent_leg_of(call_id):
            channel = self._agent_leg(call_id)
        else:
            channel = self._channel(call_id)
        await self._act("hangup", call_id, "Hangup", {"Channel": channel, "Cause": "16"})

    async def hold(self, call_id: CallId) -> None:
        fields = {
            "Channel": self._channel(call_id),
            "Context": HOLD_CONTEXT,
            "Exten": "s",
            "Priority": "1",
            "ExtraChannel": self._agent_leg(call_id),
            "ExtraContext": AGENT_HOLD_CONTEXT,
            "ExtraExten": "s",
            "ExtraPriority": "1",
        }
        await self._act("hold", call_id, "Redirect", fields)

    async def unhold(self, call_id: CallId) -> None:
        fields = {"Channel1": self._channel(call_id), "Channel2": self._agent_leg(call_id)}
        await self._act("unhold", call_id, "Bridge", fields)

    async def mute(self, call_id: CallId, muted: bool) -> None:
        fields = {
            "Channel": self._agent_leg(call_id),
            "Direction": "in",
            "State": "on" if muted else "off",
        }
        await self._act("mute", call_id, "MuteAudio", fields)

    async def send_dtmf(self, call_id: CallId, digits: str) -> None:
        bad = sorted(set(digits) - DTMF_DIGITS)
        if not digits or bad:
            raise TelephonyError(f"not DTMF digits: {digits!r}")
        channel = self._channel(call_id)
        for digit in digits:
            await self._act(
                "dtmf", call_id, "PlayDTMF", {"Channel": channel, "Digit": digit, "Duration": "100"}
            )

    async def blind_transfer(self, call_id: CallId, number: str) -> None:
        fields = {"Channel": self._agent_leg(call_id), "Context": TRANSFER_CONTEXT, "Exten": number}
        await self._act("blind transfer", call_id, "BlindTransfer", fields)

    async def start_recording(self, call_id: CallId, filename: str) -> None:
        fields = {"Channel": self._channel(call_id), "File": filename, "Options": "b"}
        await self._act("record", call_id, "MixMonitor", fields)

    async def stop_recording(self, call_id: CallId) -> None:
        channel = self._channel(call_id)
        await self._act("stop recording", call_id, "StopMixMonitor", {"Channel": channel})

    async def spy(self, call_id: CallId, supervisor_endpoint: str, mode: SpyMode) -> None:
        if mode not in SPY_OPTIONS:
            raise TelephonyError(f"unknown spy mode {mode!r}; expected listen, whisper or barge")
        leg = self._agent_leg(call_id)
        # The supervisor's phone shows "Supervisor" and its own extension (as recorded).
        extension = supervisor_endpoint.partition("/")[2].partition("@")[0]
        fields = {
            "Channel": supervisor_endpoint,
            "Application": "ChanSpy",
            "Data": f"{leg},{SPY_OPTIONS[mode]}",
            "CallerID": f'"Supervisor" <{extension}>',
            "Async": "true",
        }
        logger.info("spy call_id=%s %s", call_id, fields)
        try:
            await self._ami.action("Originate", fields, action_id=spy_action_id(call_id))
        except AmiActionError as exc:
            raise TelephonyError(_message(exc)) from exc

    async def stop_spy(self, call_id: CallId) -> None:
        channel = self._registry.spy_leg_of(call_id)
        if channel is None:
            raise UnknownCall(f"no supervisor is listening to call {call_id}")
        await self._act("stop spy", call_id, "Hangup", {"Channel": channel})
        self._registry.set_spy_leg(call_id, None)

    async def consult(
        self, call_id: CallId, endpoint: str, timeout_s: float, caller_id: str | None = None
    ) -> None:
        """Attended transfer, step 1 (the caller is on hold, the agent's leg parked): ring the
        target's `endpoint` into cc-agent-hold and, once it answers, Bridge it with the agent's
        leg. Raises TelephonyError if the target does not answer within `timeout_s`."""
        leg = self._agent_leg(call_id)
        waiter = self._registry.wait_consult(call_id)
        fields = {
            "Channel": endpoint,
            "Context": AGENT_HOLD_CONTEXT,
            "Exten": "s",
            "Priority": "1",
            "Timeout": str(max(1000, int(timeout_s * 1000))),
            "CallerID": f'"Transfer" <{caller_id or ""}>',
            "Async": "true",
        }
        logger.info("consult call_id=%s %s", call_id, fields)
        try:
            await self._ami.action("Originate", fields, action_id=f"consult-{call_id}")
            channel, reason = await asyncio.wait_for(waiter, timeout_s + 5.0)
        except AmiActionError as exc:
            raise TelephonyError(_message(exc)) from exc
        except TimeoutError:
            raise TelephonyError(f"{endpoint} did not answer") from None
        if channel is None:
            raise TelephonyError(f"{endpoint} did not answer (originate reason {reason})")
        try:
            await self._ami.action("Bridge", {"Channel1": leg, "Channel2": channel})
        except AmiActionError as exc:
            await self._hangup_quietly(channel)
            self._registry.set_consult_leg(call_id, None)
            raise TelephonyError(_message(exc)) from exc

    async def complete_transfer(self, call_id: CallId) -> None:
        """Attended transfer, done: the held caller is bridged with the target, whose leg
        becomes the call's agent leg; the transferring agent's leg is hung up."""
        caller = self._channel(call_id)
        target = self._registry.consult_leg_of(call_id)
        if target is None:
            raise UnknownCall(f"no transfer target is on the line for call {call_id}")
        old = self._registry.agent_leg_of(call_id)
        await self._act(
            "complete transfer", call_id, "Bridge", {"Channel1": caller, "Channel2": target}
        )
        self._registry.set_agent_leg(call_id, target)
        self._registry.set_consult_leg(call_id, None)
        if old is not None:
            await self._hangup_quietly(old)

    async def cancel_consult(self, call_id: CallId) -> None:
        """Attended transfer, cancelled: the target's leg is hung up and the caller is bridged
        with the agent again."""
        target = self._registry.consult_leg_of(call_id)
        if target is not None:
            await self._hangup_quietly(target)
            self._registry.set_consult_leg(call_id, None)
        await self.unhold(call_id)

    async def conference(self, call_id: CallId) -> None:
        """Three-way: the caller and the agent's leg (one Redirect with ExtraChannel), then the
        target's leg, into ConfBridge(<call id>) in cc-conference."""
        caller, leg = self._channel(call_id), self._agent_leg(call_id)
        target = self._registry.consult_leg_of(call_id)
        if target is None:
            raise UnknownCall(f"no transfer target is on the line for call {call_id}")
        room = str(call_id)
        fields = {
            "Channel": caller,
            "Context": CONFERENCE_CONTEXT,
            "Exten": room,
            "Priority": "1",
            "ExtraChannel": leg,
            "ExtraContext": CONFERENCE_CONTEXT,
            "ExtraExten": room,
            "ExtraPriority": "1",
        }
        await self._act("conference", call_id, "Redirect", fields)
        target_fields = {"Channel": target, "Context": CONFERENCE_CONTEXT, "Exten": room}
        target_fields["Priority"] = "1"
        await self._act("conference", call_id, "Redirect", target_fields)

    async def leave_conference(self, call_id: CallId) -> None:
        """The transferring agent leaves the conference: the target's leg is the call's now."""
        target = self._registry.consult_leg_of(call_id)
        if target is None:
            raise UnknownCall(f"no transfer target is on the line for call {call_id}")
        old = self._agent_leg(call_id)
        await self._act("leave conference", call_id, "Hangup", {"Channel": old, "Cause": "16"})
        self._registry.set_agent_leg(call_id, target)
        self._registry.set_consult_leg(call_id, None)

    async def drop_consult(self, call_id: CallId) -> None:
        """The target leaves (a conference goes on with the caller and the agent)."""
        target = self._registry.consult_leg_of(call_id)
        if target is None:
            raise UnknownCall(f"no transfer target is on the line for call {call_id}")
        await self._act("drop target", call_id, "Hangup", {"Channel": target, "Cause": "16"})
        self._registry.set_consult_leg(call_id, None)

    async def _hangup_quietly(self, channel: str) -> None:
        try:
            await self._ami.action("Hangup", {"Channel": channel, "Cause": "16"})
        except AmiActionError as exc:
            logger.info("hangup of %s failed: %s", channel, exc)

    async def requeue(self, call_id: CallId) -> None:
        """Redirect of the caller alone to cc-hold (the agent's leg is hung up, as recorded);
        the caller's next BridgeEnter counts as a new connection."""
        fields = {"Channel": self._channel(call_id), "Context": HOLD_CONTEXT, "Exten": "s"}
        fields["Priority"] = "1"
        await self._act("requeue", call_id, "Redirect", fields)
        if self._on_requeue is not None:
            self._on_requeue(call_id)

    async def hangup_agent_leg(self, call_id: CallId) -> None:
        leg = self._agent_leg(call_id)
        await self._act("hangup agent leg", call_id, "Hangup", {"Channel": leg})

    async def originate(self, request: OriginateRequest) -> None:
        number = request.number
        if not number or any(c not in "0123456789+*#" for c in number):
            raise TelephonyError(f"not a dialable number: {number!r}")
        fields: list[tuple[str, str]] = [
            ("Channel", self._dial_template.replace("{number}", number)),
            ("Context", OUTBOUND_CONTEXT),
            ("Exten", "s"),
            ("Priority", "1"),
            ("Timeout", str(max(1000, int(request.timeout_s * 1000)))),
            ("Async", "true"),
            ("ChannelId", request.call_id),
        ]
        if request.caller_id_number or request.caller_id_name:
            name = (request.caller_id_name or "").replace('"', "")
            fields.append(("CallerID", f'"{name}" <{request.caller_id_number or ""}>'))
        variables = [("CC_CALL_ID", request.call_id), ("CC_AMD", "yes" if request.amd else "no")]
        variables.extend(request.variables)
        for key, value in variables:
            fields.append(("Variable", f"{key}={value}"))
        logger.info("originate call_id=%s %s", request.call_id, fields)
        if self._expect is not None:
            self._expect(request.call_id, request.amd)
        try:
            await self._ami.action(
                "Originate", fields, action_id=originate_action_id(request.call_id)
            )
        except AmiActionError as exc:
            raise TelephonyError(_message(exc)) from exc

    async def dial_from_agent(
        self, request: OriginateRequest, endpoint: str, agent_timeout_s: float
    ) -> None:
        """Ring the agent's `endpoint` into cc-callback (their phone shows "Callback" and the
        customer's number); the dialplan then Dials the customer. Returns once the agent
        answered; TelephonyError if they did not within `agent_timeout_s`."""
        number = request.number
        if not number or any(c not in "0123456789+*#" for c in number):
            raise TelephonyError(f"not a dialable number: {number!r}")
        waiter = self._registry.wait_agent_first(request.call_id)
        fields: list[tuple[str, str]] = [
            ("Channel", endpoint),
            ("Context", CALLBACK_CONTEXT),
            ("Exten", "s"),
            ("Priority", "1"),
            ("Timeout", str(max(1000, int(agent_timeout_s * 1000)))),
            ("CallerID", f'"Callback" <{number}>'),
            ("Async", "true"),
            ("ChannelId", request.call_id),
        ]
        variables = [
            ("CC_CALL_ID", request.call_id),
            ("CC_DIAL", self._dial_template.replace("{number}", number)),
            ("CC_CALLER_ID", request.caller_id_number or ""),
            ("CC_RING_TIMEOUT", str(max(1, math.ceil(request.timeout_s)))),
            *request.variables,
        ]
        fields.extend(("Variable", f"{key}={value}") for key, value in variables)
        logger.info("agent-first callback call_id=%s %s", request.call_id, fields)
        try:
            await self._ami.action(
                "Originate", fields, action_id=agent_first_action_id(request.call_id)
            )
            channel, reason = await asyncio.wait_for(waiter, agent_timeout_s + 5.0)
        except AmiActionError as exc:
            self._registry.forget(request.call_id)
            raise TelephonyError(_message(exc)) from exc
        except TimeoutError:
            self._registry.forget(request.call_id)
            raise TelephonyError(f"{endpoint} did not answer") from None
        if channel is None:
            raise TelephonyError(f"{endpoint} did not answer (originate reason {reason})")


def _is_call_control(control: AmiCallControl) -> CallControl:
    return control  # mypy checks that AmiCallControl implements the port


def _message(exc: AmiActionError) -> str:
    return exc.response.get("Message") or str(exc)
