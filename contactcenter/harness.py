"""The server and the PBX simulator in one process, wired over real TCP: FastAGI from the
simulator to the server, AMI from the server to the simulator, HTTP and Socket.IO for agents.

Used by `contactcenter demo`, the integration and browser tests, and the benchmarks.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

from contactcenter.app import RUNTIME, SHUTDOWN_TIMEOUT_S, Runtime, create_app
from contactcenter.clock import Clock, SystemClock
from contactcenter.seed import DEMO_PASSWORD, DemoData, seed_demo
from contactcenter.settings import Settings
from contactcenter.simulator.agents import SimulatedAgent
from contactcenter.simulator.pbx import SimulatedPbx


@dataclass(slots=True)
class RunningSystem:
    settings: Settings
    runtime: Runtime
    pbx: SimulatedPbx
    base_url: str
    data: DemoData
    agents: list[SimulatedAgent] = field(default_factory=list)

    async def add_agents(
        self,
        names: list[str],
        *,
        answer_delay: Callable[[], float],
        seed: int = 1,
        ignore_offers: bool = False,
    ) -> list[SimulatedAgent]:
        rng = random.Random(seed)
        started = []
        for name in names:
            agent = SimulatedAgent(
                self.base_url,
                name,
                DEMO_PASSWORD,
                answer_delay=answer_delay,
                rng=rng,
                ignore_offers=ignore_offers,
                clock=self.runtime.clock,
            )
            await agent.start()
            started.append(agent)
        self.agents.extend(started)
        return started


@asynccontextmanager
async def running_system(
    settings: Settings,
    *,
    n_agents: int = 5,
    n_customers: int = 60,
    clock: Clock | None = None,
    phone_answer_delay_s: float = 0.05,
) -> AsyncIterator[RunningSystem]:
    """Start the simulator's AMI server, then the server (HTTP port 0 means any free port; AGI
    port 0 likewise), seed demo users and customers, and point the simulator at the FastAGI port.
    """
    clock = clock or SystemClock()
    pbx = SimulatedPbx(
        clock,
        agi_host=settings.agi.host,
        agi_port=settings.agi.port,
        ami_username=settings.ami.username,
        ami_secret=settings.ami.secret,
        phone_answer_delay_s=phone_answer_delay_s,
    )
    await pbx.start(ami_host="127.0.0.1", ami_port=0)
    settings = settings.model_copy(
        update={"ami": settings.ami.model_copy(update={"host": "127.0.0.1", "port": pbx.ami_port})}
    )
    runner = web.AppRunner(create_app(settings, clock), shutdown_timeout=SHUTDOWN_TIMEOUT_S)
    system: RunningSystem | None = None
    try:
        await runner.setup()
        site = web.TCPSite(runner, settings.http.host, settings.http.port)
        await site.start()
        port = runner.addresses[0][1]
        runtime = runner.app[RUNTIME]
        pbx.agi_port = runtime.agi.port
        data = await seed_demo(runtime.db, n_agents, n_customers)
        system = RunningSystem(settings, runtime, pbx, f"http://{settings.http.host}:{port}", data)
        yield system
    finally:
        if system is not None:
            for agent in system.agents:
                await agent.stop()
        await runner.cleanup()
        await pbx.close()


@dataclass(slots=True)
class RunningNode:
    """One more server node of a cluster (routing = "redis"), on a running system's PBX."""

    runtime: Runtime
    base_url: str
    agi_port: int


@asynccontextmanager
async def running_node(system: RunningSystem) -> AsyncIterator[RunningNode]:
    """Start another server on the same settings (database, Redis), connected to the same
    simulated PBX over AMI. The PBX sends each new call's FastAGI to `pbx.agi_port`: point it
    at a node's `agi_port` to choose which node takes the call."""
    settings = system.settings.model_copy(
        update={
            "ami": system.settings.ami.model_copy(
                update={"host": "127.0.0.1", "port": system.pbx.ami_port}
            ),
            "http": system.settings.http.model_copy(update={"port": 0}),
            "agi": system.settings.agi.model_copy(update={"port": 0}),
        }
    )
    runner = web.AppRunner(
        create_app(settings, system.runtime.clock), shutdown_timeout=SHUTDOWN_TIMEOUT_S
    )
    try:
        await runner.setup()
        site = web.TCPSite(runner, settings.http.host, 0)
        await site.start()
        port = runner.addresses[0][1]
        runtime = runner.app[RUNTIME]
        yield RunningNode(runtime, f"http://{settings.http.host}:{port}", runtime.agi.port)
    finally:
        await runner.cleanup()
