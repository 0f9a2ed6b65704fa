"""Translate AMI events into domain events at the edge. Asterisk ids do not pass this point."""

from __future__ import annotations

import logging
from collections.abc import Callable

from contactcenter.clock import Clock
from contactcenter.events import CallConnected, CallHungUp, Event, OriginateFinished
from contactcenter.ids import CallId
from contactcenter.telephony.ami_protocol import AmiMessage
from contactcenter.telephony.channels import ChannelRegistry

__all__ = ["AMI_EVENT_FILTER", "AmiEventTranslator", "amd_outcome", "originate_outcome"]

logger = logging.getLogger(__name__)

# The AMI events the server asks Asterisk for (one `Filter` action each after every login), so
# that a busy Asterisk does not flood it with Newexten, VarSet of every channel, RTCP, Cdr...:
# the ones translated today (BridgeEnter, Hangup) and the ones the call model will need
# (dialer: OriginateResponse; transfers, hold, recording). Responses to actions and the events
# of list actions (CoreShowChannel, Status) are not filtered by Asterisk.
AMI_EVENT_FILTER: tuple[str, ...] = (
    "Newchannel",
    "Newstate",
    "DialBegin",
    "DialEnd",
    "BridgeEnter",
    "BridgeLeave",
    "Hangup",
    "Hold",
    "Unhold",
    "OriginateResponse",
    "VarSet",
    "MixMonitorStart",
    "MixMonitorStop",
    "BlindTransfer",
    "AttendedTransfer",
    "ChanSpyStart",
    "ChanSpyStop",
)

# OriginateResponse `Reason` (Asterisk's AST_CONTROL_* of the dialed leg) -> (outcome, cause).
# Recorded: 4 answered, 5 busy, 3 no answer (timeout), 8 congestion, 0 failure (unknown peer,
# unknown technology, missing extension). 1 (the far end hung up before answering) is
# Asterisk's AST_CONTROL_HANGUP.
_REASONS: dict[str, tuple[str, str]] = {
    "5": ("busy", "busy"),
    "3": ("no_answer", "no answer"),
    "1": ("no_answer", "hung up before answer"),
    "8": ("failed", "congestion"),
    "0": ("failed", "invalid channel or number"),
}


# DialStatus of an agent-first callback's Dial to the customer -> (outcome, cause).
_DIAL_STATUSES: dict[str, tuple[str, str | None]] = {
    "ANSWER": ("answered_human", None),
    "BUSY": ("busy", "busy"),
    "NOANSWER": ("no_answer", "no answer"),
    "CANCEL": ("failed", "the agent hung up before the answer"),
    "CONGESTION": ("failed", "congestion"),
    "CHANUNAVAIL": ("failed", "channel unavailable"),
}


def originate_outcome(reason: str | None) -> tuple[str, str | None]:
    """The outcome of an OriginateResponse that did not answer (`answered` for Reason 4)."""
    if reason == "4":
        return "answered", None
    return _REASONS.get(reason or "", ("failed", f"originate reason {reason}"))


def amd_outcome(status: str | None) -> tuple[str, str | None]:
    """AMDSTATUS -> (outcome, cause). NOTSURE counts as a person (a live answer must not be
    dropped on a guess); HANGUP (the callee left during detection) as no answer."""
    status = (status or "").upper()
    if status == "HUMAN":
        return "answered_human", None
    if status == "NOTSURE":
        return "answered_human", "amd not sure"
    if status == "MACHINE":
        return "machine", None
    if status == "HANGUP":
        return "no_answer", "hung up during amd"
    return "failed", f"amd status {status or 'missing'}"


class _Originate:
    __slots__ = ("amd", "amd_cause", "amd_status", "answered")

    def __init__(self, amd: bool) -> None:
        self.amd = amd
        self.answered = False
        self.amd_status: str | None = None
        self.amd_cause: str | None = None


class AmiEventTranslator:
    """Feed it every AMI event (`AmiClient(on_event=translator.handle)`).

    BridgeEnter of a registered caller's Uniqueid -> CallConnected (once per call);
    Hangup of a registered caller -> CallHungUp (once per call). Other events are ignored.
    Add a translation by adding a method and an entry to `_handlers`.
    """

    def __init__(
        self, registry: ChannelRegistry, clock: Clock, publish: Callable[[Event], None]
    ) -> None:
        self._registry = registry
        self._clock = clock
        self._publish = publish
        self._connected: set[CallId] = set()
        self._hung_up: set[CallId] = set()
        # Outbound dials whose outcome is not yet published (call id -> state).
        self._originates: dict[CallId, _Originate] = {}
        self._handlers: dict[str, Callable[[AmiMessage], None]] = {
            "bridgeenter": self._on_bridge_enter,
            "hangup": self._on_hangup,
            "dialbegin": self._on_dial_begin,
            "dialend": self._on_dial_end,
            "originateresponse": self._on_originate_response,
            "varset": self._on_varset,
            "chanspystop": self._on_spy_stop,
        }

    def handle(self, msg: AmiMessage) -> None:
        event = msg.event
        if event is None:
            return
        handler = self._handlers.get(event.lower())
        if handler is not None:
            handler(msg)

    def forget(self, call_id: CallId) -> None:
        """Drop the once-per-call memory of a finished call."""
        self._connected.discard(call_id)
        self._hung_up.discard(call_id)
        self._originates.pop(call_id, None)

    def forget_connected(self, call_id: CallId) -> None:
        """The caller left the agent to wait again (transfer to a queue): their next bridge
        is a new connection."""
        self._connected.discard(call_id)

    def was_connected(self, call_id: CallId) -> bool:
        return call_id in self._connected

    def report_connected(
        self, call_id: CallId, *, reason: str = "BridgeEnter", at: float | None = None
    ) -> bool:
        """Publish CallConnected for `call_id` unless it was already reported connected or hung
        up. Returns whether it was published. Used by the event handlers and by the resync
        (`at`: when it happened, if known; else now)."""
        if call_id in self._connected or call_id in self._hung_up:
            return False
        self._connected.add(call_id)
        logger.info("call connected call_id=%s (%s)", call_id, reason)
        when = self._clock.now() if at is None else at
        self._publish(CallConnected(call_id=call_id, at=when))
        return True

    def report_hung_up(self, call_id: CallId, cause: str | None) -> bool:
        """Publish CallHungUp for `call_id` unless it was already reported hung up. Returns
        whether it was published."""
        if call_id in self._hung_up:
            return False
        self._hung_up.add(call_id)
        self._connected.discard(call_id)
        logger.info("call hung up call_id=%s cause=%s", call_id, cause)
        self._publish(CallHungUp(call_id=call_id, at=self._clock.now(), cause=cause))
        return True

    def _caller(self, msg: AmiMessage) -> CallId | None:
        uniqueid = msg.get("Uniqueid")
        return None if uniqueid is None else self._registry.by_uniqueid(uniqueid)

    def _on_bridge_enter(self, msg: AmiMessage) -> None:
        call_id = self._caller(msg)
        if call_id is not None:
            self.report_connected(call_id, reason=f"bridge {msg.get('BridgeUniqueid')}")

    def _on_hangup(self, msg: AmiMessage) -> None:
        call_id = self._caller(msg)
        if call_id is not None:
            pending = self._originates.get(call_id)
            if pending is not None and pending.answered:
                # Answered, but gone before AMD said anything.
                self._finish_originate(call_id, "no_answer", "hung up during amd")
            self.report_hung_up(call_id, msg.get("Cause-txt") or msg.get("Cause") or None)
            return
        channel = msg.get("Channel")
        if channel is None:
            return
        leg_of = self._registry.call_of_agent_leg(channel)
        if leg_of is not None:
            self._registry.set_agent_leg(leg_of, None)

    # --- the agent's leg -------------------------------------------------------------------

    def _on_dial_begin(self, msg: AmiMessage) -> None:
        call_id = self._caller(msg)
        dest = msg.get("DestChannel")
        if call_id is not None and dest:
            self._registry.set_agent_leg(call_id, dest)

    def _on_dial_end(self, msg: AmiMessage) -> None:
        agent_first = self._registry.agent_first_of(msg.get("Uniqueid") or "")
        if agent_first is not None:
            self._agent_first_dialled(agent_first, msg)
            return
        call_id = self._caller(msg)
        answered = (msg.get("DialStatus") or "").upper() == "ANSWER"
        if (
            call_id is not None
            and not answered
            and self._registry.agent_leg_of(call_id) == msg.get("DestChannel")
        ):
            self._registry.set_agent_leg(call_id, None)

    def _on_spy_stop(self, msg: AmiMessage) -> None:
        spyer = msg.get("SpyerChannel")
        for ref in self._registry.refs():
            if self._registry.spy_leg_of(ref.call_id) == spyer:
                self._registry.set_spy_leg(ref.call_id, None)

    def _agent_first_dialled(self, call_id: CallId, msg: AmiMessage) -> None:
        """The agent's channel Dialled the customer: on ANSWER the customer's leg becomes the
        call's channel (its BridgeEnter connects the call, its Hangup ends it) and the agent's
        channel its agent leg. Either way, the dial's outcome is published once."""
        status = (msg.get("DialStatus") or "").upper()
        outcome, cause = _DIAL_STATUSES.get(status, ("failed", f"dial status {status}"))
        dest, dest_uid, agent = msg.get("DestChannel"), msg.get("DestUniqueid"), msg.get("Channel")
        if outcome == "answered_human" and dest and dest_uid:
            self._registry.register(call_id, dest, dest_uid)
            if agent:
                self._registry.set_agent_leg(call_id, agent)
        logger.info("agent-first dial finished call_id=%s status=%s", call_id, status)
        self._publish(
            OriginateFinished(
                call_id=call_id,
                outcome=outcome,
                cause=cause,
                amd_status=None,
                amd_cause=None,
                at=self._clock.now(),
            )
        )

    # --- outbound dials --------------------------------------------------------------------

    def expect_originate(self, call_id: CallId, amd: bool) -> None:
        """An Originate for `call_id` is about to be sent (ActionID `orig-<call id>`,
        ChannelId = the call id); with `amd`, the outcome waits for AMDSTATUS/AMDCAUSE."""
        self._originates[call_id] = _Originate(amd)

    def _on_originate_response(self, msg: AmiMessage) -> None:
        action_id = msg.action_id or ""
        kind, _, rest = action_id.partition("-")
        call_id = CallId(rest)
        success = (msg.get("Response") or "").lower() == "success"
        if kind == "spy":
            channel = msg.get("Channel")
            if success and channel:
                self._registry.set_spy_leg(call_id, channel)
            else:
                reason = msg.get("Reason")
                logger.warning("supervisor leg failed call_id=%s reason=%s", rest, reason)
            return
        if kind == "agentfirst":
            self._registry.agent_first_answered(
                call_id,
                msg.get("Channel") if success else None,
                msg.get("Uniqueid") if success else None,
                None if success else msg.get("Reason"),
            )
            return
        if kind == "consult":
            channel = msg.get("Channel") if success else None
            self._registry.consult_answered(
                call_id, channel, None if success else msg.get("Reason")
            )
            return
        if kind != "orig":
            return
        pending = self._originates.get(call_id)
        if pending is None:
            return
        outcome, cause = originate_outcome(msg.get("Reason") if not success else "4")
        if outcome != "answered":
            self._finish_originate(call_id, outcome, cause)
            return
        pending.answered = True
        channel, uniqueid = msg.get("Channel"), msg.get("Uniqueid")
        if channel and uniqueid:
            self._registry.register(call_id, channel, uniqueid)
        if not pending.amd:
            self._finish_originate(call_id, "answered_human", None)

    def _on_varset(self, msg: AmiMessage) -> None:
        variable = (msg.get("Variable") or "").upper()
        if variable not in ("AMDSTATUS", "AMDCAUSE"):
            return
        call_id = self._caller(msg)
        pending = self._originates.get(call_id) if call_id is not None else None
        if call_id is None or pending is None:
            return
        if variable == "AMDSTATUS":
            pending.amd_status = msg.get("Value") or ""
            return
        pending.amd_cause = msg.get("Value") or ""
        outcome, cause = amd_outcome(pending.amd_status)
        self._finish_originate(call_id, outcome, cause)

    def _finish_originate(self, call_id: CallId, outcome: str, cause: str | None) -> None:
        pending = self._originates.pop(call_id, None)
        if pending is None:
            return
        logger.info("originate finished call_id=%s outcome=%s cause=%s", call_id, outcome, cause)
        self._publish(
            OriginateFinished(
                call_id=call_id,
                outcome=outcome,
                cause=cause,
                amd_status=pending.amd_status,
                amd_cause=pending.amd_cause,
                at=self._clock.now(),
            )
        )

    def fail_originate(self, call_id: CallId, cause: str) -> None:
        """The Originate action itself was refused (`Response: Error`): publish its failure."""
        self._finish_originate(call_id, "failed", cause)
