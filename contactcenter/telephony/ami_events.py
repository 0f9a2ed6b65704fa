"""Translate AMI events into domain events at the edge. Asterisk ids do not pass this point."""

from __future__ import annotations

import logging
from collections.abc import Callable

from contactcenter.clock import Clock
from contactcenter.events import CallConnected, CallHungUp, Event
from contactcenter.ids import CallId
from contactcenter.telephony.ami_protocol import AmiMessage
from contactcenter.telephony.channels import ChannelRegistry

__all__ = ["AmiEventTranslator"]

logger = logging.getLogger(__name__)


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

    def _caller(self, msg: AmiMessage) -> CallId | None:
        uniqueid = msg.get("Uniqueid")
        return None if uniqueid is None else self._registry.by_uniqueid(uniqueid)

    def _on_bridge_enter(self, msg: AmiMessage) -> None:
        call_id = self._caller(msg)
        if call_id is None or call_id in self._connected or call_id in self._hung_up:
            return
        self._connected.add(call_id)
        logger.info("call connected call_id=%s bridge=%s", call_id, msg.get("BridgeUniqueid"))
        self._publish(CallConnected(call_id=call_id, at=self._clock.now()))

    def _on_hangup(self, msg: AmiMessage) -> None:
        call_id = self._caller(msg)
        if call_id is None or call_id in self._hung_up:
            return
        self._hung_up.add(call_id)
        self._connected.discard(call_id)
        cause = msg.get("Cause-txt") or msg.get("Cause") or None
        logger.info("call hung up call_id=%s cause=%s", call_id, cause)
        self._publish(CallHungUp(call_id=call_id, at=self._clock.now(), cause=cause))
