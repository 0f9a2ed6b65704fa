"""Agents' and supervisors' actions on calls, carried out on the node that holds the call
(contactcenter/cluster.py). On a single node (`AgentCalls` is then the CallService itself)
nothing here is used.

The node where a desktop is connected asks the call's node (`Cluster.ask`) to run one of the
CallService methods in `REMOTE_METHODS`; the result, or the error with its class and field,
comes back as if the call were here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from acd.errors import AcdError
from contactcenter.call_service import CallService, TransferKind, TransferMode
from contactcenter.cluster import Body, Cluster
from contactcenter.ids import AgentId, CallId
from contactcenter.ports import SpyMode

logger = logging.getLogger(__name__)


class AgentCalls(Protocol):
    """The call actions the agent desktop and the supervisor console use."""

    async def answer(self, agent_id: AgentId, call_id: CallId) -> None: ...
    async def hangup(self, agent_id: AgentId, call_id: CallId) -> None: ...
    async def disposition_json(
        self, agent_id: AgentId, call_id: CallId, disposition: str, note: str
    ) -> dict[str, Any]: ...
    async def hold(self, agent_id: AgentId, call_id: CallId) -> dict[str, Any]: ...
    async def unhold(self, agent_id: AgentId, call_id: CallId) -> dict[str, Any]: ...
    async def mute(self, agent_id: AgentId, call_id: CallId, muted: bool) -> dict[str, Any]: ...
    async def send_dtmf(
        self, agent_id: AgentId, call_id: CallId, digits: str
    ) -> dict[str, Any]: ...
    async def transfer(
        self,
        agent_id: AgentId,
        call_id: CallId,
        mode: TransferMode,
        kind: TransferKind,
        target: str,
    ) -> dict[str, Any]: ...
    async def transfer_complete(self, agent_id: AgentId, call_id: CallId) -> dict[str, Any]: ...
    async def transfer_cancel(self, agent_id: AgentId, call_id: CallId) -> dict[str, Any]: ...
    async def conference(self, agent_id: AgentId, call_id: CallId) -> dict[str, Any]: ...
    async def resume(self, agent_id: AgentId) -> list[tuple[str, dict[str, Any]]]: ...
    async def ended_payload_of(self, call_id: CallId) -> dict[str, Any] | None: ...
    async def spy(self, supervisor_endpoint: str, agent_id: AgentId, mode: SpyMode) -> None: ...


# The CallService methods another node may ask this one to run (their arguments and results
# are JSON: ids, strings, booleans, dicts).
REMOTE_METHODS = frozenset(
    {
        "answer",
        "hangup",
        "disposition_json",
        "hold",
        "unhold",
        "mute",
        "send_dtmf",
        "transfer",
        "transfer_complete",
        "transfer_cancel",
        "conference",
        "resume",
        "ended_payload_of",
        "spy",
    }
)


class ClusterCalls:
    """`AgentCalls` for a cluster node: local calls here, the others on their node."""

    def __init__(
        self,
        calls: CallService,
        cluster: Cluster,
        current_call: Callable[[AgentId], Awaitable[CallId | None]],
    ) -> None:
        self._calls = calls
        self._cluster = cluster
        self._current_call = current_call

    async def _node_of(self, call_id: CallId | None) -> str | None:
        """The node to run on, None for here."""
        if call_id is None or self._calls.record_of(call_id) is not None:
            return None
        node = await self._cluster.call_node(call_id)
        return None if node == self._cluster.node_id else node

    async def _on(self, call_id: CallId | None, method: str, *args: Any) -> Any:
        node = await self._node_of(call_id)
        if node is None:
            return await getattr(self._calls, method)(*args)
        logger.debug("forwarding %s call_id=%s to node %s", method, call_id, node)
        return await self._cluster.ask(node, {"kind": "call", "method": method, "args": args})

    async def answer(self, agent_id: AgentId, call_id: CallId) -> None:
        await self._on(call_id, "answer", agent_id, call_id)

    async def hangup(self, agent_id: AgentId, call_id: CallId) -> None:
        await self._on(call_id, "hangup", agent_id, call_id)

    async def disposition_json(
        self, agent_id: AgentId, call_id: CallId, disposition: str, note: str
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._on(
            call_id, "disposition_json", agent_id, call_id, disposition, note
        )
        return result

    async def hold(self, agent_id: AgentId, call_id: CallId) -> dict[str, Any]:
        result: dict[str, Any] = await self._on(call_id, "hold", agent_id, call_id)
        return result

    async def unhold(self, agent_id: AgentId, call_id: CallId) -> dict[str, Any]:
        result: dict[str, Any] = await self._on(call_id, "unhold", agent_id, call_id)
        return result

    async def mute(self, agent_id: AgentId, call_id: CallId, muted: bool) -> dict[str, Any]:
        result: dict[str, Any] = await self._on(call_id, "mute", agent_id, call_id, muted)
        return result

    async def send_dtmf(self, agent_id: AgentId, call_id: CallId, digits: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._on(call_id, "send_dtmf", agent_id, call_id, digits)
        return result

    async def transfer(
        self,
        agent_id: AgentId,
        call_id: CallId,
        mode: TransferMode,
        kind: TransferKind,
        target: str,
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._on(
            call_id, "transfer", agent_id, call_id, mode, kind, target
        )
        return result

    async def transfer_complete(self, agent_id: AgentId, call_id: CallId) -> dict[str, Any]:
        result: dict[str, Any] = await self._on(call_id, "transfer_complete", agent_id, call_id)
        return result

    async def transfer_cancel(self, agent_id: AgentId, call_id: CallId) -> dict[str, Any]:
        result: dict[str, Any] = await self._on(call_id, "transfer_cancel", agent_id, call_id)
        return result

    async def conference(self, agent_id: AgentId, call_id: CallId) -> dict[str, Any]:
        result: dict[str, Any] = await self._on(call_id, "conference", agent_id, call_id)
        return result

    async def resume(self, agent_id: AgentId) -> list[tuple[str, dict[str, Any]]]:
        call_id = await self._current_call(agent_id)
        result = await self._on(call_id, "resume", agent_id)
        return [(str(event), payload) for event, payload in result]

    async def ended_payload_of(self, call_id: CallId) -> dict[str, Any] | None:
        result: dict[str, Any] | None = await self._on(call_id, "ended_payload_of", call_id)
        return result

    async def spy(self, supervisor_endpoint: str, agent_id: AgentId, mode: SpyMode) -> None:
        call_id = await self._current_call(agent_id)
        await self._on(call_id, "spy", supervisor_endpoint, agent_id, mode)

    # --- the call's node ------------------------------------------------------------------

    async def on_request(self, body: Body) -> Any:
        """Another node's request for a call held here."""
        method = body.get("method")
        args = body.get("args")
        if body.get("kind") != "call" or method not in REMOTE_METHODS or not isinstance(args, list):
            raise ValueError(f"not a call request: {body!r}")
        return await getattr(self._calls, str(method))(*args)


async def acd_current_call(acd: Any, agent_id: AgentId) -> CallId | None:
    """The call the ACD says the agent rings with, talks on or wraps up (None: none)."""
    try:
        view = await acd.agent_view(agent_id)
    except AcdError:
        return None
    call_id: CallId | None = view.call_id
    return call_id
