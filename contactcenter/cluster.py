"""Several server nodes on one Redis (setting `routing = "redis"`, or "auto" with `redis_url`).

The queues, agent states and assignments are shared (contactcenter/sharedqueue/): any node may
make a routing decision. But a live call belongs to ONE node, the one whose FastAGI session
holds the caller, and an agent's desktop is connected to one node. So:

* every node records which node holds each call it queues (`own_call`) and which node each
  agent logged in through (`own_agent`), in Redis;
* the ACD's outputs go to the node that can act on them (contactcenter/cluster_acd.py): an
  offer to the node holding the call, an agent's state change to the agent's node;
* an agent's command on a call held by another node (answer, hold, transfer, disposition...)
  is carried out there (contactcenter/cluster_calls.py) and its answer or error comes back.

Messages travel over Redis pub/sub: one channel per node (`<prefix>node:<id>`) and one for all
(`<prefix>nodes`). One-way messages are handled in the order they were published; a request
(`ask`) gets its reply on the asker's channel, or ClusterUnavailable after `request_timeout_s`.
Pub/sub delivers at most once: a node that is down loses what was sent to it (its calls are
gone with it anyway; an agent's desktop reconnects to another node and logs in again).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from contactcenter.errors import (
    ContactCenterError,
    Forbidden,
    InvalidRequest,
    NotFound,
    TelephonyError,
)
from contactcenter.tasks import stop_tasks

logger = logging.getLogger(__name__)

Body = dict[str, Any]
Handler = Callable[[Body], Awaitable[Any]]

# How long a node is remembered as the holder of a call (commands on an ended call, such as
# its disposition, still go there) and as an agent's node.
OWNERSHIP_TTL_S = 86_400
# How many calls' nodes a node remembers (a call never moves to another node).
CALL_NODES_KEPT = 20_000


class ClusterUnavailable(ContactCenterError):
    """Another node did not answer in time, or Redis could not be reached."""


class RemoteError(ContactCenterError):
    """Another node refused a request with an error that has no class of its own here."""


_ERRORS: dict[str, type[ContactCenterError]] = {
    "NotFound": NotFound,
    "Forbidden": Forbidden,
    "TelephonyError": TelephonyError,
}


def error_body(exc: Exception) -> Body:
    """An exception as a reply carries it (ContactCenterError keeps its class and field)."""
    if isinstance(exc, InvalidRequest):
        return {"type": "InvalidRequest", "message": str(exc), "field": exc.field}
    for name, cls in _ERRORS.items():
        if isinstance(exc, cls):
            return {"type": name, "message": str(exc)}
    if isinstance(exc, ContactCenterError):
        return {"type": "ContactCenterError", "message": str(exc)}
    return {"type": "internal", "message": "internal error on another node"}


def raise_error(body: Body) -> None:
    kind, message = body.get("type"), str(body.get("message", ""))
    if kind == "InvalidRequest":
        raise InvalidRequest(message, body.get("field"))
    cls = _ERRORS.get(str(kind))
    if cls is not None:
        raise cls(message)
    raise RemoteError(message)


class Cluster:
    def __init__(
        self,
        redis_url: str,
        prefix: str = "cc:",
        node_id: str | None = None,
        *,
        request_timeout_s: float = 10.0,
    ) -> None:
        self.node_id = node_id or uuid.uuid4().hex[:12]
        self._prefix = prefix
        self._redis: aioredis.Redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
        self._pubsub = self._redis.pubsub()
        self._timeout = request_timeout_s
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._inbox: asyncio.Queue[Body] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()
        self._listener: asyncio.Task[None] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._closing = False
        self._call_nodes: dict[str, str] = {}  # call -> node, oldest first (bounded)
        # Set by the app: one-way messages (in order) and requests (each answered).
        self.on_message: Handler | None = None
        self.on_request: Handler | None = None

    # --- ownership ------------------------------------------------------------------------

    def _key(self, kind: str, ident: str) -> str:
        return f"{self._prefix}own:{kind}:{ident}"

    async def own_call(self, call_id: str) -> None:
        await self._set(self._key("call", call_id))
        self._remember_call(call_id, self.node_id)

    async def own_agent(self, agent_id: str) -> None:
        await self._set(self._key("agent", agent_id))

    async def call_node(self, call_id: str) -> str | None:
        # A call never changes node: once known, its node is answered from memory (every
        # offer, withdrawal and agent action on the call asks).
        node = self._call_nodes.get(call_id)
        if node is None:
            node = await self._get(self._key("call", call_id))
            if node is not None:
                self._remember_call(call_id, node)
        return node

    def _remember_call(self, call_id: str, node: str) -> None:
        self._call_nodes[call_id] = node
        if len(self._call_nodes) > CALL_NODES_KEPT:
            self._call_nodes.pop(next(iter(self._call_nodes)))

    async def agent_node(self, agent_id: str) -> str | None:
        return await self._get(self._key("agent", agent_id))

    async def _set(self, key: str) -> None:
        try:
            await self._redis.set(key, self.node_id, ex=OWNERSHIP_TTL_S)
        except RedisError as exc:
            raise ClusterUnavailable(f"redis: {exc}") from exc

    async def _get(self, key: str) -> str | None:
        try:
            value = await self._redis.get(key)
        except RedisError as exc:
            raise ClusterUnavailable(f"redis: {exc}") from exc
        return None if value is None else str(value)

    # --- messages -------------------------------------------------------------------------

    def _channel(self, node: str) -> str:
        return f"{self._prefix}node:{node}"

    @property
    def _all(self) -> str:
        return f"{self._prefix}nodes"

    async def start(self) -> None:
        await self._pubsub.subscribe(self._channel(self.node_id), self._all)
        loop = asyncio.get_running_loop()
        self._listener = loop.create_task(self._listen())
        self._worker = loop.create_task(self._work())
        logger.info("cluster node %s up", self.node_id)

    async def send(self, node: str, body: Body) -> None:
        """One-way: handled by `node` after what this node sent it before."""
        await self._publish(self._channel(node), {"from": self.node_id, "body": body})

    async def broadcast(self, body: Body) -> None:
        """One-way, to every other node."""
        await self._publish(self._all, {"from": self.node_id, "body": body})

    async def ask(self, node: str, body: Body) -> Any:
        """A request carried out by `node`; returns its result or raises its error."""
        ident = uuid.uuid4().hex
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        try:
            await self._publish(
                self._channel(node), {"from": self.node_id, "id": ident, "body": body}
            )
            try:
                return await asyncio.wait_for(future, self._timeout)
            except TimeoutError as exc:
                raise ClusterUnavailable(f"node {node} did not answer in time") from exc
        finally:
            self._pending.pop(ident, None)

    async def _publish(self, channel: str, message: Body) -> None:
        try:
            await self._redis.publish(channel, json.dumps(message))
        except RedisError as exc:
            raise ClusterUnavailable(f"redis: {exc}") from exc

    async def _listen(self) -> None:
        while not self._closing:
            try:
                raw = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            except RedisError:
                logger.exception("cluster: lost the pub/sub connection; retrying")
                await asyncio.sleep(1.0)
                continue
            if raw is None:
                continue
            try:
                message = json.loads(raw["data"])
                if not isinstance(message, dict):
                    raise ValueError("not an object")
            except (ValueError, TypeError):
                logger.warning("cluster: dropped a malformed message %r", raw.get("data"))
                continue
            if message.get("from") == self.node_id:
                continue  # our own broadcast
            if "reply_to" in message:
                future = self._pending.get(str(message["reply_to"]))
                if future is not None and not future.done():
                    if "error" in message:
                        try:
                            raise_error(message["error"])
                        except ContactCenterError as exc:
                            future.set_exception(exc)
                    else:
                        future.set_result(message.get("result"))
            elif "id" in message:
                task = asyncio.get_running_loop().create_task(self._answer(message))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            else:
                self._inbox.put_nowait(message)

    async def _work(self) -> None:
        while not self._closing:
            message = await self._inbox.get()
            if self._closing:
                return
            if self.on_message is None:
                continue
            try:
                await self.on_message(message["body"])
            except Exception:
                logger.exception("cluster: message from %s failed", message.get("from"))

    async def _answer(self, message: Body) -> None:
        reply: Body = {"from": self.node_id, "reply_to": message["id"]}
        try:
            if self.on_request is None:
                raise RemoteError("this node takes no requests")
            reply["result"] = await self.on_request(message["body"])
        except Exception as exc:
            if not isinstance(exc, ContactCenterError):
                logger.exception("cluster: request from %s failed", message.get("from"))
            reply["error"] = error_body(exc)
        with contextlib.suppress(ClusterUnavailable):
            await self._publish(self._channel(str(message["from"])), reply)

    async def close(self) -> None:
        # A flag as well as the cancels: redis-py may swallow a cancellation in a read, and
        # the loops must still end (the listener wakes at least once a second).
        self._closing = True
        self._inbox.put_nowait({})
        tasks = {t for t in (self._listener, self._worker, *self._tasks) if t is not None}
        for task in tasks:
            task.cancel()
        await stop_tasks(tasks)
        for future in self._pending.values():
            future.cancel()
        with contextlib.suppress(RedisError):
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        await self._redis.aclose()
