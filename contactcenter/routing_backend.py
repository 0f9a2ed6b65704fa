"""Which ACD a server node routes with (setting `routing`), and, for the shared one, how the
node joins its cluster (contactcenter/cluster.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from acd.core import AcdCore
from contactcenter.acd_service import Acd, AcdService
from contactcenter.agents import AgentService
from contactcenter.call_service import AgentDirectory, CallService
from contactcenter.clock import Clock
from contactcenter.cluster import Body, Cluster, ClusterUnavailable
from contactcenter.cluster_acd import ClusterAcd
from contactcenter.cluster_calls import AgentCalls, ClusterCalls, acd_current_call
from contactcenter.errors import Forbidden
from contactcenter.http_api import LinkCall
from contactcenter.ids import AgentId, CallId, CustomerId
from contactcenter.ports import UserRepository
from contactcenter.records import User
from contactcenter.settings import Settings
from contactcenter.sharedqueue.acd_adapter import SharedAcdService
from contactcenter.sharedqueue.redis import RedisSharedQueues

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class RoutingBackend:
    acd: Acd
    cluster: Cluster | None
    close: Callable[[], Awaitable[None]]


def build_acd(settings: Settings, clock: Clock) -> RoutingBackend:
    """The in-process core, or the Redis shared queues behind this node's cluster link."""
    queues = settings.queue_configs()
    if not settings.shared_routing:
        local = AcdService(AcdCore(queues, site_tz=settings.site_tz()), clock)
        return RoutingBackend(local, None, local.close)
    assert settings.redis_url is not None
    store = RedisSharedQueues(settings.redis_url, prefix=settings.redis_prefix + "acd:")
    shared = SharedAcdService(store, queues, clock, site_tz=settings.site_tz())
    cluster = Cluster(settings.redis_url, settings.redis_prefix)
    acd = ClusterAcd(shared, cluster, clock)

    async def close() -> None:
        await acd.close()
        await cluster.close()
        await store.close()

    return RoutingBackend(acd, cluster, close)


class ClusterDirectory:
    """The CallService's AgentDirectory on a cluster node: the call count of an agent whose
    desktop is on another node is kept there."""

    def __init__(self, agents: AgentService, cluster: Cluster) -> None:
        self._agents = agents
        self._cluster = cluster
        self._tasks: set[asyncio.Task[None]] = set()

    def endpoint_of(self, agent_id: AgentId) -> str | None:
        return self._agents.endpoint_of(agent_id)

    def call_handled(self, agent_id: AgentId) -> None:
        if agent_id in self._agents.agents:
            self._agents.call_handled(agent_id)
            return
        task = asyncio.get_running_loop().create_task(self._tell(agent_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _tell(self, agent_id: AgentId) -> None:
        try:
            node = await self._cluster.agent_node(agent_id)
            if node is not None and node != self._cluster.node_id:
                await self._cluster.send(node, {"kind": "handled", "agent_id": agent_id})
        except ClusterUnavailable as exc:
            logger.warning("call count of agent_id=%s not passed on: %s", agent_id, exc)


def directory_for(backend: RoutingBackend, agents: AgentService) -> AgentDirectory:
    return agents if backend.cluster is None else ClusterDirectory(agents, backend.cluster)


async def join_cluster(
    backend: RoutingBackend,
    calls: CallService,
    agents: AgentService,
    users: UserRepository,
    link: LinkCall,
) -> tuple[AgentCalls, LinkCall]:
    """Wire this node into its cluster (if it has one) and start listening. Returns what the
    desktop and the supervisor console act on calls through, and how the HTTP API links a call
    to a customer (both on the node holding the call)."""
    cluster, acd = backend.cluster, backend.acd
    if cluster is None or not isinstance(acd, ClusterAcd):
        agents.wrap_finished_hook = calls.wrap_finished
        return calls, link

    async def endpoint(agent_id: AgentId) -> str | None:
        user = await users.get_by_username(agent_id)
        return user.endpoint if user is not None else None

    calls.endpoint_directory = endpoint
    gateway = ClusterCalls(calls, cluster, lambda agent_id: acd_current_call(acd, agent_id))

    async def wrap_finished(agent_id: AgentId, at: float) -> None:
        # The call's node knows which call the after-call work belongs to.
        if not await calls.wrap_finished(agent_id, at):
            await cluster.broadcast({"kind": "wrap", "agent_id": agent_id, "at": at})

    async def on_message(body: Body) -> None:
        if await acd.on_message(body):
            return
        if body.get("kind") == "wrap":
            await calls.wrap_finished(AgentId(str(body["agent_id"])), float(body["at"]))
        elif body.get("kind") == "handled":
            agents.call_handled(AgentId(str(body["agent_id"])))
        else:
            logger.warning("cluster: unknown message %r", body)

    async def on_request(body: Body) -> Any:
        if body.get("kind") == "link":
            user = await users.get_by_username(str(body.get("username")))
            if user is None or not user.active:
                raise Forbidden("unknown or inactive user")
            return await link(
                user, CallId(str(body["call_id"])), CustomerId(int(body["customer_id"]))
            )
        return await gateway.on_request(body)

    async def cluster_link(user: User, call_id: CallId, customer_id: CustomerId) -> dict[str, Any]:
        node = None if calls.record_of(call_id) is not None else await cluster.call_node(call_id)
        if node is None or node == cluster.node_id:
            return await link(user, call_id, customer_id)
        body = {"kind": "link", "username": user.username, "call_id": call_id}
        result: dict[str, Any] = await cluster.ask(node, {**body, "customer_id": customer_id})
        return result

    agents.wrap_finished_hook = wrap_finished
    cluster.on_message = on_message
    cluster.on_request = on_request
    await cluster.start()
    return gateway, cluster_link
