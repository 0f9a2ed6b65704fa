"""The simulated channel model: what Asterisk keeps per channel and shows in every AMI event.

Names and ids follow Asterisk 20: a SIP trunk channel is `SIP/trunk-0000000a` (a global counter
in 8 hex digits), a dialed endpoint's leg is `PJSIP/1001-0000000b` (`Local/1001@agents-...;1` for
Local), and a Uniqueid is `<epoch seconds at creation>.<global counter>`. Linkedid ties the
channels of one call together (the caller's Uniqueid).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from contactcenter.clock import Clock

__all__ = [
    "STATE_DESC",
    "Channel",
    "ChannelFactory",
    "ChannelState",
]


class ChannelState:
    """Asterisk's `ast_channel_state` numbers (ChannelState in AMI, CHANNEL STATUS over AGI)."""

    DOWN = 0
    RING = 4
    RINGING = 5
    UP = 6


STATE_DESC = {
    ChannelState.DOWN: "Down",
    ChannelState.RING: "Ring",
    ChannelState.RINGING: "Ringing",
    ChannelState.UP: "Up",
}

UNKNOWN = "<unknown>"


@dataclass
class Channel:
    """One channel. `caller_num`/`caller_name` None mean "not presented" (`<unknown>` on AMI)."""

    name: str
    uniqueid: str
    linkedid: str
    created_at: float
    tech: str
    caller_num: str | None
    caller_name: str | None
    context: str
    exten: str
    priority: int = 1
    state: int = ChannelState.DOWN
    connected_num: str | None = None
    connected_name: str | None = None
    language: str = "en"
    account_code: str = ""
    application: str = ""
    app_data: str = ""
    bridge_id: str = ""
    dnid: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    hung_up: bool = False

    @property
    def state_desc(self) -> str:
        return STATE_DESC.get(self.state, "Unknown")

    def goto(self, context: str, exten: str, priority: int) -> None:
        self.context, self.exten, self.priority = context, exten, priority

    def fields(self, prefix: str = "") -> list[tuple[str, str]]:
        """The standard channel block of AMI events, in Asterisk's order (optionally prefixed,
        as `Dest` in DialBegin)."""
        return [
            (prefix + "Channel", self.name),
            (prefix + "ChannelState", str(self.state)),
            (prefix + "ChannelStateDesc", self.state_desc),
            (prefix + "CallerIDNum", self.caller_num or UNKNOWN),
            (prefix + "CallerIDName", self.caller_name or UNKNOWN),
            (prefix + "ConnectedLineNum", self.connected_num or UNKNOWN),
            (prefix + "ConnectedLineName", self.connected_name or UNKNOWN),
            (prefix + "Language", self.language),
            (prefix + "AccountCode", self.account_code),
            (prefix + "Context", self.context),
            (prefix + "Exten", self.exten),
            (prefix + "Priority", str(self.priority)),
            (prefix + "Uniqueid", self.uniqueid),
            (prefix + "Linkedid", self.linkedid),
        ]


def split_endpoint(endpoint: str) -> tuple[str, str]:
    """`PJSIP/1001` -> ("PJSIP", "1001"); `Local/1001@agents` -> ("Local", "1001@agents")."""
    tech, _, resource = endpoint.partition("/")
    return tech, resource


class ChannelFactory:
    """Allocates channel names and Uniqueids the way one Asterisk instance does."""

    def __init__(self, clock: Clock, *, trunk: str = "SIP/trunk") -> None:
        self._clock = clock
        self._trunk = trunk
        self._name_seq = itertools.count(1)
        self._uid_seq = itertools.count(0)

    def _uniqueid(self) -> str:
        return f"{int(self._clock.now())}.{next(self._uid_seq)}"

    def inbound(
        self, caller_num: str | None, caller_name: str | None, dnid: str, context: str
    ) -> Channel:
        """A caller arriving on the trunk (state Down, at priority 1 of `context`,`dnid`)."""
        uid = self._uniqueid()
        return Channel(
            name=f"{self._trunk}-{next(self._name_seq):08x}",
            uniqueid=uid,
            linkedid=uid,
            created_at=self._clock.now(),
            tech=self._trunk.partition("/")[0],
            caller_num=caller_num,
            caller_name=caller_name,
            context=context,
            exten=dnid,
            dnid=dnid,
        )

    def outbound(self, endpoint: str, caller: Channel, *, context: str = "default") -> Channel:
        """The leg Dial() creates towards `endpoint`: its caller ID is the dialed party, its
        connected line is the caller (as DialBegin's Dest* fields show)."""
        tech, resource = split_endpoint(endpoint)
        seq = next(self._name_seq)
        if tech.lower() == "local":
            name = f"{endpoint}-{seq:08x};1"
            exten, _, context = resource.partition("@")
            context = context or "default"
        else:
            name = f"{endpoint}-{seq:08x}"
            exten = resource
        return Channel(
            name=name,
            uniqueid=self._uniqueid(),
            linkedid=caller.linkedid,
            created_at=self._clock.now(),
            tech=tech,
            caller_num=exten,
            caller_name=None,
            connected_num=caller.caller_num,
            connected_name=caller.caller_name,
            context=context,
            exten=exten,
        )

    def originated(
        self,
        channel: str,
        caller_num: str | None,
        caller_name: str | None,
        uniqueid: str | None,
        context: str,
        exten: str,
    ) -> Channel:
        """The channel an Originate creates (`Local/x@ctx` gets `-0000000d;1`). `uniqueid`:
        the Originate's ChannelId, else the next Uniqueid."""
        tech, resource = split_endpoint(channel)
        seq = next(self._name_seq)
        name = f"{channel}-{seq:08x};1" if tech.lower() == "local" else f"{channel}-{seq:08x}"
        uid = uniqueid or self._uniqueid()
        return Channel(
            name=name,
            uniqueid=uid,
            linkedid=uid,
            created_at=self._clock.now(),
            tech=tech,
            caller_num=caller_num,
            caller_name=caller_name,
            connected_num=caller_num,
            connected_name=caller_name,
            context=context or resource.partition("@")[2] or "default",
            exten=exten or resource.partition("@")[0],
        )
