"""RedisLiveState: live state shared by several server processes.

Keys (all under `prefix`, default "cc:"):
  agents                        set of agent ids
  agent:<agent>                 hash: display_name, state, since, reason, call_id, queues (JSON)
  queue:<queue>:waiting         sorted set of call ids scored by queued_at
  queue:<queue>:calls           hash call id -> JSON details of the waiting call
  queue:<queue>:counters:<day>  hash counter -> count, expires COUNTER_TTL_S after its last write
  claim:<agent>                 the call the agent is given; set and deleted by Lua scripts only

Multi-key writes run in MULTI/EXEC; the agent claim is a Lua script, so two processes never
give one agent two calls.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar, cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from redis.typing import EncodableT, FieldT

from contactcenter.ids import AgentId, CallId, QueueId
from contactcenter.livestate.errors import LiveStateUnavailable
from contactcenter.livestate.memory import COUNTER_DAYS, counters_from
from contactcenter.ports import AgentSnapshot, QueueCounters, WaitingCall

logger = logging.getLogger(__name__)

COUNTER_TTL_S = COUNTER_DAYS * 24 * 3600

# KEYS[1] claim key; ARGV[1] call id. 1 if the agent is (now or already) this call's, else 0.
CLAIM_LUA = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then return 1 end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return 1
"""
# KEYS[1] claim key; ARGV[1] call id. Deletes the claim only if it is still this call's.
RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

P = ParamSpec("P")
R = TypeVar("R")


def _translated(fn: Callable[P, Awaitable[R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """Turn redis-py errors into LiveStateUnavailable (the callers' one error to handle)."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except RedisError as exc:
            raise LiveStateUnavailable(f"redis: {exc}") from exc

    return wrapper


def _queued(*commands: object) -> None:
    """Take the commands queued on a pipeline: redis-py types them as awaitables, but they run
    (and give their results) at `execute()`."""


def _agent_fields(agent: AgentSnapshot) -> dict[FieldT, EncodableT]:
    fields: dict[FieldT, EncodableT] = {
        "display_name": agent.display_name,
        "state": agent.state,
        "since": repr(agent.since),
        "queues": json.dumps(list(agent.queues)),
    }
    if agent.reason is not None:
        fields["reason"] = agent.reason
    if agent.call_id is not None:
        fields["call_id"] = agent.call_id
    return fields


def _agent(agent_id: str, fields: dict[str, str]) -> AgentSnapshot:
    call_id = fields.get("call_id")
    return AgentSnapshot(
        agent_id=AgentId(agent_id),
        display_name=fields["display_name"],
        state=fields["state"],
        since=float(fields["since"]),
        reason=fields.get("reason"),
        call_id=None if call_id is None else CallId(call_id),
        queues=tuple(QueueId(q) for q in json.loads(fields.get("queues", "[]"))),
    )


def _call_json(call: WaitingCall) -> str:
    return json.dumps(
        {
            "queued_at": call.queued_at,
            "priority": call.priority,
            "caller_number": call.caller_number,
            "customer_name": call.customer_name,
        }
    )


def _call(queue_id: QueueId, call_id: str, details: str) -> WaitingCall:
    data = json.loads(details)
    return WaitingCall(
        call_id=CallId(call_id),
        queue_id=queue_id,
        queued_at=float(data["queued_at"]),
        priority=int(data["priority"]),
        caller_number=data["caller_number"],
        customer_name=data["customer_name"],
    )


class RedisLiveState:
    def __init__(self, redis_url: str, prefix: str = "cc:") -> None:
        """Nothing connects until the first command."""
        self._redis: aioredis.Redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
        self._prefix = prefix
        self._claim = self._redis.register_script(CLAIM_LUA)
        self._release = self._redis.register_script(RELEASE_LUA)

    # --- keys ------------------------------------------------------------------------------

    def _key(self, *parts: str) -> str:
        return self._prefix + ":".join(parts)

    def _waiting_keys(self, queue_id: QueueId) -> tuple[str, str]:
        return self._key("queue", queue_id, "waiting"), self._key("queue", queue_id, "calls")

    # --- agents ----------------------------------------------------------------------------

    @_translated
    async def put_agent(self, agent: AgentSnapshot) -> None:
        key = self._key("agent", agent.agent_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            _queued(
                pipe.delete(key),
                pipe.hset(key, mapping=_agent_fields(agent)),
                pipe.sadd(self._key("agents"), agent.agent_id),
            )
            await pipe.execute()

    @_translated
    async def remove_agent(self, agent_id: AgentId) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            _queued(
                pipe.delete(self._key("agent", agent_id)),
                pipe.srem(self._key("agents"), agent_id),
            )
            await pipe.execute()

    @_translated
    async def agents(self) -> list[AgentSnapshot]:
        """Every agent, by agent id."""
        members = await self._redis.smembers(self._key("agents"))
        ids = sorted(cast(set[str], members))
        if not ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            _queued(*(pipe.hgetall(self._key("agent", agent_id)) for agent_id in ids))
            rows: list[dict[str, str]] = await pipe.execute()
        # an agent removed between the two reads has an empty hash: leave it out
        return [_agent(a, fields) for a, fields in zip(ids, rows, strict=True) if fields]

    # --- waiting calls ---------------------------------------------------------------------

    @_translated
    async def put_waiting(self, call: WaitingCall) -> None:
        """Add the call to its queue, or replace its details if it is already there."""
        zkey, hkey = self._waiting_keys(call.queue_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            _queued(
                pipe.zadd(zkey, {call.call_id: call.queued_at}),
                pipe.hset(hkey, call.call_id, _call_json(call)),
            )
            await pipe.execute()

    @_translated
    async def remove_waiting(self, queue_id: QueueId, call_id: CallId) -> bool:
        zkey, hkey = self._waiting_keys(queue_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            _queued(pipe.zrem(zkey, call_id), pipe.hdel(hkey, call_id))
            removed, _ = await pipe.execute()
        return bool(removed)

    @_translated
    async def waiting(self, queue_id: QueueId) -> list[WaitingCall]:
        """Oldest first (ties: by call id)."""
        zkey, hkey = self._waiting_keys(queue_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            _queued(pipe.zrange(zkey, 0, -1), pipe.hgetall(hkey))
            ids, details = await pipe.execute()
        return [_call(queue_id, c, details[c]) for c in ids if c in details]

    # --- counters --------------------------------------------------------------------------

    @_translated
    async def incr(self, queue_id: QueueId, day: str, counter: str, by: int = 1) -> int:
        key = self._key("queue", queue_id, "counters", day)
        async with self._redis.pipeline(transaction=True) as pipe:
            _queued(pipe.hincrby(key, counter, by), pipe.expire(key, COUNTER_TTL_S))
            value, _ = await pipe.execute()
        return int(value)

    @_translated
    async def counters(self, queue_id: QueueId, day: str) -> QueueCounters:
        raw = await self._redis.hgetall(self._key("queue", queue_id, "counters", day))
        return counters_from({k: int(v) for k, v in cast(dict[str, str], raw).items()})

    # --- claims ----------------------------------------------------------------------------

    @_translated
    async def claim_agent(self, agent_id: AgentId, call_id: CallId) -> bool:
        """True if the agent is now this call's (also when it already was)."""
        won = await self._claim(keys=[self._key("claim", agent_id)], args=[call_id])
        return bool(won)

    @_translated
    async def release_agent(self, agent_id: AgentId, call_id: CallId) -> None:
        await self._release(keys=[self._key("claim", agent_id)], args=[call_id])

    @_translated
    async def claimed_by(self, agent_id: AgentId) -> CallId | None:
        """The call the agent is claimed for, if any."""
        holder = await self._redis.get(self._key("claim", agent_id))
        return None if holder is None else CallId(cast(str, holder))

    async def close(self) -> None:
        await self._redis.aclose()
