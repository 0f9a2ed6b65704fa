"""Translate AMI events into domain events at the edge. Asterisk ids do not pass this point."""

from __future__ import annotations

import logging
from collections.abc import Callable

from contactcenter.clock import Clock
from contactcenter.events import CallConnected, CallHungUp, Event
from contactcenter.ids import CallId
from contactcenter.telephony.ami_protocol import AmiMessage
from contactcenter.telephony.channels import ChannelRegistry

__all__ = ["AMI_EVENT_FILTER", "AmiEventTranslator"]

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
)


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
        self._handlers: dict[str, Callable[[AmiMessage], None]] = {
            "bridgeenter": self._on_bridge_enter,
            "hangup": self._on_hangup,
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

    def report_connected(self, call_id: CallId, *, reason: str = "BridgeEnter") -> bool:
        """Publish CallConnected for `call_id` unless it was already reported connected or hung
        up. Returns whether it was published. Used by the event handlers and by the resync."""
        if call_id in self._connected or call_id in self._hung_up:
            return False
        self._connected.add(call_id)
        logger.info("call connected call_id=%s (%s)", call_id, reason)
        self._publish(CallConnected(call_id=call_id, at=self._clock.now()))
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
            self.report_hung_up(call_id, msg.get("Cause-txt") or msg.get("Cause") or None)
