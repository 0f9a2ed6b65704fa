"""SimulatedAgent against a minimal server that follows docs/realtime.md: HTTP login, the
`/agent` namespace with the token in `auth`, acknowledged client events."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import socketio
from aiohttp import web

from contactcenter.simulator.agents import SimulatedAgent

NS = "/agent"


@dataclass
class DesktopServer:
    sio: socketio.AsyncServer
    base_url: str
    received: list[tuple[str, Any]] = field(default_factory=list)
    sids: list[str] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_for(self, count: int, timeout_s: float = 5.0) -> None:
        async with asyncio.timeout(timeout_s):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()


@pytest.fixture
async def desktop() -> AsyncIterator[DesktopServer]:
    sio = socketio.AsyncServer(async_mode="aiohttp")
    app = web.Application()
    sio.attach(app)

    async def login(request: web.Request) -> web.Response:
        body = await request.json()
        if body != {"username": "alice", "password": "pw"}:
            return web.json_response({"error": "bad credentials"}, status=401)
        return web.json_response({"token": "tok-alice", "user": {"username": "alice"}})

    app.router.add_post("/api/auth/login", login)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = DesktopServer(sio, f"http://127.0.0.1:{runner.addresses[0][1]}")

    async def connect(sid: str, environ: object, auth: object) -> bool:
        if auth != {"token": "tok-alice"}:
            return False
        server.sids.append(sid)
        return True

    def recorder(event: str) -> Any:
        async def handler(sid: str, data: Any) -> dict[str, Any]:
            server.received.append((event, data))
            server.arrived.set()
            return {"ok": True}

        return handler

    sio.on("connect", connect, namespace=NS)
    for event in ("agent.ready", "call.answer", "call.disposition", "agent.not_ready"):
        sio.on(event, recorder(event), namespace=NS)
    yield server
    await runner.cleanup()


async def test_agent_goes_ready_answers_and_wraps_up(desktop: DesktopServer) -> None:
    agent = SimulatedAgent(desktop.base_url, "alice", "pw", answer_delay=lambda: 0.05,
                           rng=random.Random(1), disposition="sale")  # fmt: skip
    await agent.start()
    try:
        await desktop.wait_for(1)
        assert desktop.received == [("agent.ready", {})]
        sid = desktop.sids[0]
        await desktop.sio.emit("call.offered", {"call": {"id": "c1"}, "customer": None,
                                                "history": [], "queue": {"id": "q"},
                                                "offer_timeout_s": 15},
                               to=sid, namespace=NS)  # fmt: skip
        await desktop.wait_for(2)
        assert desktop.received[1] == ("call.answer", {"call_id": "c1"})
        await desktop.sio.emit("call.ended", {"call": {"id": "c1"}, "wrapup_s": 5,
                                              "dispositions": ["sale", "no_sale"]},
                               to=sid, namespace=NS)  # fmt: skip
        await desktop.wait_for(4)
        assert desktop.received[2:] == [
            ("call.disposition", {"call_id": "c1", "disposition": "sale", "note": "simulated"}),
            ("agent.ready", {}),
        ]
        assert (agent.offers, agent.answers, agent.ended, agent.dispositions) == (1, 1, 1, 1)
    finally:
        await agent.stop()


async def test_unknown_disposition_is_replaced_by_a_queue_code(desktop: DesktopServer) -> None:
    agent = SimulatedAgent(desktop.base_url, "alice", "pw", answer_delay=lambda: 0.0,
                           rng=random.Random(1))  # fmt: skip
    await agent.start()
    try:
        await desktop.wait_for(1)
        await desktop.sio.emit("call.ended", {"call": {"id": "c9"}, "dispositions": ["only"]},
                               to=desktop.sids[0], namespace=NS)  # fmt: skip
        await desktop.wait_for(3)
        assert desktop.received[1][1]["disposition"] == "only"
    finally:
        await agent.stop()


async def test_ignoring_agent_never_answers_and_withdrawal_cancels(
    desktop: DesktopServer,
) -> None:
    quiet = SimulatedAgent(desktop.base_url, "alice", "pw", answer_delay=lambda: 0.0,
                           rng=random.Random(1), ignore_offers=True)  # fmt: skip
    await quiet.start()
    try:
        await desktop.wait_for(1)
        await desktop.sio.emit("call.offered", {"call": {"id": "c2"}}, to=desktop.sids[0],
                               namespace=NS)  # fmt: skip
        await asyncio.sleep(0.2)
        assert quiet.offers == 1 and quiet.answers == 0
        assert [e for e, _ in desktop.received] == ["agent.ready"]
    finally:
        await quiet.stop()
    slow = SimulatedAgent(desktop.base_url, "alice", "pw", answer_delay=lambda: 0.3,
                          rng=random.Random(1))  # fmt: skip
    await slow.start()
    try:
        await desktop.wait_for(2)
        sid = desktop.sids[-1]
        await desktop.sio.emit("call.offered", {"call": {"id": "c3"}}, to=sid, namespace=NS)
        await asyncio.sleep(0.05)
        await desktop.sio.emit("call.offer_withdrawn", {"call_id": "c3", "reason": "rona"},
                               to=sid, namespace=NS)  # fmt: skip
        await asyncio.sleep(0.5)
        assert slow.withdrawn == 1 and slow.answers == 0
        assert "call.answer" not in [e for e, _ in desktop.received]
    finally:
        await slow.stop()


async def test_wrong_password_fails_start(desktop: DesktopServer) -> None:
    agent = SimulatedAgent(desktop.base_url, "alice", "nope", answer_delay=lambda: 0.0,
                           rng=random.Random(1))  # fmt: skip
    with pytest.raises(Exception, match="401"):
        await agent.start()
    await agent.stop()
