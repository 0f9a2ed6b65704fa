"""The shared ACD of a cluster node (contactcenter/cluster.py): decisions are made by the shared
queues on whichever node asks; each output is handled on the node that can act on it.

* OfferCall, WithdrawOffer, CallOverflowed, CallMoved: the node holding the call (its FastAGI
  session, hence its LiveCall).
* AgentStateChanged, OfferTimedOut: the node the agent logged in through (their desktop, their
  AgentService entry).
A node that is not known (never recorded, or its record expired) means "here".
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from acd import messages as m
from acd.model import AgentState, QueueStatus
from acd.state import AgentView
from contactcenter.acd_service import Acd
from contactcenter.acd_shell import AcdShell
from contactcenter.clock import Clock
from contactcenter.cluster import Body, Cluster
from contactcenter.ids import AgentId, CallId, QueueId

logger = logging.getLogger(__name__)

_CALL_OUTPUTS = (m.OfferCall, m.WithdrawOffer, m.CallOverflowed, m.CallMoved)
_AGENT_OUTPUTS = (m.AgentStateChanged, m.OfferTimedOut)
_ROUTED: dict[str, type[Any]] = {cls.__name__: cls for cls in (*_CALL_OUTPUTS, *_AGENT_OUTPUTS)}


def encode_output(out: Any) -> Body:
    fields = dataclasses.asdict(out)
    if isinstance(out, m.AgentStateChanged):
        fields["state"] = out.state.value
    return {"type": type(out).__name__, "fields": fields}


def decode_output(body: Body) -> Any:
    cls = _ROUTED.get(str(body.get("type")))
    fields = body.get("fields")
    if cls is None or not isinstance(fields, dict):
        raise ValueError(f"not an ACD output: {body!r}")
    if cls is m.AgentStateChanged:
        fields = {**fields, "state": AgentState(fields["state"])}
    return cls(**fields)


class ClusterAcd(AcdShell):
    """An `Acd` for one node of a cluster, around the shared-queue ACD (SharedAcdService). Its
    own handlers (AcdShell's, set by the app) run the outputs routed to this node."""

    def __init__(self, shared: Acd, cluster: Cluster, clock: Clock) -> None:
        super().__init__(clock)
        self._shared = shared
        self._cluster = cluster
        shared.on_offer = self._route
        shared.on_offer_withdrawn = self._route
        shared.on_agent_state = self._route
        shared.on_offer_timed_out = self._route
        shared.on_overflow = self._route
        shared.on_call_moved = self._route

    async def submit(self, message: m.Input) -> list[m.Output]:
        if isinstance(message, m.EnqueueCall):
            await self._cluster.own_call(message.call_id)  # this node holds the caller
        elif isinstance(message, m.AgentLogin):
            await self._cluster.own_agent(message.agent_id)  # their desktop is here
        return await self._shared.submit(message)

    async def agent_view(self, agent_id: AgentId) -> AgentView:
        return await self._shared.agent_view(agent_id)

    async def position(self, call_id: CallId) -> int | None:
        return await self._shared.position(call_id)

    async def estimated_wait_s(self, call_id: CallId) -> float | None:
        return await self._shared.estimated_wait_s(call_id)

    async def queue_status(self, queue_id: QueueId) -> QueueStatus:
        return await self._shared.queue_status(queue_id)

    async def close(self) -> None:
        await self._shared.close()

    # --- outputs --------------------------------------------------------------------------

    async def _route(self, out: Any) -> None:
        if isinstance(out, _CALL_OUTPUTS):
            node = await self._cluster.call_node(out.call_id)
        else:
            node = await self._cluster.agent_node(out.agent_id)
        if node is None or node == self._cluster.node_id:
            await self.handle(out)
        else:
            await self._cluster.send(node, {"kind": "acd", "output": encode_output(out)})

    async def on_message(self, body: Body) -> bool:
        """An output another node routed here; False if the message is not one."""
        if body.get("kind") != "acd":
            return False
        await self.handle(decode_output(body["output"]))
        return True

    async def handle(self, out: Any) -> None:
        """Run this node's handler of the output."""
        await self._notify(out)
