"""`contactcenter demo`: the server, the built-in PBX simulator placing calls over real FastAGI
and AMI, and simulated agents on Socket.IO. With --duration it stops by itself and prints a
summary; without, it runs until Ctrl-C and a person can take calls at /desktop as agent1."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from aiohttp import web

from contactcenter.app import RUNTIME, create_app
from contactcenter.clock import SystemClock
from contactcenter.persistence.db import Database, upgrade
from contactcenter.seed import DEMO_PASSWORD, seed_demo
from contactcenter.settings import Settings
from contactcenter.simulator.agents import SimulatedAgent
from contactcenter.simulator.pbx import SimulatedPbx
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
    await upgrade(settings.database_url)
    db = Database(settings.database_url)
    try:
        data = await seed_demo(db, n_agents + 1)
    finally:
        await db.close()

    pbx = SimulatedPbx(
        clock,
        agi_host=settings.agi.host,
        agi_port=settings.agi.port,
        ami_username=settings.ami.username,
        ami_secret=settings.ami.secret,
    )
    await pbx.start(ami_host="127.0.0.1", ami_port=0)
    settings = settings.model_copy(
        update={"ami": settings.ami.model_copy(update={"host": "127.0.0.1", "port": pbx.ami_port})}
    )
    runner = web.AppRunner(create_app(settings, clock))
    await runner.setup()
    await web.TCPSite(runner, settings.http.host, settings.http.port).start()
    base_url = f"http://{settings.http.host}:{settings.http.port}"
    rng = random.Random(seed)
    # agent1 is left for a person at /desktop, unless the demo runs unattended.
    simulated = data.agents if duration_s is not None else data.agents[1:]
    agents = [
        SimulatedAgent(
            base_url, name, DEMO_PASSWORD, answer_delay=lambda: rng.uniform(0.5, 3.0), rng=rng
        )
        for name in simulated
    ]
    for agent in agents:
        await agent.start()
    print(f"contactcenter demo on {base_url}", flush=True)
    print(f"  agent desktop: {base_url}/desktop  (log in as agent1 / {DEMO_PASSWORD})")
    print(f"  wallboard:     {base_url}/wallboard  (log in as supervisor / {DEMO_PASSWORD})")
    # Unattended runs use short calls so that they finish soon after the last arrival.
    talk_mean = 45.0 if duration_s is None else max(2.0, min(45.0, duration_s / 8))
    traffic = TrafficGenerator(
        pbx,
        rate_per_s=rate,
        patience_mean_s=60.0 if duration_s is None else talk_mean * 2,
        talk_mean_s=talk_mean,
        known_numbers=data.known_numbers,
        unknown_share=0.25,
        seed=seed,
    )
    started_at = clock.now()
    try:
        if duration_s is None:
            await traffic.run()
        else:
            await traffic.run(duration_s=duration_s)
            runtime = runner.app[RUNTIME]
            await _drain(runtime.calls.active, timeout_s=talk_mean * 6)
    finally:
        for agent in agents:
            await agent.stop()
        await runner.cleanup()
        await pbx.close()
    db = Database(settings.database_url)
    try:
        summary = summarise(await db.calls.between(started_at, clock.now() + 1))
    finally:
        await db.close()
    where = _where(settings.database_url)
    print(
        f"demo summary: offered={summary.offered} answered={summary.answered} "
        f"abandoned={summary.abandoned} (short {summary.short_abandoned}) "
        f"failed={summary.failed} calls={summary.total}; history written to {where}",
        flush=True,
    )
    return 0


async def _drain(active: dict[str, object], timeout_s: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while active and loop.time() < deadline:
        await asyncio.sleep(0.1)


def _where(database_url: str) -> str:
    if database_url.startswith("sqlite"):
        path = database_url.split(":///", 1)[-1]
        return str(Path(path).resolve())
    return database_url
