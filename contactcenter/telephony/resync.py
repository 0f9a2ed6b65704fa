"""Resynchronise the calls we follow with Asterisk after an AMI (re)login.

While the AMI link is down, Asterisk's events are lost: a caller who reached an agent, or hung
up, in that time would stay "connecting" or "in progress" forever. After every login the
AmiClient awaits `on_connect`; this is it::

    resync = AmiResync(ami, registry, translator, clock)
    ami.on_connect = resync            # or AmiClient(..., on_connect=...)

It lists the live channels (`CoreShowChannels`) and compares them with the callers in the
ChannelRegistry:

- a registered caller whose channel is gone hung up during the outage: the translator publishes
  the missing CallHungUp (cause `lost during AMI outage`);
- a registered caller whose channel is in a bridge (`BridgeId` not empty) reached the agent: the
  translator publishes CallConnected, unless it already did.

Both go through the translator's once-per-call memory, so an event that did arrive (before the
outage, or on the new connection while the list was being read) is never reported twice.
Only callers registered before the action was sent are judged, so a call that arrived after
Asterisk built the list is not mistaken for a lost one.

A caller who was connected AND hung up inside the outage leaves no channel to list; the
dialplan's `cc-answered` (Dial option U) noted the answer time in AstDB
(`cc_answered/<Uniqueid>`), so for each gone caller the resync asks `DBGet`: a note means the
call was answered then (CallConnected with that time, then CallHungUp); none means it never was.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field

from contactcenter.clock import Clock
from contactcenter.errors import AmiUnavailable
from contactcenter.telephony.ami import AmiClient
from contactcenter.telephony.ami_events import AmiEventTranslator
from contactcenter.telephony.ami_protocol import AmiMessage
from contactcenter.telephony.channels import ChannelRegistry
from contactcenter.telephony.errors import AmiActionError, AmiError

__all__ = ["ANSWERED_FAMILY", "LOST_CAUSE", "AmiResync", "ResyncResult"]

logger = logging.getLogger(__name__)

LOST_CAUSE = "lost during AMI outage"
# AstDB family where the dialplan notes when an agent answered a caller (cc-answered).
ANSWERED_FAMILY = "cc_answered"


@dataclass(slots=True)
class ResyncResult:
    """What one resync found (for logs and tests): call ids reported connected / hung up."""

    channels: int = 0
    connected: list[str] = field(default_factory=list)
    hung_up: list[str] = field(default_factory=list)


class AmiResync:
    """The AmiClient's `on_connect`: after each (re)login, report what the outage hid.

    Harmless on the first login: with no registered callers it sends nothing.
    """

    def __init__(
        self,
        ami: AmiClient,
        registry: ChannelRegistry,
        translator: AmiEventTranslator,
        clock: Clock,
        *,
        timeout_s: float = 10.0,
    ) -> None:
        self._ami = ami
        self._registry = registry
        self._translator = translator
        self._clock = clock
        self._timeout_s = timeout_s
        self.runs = 0
        self.last: ResyncResult | None = None

    async def __call__(self) -> None:
        await self.resync()

    async def _answered_at(self, uniqueid: str) -> float | None:
        """When the agent answered this caller, from the AstDB note that the dialplan's
        Dial(...,U(cc-answered^${UNIQUEID})) writes (None: never answered, or unknown)."""
        key = {"Family": ANSWERED_FAMILY, "Key": uniqueid}
        try:
            items = await self._ami.list_action("DBGet", key, timeout_s=self._timeout_s)
        except AmiActionError:
            return None  # "Database entry not found": the agent never answered
        except (AmiError, AmiUnavailable) as exc:
            logger.warning("AMI DBGet failed uniqueid=%s: %s", uniqueid, exc)
            return None
        value = next((i.get("Val") for i in items if i.event == "DBGetResponse"), None)
        try:
            answered_at = float(value) if value else None
        except ValueError:
            logger.warning("AstDB %s/%s is not a time: %r", ANSWERED_FAMILY, uniqueid, value)
            return None
        with contextlib.suppress(AmiError, AmiUnavailable):
            await self._ami.action("DBDel", key, timeout_s=self._timeout_s)
        return answered_at

    async def resync(self) -> ResyncResult | None:
        """Run one resync; None when there was nothing to check or AMI failed meanwhile."""
        refs = self._registry.refs()  # before the action: these channels existed when it ran
        if not refs:
            return None
        started = self._clock.now()
        try:
            items = await self._ami.list_action("CoreShowChannels", timeout_s=self._timeout_s)
        except (AmiError, AmiUnavailable) as exc:
            logger.warning("AMI resync failed (the next login retries): %s", exc)
            return None
        by_uniqueid: dict[str, AmiMessage] = {}
        by_channel: dict[str, AmiMessage] = {}
        for item in items:
            if (item.event or "").lower() != "coreshowchannel":
                continue
            uniqueid, channel = item.get("Uniqueid"), item.get("Channel")
            if uniqueid:
                by_uniqueid[uniqueid] = item
            if channel:
                by_channel[channel] = item
        result = ResyncResult()
        result.channels = len(by_uniqueid)
        for ref in refs:
            current = self._registry.get(ref.call_id)
            if current is None or current.uniqueid != ref.uniqueid:
                continue  # ended (or re-registered) while the list was read
            found = by_uniqueid.get(current.uniqueid) or by_channel.get(current.channel)
            if found is None:
                answered_at = await self._answered_at(current.uniqueid)
                if answered_at is not None and self._translator.report_connected(
                    current.call_id, reason="answered in the dark (AstDB)", at=answered_at
                ):
                    result.connected.append(current.call_id)
                if self._translator.report_hung_up(current.call_id, LOST_CAUSE):
                    result.hung_up.append(current.call_id)
            elif found.get("BridgeId") and self._translator.report_connected(
                current.call_id, reason="bridged, seen by the AMI resync"
            ):
                result.connected.append(current.call_id)
        self.runs += 1
        self.last = result
        logger.info(
            "AMI resync: %d channels, %d callers followed, %d connected and %d hung up during "
            "the outage (%.3fs)",
            result.channels,
            len(refs),
            len(result.connected),
            len(result.hung_up),
            self._clock.now() - started,
        )
        return result
