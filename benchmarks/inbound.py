"""End-to-end inbound benchmark: the PBX simulator places calls over real FastAGI and AMI into
one server process; simulated agents on Socket.IO take them.

Measures the screen-pop latency (the server's offer decision -> the agent's client holding
`call.offered` with the customer and their history; and, for calls that found an agent free,
from `queued_at`), calls handled per second, the history writer's backlog, and peak RSS.

    python -m benchmarks.inbound [--calls 2000] [--rate 40] [--agents 60]

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import resource
import statistics
import tempfile
from pathlib import Path

from contactcenter.harness import running_system
from contactcenter.settings import AgiSettings, HttpSettings, QueueSettings, Settings
from contactcenter.simulator.traffic import TrafficGenerator


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def run(n_calls: int, rate: float, n_agents: int, seed: int) -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp(prefix="cc-bench-"))
    settings = Settings(
        database_url=f"sqlite:///{tmp / 'bench.db'}",
        http=HttpSettings(port=0),
        agi=AgiSettings(port=0),
        log_level="WARNING",
        queues=(
            QueueSettings(id="support", skills=("support",), wrapup_s=0.5, offer_timeout_s=5.0),
        ),
    )
    rng = random.Random(seed)
    async with running_system(settings, n_agents=n_agents, n_customers=500) as system:
        agents = await system.add_agents(
            system.data.agents, answer_delay=lambda: rng.uniform(0.05, 0.3), seed=seed
        )
        traffic = TrafficGenerator(
            system.pbx,
            rate_per_s=rate,
            patience_mean_s=20.0,
            talk_mean_s=1.0,
            known_numbers=system.data.known_numbers,
            unknown_share=0.2,
            seed=seed,
        )
        clock = system.runtime.clock
        started = clock.now()
        truth = await traffic.run(n_calls=n_calls)
        elapsed = clock.now() - started
        max_backlog = system.runtime.writer.backlog
        await system.runtime.writer.flush()
        rows = await system.runtime.db.calls.between(started - 1, clock.now() + 1)
        received: dict[str, float] = {}
        for agent in agents:
            received.update(agent.pop_received_at)
    decision_to_pop = []
    queued_to_pop = []
    for row in rows:
        at = received.get(row.id)
        if at is None or row.offered_at is None or row.queued_at is None:
            continue
        decision_to_pop.append((at - row.offered_at) * 1000)
        if row.offered_at - row.queued_at < 0.005:  # an agent was free when the call queued
            queued_to_pop.append((at - row.queued_at) * 1000)
    counts = truth.outcomes()
    return {
        "benchmark": "inbound",
        "calls": n_calls,
        "rate_per_s": rate,
        "agents": n_agents,
        "elapsed_s": round(elapsed, 2),
        "answered": counts.get("answered", 0),
        "abandoned": counts.get("abandoned", 0),
        "failed": counts.get("failed", 0),
        "history_rows": len(rows),
        "pops_measured": len(decision_to_pop),
        "pop_latency_ms_p50": _round(_pct(decision_to_pop, 0.50)),
        "pop_latency_ms_p99": _round(_pct(decision_to_pop, 0.99)),
        "queued_to_pop_ms_p50": _round(_pct(queued_to_pop, 0.50)),
        "queued_to_pop_ms_p99": _round(_pct(queued_to_pop, 0.99)),
        "queued_to_pop_ms_mean": _round(statistics.fmean(queued_to_pop) if queued_to_pop else None),
        "history_backlog_at_end": max_backlog,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=40.0)
    parser.add_argument("--agents", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    result = asyncio.run(run(args.calls, args.rate, args.agents, args.seed))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
