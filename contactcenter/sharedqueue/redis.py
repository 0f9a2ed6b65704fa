"""RedisSharedQueues: queue contents, agent states and assignments in Redis, shared by every
server node of a deployment. Every operation that changes anything is ONE Lua script (EVALSHA
via redis-py's `register_script`), so Redis runs it alone: two nodes never give one agent two
calls nor one call two agents. Key layout and guarantees: docs/architecture.md, "Multi-node
operation". All keys start with the deployment's prefix (setting `redis_prefix`).

Keys (P = prefix; q queue, pf profile "skill=level,...", pen penalty, a agent, c call):
  P q:<q>                 hash  aging (w), strat, skills ("a,b"), n (calls waiting, directed
                                ones included), rr_r / rr_p (round-robin pointer), wr
                                (weighted-random clock), day (least_calls: the day scored),
                                lend / borrowers ("q,q"), slth, slt, slw, sab (SL rule)
  P q:<q>:pf              set   profiles seen in the queue ("" = no requirement)
  P q:<q>:pen             zset  penalties agents have in the queue (member = score = penalty)
  P q:<q>:ag              set   logged-in agents serving the queue
  P w:<q>:<pf>            zset  waiting calls; score e - p/w (w > 0) or -p; member
                                "<e %020.6f>|<enqueue seq %012d>|<call id>"
  P g:<q>                 zset  ringing (assigned, unanswered) ordinary calls, as w: (positions)
  P r:<q>:<pf>:<pen>      zset  READY agents of the queue with that penalty who meet the profile;
                                score = the strategy's key (redis_lua.py agent_score: ready
                                since, calls today, -total level, round * 2^20 + position,
                                clock + draw / weight), member "<ready since %020.6f>|<ready
                                order %012d>|<agent>" (ties: longest idle, first ready)
  P o:<c>                 zset  the agents a ring_all call rings at (score = offer order)
  P t:<a>                 zset  waiting calls directed to the agent, scored as in their queue
  P ans:<q>               zset  the queue's last answers (score = time; 200, 900 s at most)
  P sl:<q> / slm:<q>      zset  a lending queue's outcomes / those met (score = time, SL window)
  P a:<a>                 hash  st (not_ready|ready|assigned|on_call|on_hold|busy|wrap_up),
                                since, idle, iseq, reason, call, ronas, rk (when READY: the sets
                                the agent is in, "q|pf|pen|q|pf|pen...")
  P a:<a>:sk / :qs / :ks  hash  skill -> level / queue -> penalty / queue -> last score
  P a:<a>:nc              hash  queue -> calls answered on day `_d` (least_calls)
  P c:<c>                 hash  st (waiting|assigned|answered), q, p, e, pf, tg, zk, m, sc, seq,
                                ent (entered the queue), step (widening), agent, at, aseq
  P pos                   hash  agent -> login position (round robin; kept after logout)
  P seq:call, seq:asg, seq:pos, seq:ans, seq:idle, seq:sl   counters
A script looks only at the heads of the sorted sets of the agent's queues and profiles (or of
the call's queue, profile and penalties): never at all agents or all calls. The bounded
exceptions: the first call with a new profile in a queue fills that profile's READY sets from
the queue's READY agents once; the first decision of a new day re-scores a least_calls queue's
READY agents; a logout moves the agent's directed calls.

Redis Cluster is not supported: the scripts derive key names from hash contents, which Redis
Cluster only allows for keys declared up front. Run one Redis primary (with a replica and
Sentinel for failover, and AOF persistence for durability).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Collection, Coroutine, Mapping
from functools import wraps
from typing import Any, ParamSpec, TypeVar, cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from acd.queries import EWT_WINDOW_S
from contactcenter.ids import AgentId, CallId, QueueId
from contactcenter.sharedqueue import redis_scripts as lua
from contactcenter.sharedqueue.ports import (
    DEFAULT_SERVICE_LEVEL,
    NO_CONTEXT,
    AgentLogin,
    AgentStateConflict,
    AgentStateName,
    AgentStatus,
    Answered,
    Assignment,
    Moved,
    MoveTargetLoggedOut,
    QueueCall,
    QueueNotEmpty,
    Requeued,
    RouteContext,
    ServiceLevel,
    SharedQueueUnavailable,
    WaitInfo,
    check_name,
    check_strategy,
    parse_profile,
    profile_of,
    state_conflict,
    unknown_agent,
)

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


def _assignments(replies: list[list[Any]], now: float) -> list[Assignment]:
    return [
        Assignment(CallId(c), AgentId(a), QueueId(q), now, int(seq)) for c, a, q, seq in replies
    ]


def _pairs(flat: list[str]) -> dict[str, str]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


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
        self._scripts: dict[str, Any] = {
            name: self._redis.register_script(lua.LIB + getattr(lua, name))
            for name in (
                "CONFIGURE", "ENQUEUE", "REMOVE", "LOGIN", "LOGOUT", "SET_STATE", "FINISH",
                "REQUEUE", "ANSWER", "WITHDRAW", "ASSIGN_FOR_AGENT", "ASSIGN_FOR_CALL",
                "ASSIGN_AFTER_MOVE", "SERVE_BORROWERS", "MOVE",
                "REPROFILE", "HOLD", "WAIT_INFO",
            )
        }  # fmt: skip

    async def _run(
        self, name: str, key: str, now: float, *args: str, ctx: RouteContext = NO_CONTEXT
    ) -> Any:
        draws = json.dumps({q: float(u) for q, u in ctx.draws.items()})
        head = [self._prefix, _num(now), _num(ctx.day), draws]
        return await self._scripts[name](keys=[key], args=head + list(args))

    def _key(self, *parts: str) -> str:
        return self._prefix + ":".join(parts)

    @_translated
    async def configure_queue(
        self,
        queue_id: QueueId,
        aging_per_s: float,
        strategy: str = "longest_idle",
        skills: Collection[str] = (),
        *,
        borrow_from: Collection[QueueId] = (),
        lends_to: Collection[QueueId] = (),
        service_level: ServiceLevel = DEFAULT_SERVICE_LEVEL,
    ) -> None:
        check_name("queue_id", queue_id)
        check_strategy(queue_id, strategy)
        if not (aging_per_s >= 0):
            raise ValueError(f"queue {queue_id!r}: aging_per_s must be >= 0")
        for skill in skills:
            check_name(f"queue {queue_id}: skill", skill)
        for other in (*borrow_from, *lends_to):
            check_name(f"queue {queue_id}: lending queue", other)
        sl = service_level
        done = await self._run(
            "CONFIGURE",
            queue_id,
            0.0,
            _num(aging_per_s),
            strategy,
            ",".join(sorted(skills)),
            ",".join(borrow_from),
            ",".join(lends_to),
            _num(sl.threshold_s),
            _num(sl.target),
            _num(sl.window_s),
            _num(sl.short_abandon_s),
        )
        if not done:
            waiting = await self.waiting_count(queue_id)
            raise QueueNotEmpty(
                f"queue {queue_id!r}: {waiting} calls wait; change aging when it is empty"
            )

    @_translated
    async def enqueue(self, call: QueueCall) -> bool:
        entered = call.enqueued_at if call.entered_at is None else call.entered_at
        args = [
            call.queue_id,
            str(call.priority),
            _num(call.enqueued_at),
            f"{call.enqueued_at:020.6f}",
            profile_of(call.skills),
            call.target_agent or "",
            _num(entered),
            str(call.step),
        ]
        return bool(await self._run("ENQUEUE", call.call_id, entered, *args))

    @_translated
    async def remove_call(self, call_id: CallId, now: float | None = None) -> bool:
        flag = "0" if now is None else "1"
        return bool(await self._run("REMOVE", call_id, now or 0.0, flag))

    @_translated
    async def login(self, agent: AgentLogin, now: float, ctx: RouteContext = NO_CONTEXT) -> bool:
        skills = json.dumps([[s, str(level)] for s, level in agent.skills.items()])
        queues = json.dumps([[q, str(pen)] for q, pen in agent.queues.items()])
        reply = await self._run("LOGIN", agent.agent_id, now, skills, queues, ctx=ctx)
        return bool(reply == "new")

    @_translated
    async def logout(self, agent_id: AgentId) -> list[CallId] | None:
        reply = await self._run("LOGOUT", agent_id, 0.0)
        if reply[0] == "unknown":
            return None
        _state_reply(reply, agent_id, "log out")
        return [CallId(c) for c in reply[1:]]

    async def _state(
        self, agent_id: AgentId, now: float, op: str, reason: str | None, ctx: RouteContext
    ) -> None:
        if reason is not None and not reason:
            raise ValueError(f"agent {agent_id!r}: reason must be None or a non-empty string")
        reply = await self._run("SET_STATE", agent_id, now, op, reason or "", ctx=ctx)
        _state_reply(reply, agent_id, f"go {op}")

    @_translated
    async def ready(self, agent_id: AgentId, now: float, ctx: RouteContext = NO_CONTEXT) -> None:
        await self._state(agent_id, now, "ready", None, ctx)

    @_translated
    async def not_ready(self, agent_id: AgentId, now: float, reason: str | None = None) -> None:
        await self._state(agent_id, now, "not_ready", reason, NO_CONTEXT)

    @_translated
    async def busy(self, agent_id: AgentId, now: float) -> None:
        await self._state(agent_id, now, "busy", None, NO_CONTEXT)

    @_translated
    async def finish(
        self, agent_id: AgentId, now: float, *, ready: bool = False, ctx: RouteContext = NO_CONTEXT
    ) -> CallId | None:
        reply = await self._run("FINISH", agent_id, now, "1" if ready else "0", ctx=ctx)
        _state_reply(reply, agent_id, "finish")
        return CallId(reply[1]) if reply[1] else None

    @_translated
    async def requeue(
        self,
        call_id: CallId,
        now: float,
        reason: str = "rona",
        agent_id: AgentId | None = None,
        *,
        rona_limit: int | None = None,
    ) -> Requeued | None:
        limit = "" if rona_limit is None else str(int(rona_limit))
        reply = await self._run("REQUEUE", call_id, now, reason, agent_id or "", limit)
        if reply is None:
            return None
        return Requeued(
            AgentId(reply[0]), reply[1] == "logged_out", tuple(CallId(c) for c in reply[2:])
        )

    @_translated
    async def answer(
        self, call_id: CallId, agent_id: AgentId, now: float, ctx: RouteContext = NO_CONTEXT
    ) -> Answered | None:
        reply = await self._run("ANSWER", call_id, now, agent_id, _num(EWT_WINDOW_S), ctx=ctx)
        if reply is None:
            return None
        others = tuple(AgentId(a) for a in reply[3:])
        return Answered(QueueId(reply[0]), int(reply[1]), float(reply[2]), others)

    @_translated
    async def hold(self, agent_id: AgentId, call_id: CallId, on_hold: bool, now: float) -> bool:
        reply = await self._run("HOLD", agent_id, now, call_id, "1" if on_hold else "0")
        if reply == "no":
            status = await self.agent(agent_id)
            state = "logged_out" if status is None else status.state
            raise AgentStateConflict(f"agent {agent_id!r} is not on call {call_id!r}", state)
        return bool(reply == "ok")

    @_translated
    async def withdraw(self, call_id: CallId, now: float) -> AgentId | None:
        agents = await self._withdraw_all(call_id, now)
        return agents[0] if agents else None

    @_translated
    async def withdraw_all(self, call_id: CallId, now: float) -> list[AgentId]:
        return await self._withdraw_all(call_id, now)

    async def _withdraw_all(self, call_id: CallId, now: float) -> list[AgentId]:
        return [AgentId(a) for a in await self._run("WITHDRAW", call_id, now, "1")]

    @_translated
    async def move(
        self,
        call_id: CallId,
        to_queue: QueueId,
        skills: Mapping[str, int],
        target: AgentId | None,
        now: float,
        *,
        step: int = 0,
        if_queue: QueueId | None = None,
        if_entered_at: float | None = None,
    ) -> Moved | None:
        check_name("to_queue", to_queue)
        reply = await self._run(
            "MOVE",
            call_id,
            now,
            to_queue,
            profile_of(skills),
            target or "",
            str(step),
            if_queue or "",
            "" if if_entered_at is None else _num(if_entered_at),
        )
        if reply[0] == "target":
            raise MoveTargetLoggedOut(f"cannot move call {call_id} to agent {target}: logged out")
        if reply[0] == "gone":
            return None
        _, old, step_s, entered, *withdrawn = reply
        agents = [AgentId(a) for a in withdrawn]
        first = agents[0] if agents else None
        return Moved(QueueId(old), first, int(step_s), float(entered), tuple(agents[1:]))

    @_translated
    async def reprofile(
        self,
        call_id: CallId,
        queue_id: QueueId,
        entered_at: float,
        skills: Mapping[str, int],
        step: int,
    ) -> bool:
        args = (queue_id, _num(entered_at), profile_of(skills), str(step))
        return bool(await self._run("REPROFILE", call_id, 0.0, *args))

    @_translated
    async def assign_for_agent(self, agent_id: AgentId, now: float) -> Assignment | None:
        got = _assignments(await self._run("ASSIGN_FOR_AGENT", agent_id, now), now)
        return next((g for g in got if g.agent_id == agent_id), None)

    @_translated
    async def assign_for_call(
        self, call_id: CallId, now: float, ctx: RouteContext = NO_CONTEXT
    ) -> Assignment | None:
        got = _assignments(await self._run("ASSIGN_FOR_CALL", call_id, now, ctx=ctx), now)
        return got[0] if got else None

    @_translated
    async def offers_for_agent(
        self, agent_id: AgentId, now: float, ctx: RouteContext = NO_CONTEXT
    ) -> list[Assignment]:
        return _assignments(await self._run("ASSIGN_FOR_AGENT", agent_id, now, ctx=ctx), now)

    @_translated
    async def offers_for_call(
        self, call_id: CallId, now: float, ctx: RouteContext = NO_CONTEXT
    ) -> list[Assignment]:
        return _assignments(await self._run("ASSIGN_FOR_CALL", call_id, now, ctx=ctx), now)

    @_translated
    async def serve_borrowers(
        self, queue_id: QueueId, now: float, ctx: RouteContext = NO_CONTEXT
    ) -> list[Assignment]:
        return _assignments(await self._run("SERVE_BORROWERS", queue_id, now, ctx=ctx), now)

    @_translated
    async def assign_after_move(
        self, call_id: CallId, agent_id: AgentId, now: float, ctx: RouteContext = NO_CONTEXT
    ) -> list[Assignment]:
        replies = await self._run("ASSIGN_AFTER_MOVE", call_id, now, agent_id, ctx=ctx)
        return _assignments(replies, now)

    @_translated
    async def agent(self, agent_id: AgentId) -> AgentStatus | None:
        key = self._key("a", agent_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hmget(key, ["st", "since", "reason", "call", "idle"])  # type: ignore[unused-awaitable]
            pipe.hgetall(key + ":sk")  # type: ignore[unused-awaitable]
            pipe.hgetall(key + ":qs")  # type: ignore[unused-awaitable]
            row, sk, qs = await pipe.execute()
        st, since, reason, call, idle = cast(list[str | None], row)
        if st is None or since is None:
            return None
        return AgentStatus(
            agent_id,
            cast(AgentStateName, st),
            float(since),
            reason,
            None if call is None else CallId(call),
            {s: int(v) for s, v in sk.items()},
            {QueueId(q): int(v) for q, v in qs.items()},
            float(idle) if st == "ready" and idle is not None else None,
        )

    @_translated
    async def assignment(self, call_id: CallId) -> Assignment | None:
        row = await self._redis.hmget(self._key("c", call_id), ["st", "agent", "q", "at", "aseq"])
        st, agent, queue, at, aseq = cast(list[str], row)
        if st not in ("assigned", "answered"):
            return None
        return Assignment(call_id, AgentId(agent), QueueId(queue), float(at), int(aseq))

    @_translated
    async def call(self, call_id: CallId) -> QueueCall | None:
        row = cast(dict[str, str], await self._redis.hgetall(self._key("c", call_id)))
        if not row or row["st"] == "answered":
            return None
        return QueueCall(
            call_id,
            QueueId(row["q"]),
            int(row["p"]),
            float(row["e"]),
            parse_profile(row["pf"]),
            AgentId(row["tg"]) if row["tg"] else None,
            float(row["ent"]),
            int(row["step"]),
        )

    @_translated
    async def wait_info(self, call_id: CallId, now: float, window_s: float) -> WaitInfo | None:
        reply = await self._run("WAIT_INFO", call_id, now, _num(window_s))
        if reply is None:
            return None
        pos, ringing, queue, n, first, last, serving = reply
        return WaitInfo(
            int(pos), bool(ringing), QueueId(queue), int(n), float(first), float(last), int(serving)
        )

    @_translated
    async def serving(self, queue_id: QueueId) -> int:
        return int(await self._redis.scard(self._key("q", queue_id, "ag")))

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
