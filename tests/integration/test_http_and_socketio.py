"""HTTP API and Socket.IO namespaces over real sockets: login, refusals, payload errors,
history, OpenAPI coverage."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio

from contactcenter.harness import RunningSystem, running_system
from contactcenter.seed import DEMO_PASSWORD
from contactcenter.settings import AgiSettings, HttpSettings, QueueSettings, Settings


@pytest.fixture
async def system(tmp_path: Path) -> AsyncIterator[RunningSystem]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'cc.db'}",
        http=HttpSettings(port=0),
        agi=AgiSettings(port=0),
    )
    async with running_system(settings, n_agents=2, n_customers=5) as running:
        yield running


async def _login(base_url: str, username: str, password: str = DEMO_PASSWORD) -> str:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{base_url}/api/auth/login", json={"username": username, "password": password}
        ) as resp,
    ):
        assert resp.status == 200, await resp.text()
        token: str = (await resp.json())["token"]
        return token


async def test_wrong_login_is_401_and_does_not_say_which_field(system: RunningSystem) -> None:
    async with aiohttp.ClientSession() as http:
        url = f"{system.base_url}/api/auth/login"
        bodies = []
        for creds in (
            {"username": "agent1", "password": "nope"},
            {"username": "nobody", "password": "demo"},
        ):
            async with http.post(url, json=creds) as resp:
                assert resp.status == 401
                bodies.append(await resp.json())
        assert bodies[0] == bodies[1] == {"error": "invalid username or password", "field": None}
        async with http.post(url, data=b"{not json") as resp:
            assert resp.status == 400


async def test_api_needs_a_token_and_serves_history(system: RunningSystem) -> None:
    token = await _login(system.base_url, "agent1")
    customer = await system.runtime.db.customers.find_by_phone(system.data.known_numbers[0])
    assert customer is not None
    async with aiohttp.ClientSession() as http:
        url = f"{system.base_url}/api/customers/{customer.id}/history"
        async with http.get(url) as resp:
            assert resp.status == 401
        async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as resp:
            assert resp.status == 200
            body = await resp.json()
            assert body["customer"]["name"] == customer.name
            assert body["calls"] == []
        async with http.get(
            f"{system.base_url}/api/customers/999999/history",
            headers={"Authorization": f"Bearer {token}"},
        ) as resp:
            assert resp.status == 404
        async with http.get(
            f"{system.base_url}/api/queues", headers={"Authorization": f"Bearer {token}"}
        ) as resp:
            assert resp.status == 403, "an agent does not get the supervisors' live figures"


async def test_openapi_covers_every_api_route(system: RunningSystem) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{system.base_url}/api/openapi.json") as resp,
    ):
        spec = await resp.json()
    assert spec["openapi"].startswith("3.")
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    from contactcenter.app import create_app

    routes = set()
    for route in create_app(system.settings).router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if path and path.startswith("/api") and route.method != "HEAD":
            routes.add((path, route.method.lower()))
    assert routes, "no /api routes found"
    assert routes <= documented, f"undocumented: {routes - documented}"


async def test_socketio_refuses_without_a_valid_token(system: RunningSystem) -> None:
    for auth in (None, {"token": "forged.token"}):
        client = socketio.AsyncClient()
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(
                system.base_url, namespaces=["/agent"], auth=auth, transports=["websocket"]
            )
        await client.disconnect()


async def test_wallboard_is_for_supervisors_only(system: RunningSystem) -> None:
    agent_token = await _login(system.base_url, "agent1")
    client = socketio.AsyncClient()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            system.base_url,
            namespaces=["/wallboard"],
            auth={"token": agent_token},
            transports=["websocket"],
        )
    await client.disconnect()

    got: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    supervisor = socketio.AsyncClient()
    supervisor.on("wallboard.snapshot", got.put_nowait, namespace="/wallboard")
    await supervisor.connect(
        system.base_url,
        namespaces=["/wallboard"],
        auth={"token": await _login(system.base_url, "supervisor")},
        transports=["websocket"],
    )
    snapshot = await asyncio.wait_for(got.get(), 5)
    assert [q["id"] for q in snapshot["queues"]] == ["support"]
    await supervisor.disconnect()


async def test_bad_payload_gets_an_error_ack_naming_the_field(system: RunningSystem) -> None:
    states: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    client = socketio.AsyncClient()
    client.on("agent.state", states.put_nowait, namespace="/agent")
    await client.connect(
        system.base_url,
        namespaces=["/agent"],
        auth={"token": await _login(system.base_url, "agent1")},
        transports=["websocket"],
    )
    first = await asyncio.wait_for(states.get(), 5)
    assert first["state"] == "not_ready"

    ack = await client.call("agent.not_ready", {"reason": ""}, namespace="/agent", timeout=5)
    assert ack["ok"] is False and ack["field"] == "reason"
    ack = await client.call("agent.not_ready", {"why": "lunch"}, namespace="/agent", timeout=5)
    assert ack["ok"] is False and ack["field"] in ("reason", "why")
    ack = await client.call("call.answer", "not-an-object", namespace="/agent", timeout=5)
    assert ack["ok"] is False
    ack = await client.call("call.answer", {"call_id": "nope"}, namespace="/agent", timeout=5)
    assert ack["ok"] is False, "answering a call that was never offered is refused"
    agent = system.runtime.agents.agents[next(iter(system.runtime.agents.agents))]
    assert agent.state == "not_ready", "a refused event changes nothing"
    assert states.empty()

    ack = await client.call("agent.ready", {}, namespace="/agent", timeout=5)
    assert ack == {"ok": True}
    changed = await asyncio.wait_for(states.get(), 5)
    assert changed["state"] == "ready"
    await client.disconnect()


class _Desktop:
    """A scripted agent desktop on the real Socket.IO namespace."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient()
        self.events: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        for name in ("agent.state", "call.offered", "call.answered", "call.ended"):
            self.client.on(name, self._recorder(name), namespace="/agent")

    def _recorder(self, name: str) -> Any:
        async def record(data: dict[str, Any]) -> None:
            await self.events.put((name, data))

        return record

    async def connect(self, base_url: str, token: str) -> None:
        await self.client.connect(
            base_url, namespaces=["/agent"], auth={"token": token}, transports=["websocket"]
        )

    async def next(self, name: str) -> dict[str, Any]:
        while True:
            event, data = await asyncio.wait_for(self.events.get(), 10)
            if event == name:
                return data

    async def call(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        ack: dict[str, Any] = await self.client.call(event, payload, namespace="/agent", timeout=10)
        return ack


async def test_a_desktop_that_reconnects_resumes_its_call(system: RunningSystem) -> None:
    token = await _login(system.base_url, "agent1")
    first = _Desktop()
    await first.connect(system.base_url, token)
    assert (await first.call("agent.ready", {}))["ok"]
    call = asyncio.create_task(
        system.pbx.place_call(system.data.known_numbers[0], "100", patience_s=30, talk_s=30)
    )
    offered = await first.next("call.offered")
    call_id = offered["call"]["id"]
    assert offered["customer"]["phones"] == [system.data.known_numbers[0]]
    assert (await first.call("call.answer", {"call_id": call_id}))["ok"]
    await first.next("call.answered")

    await first.client.disconnect()  # the network drops mid-call
    second = _Desktop()
    await second.connect(system.base_url, token)
    state = await second.next("agent.state")
    assert state["state"] == "on_call" and state["call_id"] == call_id
    resumed = await second.next("call.answered")
    assert resumed["call"]["id"] == call_id
    assert (await second.call("call.hangup", {"call_id": call_id}))["ok"]
    ended = await second.next("call.ended")
    assert ended["call"]["outcome"] == "answered"
    assert (await call).outcome == "answered"
    await second.client.disconnect()


async def test_a_ready_agent_whose_desktop_drops_gets_no_calls(system: RunningSystem) -> None:
    token = await _login(system.base_url, "agent1")
    desktop = _Desktop()
    await desktop.connect(system.base_url, token)
    assert (await desktop.call("agent.ready", {}))["ok"]
    await desktop.client.disconnect()
    agents = system.runtime.agents.agents
    for _ in range(50):
        if agents[next(iter(agents))].state == "not_ready":
            break
        await asyncio.sleep(0.05)
    info = next(a for a in agents.values() if a.user.username == "agent1")
    assert (info.state, info.reason) == ("not_ready", "disconnected")

    again = _Desktop()
    await again.connect(system.base_url, token)
    assert (await again.next("agent.state"))["state"] == "ready", "back after the drop: Ready again"
    await again.client.disconnect()


async def test_a_call_overflows_to_the_backup_queue_and_is_answered(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'cc.db'}",
        http=HttpSettings(port=0),
        agi=AgiSettings(port=0),
        default_queue="vip",
        queues=(
            # Nobody has the "vip" skill: calls wait there until they overflow.
            QueueSettings(id="vip", skills=("vip",), overflow_queue="backup", overflow_after_s=0.5),
            QueueSettings(id="backup", skills=("support",), wrapup_s=0.1),
        ),
    )
    async with running_system(settings, n_agents=1, n_customers=2) as running:
        await running.add_agents(["agent1"], answer_delay=lambda: 0.05)
        truth = await running.pbx.place_call(
            running.data.known_numbers[0], "100", patience_s=10, talk_s=0.2
        )
        await running.runtime.writer.flush()
        rows = await running.runtime.db.calls.between(0, running.runtime.clock.now() + 1)
        events = [e.kind for e in await running.runtime.db.calls.events(rows[0].id)]
    assert truth.outcome == "answered"
    assert len(rows) == 1 and rows[0].queue_id == "backup" and rows[0].agent_id == "agent1"
    assert rows[0].wait_s is not None and rows[0].wait_s >= 0.5
    assert events.index("overflowed") < events.index("offered")
