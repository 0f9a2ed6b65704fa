"""RedisSharedQueues: queue contents, agent states and assignments in Redis, shared by every
server node of a deployment. Every operation that changes anything is ONE Lua script (EVALSHA
via redis-py's `register_script`), so Redis runs it alone: two nodes never give one agent two
calls nor one call two agents. Key layout and guarantees: docs/architecture.md, "Multi-node
operation". All keys start with the deployment's prefix (setting `redis_prefix`).

Keys (P = prefix; q queue, pf profile "skill=level,...", pen penalty, a agent, c call):
  P q:<q>                 hash  aging (w), n (calls waiting, targeted ones included)
  P q:<q>:pf              set   profiles seen in the queue ("" = no requirement)
  P q:<q>:pen             zset  penalties agents have in the queue (member = score = penalty)
  P w:<q>:<pf>            zset  waiting calls; score e - p/w (w > 0) or -p; member
                                "<e %020.6f>|<enqueue seq %012d>|<call id>"
  P r:<q>:<pf>:<pen>      zset  READY agents of the queue with that penalty who meet the profile,
                                score = ready since (longest idle first), member = agent id
  P t:<a>                 zset  waiting calls targeted at the agent, score e (oldest first)
  P a:<a>                 hash  st (not_ready|ready|assigned|on_call|busy|wrap_up), since,
                                idle, reason, call, rk (when READY: the READY sets the agent
                                is in, "q|pf|pen|q|pf|pen...")
  P a:<a>:sk / a:<a>:qs   hash  skill -> level / queue -> penalty
  P c:<c>                 hash  st (waiting|assigned), q, p, e, pf, tg, zk, m, sc, seq,
                                agent, at, aseq
  P seq:call, P seq:asg   counters: enqueue order, assignment order
A script looks only at the heads of the sorted sets of the agent's queues and profiles (or of
the call's queue, profile and penalties): never at all agents or all calls. The one exception is
the first call with a new profile in a queue, which fills that profile's READY sets from the
queue's READY agents once.

Redis Cluster is not supported: the scripts derive key names from hash contents, which Redis
Cluster only allows for keys declared up front. Run one Redis primary (with a replica and
Sentinel for failover, and AOF persistence for durability).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Coroutine
from functools import wraps
from typing import Any, ParamSpec, TypeVar, cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from contactcenter.ids import AgentId, CallId, QueueId
from contactcenter.sharedqueue.ports import (
    AgentLogin,
    AgentStateName,
    AgentStatus,
    Assignment,
    QueueCall,
    QueueNotEmpty,
    SharedQueueUnavailable,
    check_name,
    profile_of,
    state_conflict,
    unknown_agent,
)

# Shared by every script. ARGV[1] is always the key prefix.
_LIB = """
local P = ARGV[1]
local function akey(a) return P .. 'a:' .. a end
local function rkey(q, pf, pen) return P .. 'r:' .. q .. ':' .. pf .. ':' .. pen end
local function wkey(q, pf) return P .. 'w:' .. q .. ':' .. pf end
local function qkey(q) return P .. 'q:' .. q end
local function skills_of(a)
  local flat = redis.call('HGETALL', akey(a) .. ':sk')
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = tonumber(flat[i + 1]) end
  return t
end
local function queues_of(a)
  local flat = redis.call('HGETALL', akey(a) .. ':qs')
  local t = {}
  for i = 1, #flat, 2 do t[#t + 1] = {flat[i], flat[i + 1]} end
  return t
end
local function holding(st) return st == 'assigned' or st == 'on_call' or st == 'busy' end
local function profiles(q) return redis.call('SMEMBERS', qkey(q) .. ':pf') end
local function aging(q) return tonumber(redis.call('HGET', qkey(q), 'aging') or '0') end
local function satisfies(sk, pf)
  if pf == '' then return true end
  for s, l in string.gmatch(pf, '([^,=]+)=(%d+)') do
    local have = sk[s]
    if have == nil or have < tonumber(l) then return false end
  end
  return true
end
local function split(s)
  local t, i = {}, 1
  while true do
    local j = string.find(s, '|', i, true)
    if not j then t[#t + 1] = string.sub(s, i) return t end
    t[#t + 1] = string.sub(s, i, j - 1)
    i = j + 1
  end
end
-- A READY agent's field 'rk' lists the READY sets it is in: "q|pf|pen|q|pf|pen...".
local function index_agent(a, idle)
  local sk = skills_of(a)
  local rk = {}
  for _, qp in ipairs(queues_of(a)) do
    for _, pf in ipairs(profiles(qp[1])) do
      if satisfies(sk, pf) then
        redis.call('ZADD', rkey(qp[1], pf, qp[2]), idle, a)
        rk[#rk + 1] = qp[1] .. '|' .. pf .. '|' .. qp[2]
      end
    end
  end
  redis.call('HSET', akey(a), 'rk', table.concat(rk, '|'))
end
local function ready_sets(a)
  local rk = redis.call('HGET', akey(a), 'rk')
  local t = {}
  if not rk or rk == '' then return t end
  local f = split(rk)
  for i = 1, #f, 3 do t[#t + 1] = {f[i], f[i + 1], f[i + 2]} end
  return t
end
local function unindex_agent(a)
  for _, e in ipairs(ready_sets(a)) do redis.call('ZREM', rkey(e[1], e[2], e[3]), a) end
  redis.call('HDEL', akey(a), 'rk')
end
local function assign(a, c, now)
  local ck = P .. 'c:' .. c
  local f = redis.call('HMGET', ck, 'zk', 'm', 'q')
  redis.call('ZREM', f[1], f[2])
  redis.call('HINCRBY', qkey(f[3]), 'n', -1)
  local seq = redis.call('INCR', P .. 'seq:asg')
  redis.call('HSET', ck, 'st', 'assigned', 'agent', a, 'at', now, 'aseq', seq)
  unindex_agent(a)
  redis.call('HSET', akey(a), 'st', 'assigned', 'since', now, 'call', c)
  redis.call('HDEL', akey(a), 'reason')
  return {c, a, f[3], seq}
end
"""

# KEYS: queue. ARGV: P, w. A new weight is refused (0) while calls wait in the queue.
_CONFIGURE = """
local old = tonumber(redis.call('HGET', qkey(KEYS[1]), 'aging') or '0')
if old ~= tonumber(ARGV[2]) and tonumber(redis.call('HGET', qkey(KEYS[1]), 'n') or '0') > 0 then
  return 0
end
redis.call('HSET', qkey(KEYS[1]), 'aging', ARGV[2])
return 1
"""

# KEYS: call id. ARGV: P, queue, priority, enqueued_at, formatted enqueued_at, profile, target.
_ENQUEUE = """
local c = KEYS[1]
local ck = P .. 'c:' .. c
if redis.call('EXISTS', ck) == 1 then return 0 end
local q, pf, tg = ARGV[2], ARGV[6], ARGV[7]
local p, e = tonumber(ARGV[3]), tonumber(ARGV[4])
local seq = redis.call('INCR', P .. 'seq:call')
local m = ARGV[5] .. '|' .. string.format('%012d', seq) .. '|' .. c
local zk, score
if tg ~= '' then
  zk = P .. 't:' .. tg
  score = e
else
  local w = aging(q)
  if w > 0 then score = e - p / w else score = -p end
  zk = wkey(q, pf)
  if redis.call('SADD', qkey(q) .. ':pf', pf) == 1 and pf ~= '' then
    -- a new profile: fill its READY sets from the queue's READY agents, once
    for _, pen in ipairs(redis.call('ZRANGE', qkey(q) .. ':pen', 0, -1)) do
      local base = redis.call('ZRANGE', rkey(q, '', pen), 0, -1, 'WITHSCORES')
      for i = 1, #base, 2 do
        if satisfies(skills_of(base[i]), pf) then
          redis.call('ZADD', rkey(q, pf, pen), base[i + 1], base[i])
          local rk = redis.call('HGET', akey(base[i]), 'rk')
          local entry = q .. '|' .. pf .. '|' .. pen
          if rk and rk ~= '' then entry = rk .. '|' .. entry end
          redis.call('HSET', akey(base[i]), 'rk', entry)
        end
      end
    end
  end
end
redis.call('ZADD', zk, score, m)
redis.call('HINCRBY', qkey(q), 'n', 1)
redis.call('HSET', ck, 'st', 'waiting', 'q', q, 'p', ARGV[3], 'e', ARGV[4], 'pf', pf,
  'tg', tg, 'zk', zk, 'm', m, 'sc', score, 'seq', seq)
return 1
"""

# KEYS: call id. ARGV: P.
_REMOVE = """
local ck = P .. 'c:' .. KEYS[1]
local f = redis.call('HMGET', ck, 'st', 'zk', 'm', 'q')
if f[1] ~= 'waiting' then return 0 end
redis.call('ZREM', f[2], f[3])
redis.call('HINCRBY', qkey(f[4]), 'n', -1)
redis.call('DEL', ck)
return 1
"""

# KEYS: agent. ARGV: P, now, skills JSON [[skill, level], ...], queues JSON [[queue, pen], ...].
_LOGIN = """
local a = KEYS[1]
local st = redis.call('HGET', akey(a), 'st')
if holding(st) then return {'state', st} end
if st == 'ready' then unindex_agent(a) end
redis.call('DEL', akey(a), akey(a) .. ':sk', akey(a) .. ':qs')
for _, sl in ipairs(cjson.decode(ARGV[3])) do redis.call('HSET', akey(a) .. ':sk', sl[1], sl[2]) end
for _, qp in ipairs(cjson.decode(ARGV[4])) do
  redis.call('HSET', akey(a) .. ':qs', qp[1], qp[2])
  redis.call('SADD', qkey(qp[1]) .. ':pf', '')
  redis.call('ZADD', qkey(qp[1]) .. ':pen', qp[2], qp[2])
end
redis.call('HSET', akey(a), 'st', 'not_ready', 'since', ARGV[2])
return {'ok'}
"""

# KEYS: agent. ARGV: P.
_LOGOUT = """
local a = KEYS[1]
local st = redis.call('HGET', akey(a), 'st')
if not st then return {'unknown'} end
if holding(st) then return {'state', st} end
if st == 'ready' then unindex_agent(a) end
redis.call('DEL', akey(a), akey(a) .. ':sk', akey(a) .. ':qs')
return {'ok'}
"""

# KEYS: agent. ARGV: P, now, op (ready | not_ready | busy), reason ('' for none).
_SET_STATE = """
local a, now, op = KEYS[1], ARGV[2], ARGV[3]
local st = redis.call('HGET', akey(a), 'st')
if not st then return {'unknown'} end
if holding(st) then return {'state', st} end
if op == 'ready' then
  if st == 'ready' then return {'ok'} end
  redis.call('HSET', akey(a), 'st', 'ready', 'since', now, 'idle', now)
  redis.call('HDEL', akey(a), 'reason')
  index_agent(a, tonumber(now))
  return {'ok'}
end
if st == 'ready' then unindex_agent(a) end
redis.call('HSET', akey(a), 'st', op, 'since', now)
if op == 'not_ready' and ARGV[4] ~= '' then
  redis.call('HSET', akey(a), 'reason', ARGV[4])
else
  redis.call('HDEL', akey(a), 'reason')
end
return {'ok'}
"""

# KEYS: agent. ARGV: P, now, '1' to go ready.
_FINISH = """
local a, now = KEYS[1], ARGV[2]
local f = redis.call('HMGET', akey(a), 'st', 'call')
if not f[1] then return {'unknown'} end
if not holding(f[1]) then return {'state', f[1]} end
if f[2] then redis.call('DEL', P .. 'c:' .. f[2]) end
redis.call('HDEL', akey(a), 'call', 'reason')
if ARGV[3] == '1' then
  redis.call('HSET', akey(a), 'st', 'ready', 'since', now, 'idle', now)
  index_agent(a, tonumber(now))
else
  redis.call('HSET', akey(a), 'st', 'wrap_up', 'since', now)
end
return {'ok', f[2] or ''}
"""

# KEYS: call. ARGV: P, now, reason, agent ('' for any).
_REQUEUE = """
local ck = P .. 'c:' .. KEYS[1]
local f = redis.call('HMGET', ck, 'st', 'agent', 'zk', 'm', 'sc', 'q')
if f[1] ~= 'assigned' or (ARGV[4] ~= '' and f[2] ~= ARGV[4]) then return false end
if redis.call('HGET', akey(f[2]), 'st') ~= 'assigned' then return false end
redis.call('ZADD', f[3], f[5], f[4])
redis.call('HINCRBY', qkey(f[6]), 'n', 1)
redis.call('HSET', ck, 'st', 'waiting')
redis.call('HDEL', ck, 'agent', 'at', 'aseq')
redis.call('HSET', akey(f[2]), 'st', 'not_ready', 'since', ARGV[2], 'reason', ARGV[3])
redis.call('HDEL', akey(f[2]), 'call')
return f[2]
"""

# KEYS: call. ARGV: P, now, agent. 1 if the call was assigned to the agent, unanswered.
_ANSWER = """
local f = redis.call('HMGET', akey(ARGV[3]), 'st', 'call')
if f[1] ~= 'assigned' or f[2] ~= KEYS[1] then return 0 end
redis.call('HSET', akey(ARGV[3]), 'st', 'on_call', 'since', ARGV[2])
return 1
"""

# KEYS: call. ARGV: P, now. The caller of an assigned, unanswered call left.
_WITHDRAW = """
local ck = P .. 'c:' .. KEYS[1]
local f = redis.call('HMGET', ck, 'st', 'agent')
if f[1] ~= 'assigned' or redis.call('HGET', akey(f[2]), 'st') ~= 'assigned' then
  return false
end
redis.call('DEL', ck)
redis.call('HDEL', akey(f[2]), 'call', 'reason')
redis.call('HSET', akey(f[2]), 'st', 'ready', 'since', ARGV[2], 'idle', ARGV[2])
index_agent(f[2], tonumber(ARGV[2]))
return f[2]
"""

# KEYS: agent. ARGV: P, now. The best call for a READY agent: the heads of the waiting sets
# of the agent's queues and profiles it meets (the READY sets it is in, field 'rk'), and of its
# targeted set, by effective priority p + w (now - e), then e, then enqueue order. The effective
# priority comes from the score: w (now - score) when w > 0, -score when w = 0, and
# p + w (now - e) for a targeted call (score e); e for ties is the member's (to the us).
_ASSIGN_FOR_AGENT = """
local a = KEYS[1]
if redis.call('HGET', akey(a), 'st') ~= 'ready' then return false end
local now = tonumber(ARGV[2])
local best, beff, be, bseq
local function consider(zk, w)
  local head = redis.call('ZRANGE', zk, 0, 0, 'WITHSCORES')
  if #head == 0 then return end
  local es, ss, c = string.match(head[1], '^([^|]*)|([^|]*)|(.*)$')
  local score, eff = tonumber(head[2])
  if w == nil then
    local f = redis.call('HMGET', P .. 'c:' .. c, 'p', 'q')
    eff = tonumber(f[1]) + aging(f[2]) * (now - score)
  elseif w > 0 then
    eff = w * (now - score)
  else
    eff = -score
  end
  local e, seq = tonumber(es), tonumber(ss)
  if best == nil or eff > beff or (eff == beff and (e < be or (e == be and seq < bseq))) then
    best, beff, be, bseq = c, eff, e, seq
  end
end
local weights = {}
for _, e in ipairs(ready_sets(a)) do
  local w = weights[e[1]]
  if w == nil then
    w = aging(e[1])
    weights[e[1]] = w
  end
  consider(wkey(e[1], e[2]), w)
end
consider(P .. 't:' .. a, nil)
if best == nil then return false end
return assign(a, best, ARGV[2])
"""

# KEYS: call. ARGV: P, now. The best READY agent for a waiting call: the head of the READY set
# of the call's queue and profile, lowest penalty first.
_ASSIGN_FOR_CALL = """
local c = KEYS[1]
local f = redis.call('HMGET', P .. 'c:' .. c, 'st', 'q', 'pf', 'tg')
if f[1] ~= 'waiting' then return false end
if f[4] ~= '' then
  if redis.call('HGET', akey(f[4]), 'st') == 'ready' then return assign(f[4], c, ARGV[2]) end
  return false
end
for _, pen in ipairs(redis.call('ZRANGE', qkey(f[2]) .. ':pen', 0, -1)) do
  local head = redis.call('ZRANGE', rkey(f[2], f[3], pen), 0, 0)
  if #head > 0 then return assign(head[1], c, ARGV[2]) end
end
return false
"""

P = ParamSpec("P")
R = TypeVar("R")


def _translated(fn: Callable[P, Awaitable[R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """redis-py errors become SharedQueueUnavailable, naming the operation."""

    @wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except RedisError as exc:
            raise SharedQueueUnavailable(
                f"shared queues: {fn.__name__} failed (redis: {exc}); it was applied entirely "
                "or not at all"
            ) from exc

    return wrapper


def _num(value: float) -> str:
    """A float as text that Redis and Lua read back to the same double."""
    return repr(float(value))


def _state_reply(reply: list[str], agent_id: AgentId, op: str) -> list[str]:
    if reply[0] == "unknown":
        raise unknown_agent(agent_id, op)
    if reply[0] == "state":
        raise state_conflict(agent_id, reply[1], op)
    return reply


def _assignment(reply: list[Any] | None, now: float) -> Assignment | None:
    if reply is None:
        return None
    call_id, agent_id, queue_id, seq = reply
    return Assignment(CallId(call_id), AgentId(agent_id), QueueId(queue_id), now, int(seq))


class RedisSharedQueues:
    def __init__(
        self,
        redis_url: str,
        prefix: str = "cc:",
        *,
        timeout_s: float = 5.0,
    ) -> None:
        """Nothing connects until the first command. A command that gets no answer within
        `timeout_s` fails with SharedQueueUnavailable instead of hanging."""
        self._redis: aioredis.Redis = aioredis.Redis.from_url(
            redis_url,
            decode_responses=True,
            socket_connect_timeout=timeout_s,
            socket_timeout=timeout_s,
        )
        self._prefix = prefix

        def script(body: str) -> Any:
            return self._redis.register_script(_LIB + body)

        self._configure = script(_CONFIGURE)
        self._enqueue = script(_ENQUEUE)
        self._remove = script(_REMOVE)
        self._login = script(_LOGIN)
        self._logout = script(_LOGOUT)
        self._set_state = script(_SET_STATE)
        self._finish = script(_FINISH)
        self._requeue = script(_REQUEUE)
        self._answer = script(_ANSWER)
        self._withdraw = script(_WITHDRAW)
        self._for_agent = script(_ASSIGN_FOR_AGENT)
        self._for_call = script(_ASSIGN_FOR_CALL)

    def _key(self, *parts: str) -> str:
        return self._prefix + ":".join(parts)

    @_translated
    async def configure_queue(self, queue_id: QueueId, aging_per_s: float) -> None:
        check_name("queue_id", queue_id)
        if not (aging_per_s >= 0):
            raise ValueError(f"queue {queue_id!r}: aging_per_s must be >= 0")
        done = await self._configure(keys=[queue_id], args=[self._prefix, _num(aging_per_s)])
        if not done:
            waiting = await self.waiting_count(queue_id)
            raise QueueNotEmpty(
                f"queue {queue_id!r}: {waiting} calls wait; change aging when it is empty"
            )

    @_translated
    async def enqueue(self, call: QueueCall) -> bool:
        args = [
            self._prefix,
            call.queue_id,
            str(call.priority),
            _num(call.enqueued_at),
            f"{call.enqueued_at:020.6f}",
            profile_of(call.skills),
            call.target_agent or "",
        ]
        return bool(await self._enqueue(keys=[call.call_id], args=args))

    @_translated
    async def remove_call(self, call_id: CallId) -> bool:
        return bool(await self._remove(keys=[call_id], args=[self._prefix]))

    @_translated
    async def login(self, agent: AgentLogin, now: float) -> None:
        skills = json.dumps([[s, str(level)] for s, level in agent.skills.items()])
        queues = json.dumps([[q, str(pen)] for q, pen in agent.queues.items()])
        reply = await self._login(
            keys=[agent.agent_id], args=[self._prefix, _num(now), skills, queues]
        )
        _state_reply(reply, agent.agent_id, "log in again")

    @_translated
    async def logout(self, agent_id: AgentId) -> bool:
        reply = await self._logout(keys=[agent_id], args=[self._prefix])
        if reply[0] == "unknown":
            return False
        _state_reply(reply, agent_id, "log out")
        return True

    async def _state(self, agent_id: AgentId, now: float, op: str, reason: str | None) -> None:
        if reason is not None and not reason:
            raise ValueError(f"agent {agent_id!r}: reason must be None or a non-empty string")
        reply = await self._set_state(
            keys=[agent_id], args=[self._prefix, _num(now), op, reason or ""]
        )
        _state_reply(reply, agent_id, f"go {op}")

    @_translated
    async def ready(self, agent_id: AgentId, now: float) -> None:
        await self._state(agent_id, now, "ready", None)

    @_translated
    async def not_ready(self, agent_id: AgentId, now: float, reason: str | None = None) -> None:
        await self._state(agent_id, now, "not_ready", reason)

    @_translated
    async def busy(self, agent_id: AgentId, now: float) -> None:
        await self._state(agent_id, now, "busy", None)

    @_translated
    async def finish(self, agent_id: AgentId, now: float, *, ready: bool = False) -> CallId | None:
        reply = await self._finish(
            keys=[agent_id], args=[self._prefix, _num(now), "1" if ready else "0"]
        )
        _state_reply(reply, agent_id, "finish")
        return CallId(reply[1]) if reply[1] else None

    @_translated
    async def requeue(
        self, call_id: CallId, now: float, reason: str = "rona", agent_id: AgentId | None = None
    ) -> AgentId | None:
        agent = await self._requeue(
            keys=[call_id], args=[self._prefix, _num(now), reason, agent_id or ""]
        )
        return None if agent is None else AgentId(agent)

    @_translated
    async def answer(self, call_id: CallId, agent_id: AgentId, now: float) -> bool:
        done = await self._answer(keys=[call_id], args=[self._prefix, _num(now), agent_id])
        return bool(done)

    @_translated
    async def withdraw(self, call_id: CallId, now: float) -> AgentId | None:
        agent = await self._withdraw(keys=[call_id], args=[self._prefix, _num(now)])
        return None if agent is None else AgentId(agent)

    @_translated
    async def assign_for_agent(self, agent_id: AgentId, now: float) -> Assignment | None:
        reply = await self._for_agent(keys=[agent_id], args=[self._prefix, _num(now)])
        return _assignment(reply, now)

    @_translated
    async def assign_for_call(self, call_id: CallId, now: float) -> Assignment | None:
        reply = await self._for_call(keys=[call_id], args=[self._prefix, _num(now)])
        return _assignment(reply, now)

    @_translated
    async def agent(self, agent_id: AgentId) -> AgentStatus | None:
        row = await self._redis.hmget(self._key("a", agent_id), ["st", "since", "reason", "call"])
        st, since, reason, call = cast(list[str | None], row)
        if st is None or since is None:
            return None
        return AgentStatus(
            agent_id,
            cast(AgentStateName, st),
            float(since),
            reason,
            None if call is None else CallId(call),
        )

    @_translated
    async def assignment(self, call_id: CallId) -> Assignment | None:
        row = await self._redis.hmget(self._key("c", call_id), ["st", "agent", "q", "at", "aseq"])
        st, agent, queue, at, aseq = cast(list[str], row)
        if st != "assigned":
            return None
        return Assignment(call_id, AgentId(agent), QueueId(queue), float(at), int(aseq))

    @_translated
    async def waiting(self, queue_id: QueueId, now: float) -> list[CallId]:
        profiles = await self._redis.smembers(self._key("q", queue_id, "pf"))
        members: list[str] = []
        for pf in cast(set[str], profiles):
            head = await self._redis.zrange(self._key("w", queue_id, pf), 0, -1)
            members.extend(cast(list[str], head))
        aging = float(await self._redis.hget(self._key("q", queue_id), "aging") or 0.0)
        ranked: list[tuple[float, float, int, CallId]] = []
        async with self._redis.pipeline(transaction=False) as pipe:
            for member in members:
                pipe.hmget(self._key("c", member.split("|", 2)[2]), ["p", "e", "seq"])  # type: ignore[unused-awaitable]
            rows = await pipe.execute()
        for member, (p, e, seq) in zip(members, rows, strict=True):
            eff = int(p) + aging * (now - float(e))
            ranked.append((-eff, float(e), int(seq), CallId(member.split("|", 2)[2])))
        return [r[3] for r in sorted(ranked)]

    @_translated
    async def waiting_count(self, queue_id: QueueId) -> int:
        return int(await self._redis.hget(self._key("q", queue_id), "n") or 0)

    async def close(self) -> None:
        await self._redis.aclose()
