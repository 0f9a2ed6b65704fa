"""Routing decisions of the in-process ACD core (acd/core.py), on one pinned core.

A large site: `--agents` agents (2,000), each with 3 of `--skills` skills (20) at random levels
(1-10) and a random penalty (0-2) in some queues; one queue per skill, with a mix of strategies
(longest idle, least calls, most skilled, round robin, weighted random), required levels with
widening (30 s: -2 levels, 60 s: any level) on every fourth queue, priority aging on every
third; calls of priority 0-9. The last 4 queues are "quiet": 10% of the calls, served by
their own agents (one agent in 7 has only quiet skills), so their agents are mostly Ready and
an enqueue there is assigned at once, while the other queues always have calls waiting and
their agents are assigned as they go Ready. The run first logs every agent in (Not Ready) and
enqueues
`--waiting` calls (1,000), then keeps about that many calls waiting while it measures:

- a *decision* is the core's `handle()` of an input that can trigger an assignment: an agent
  going Ready (picks the best call among the queues the agent serves), or a call being
  enqueued (picks an agent among the queue's Ready ones). Each is timed alone
  (time.perf_counter_ns around `AcdCore.handle`), whether or not it assigns;
- between decisions, untimed: offered calls are answered and finished (the agent goes to
  wrap-up, then Not Ready, and back to the pool that goes Ready), 2% of waiting calls are
  abandoned, and virtual time moves 20 ms per step, so widening and priority aging act
  (their timers are delivered as the shell would, and not timed).

The step is a call enqueue while fewer than `--waiting` calls wait, else an agent going Ready.
Figures: decision latency p50/p99/max (all, and per kind), decisions per second on one core
(decisions / time inside those `handle()` calls), assignments, peak RSS of the process.
Targets: p99 <= 1 ms and >= 20,000 decisions/s.

    python -m benchmarks.routing [--agents 2000] [--skills 20] [--waiting 1000]
                                 [--decisions 40000] [--seed 1] [--cpu N]

The last line printed is one JSON object with every figure (`target_met` among them).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import sys
import time
from array import array

from acd import messages as m
from acd.core import AcdCore
from acd.model import STRATEGIES, QueueConfig, Strategy, WidenStep
from acd.virtual import VirtualAcd
from contactcenter.ids import AgentId, CallId, QueueId

TARGET_P99_MS = 1.0
TARGET_DECISIONS_PER_S = 20_000.0
STEP_S = 0.02
ABANDON_SHARE = 0.02
SKILLS_PER_AGENT = 3
QUIET_QUEUES = 4
QUIET_CALL_SHARE = 0.10
QUIET_AGENT_EVERY = 7


def _pin(cpu: int | None) -> list[int] | None:
    """Pin this process to one CPU (the first allowed one unless told); None if impossible."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    chosen = cpu if cpu is not None else allowed[0]
    if chosen not in allowed:
        return None
    os.sched_setaffinity(0, {chosen})
    return [chosen]


def _pct(ordered: list[int], q: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6  # ns -> ms


def site(skills: int) -> dict[QueueId, QueueConfig]:
    strategies: list[Strategy] = [s for s in STRATEGIES if s != "ring_all"]  # type: ignore[misc]
    queues = {}
    for i in range(skills):
        qid = QueueId(f"q{i}")
        skill = f"s{i}"
        levels = {skill: 6} if i % 4 == 0 else {}
        widen = (WidenStep(30, 2), WidenStep(60, 10)) if levels else ()
        queues[qid] = QueueConfig(
            qid,
            qid,
            frozenset({skill}),
            wrapup_s=5.0,
            offer_timeout_s=15.0,
            skill_levels=levels,
            widen=widen,
            priority_aging_per_s=0.05 if i % 3 == 0 else 0.0,
            strategy=strategies[i % len(strategies)],
        )
    return queues


def run_core(
    agents: int = 2000,
    skills: int = 20,
    waiting: int = 1000,
    decisions: int = 40_000,
    seed: int = 1,
    cpu: int | None = None,
) -> dict[str, object]:
    """Run the benchmark in this process and return its figures."""
    pinned = _pin(cpu)
    rng = random.Random(seed)
    queues = site(skills)
    qids = list(queues)
    acd = VirtualAcd(AcdCore(queues, rng=random.Random(seed)), now=1_800_000_000.0)
    core = acd.core

    quiet = list(range(skills - QUIET_QUEUES, skills))
    busy = list(range(skills - QUIET_QUEUES))
    for i in range(agents):
        mine = rng.sample(quiet if i % QUIET_AGENT_EVERY == 0 else busy, SKILLS_PER_AGENT)
        acd.submit(
            m.AgentLogin(
                AgentId(f"a{i}"),
                frozenset(f"s{k}" for k in mine),
                {f"s{k}": rng.randint(1, 10) for k in mine},
                {qids[k]: rng.choice((0, 0, 1, 2)) for k in mine},
            )
        )
    pool = [AgentId(f"a{i}") for i in range(agents)]  # Not Ready, to go Ready
    waiting_calls: dict[CallId, None] = {}  # insertion-ordered set
    next_call = 0

    def settle(outputs: list[m.Output]) -> int:
        """Answer and finish what was offered; the agents go to wrap-up, then Not Ready."""
        offered = 0
        for out in outputs:
            if isinstance(out, m.OfferCall):
                offered += 1
                waiting_calls.pop(out.call_id, None)
                acd.submit(m.AcceptOffer(out.call_id, out.agent_id))
                acd.submit(m.CallFinished(out.call_id, out.agent_id))
                acd.submit(m.AgentNotReady(out.agent_id, "bench"))
                pool.append(out.agent_id)
        return offered

    def enqueue() -> m.EnqueueCall:
        nonlocal next_call
        call = CallId(f"c{next_call}")
        next_call += 1
        waiting_calls[call] = None
        skill = rng.choice(quiet if rng.random() < QUIET_CALL_SHARE else busy)
        return m.EnqueueCall(call, qids[skill], priority=rng.randint(0, 9))

    for _ in range(waiting):
        settle(acd.submit(enqueue()))

    kinds = ("enqueue", "ready")
    times: dict[str, array[int]] = {k: array("q") for k in kinds}
    assigned = {k: 0 for k in kinds}
    by_timers = abandoned = 0
    perf = time.perf_counter_ns
    gc.collect()
    started = time.perf_counter()
    for _ in range(decisions):
        by_timers += settle(acd.advance(STEP_S))
        if waiting_calls and rng.random() < ABANDON_SHARE:
            gone = next(iter(waiting_calls))
            del waiting_calls[gone]
            settle(acd.submit(m.RemoveCall(gone)))
            abandoned += 1
        if len(waiting_calls) < waiting or not pool:
            kind, msg = "enqueue", enqueue()
        else:
            index = rng.randrange(len(pool))
            pool[index], pool[-1] = pool[-1], pool[index]
            kind, msg = "ready", m.AgentReady(pool.pop())
        now = acd.now
        t0 = perf()
        outputs = core.handle(msg, now)
        t1 = perf()
        times[kind].append(t1 - t0)
        acd.track(outputs)
        assigned[kind] += settle(outputs)
    wall_s = time.perf_counter() - started

    all_ns = sorted(t for k in kinds for t in times[k])
    busy_s = sum(all_ns) / 1e9
    per_kind = {}
    for k in kinds:
        ordered = sorted(times[k])
        per_kind[k] = {
            "decisions": len(ordered),
            "assignments": assigned[k],
            "p50_ms": _pct(ordered, 0.50),
            "p99_ms": _pct(ordered, 0.99),
        }
    p99 = _pct(all_ns, 0.99)
    rate = len(all_ns) / busy_s if busy_s > 0 else 0.0
    return {
        "benchmark": "routing_core",
        "agents": agents,
        "skills": skills,
        "queues": len(queues),
        "waiting_calls_kept": waiting,
        "waiting_calls_at_end": len(waiting_calls),
        "decisions": len(all_ns),
        "assignments": sum(assigned.values()),
        "assignments_by_untimed_timers": by_timers,
        "abandoned": abandoned,
        "decision_p50_ms": _pct(all_ns, 0.50),
        "decision_p99_ms": p99,
        "decision_max_ms": _pct(all_ns, 1.0),
        "decisions_per_s": round(rate, 1),
        "by_kind": per_kind,
        "wall_s_including_untimed_steps": round(wall_s, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cpus": pinned,
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "python": sys.version.split()[0],
        "targets": {"p99_ms": TARGET_P99_MS, "decisions_per_s": TARGET_DECISIONS_PER_S},
        "target_met": p99 is not None and p99 <= TARGET_P99_MS and rate >= TARGET_DECISIONS_PER_S,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--skills", type=int, default=20)
    parser.add_argument("--waiting", type=int, default=1000)
    parser.add_argument("--decisions", type=int, default=40_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cpu", type=int, default=None, help="CPU to pin to (default: first)")
    parser.add_argument(
        "--redis",
        default=os.environ.get("CC_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
        help="Redis for the shared-queue part (benchmarks/routing_redis.py)",
    )
    parser.add_argument("--core-only", action="store_true", help="skip the Redis part")
    args = parser.parse_args(argv)
    core = run_core(args.agents, args.skills, args.waiting, args.decisions, args.seed, args.cpu)
    result: dict[str, object] = {"core": core}
    met = bool(core["target_met"])
    if not args.core_only:
        from benchmarks.routing_redis import run_redis

        redis = run_redis(
            redis_url=args.redis, agents=args.agents, skills=args.skills, waiting=args.waiting
        )
        result["redis"] = redis
        met = met and bool(redis["target_met"])
    result["target_met"] = met
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
