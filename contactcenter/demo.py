"""`contactcenter demo`: the server, the built-in PBX simulator placing calls over real FastAGI
and AMI, and simulated agents on Socket.IO. With --duration it stops by itself and prints a
summary; without, it runs until Ctrl-C and a person can take calls at /desktop as agent1."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping
from pathlib import Path

from contactcenter.clock import SystemClock
from contactcenter.harness import running_system
from contactcenter.ids import CallId
from contactcenter.seed import DEMO_PASSWORD
from contactcenter.settings import Settings
from contactcenter.simulator.traffic import TrafficGenerator
from reports.summary import summarise


async def run_demo(
    settings: Settings,
    *,
    duration_s: float | None,
    rate: float,
    n_agents: int,
    seed: int,
) -> int:
    clock = SystemClock()
    # Unattended runs use short calls so that they end soon after the last arrival.
    talk_mean = 45.0 if duration_s is None else max(2.0, min(45.0, duration_s / 8))
    async with running_system(settings, n_agents=n_agents + 1, clock=clock) as system:
        base_url = system.base_url
        # agent1 is left for a person at /desktop, unless the demo runs unattended.
        names = system.data.agents if duration_s is not None else system.data.agents[1:]
        await system.add_agents(names, answer_delay=_answer_delay(seed), seed=seed)
        print(f"contactcenter demo on {base_url}", flush=True)
        print(f"  agent desktop: {base_url}/desktop  (log in as agent1 / {DEMO_PASSWORD})")
        print(f"  wallboard:     {base_url}/wallboard  (log in as supervisor / {DEMO_PASSWORD})")
        print(
            "  Ctrl-C stops it." if duration_s is None else f"  running for {duration_s:g} s",
            flush=True,
        )
        traffic = TrafficGenerator(
            system.pbx,
            rate_per_s=rate,
            patience_mean_s=60.0 if duration_s is None else talk_mean * 2,
            talk_mean_s=talk_mean,
            known_numbers=system.data.known_numbers,
            unknown_share=0.25,
            seed=seed,
        )
        started_at = clock.now()
        if duration_s is None:
            await traffic.run()
        else:
            await traffic.run(duration_s=duration_s)
            await _drain(system.runtime.calls.active, timeout_s=talk_mean * 6)
        await system.runtime.writer.flush()
        calls = await system.runtime.db.calls.between(started_at, clock.now() + 1)
    summary = summarise(calls)
    print(
        f"demo summary: offered={summary.offered} answered={summary.answered} "
        f"abandoned={summary.abandoned} short_abandoned={summary.short_abandoned} "
        f"failed={summary.failed} in_progress={summary.in_progress} calls={summary.total}; "
        f"history written to {_where(settings.database_url)}",
        flush=True,
    )
    return 0


def _answer_delay(seed: int) -> Callable[[], float]:
    rng = random.Random(seed)
    return lambda: rng.uniform(0.5, 3.0)


async def _drain(active: Mapping[CallId, object], timeout_s: float) -> None:
    """Give calls in progress time to end (polling: the count is all there is to watch)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while active and loop.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)


def _where(database_url: str) -> str:
    if database_url.startswith("sqlite"):
        return str(Path(database_url.split(":///", 1)[-1]).resolve())
    return database_url
