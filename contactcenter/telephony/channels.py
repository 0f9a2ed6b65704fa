"""Which Asterisk channel carries which of our calls. Asterisk ids stay inside the adapter."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace

from contactcenter.ids import CallId

__all__ = ["ChannelRef", "ChannelRegistry"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ChannelRef:
    """The Asterisk identity of a caller's channel."""

    call_id: CallId
    channel: str
    uniqueid: str
    linkedid: str | None = None


class ChannelRegistry:
    """CallId <-> (channel name, Uniqueid, Linkedid), both ways. In memory, one per process."""

    def __init__(self) -> None:
        self._by_call: dict[CallId, ChannelRef] = {}
        self._by_uniqueid: dict[str, CallId] = {}
        self._by_channel: dict[str, CallId] = {}
        # The agent's leg of a connected call (DialBegin's DestChannel), and a supervisor's
        # ChanSpy leg per call. Only the adapter sees these names.
        self._agent_leg: dict[CallId, str] = {}
        self._spy_leg: dict[CallId, str] = {}
        # An attended transfer's target leg (consultation), and the waiter for its answer.
        self._consult_leg: dict[CallId, str] = {}
        self._consult_waiter: dict[CallId, asyncio.Future[tuple[str | None, str | None]]] = {}
        # Agent-first callbacks: the agent's originated channel (Uniqueid -> call) whose Dial
        # reaches the customer, and the waiter for the agent's answer.
        self._agent_first: dict[str, CallId] = {}
        self._agent_first_waiter: dict[CallId, asyncio.Future[tuple[str | None, str | None]]] = {}

    def __len__(self) -> int:
        return len(self._by_call)

    def register(
        self, call_id: CallId, channel: str, uniqueid: str, linkedid: str | None = None
    ) -> ChannelRef:
        """Remember a caller's channel (from the AGI environment: agi_channel, agi_uniqueid)."""
        self._forget_channels(call_id)
        ref = ChannelRef(call_id, channel, uniqueid, linkedid)
        self._by_call[call_id] = ref
        self._by_uniqueid[uniqueid] = call_id
        self._by_channel[channel] = call_id
        logger.debug("registered call_id=%s channel=%s uniqueid=%s", call_id, channel, uniqueid)
        return ref

    def set_linkedid(self, call_id: CallId, linkedid: str) -> None:
        ref = self._by_call.get(call_id)
        if ref is not None:
            self._by_call[call_id] = replace(ref, linkedid=linkedid)

    def rename(self, call_id: CallId, channel: str) -> None:
        """The channel got a new name (AMI Rename, e.g. after a masquerade)."""
        ref = self._by_call.get(call_id)
        if ref is None:
            return
        if self._by_channel.get(ref.channel) == call_id:
            del self._by_channel[ref.channel]
        self._by_channel[channel] = call_id
        self._by_call[call_id] = replace(ref, channel=channel)

    def refs(self) -> list[ChannelRef]:
        """A snapshot of every registered caller (for a resync after an AMI outage)."""
        return list(self._by_call.values())

    def get(self, call_id: CallId) -> ChannelRef | None:
        return self._by_call.get(call_id)

    def channel_of(self, call_id: CallId) -> str | None:
        ref = self._by_call.get(call_id)
        return None if ref is None else ref.channel

    def by_uniqueid(self, uniqueid: str) -> CallId | None:
        return self._by_uniqueid.get(uniqueid)

    def by_channel(self, channel: str) -> CallId | None:
        return self._by_channel.get(channel)

    def set_agent_leg(self, call_id: CallId, channel: str | None) -> None:
        """The channel of the agent's phone leg (None: there is none now)."""
        if channel is None:
            self._agent_leg.pop(call_id, None)
        else:
            self._agent_leg[call_id] = channel

    def agent_leg_of(self, call_id: CallId) -> str | None:
        return self._agent_leg.get(call_id)

    def call_of_agent_leg(self, channel: str) -> CallId | None:
        for call_id, leg in self._agent_leg.items():
            if leg == channel:
                return call_id
        return None

    def set_spy_leg(self, call_id: CallId, channel: str | None) -> None:
        """The supervisor's ChanSpy channel on this call (None: nobody spies now)."""
        if channel is None:
            self._spy_leg.pop(call_id, None)
        else:
            self._spy_leg[call_id] = channel

    def spy_leg_of(self, call_id: CallId) -> str | None:
        return self._spy_leg.get(call_id)

    def set_consult_leg(self, call_id: CallId, channel: str | None) -> None:
        if channel is None:
            self._consult_leg.pop(call_id, None)
        else:
            self._consult_leg[call_id] = channel

    def consult_leg_of(self, call_id: CallId) -> str | None:
        return self._consult_leg.get(call_id)

    def wait_consult(self, call_id: CallId) -> asyncio.Future[tuple[str | None, str | None]]:
        """A future for the consultation leg's OriginateResponse: (channel, None) when the
        target answered, (None, reason) when not."""
        future: asyncio.Future[tuple[str | None, str | None]] = (
            asyncio.get_running_loop().create_future()
        )
        self._consult_waiter[call_id] = future
        return future

    def consult_answered(self, call_id: CallId, channel: str | None, reason: str | None) -> None:
        future = self._consult_waiter.pop(call_id, None)
        if channel is not None:
            self._consult_leg[call_id] = channel
        if future is not None and not future.done():
            future.set_result((channel, reason))

    def wait_agent_first(self, call_id: CallId) -> asyncio.Future[tuple[str | None, str | None]]:
        """A future for the agent's OriginateResponse of an agent-first callback: (channel,
        None) when the agent answered, (None, reason) when not."""
        future: asyncio.Future[tuple[str | None, str | None]] = (
            asyncio.get_running_loop().create_future()
        )
        self._agent_first_waiter[call_id] = future
        # The Originate's ChannelId is the call id: the agent's channel has it as its Uniqueid
        # from the start, so its DialEnd is known even if it came before the OriginateResponse.
        self._agent_first[str(call_id)] = call_id
        return future

    def agent_first_answered(
        self, call_id: CallId, channel: str | None, uniqueid: str | None, reason: str | None
    ) -> None:
        """The agent's phone answered (`channel`, `uniqueid`) or not (`reason`)."""
        future = self._agent_first_waiter.pop(call_id, None)
        if channel is not None and uniqueid is not None:
            self._agent_first[uniqueid] = call_id
            self._agent_leg[call_id] = channel
        if future is not None and not future.done():
            future.set_result((channel, reason))

    def agent_first_of(self, uniqueid: str) -> CallId | None:
        """The call whose agent-first agent channel has this Uniqueid."""
        return self._agent_first.get(uniqueid)

    def forget(self, call_id: CallId) -> None:
        self._agent_first = {u: c for u, c in self._agent_first.items() if c != call_id}
        waiter_af = self._agent_first_waiter.pop(call_id, None)
        if waiter_af is not None and not waiter_af.done():
            waiter_af.cancel()
        self._forget_channels(call_id)

    def _forget_channels(self, call_id: CallId) -> None:
        self._agent_leg.pop(call_id, None)
        self._spy_leg.pop(call_id, None)
        self._consult_leg.pop(call_id, None)
        waiter = self._consult_waiter.pop(call_id, None)
        if waiter is not None and not waiter.done():
            waiter.cancel()
        ref = self._by_call.pop(call_id, None)
        if ref is None:
            return
        if self._by_uniqueid.get(ref.uniqueid) == call_id:
            del self._by_uniqueid[ref.uniqueid]
        if self._by_channel.get(ref.channel) == call_id:
            del self._by_channel[ref.channel]
