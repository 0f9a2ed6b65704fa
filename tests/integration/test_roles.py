"""Roles and privacy over the wire (Socket.IO and HTTP, real sockets, the PBX simulator):
an agent gets only their own pops and acts only on their own calls (forged events for another
agent's call are refused); supervisors act on their team only, managers and agents not at all,
and every supervisor action is audited; the wallboard never carries customer data to a role
that may not see it; customer edits are audited; a required disposition blocks Ready."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio

from agent_desktop.namespaces import SupervisorNamespace
from contactcenter.auth import TokenSigner, hash_password
from contactcenter.harness import RunningSystem, running_system
from contactcenter.ids import AgentId, CallId, QueueId
from contactcenter.records import Role, User
from contactcenter.seed import DEMO_PASSWORD
from contactcenter.settings import AgiSettings, AuthSettings, HttpSettings, QueueSettings, Settings
from contactcenter.supervisor import SupervisorService

SECRET = "roles-test-secret"


@pytest.fixture
async def system(tmp_path: Path) -> AsyncIterator[RunningSystem]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'cc.db'}",
        http=HttpSettings(port=0),
        agi=AgiSettings(port=0),
        auth=AuthSettings(secret=SECRET),
        queues=(
            QueueSettings(
                id="support",
                name="Support",
                skills=("support",),
                wrapup_s=1.0,
                offer_timeout_s=30,
                disposition_required=True,
            ),
            QueueSettings(id="sales", name="Sales", skills=("sales",)),
        ),
    )
    async with running_system(settings, n_agents=2, n_customers=5) as running:
        users = running.runtime.db.users
        pw = hash_password(DEMO_PASSWORD)
        await users.add("blue_lead", "Blue Lead", Role.SUPERVISOR, pw, team="blue")
        await users.add("blue1", "Blue One", Role.AGENT, pw, "PJSIP/2001", ["support"], "blue")
        yield running


async def _login(base_url: str, username: str) -> str:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{base_url}/api/auth/login", json={"username": username, "password": DEMO_PASSWORD}
        ) as resp,
    ):
        assert resp.status == 200, await resp.text()
        token: str = (await resp.json())["token"]
        return token


class Client:
    """A scripted Socket.IO client on one namespace, recording every event it receives."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.sio = socketio.AsyncClient()
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._arrived = asyncio.Event()

        @self.sio.on("*", namespace=namespace)  # type: ignore[misc]
        async def record(event: str, data: Any) -> None:
            self.events.append((event, data))
            self._arrived.set()

    async def connect(self, base_url: str, token: str) -> None:
        await self.sio.connect(
            base_url, namespaces=[self.namespace], auth={"token": token}, transports=["websocket"]
        )

    async def wait_for(self, name: str, check: Any = None, within: float = 10) -> dict[str, Any]:
        async def find() -> dict[str, Any]:
            seen = 0
            while True:
                for event, data in self.events[seen:]:
                    if event == name and (check is None or check(data)):
                        return data
                seen = len(self.events)
                self._arrived.clear()
                await self._arrived.wait()

        return await asyncio.wait_for(find(), within)

    def received(self, name: str) -> list[dict[str, Any]]:
        return [data for event, data in self.events if event == name]

    async def call(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        ack: dict[str, Any] = await self.sio.call(
            event, payload, namespace=self.namespace, timeout=10
        )
        return ack

    async def close(self) -> None:
        await self.sio.disconnect()


async def _http(
    method: str, url: str, token: str, body: dict[str, Any] | None = None
) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, url, json=body, headers={"Authorization": f"Bearer {token}"}) as r,
    ):
        return r.status, await r.json()


async def _desktop(system: RunningSystem, username: str) -> Client:
    desktop = Client("/agent")
    await desktop.connect(system.base_url, await _login(system.base_url, username))
    await desktop.wait_for("agent.state")
    return desktop


async def test_an_agent_gets_only_their_own_pop_and_acts_only_on_their_own_calls(
    system: RunningSystem,
) -> None:
    one = await _desktop(system, "agent1")
    two = await _desktop(system, "agent2")
    assert (await one.call("agent.ready", {}))["ok"]
    number = system.data.known_numbers[1]
    call = asyncio.create_task(system.pbx.place_call(number, "100", patience_s=30, talk_s=30))
    offered = await one.wait_for("call.offered")
    call_id = offered["call"]["id"]
    assert offered["customer"]["phones"] == [number]

    # agent2 is connected but Not Ready: no pop for them, and forged events are refused.
    forged = await two.call("call.answer", {"call_id": call_id})
    assert forged["ok"] is False and "not offered to you" in forged["error"]
    assert (await one.call("call.answer", {"call_id": call_id}))["ok"]
    await one.wait_for("call.answered")
    for event, payload in (
        ("call.hangup", {"call_id": call_id}),
        ("call.disposition", {"call_id": call_id, "disposition": "resolved"}),
    ):
        ack = await two.call(event, payload)
        assert ack == {
            "ok": False,
            "error": "this call is not yours",
            "field": None,
            "forbidden": True,
        }
    token_two = await _login(system.base_url, "agent2")
    token_one = await _login(system.base_url, "agent1")
    customer = await system.runtime.db.customers.find_by_phone(system.data.known_numbers[0])
    assert customer is not None
    link = f"{system.base_url}/api/calls/{call_id}/customer"
    status, body = await _http("POST", link, token_two, {"customer_id": customer.id})
    assert status == 403, body
    assert system.runtime.calls.active[CallId(call_id)].record.customer_id != customer.id
    assert two.received("call.offered") == [] and two.received("call.answered") == []

    # The call's own agent may link it (here: to another customer), and gets their pop.
    status, body = await _http("POST", link, token_one, {"customer_id": customer.id})
    assert status == 200, body
    assert body["customer"]["id"] == customer.id and body["call"]["customer_id"] == customer.id

    assert (await one.call("call.hangup", {"call_id": call_id}))["ok"]
    ended = await one.wait_for("call.ended")
    assert ended["disposition_required"] is True
    assert (await call).outcome == "answered"
    await system.runtime.writer.flush()
    row = await system.runtime.db.calls.get(CallId(call_id))
    assert row is not None and row.customer_id == customer.id
    assert two.received("call.ended") == []
    await one.close()
    await two.close()


async def test_a_required_disposition_blocks_ready_until_it_is_filed(system: RunningSystem) -> None:
    one = await _desktop(system, "agent1")
    assert (await one.call("agent.ready", {}))["ok"]
    call = asyncio.create_task(
        system.pbx.place_call(system.data.known_numbers[2], "100", patience_s=30, talk_s=30)
    )
    call_id = (await one.wait_for("call.offered"))["call"]["id"]
    assert (await one.call("call.answer", {"call_id": call_id}))["ok"]
    await one.wait_for("call.answered")
    assert (await one.call("call.hangup", {"call_id": call_id}))["ok"]
    await one.wait_for("call.ended")
    refused = await one.call("agent.ready", {})
    assert refused["ok"] is False and refused["field"] == "disposition"
    assert call_id in refused["error"]
    # The wrap-up time (1 s) runs out: not Ready, but held Not Ready until it is filed.
    held = await one.wait_for(
        "agent.state", lambda s: s["state"] == "not_ready" and s["reason"] == "disposition_required"
    )
    assert held["disposition_pending"] == call_id
    assert (await one.call("agent.ready", {}))["ok"] is False
    # A desktop that connects again is shown the call's wrap-up form again.
    await one.close()
    one = await _desktop(system, "agent1")
    again = await one.wait_for("call.ended")
    assert again["call"]["id"] == call_id and again["disposition_required"] is True
    assert (await one.call("agent.ready", {}))["ok"] is False
    unknown = await one.call("call.disposition", {"call_id": call_id, "disposition": "nonsense"})
    assert unknown["ok"] is False and unknown["field"] == "disposition"
    filed = await one.call("call.disposition", {"call_id": call_id, "disposition": "resolved"})
    assert filed["ok"] is True
    assert (await one.call("agent.ready", {}))["ok"] is True
    await one.wait_for("agent.state", lambda s: s["state"] == "ready")
    await call
    await one.close()


async def test_supervisor_actions_follow_roles_and_teams_and_are_audited(
    system: RunningSystem,
) -> None:
    one = await _desktop(system, "agent1")
    blue = await _desktop(system, "blue1")
    base = system.base_url

    agent_sup = Client("/supervisor")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await agent_sup.connect(base, await _login(base, "agent1"))
    await agent_sup.close()

    sup = Client("/supervisor")
    await sup.connect(base, await _login(base, "supervisor"))
    manager = Client("/supervisor")
    await manager.connect(base, await _login(base, "manager"))
    lead = Client("/supervisor")
    await lead.connect(base, await _login(base, "blue_lead"))

    force = {"agent_id": "agent1", "state": "not_ready", "reason": "Meeting"}
    refused = await manager.call("agent.force_state", force)
    assert refused["ok"] is False and refused.get("forbidden") is True
    refused = await lead.call("agent.force_state", force)
    assert refused["ok"] is False and "not in your team" in refused["error"]
    bad = await sup.call("agent.force_state", {**force, "reason": "Nap"})
    assert bad["ok"] is False and bad["field"] == "reason"
    bad = await sup.call("agent.force_state", {**force, "state": "ready"})
    assert bad["ok"] is False and bad["field"] == "state"
    assert system.runtime.agents.agents[AgentId("agent1")].state == "not_ready"
    assert system.runtime.agents.agents[AgentId("agent1")].reason == "login", "unchanged"

    assert (await one.call("agent.ready", {}))["ok"]
    await one.wait_for("agent.state", lambda s: s["state"] == "ready")
    assert (await sup.call("agent.force_state", force))["ok"] is True
    shown = await one.wait_for("agent.state", lambda s: s["reason"] == "Meeting")
    assert shown["state"] == "not_ready" and shown["forced_by"] == "supervisor"

    # The blue lead acts on their own team's agent: logs them out.
    done = await lead.call("agent.force_state", {"agent_id": "blue1", "state": "logged_out"})
    assert done["ok"] is True
    out = await blue.wait_for("agent.logged_out")
    assert out["by"] == "blue_lead"

    # Listening in on an agent who has no call: a clear refusal.
    missing = await sup.call("call.spy", {"agent_id": "agent1", "mode": "listen"})
    assert missing["ok"] is False and "not on a connected call" in missing["error"]
    bad_mode = await sup.call("call.spy", {"agent_id": "agent1", "mode": "record"})
    assert bad_mode["ok"] is False and bad_mode["field"] == "mode"

    status, body = await _http("GET", f"{base}/api/supervisor/audit", await _login(base, "agent1"))
    assert status == 403
    status, body = await _http("GET", f"{base}/api/supervisor/audit", await _login(base, "admin"))
    assert status == 200
    rows = list(reversed(body["audit"]))
    summary = [(r["user"], r["action"], r["agent_id"], r["outcome"]) for r in rows]
    assert summary == [
        ("manager", "force_state", "agent1", "refused"),
        ("blue_lead", "force_state", "agent1", "refused"),
        ("supervisor", "force_state", "agent1", "refused"),
        ("supervisor", "force_state", "agent1", "done"),
        ("blue_lead", "force_state", "blue1", "done"),
        ("supervisor", "listen", "agent1", "refused"),
    ], "payloads that fail validation (state 'ready', mode 'record') never reach the service"
    assert rows[3]["detail"] == {"state": "not_ready", "reason": "Meeting"}
    for client in (sup, manager, lead, one, blue):
        await client.close()


async def test_injected_move_and_spy_are_authorised_validated_and_audited(
    system: RunningSystem,
) -> None:
    moved: list[tuple[CallId, QueueId | None, AgentId | None]] = []
    spied: list[tuple[str, AgentId, str]] = []

    async def move(call_id: CallId, to_queue: QueueId | None, to_agent: AgentId | None) -> None:
        moved.append((call_id, to_queue, to_agent))

    async def spy(user: User, agent_id: AgentId, mode: str) -> None:
        spied.append((user.username, agent_id, mode))

    rt = system.runtime
    service = SupervisorService(
        rt.clock,
        rt.db.users,
        rt.agents,
        rt.db.supervisor_audit,
        frozenset({"support", "sales"}),
        move=move,
        spy=spy,
    )
    tokens = TokenSigner(SECRET, rt.clock, rt.settings.auth.token_ttl_s)
    rt.sio.register_namespace(SupervisorNamespace(tokens, rt.db.users, service))
    base = system.base_url
    sup = Client("/supervisor")
    await sup.connect(base, await _login(base, "supervisor"))
    lead = Client("/supervisor")
    await lead.connect(base, await _login(base, "blue_lead"))
    manager = Client("/supervisor")
    await manager.connect(base, await _login(base, "manager"))

    assert (await sup.call("call.move", {"call_id": "c1", "to_queue": "sales"}))["ok"]
    assert (await sup.call("call.move", {"call_id": "c2", "to_agent": "agent2"}))["ok"]
    both = await sup.call("call.move", {"call_id": "c3", "to_queue": "sales", "to_agent": "agent2"})
    assert both["ok"] is False and both["field"] == "to_queue"
    unknown = await sup.call("call.move", {"call_id": "c4", "to_queue": "nowhere"})
    assert unknown["ok"] is False and "nowhere" in unknown["error"]
    other_team = await lead.call("call.move", {"call_id": "c5", "to_agent": "agent2"})
    assert other_team["ok"] is False and other_team.get("forbidden") is True
    not_an_agent = await sup.call("call.move", {"call_id": "c6", "to_agent": "manager"})
    assert not_an_agent["ok"] is False
    assert moved == [("c1", "sales", None), ("c2", None, "agent2")]

    for mode in ("listen", "whisper", "barge"):
        assert (await sup.call("call.spy", {"agent_id": "agent1", "mode": mode}))["ok"]
    assert (await lead.call("call.spy", {"agent_id": "agent1", "mode": "barge"}))["ok"] is False
    assert (await manager.call("call.spy", {"agent_id": "agent1", "mode": "listen"}))["ok"] is False
    assert (await lead.call("call.spy", {"agent_id": "blue1", "mode": "whisper"}))["ok"] is True
    assert spied == [
        ("supervisor", "agent1", "listen"),
        ("supervisor", "agent1", "whisper"),
        ("supervisor", "agent1", "barge"),
        ("blue_lead", "blue1", "whisper"),
    ]
    audit = list(reversed(await rt.db.supervisor_audit.recent(100)))
    assert [(a.action, a.outcome) for a in audit] == [
        ("move", "done"),
        ("move", "done"),
        ("move", "refused"),
        ("move", "refused"),
        ("move", "refused"),
        ("move", "refused"),
        ("listen", "done"),
        ("whisper", "done"),
        ("barge", "done"),
        ("barge", "refused"),
        ("listen", "refused"),
        ("whisper", "done"),
    ]
    assert audit[0].call_id == "c1" and audit[0].detail == {"to_queue": "sales", "to_agent": None}
    for client in (sup, lead, manager):
        await client.close()


async def test_the_wallboard_shows_customer_data_and_agents_only_to_those_allowed(
    system: RunningSystem,
) -> None:
    one = await _desktop(system, "agent1")
    blue = await _desktop(system, "blue1")
    base = system.base_url
    boards = {}
    for username in ("supervisor", "manager", "blue_lead"):
        board = Client("/wallboard")
        await board.connect(base, await _login(base, username))
        boards[username] = board
    assert (await one.call("agent.ready", {}))["ok"]
    number = system.data.known_numbers[3]
    customer = await system.runtime.db.customers.find_by_phone(number)
    assert customer is not None
    call = asyncio.create_task(system.pbx.place_call(number, "100", patience_s=30, talk_s=30))
    call_id = (await one.wait_for("call.offered"))["call"]["id"]
    assert (await one.call("call.answer", {"call_id": call_id}))["ok"]
    await one.wait_for("call.answered")

    def on_call(snapshot: dict[str, Any]) -> bool:
        return any(a["state"] == "on_call" for a in snapshot["agents"])

    seen = await boards["supervisor"].wait_for("wallboard.snapshot", on_call)
    row = next(a for a in seen["agents"] if a["agent_id"] == "agent1")
    assert row["customer_name"] == customer.name and row["caller_number"] == number
    assert row["call_id"] == call_id
    # blue1 is logged in too, but not in the (team-less) supervisor's team
    assert {a["agent_id"] for a in seen["agents"]} == {"agent1"}

    seen = await boards["manager"].wait_for("wallboard.snapshot", on_call)
    row = next(a for a in seen["agents"] if a["agent_id"] == "agent1")
    assert row["customer_name"] is None and row["caller_number"] is None
    assert "blue1" in {a["agent_id"] for a in seen["agents"]}, "managers see every team"

    await asyncio.sleep(0.6)  # several pushes later
    lead_view = boards["blue_lead"].received("wallboard.snapshot")
    assert lead_view, "the blue lead gets snapshots"
    assert all(a["agent_id"] == "blue1" for s in lead_view for a in s["agents"])
    for snapshot in lead_view + boards["manager"].received("wallboard.snapshot"):
        assert all(a["customer_name"] is None for a in snapshot["agents"])

    # The same rules over HTTP (GET /api/queues).
    for username, agent_ids, names in (
        ("supervisor", {"agent1"}, {customer.name}),
        ("admin", {"agent1", "blue1"}, {customer.name, None}),
        ("manager", {"agent1", "blue1"}, {None}),
        ("blue_lead", {"blue1"}, {None}),
    ):
        status, body = await _http("GET", f"{base}/api/queues", await _login(base, username))
        assert status == 200
        assert {a["agent_id"] for a in body["agents"]} == agent_ids, username
        assert {a["customer_name"] for a in body["agents"]} == names, username

    assert (await one.call("call.hangup", {"call_id": call_id}))["ok"]
    await call
    for client in (one, blue, *boards.values()):
        await client.close()


async def test_customer_changes_are_audited_and_visible(system: RunningSystem) -> None:
    base = system.base_url
    token = await _login(base, "agent1")
    status, created = await _http(
        "POST",
        f"{base}/api/customers",
        token,
        {"name": "Mary Shelley", "phones": ["+1 555 0199 999"], "account_number": "AC-9"},
    )
    assert status == 201, created
    cid = created["id"]
    assert created["phones"] == ["+15550199999"]
    status, dup = await _http(
        "POST", f"{base}/api/customers", token, {"name": "Copy", "phones": ["+15550199999"]}
    )
    assert status == 409 and dup["field"] == "phones"
    status, bad = await _http("POST", f"{base}/api/customers", token, {"name": ""})
    assert status == 400 and bad["field"] == "name"
    status, bad = await _http("PATCH", f"{base}/api/customers/{cid}", token, {"value_tier": "x"})
    assert status == 400 and bad["field"] == "value_tier"

    other = await _login(base, "supervisor")
    status, changed = await _http(
        "PATCH", f"{base}/api/customers/{cid}", other, {"value_tier": "gold", "notes": "VIP"}
    )
    assert status == 200 and changed["value_tier"] == "gold" and changed["name"] == "Mary Shelley"
    status, found = await _http("GET", f"{base}/api/customers?q=shelley", token)
    assert [c["id"] for c in found["customers"]] == [cid]

    status, audit = await _http("GET", f"{base}/api/customers/{cid}/audit", token)
    assert status == 200
    rows = [(r["user"], r["field"], r["old"], r["new"]) for r in audit["audit"]]
    assert ("agent1", "name", None, "Mary Shelley") in rows
    assert ("agent1", "phones", None, "+15550199999") in rows
    assert rows[-2:] == [
        ("supervisor", "value_tier", "standard", "gold"),
        ("supervisor", "notes", "", "VIP"),
    ]
    status, _ = await _http("GET", f"{base}/api/customers/999999/audit", token)
    assert status == 404
