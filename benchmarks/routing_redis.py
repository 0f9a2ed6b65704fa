"""Shared queues on Redis (contactcenter/sharedqueue/redis.py): the cost of one atomic
assignment (one Lua script, one round trip) at a large site, on a real Redis.

The site: `--agents` agents (each with 3 of `--skills` skills, levels 1-10, logged in to the
queue of each of their skills with a penalty 0-2) and `--waiting` calls waiting, of mixed
priority (0-9), each requiring its queue's skill at a minimum level 1-5, in 20 queues (one per
skill; every other queue ages priorities at w = 0.5/s; the queues' strategies cycle through
longest idle, least calls, round robin, most skilled and weighted random).

Phases (the queues hold `--waiting` calls throughout, topped up after every assignment):
1. latency, agent side (one request at a time): an agent goes ready, then
   `assign_for_agent` (timed); the agent finishes the call it got (or goes not ready when there
   was none for them) and a new call replaces the one taken;
2. latency, call side (one request at a time): with `--ready` agents ready, a call arrives and
   `assign_for_call` (timed); the agent finishes it and is ready again at once;
3. throughput: batches of `--batch` agents go ready (not timed), then all of them ask
   `assign_for_agent` at once over `--concurrency` connections; assignments/s = assignments made
   / time the batches took. Finishing and topping up happen between batches, not timed.
p50/p99 are over every assign round trip of phases 1-2 (as the node sees it: from sending the
script to having its parsed reply), hits and misses alike. Also the client's peak RSS, the
memory Redis reports for the whole server, and the server's mean time per script in phase 3
(from INFO commandstats: the part of a round trip Redis itself spends, one script at a time).

    python -m benchmarks.routing_redis [--redis redis://127.0.0.1:6379/15] [--agents 2000]
        [--skills 20] [--waiting 1000] [--rounds 3000] [--batch 500] [--concurrency 16]

Keys go under a fresh prefix and are deleted afterwards. The last line printed is one JSON
object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import resource
import sys
import time
import uuid
from typing import Any

import redis.asyncio as aioredis

from contactcenter.ids import AgentId, CallId, QueueId
from contactcenter.sharedqueue import AgentLogin, QueueCall, RedisSharedQueues
from contactcenter.sharedqueue.ports import RouteContext

# The one-agent strategies (ring_all offers a call to several agents: not an assignment).
STRATEGIES = ("longest_idle", "least_calls", "round_robin", "most_skilled", "weighted_random")

P99_TARGET_MS = 3.0
RATE_TARGET = 3_000.0


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class _Site:
    def __init__(self, shared: RedisSharedQueues, skills: int, rng: random.Random) -> None:
        self.shared = shared
        self.skills = [f"s{i:02d}" for i in range(skills)]
        self.rng = rng
        self.calls = 0

    def queue_of(self, skill: str) -> QueueId:
        return QueueId(f"q-{skill}")

    async def new_call(self, now: float) -> CallId:
        self.calls += 1
        skill = self.rng.choice(self.skills)
        call = QueueCall(
            CallId(f"call{self.calls}"),
            self.queue_of(skill),
            self.rng.randint(0, 9),
            now - self.rng.uniform(0, 300),
            {skill: self.rng.randint(1, 5)},
        )
        await self.shared.enqueue(call)
        return call.call_id


async def _evalsha_stats(client: aioredis.Redis) -> tuple[int, int]:
    """(calls, usec) of EVALSHA on the server so far (every client's)."""
    stats = (await client.info("commandstats")).get("cmdstat_evalsha", {})
    return int(stats.get("calls", 0)), int(stats.get("usec", 0))


async def _timed(latencies: list[float], coro: Any) -> Any:
    t0 = time.perf_counter()
    result = await coro
    latencies.append((time.perf_counter() - t0) * 1000.0)
    return result


async def run_redis_async(
    redis_url: str = "redis://127.0.0.1:6379/15",
    agents: int = 2000,
    skills: int = 20,
    waiting: int = 1000,
    rounds: int = 3000,
    ready: int = 300,
    batch: int = 500,
    batches: int = 6,
    concurrency: int = 16,
    seed: int = 1,
) -> dict[str, Any]:
    prefix = f"ccbench:{uuid.uuid4().hex}:"
    shared = RedisSharedQueues(redis_url, prefix=prefix)
    rng = random.Random(seed)
    site = _Site(shared, skills, rng)
    try:
        strategy: dict[QueueId, str] = {}
        for i, skill in enumerate(site.skills):
            queue = site.queue_of(skill)
            strategy[queue] = STRATEGIES[i % len(STRATEGIES)]
            await shared.configure_queue(
                queue, 0.5 if i % 2 else 0.0, strategy[queue], skills=(skill,)
            )
        ids = [AgentId(f"agent{i:04d}") for i in range(agents)]
        day = float(int(time.time() // 86400) * 86400)  # UTC midnight: "least calls today"
        drawn_for: dict[AgentId, list[QueueId]] = {}

        def ctx(agent_id: AgentId) -> RouteContext:
            """What a node passes when it may index a READY agent (acd_mapping.route_context):
            the day's start, and one exponential draw per weighted-random queue of theirs."""
            draws = {q: -math.log(1.0 - rng.random()) for q in drawn_for[agent_id]}
            return RouteContext(day, draws)

        ctx0 = RouteContext(day)
        t_setup = time.perf_counter()
        for agent_id in ids:
            mine = rng.sample(site.skills, 3)
            drawn_for[agent_id] = [
                site.queue_of(s) for s in mine if strategy[site.queue_of(s)] == "weighted_random"
            ]
            await shared.login(
                AgentLogin(
                    agent_id,
                    {s: rng.randint(1, 10) for s in mine},
                    {site.queue_of(s): rng.randint(0, 2) for s in mine},
                ),
                time.time(),
            )
        for _ in range(waiting):
            await site.new_call(time.time())
        setup_s = time.perf_counter() - t_setup

        # 1. agent side, one at a time
        agent_lat: list[float] = []
        agent_hits = 0
        for _ in range(rounds):
            agent_id = rng.choice(ids)
            await shared.ready(agent_id, time.time(), ctx(agent_id))
            got = await _timed(agent_lat, shared.assign_for_agent(agent_id, time.time()))
            if got is None:
                await shared.not_ready(agent_id, time.time())
                continue
            agent_hits += 1
            await shared.finish(agent_id, time.time())
            await site.new_call(time.time())

        # 2. call side, one at a time, with `ready` agents ready
        pool = rng.sample(ids, ready)
        for agent_id in pool:
            await shared.ready(agent_id, time.time(), ctx(agent_id))
        call_lat: list[float] = []
        call_hits = 0
        for _ in range(rounds):
            call_id = await site.new_call(time.time())
            got = await _timed(call_lat, shared.assign_for_call(call_id, time.time(), ctx0))
            if got is None:
                continue  # it waits: the queues grow by one, as at a site short of skills
            call_hits += 1
            await shared.finish(got.agent_id, time.time(), ready=True, ctx=ctx(got.agent_id))
        for agent_id in pool:
            await shared.not_ready(agent_id, time.time())

        # 3. throughput: batches of concurrent assign_for_agent
        made = 0
        busy_s = client_cpu_s = 0.0
        sem = asyncio.Semaphore(concurrency)

        async def assign(agent_id: AgentId) -> AgentId | None:
            async with sem:
                got = await shared.assign_for_agent(agent_id, time.time())
            return None if got is None else agent_id

        stats = aioredis.Redis.from_url(redis_url)
        before = await _evalsha_stats(stats)
        for _ in range(batches):
            group = rng.sample(ids, batch)
            for agent_id in group:
                await shared.ready(agent_id, time.time(), ctx(agent_id))
            t0, c0 = time.perf_counter(), time.process_time()
            results = await asyncio.gather(*(assign(a) for a in group))
            busy_s += time.perf_counter() - t0
            client_cpu_s += time.process_time() - c0
            for agent_id in group:
                if agent_id in results:
                    made += 1
                    await shared.finish(agent_id, time.time())
                    await site.new_call(time.time())
                else:
                    await shared.not_ready(agent_id, time.time())
        after = await _evalsha_stats(stats)
        await stats.aclose()
        waiting_now = sum([await shared.waiting_count(site.queue_of(s)) for s in site.skills])
    finally:
        await shared.close()
        client = aioredis.Redis.from_url(redis_url)
        try:
            info = await client.info("memory")
            keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=1000)]
            for i in range(0, len(keys), 1000):
                await client.delete(*keys[i : i + 1000])
        finally:
            await client.aclose()

    both = agent_lat + call_lat
    p99 = _pct(both, 0.99)
    rate = made / busy_s if busy_s else 0.0
    return {
        "agents": agents,
        "skills": skills,
        "queues": skills,
        "waiting_calls_start": waiting,
        "waiting_calls_end": waiting_now,
        "setup_s": round(setup_s, 2),
        "assign_rounds": len(both),
        "assign_p50_ms": round(_pct(both, 0.5) or 0.0, 3),
        "assign_p99_ms": round(p99 or 0.0, 3),
        "assign_max_ms": round(max(both), 3),
        "agent_side_p50_ms": round(_pct(agent_lat, 0.5) or 0.0, 3),
        "agent_side_p99_ms": round(_pct(agent_lat, 0.99) or 0.0, 3),
        "agent_side_hit_ratio": round(agent_hits / rounds, 3),
        "call_side_p50_ms": round(_pct(call_lat, 0.5) or 0.0, 3),
        "call_side_p99_ms": round(_pct(call_lat, 0.99) or 0.0, 3),
        "call_side_hit_ratio": round(call_hits / rounds, 3),
        "throughput_assignments": made,
        "assignments_per_s": round(rate, 1),
        "concurrency": concurrency,
        # server time per script during phase 3 (ready, assign, finish, enqueue alike; other
        # clients' scripts count too if any run meanwhile)
        "redis_script_us_phase3": round((after[1] - before[1]) / max(1, after[0] - before[0]), 1),
        "throughput_client_cpu_share": round(client_cpu_s / busy_s, 2) if busy_s else None,
        "client_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "redis_used_memory_mb": round(int(info["used_memory"]) / 2**20, 1),
        "target_p99_ms": P99_TARGET_MS,
        "target_assignments_per_s": RATE_TARGET,
        "target_met": p99 is not None and p99 <= P99_TARGET_MS and rate >= RATE_TARGET,
    }


def run_redis(**kwargs: Any) -> dict[str, Any]:
    """Run the benchmark (keyword arguments as `run_redis_async`) and return its figures."""
    return asyncio.run(run_redis_async(**kwargs))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--redis", default=os.environ.get("CC_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
    )
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--skills", type=int, default=20)
    parser.add_argument("--waiting", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3000)
    parser.add_argument("--ready", type=int, default=300)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args(argv)
    figures = run_redis(
        redis_url=args.redis,
        agents=args.agents,
        skills=args.skills,
        waiting=args.waiting,
        rounds=args.rounds,
        ready=args.ready,
        batch=args.batch,
        batches=args.batches,
        concurrency=args.concurrency,
    )
    print(json.dumps(figures), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
