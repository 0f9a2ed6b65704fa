"""Two server nodes share one set of queues in Redis (routing = "redis"), with one PostgreSQL
and one PBX (the simulator, which both nodes reach over AMI). Calls arrive over FastAGI at
either node; agents' desktops are connected to either node. A call held by one node is
offered to, answered by and dispositioned by an agent whose desktop is on the other node, and
under load no agent is ever given two calls at once nor a call two agents: checked against the
PBX's own record of which phone was bridged with which caller, and when."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from contactcenter.cluster_acd import ClusterAcd
from contactcenter.harness import RunningNode, RunningSystem, running_node, running_system
from contactcenter.records import Outcome
from contactcenter.seed import DEMO_PASSWORD
from contactcenter.settings import AgiSettings, HttpSettings, QueueSettings, Settings
from contactcenter.simulator.agents import SimulatedAgent
from tests.conftest import REDIS_URL, redis_keyspace, throwaway_postgres
from tests.integration.test_call_control import Desktop, _ended, _until


def _settings(database_url: str, prefix: str) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=REDIS_URL,
        redis_prefix=prefix,
        routing="redis",
        http=HttpSettings(port=0),
        agi=AgiSettings(port=0),
        queues=(
            QueueSettings(
                id="support",
                skills=("support",),
                wrapup_s=0.3,
                offer_timeout_s=3.0,
                ring_timeout_s=5.0,
                short_abandon_s=0.2,
                disposition_required=False,
            ),
        ),
        calls={"dial_template": "Local/{number}@customers"},
    )


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[tuple[RunningSystem, RunningNode]]:
    async with throwaway_postgres() as database_url, redis_keyspace() as prefix:
        settings = _settings(database_url, prefix)
        async with (
            running_system(settings, n_agents=6, n_customers=10) as a,
            running_node(a) as b,
        ):
            yield a, b


async def test_both_nodes_route_through_the_shared_queues(
    cluster: tuple[RunningSystem, RunningNode],
) -> None:
    a, b = cluster
    assert isinstance(a.runtime.acd, ClusterAcd) and isinstance(b.runtime.acd, ClusterAcd)


async def test_a_call_on_one_node_is_handled_by_an_agent_on_the_other(
    cluster: tuple[RunningSystem, RunningNode],
) -> None:
    a, b = cluster
    desktop = Desktop(a.base_url, a.data.agents[0])  # the agent's desktop is on node A
    await desktop.start()
    try:
        await desktop.ok("agent.ready", {})
        a.pbx.agi_port = b.agi_port  # the caller arrives at node B
        placed = asyncio.ensure_future(a.pbx.place_call(a.data.known_numbers[0], "100", 30, 0.5))
        await _until(lambda: bool(desktop.got("call.offered")), "the offer from node B's call")
        offer = desktop.got("call.offered")[-1]
        call_id = offer["call"]["id"]
        assert call_id in b.runtime.calls.active and call_id not in a.runtime.calls.active
        assert offer["customer"] is not None  # the pop, built on node B, reached node A's desk
        await desktop.ok("call.answer", {"call_id": call_id})  # forwarded to node B
        await _until(lambda: bool(desktop.got("call.answered")), "the answer")
        held = await desktop.ok("call.hold", {"call_id": call_id})
        assert held["call_id"] == call_id and held["at"] > 0
        await desktop.ok("call.unhold", {"call_id": call_id})
        truth = await placed
        await _until(lambda: bool(desktop.got("call.ended")), "the end of the call")
        saved = await desktop.ok(
            "call.disposition",
            {"call_id": call_id, "disposition": "resolved", "note": "across nodes"},
        )
        assert saved["call"]["disposition"] == "resolved"
        record = await _ended(a, call_id)
        assert record.outcome is Outcome.ANSWERED
        assert record.agent_id == a.data.agents[0]
        assert truth.endpoint == "PJSIP/1001" and truth.holds == 1 and truth.resumes == 1
        # The wrap-up ended on node A (the agent's), the call's facts are on node B's record.
        await _until(
            lambda: any(st["state"] == "ready" for st in desktop.got("agent.state")[-1:]),
            "the agent ready again",
        )
        await a.runtime.writer.flush()
        await b.runtime.writer.flush()
        record = await a.runtime.db.calls.get(call_id)
        assert record is not None and record.disposition == "resolved"
        assert record.note == "across nodes" and record.wrap_s is not None
    finally:
        await desktop.stop()


async def test_no_double_assignment_under_load_across_two_nodes(
    cluster: tuple[RunningSystem, RunningNode],
) -> None:
    a, b = cluster
    names = a.data.agents
    rng = random.Random(5)
    agents = [
        SimulatedAgent(
            (a.base_url if i % 2 == 0 else b.base_url),
            name,
            DEMO_PASSWORD,
            answer_delay=lambda: rng.uniform(0.05, 0.3),
            rng=rng,
        )
        for i, name in enumerate(names)
    ]
    for agent in agents:
        await agent.start()
    try:
        await _until(lambda: all(ag.state == "ready" for ag in agents), "all agents ready")
        n_calls = 60
        placed = []
        for i in range(n_calls):
            a.pbx.agi_port = a.runtime.agi.port if i % 2 == 0 else b.agi_port
            number = a.data.known_numbers[i % len(a.data.known_numbers)]
            talk = rng.uniform(0.2, 0.8)
            placed.append(asyncio.ensure_future(a.pbx.place_call(number, "100", 20.0, talk)))
            await asyncio.sleep(rng.uniform(0.02, 0.08))
        truths = await asyncio.gather(*placed)
    finally:
        for agent in agents:
            await agent.stop()
    answered = [t for t in truths if t.answered_at is not None]
    assert len(answered) == n_calls, [t.outcome for t in truths]
    # The PBX's record: one phone never talks to two callers at once.
    by_phone: dict[str, list[tuple[float, float]]] = {}
    for t in answered:
        assert t.endpoint is not None and t.hung_up_at is not None and t.answered_at is not None
        by_phone.setdefault(t.endpoint, []).append((t.answered_at, t.hung_up_at))
    for phone, spans in by_phone.items():
        spans.sort()
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert start >= end, f"{phone} bridged with two callers at once"
    assert len(by_phone) == len(agents)
    # Both nodes held calls, and calls went to agents whose desktops were on the other node.
    await a.runtime.writer.flush()
    await b.runtime.writer.flush()
    records = await a.runtime.db.calls.between(0, 4e9)
    assert len(records) == n_calls
    assert {r.outcome for r in records} == {Outcome.ANSWERED}
    home = {name: ("a" if i % 2 == 0 else "b") for i, name in enumerate(names)}
    held = {"a": 0, "b": 0}
    crossed = 0
    for r in records:
        assert r.agent_id is not None
        on_a, on_b = a.runtime.calls.record_of(r.id), b.runtime.calls.record_of(r.id)
        assert (on_a is None) != (on_b is None), "a call is held by exactly one node"
        node = "a" if on_a is not None else "b"
        held[node] += 1
        crossed += node != home[r.agent_id]
    assert held == {"a": n_calls // 2, "b": n_calls // 2}
    assert crossed > 0


async def test_linking_a_customer_to_a_call_held_by_the_other_node(
    cluster: tuple[RunningSystem, RunningNode],
) -> None:
    a, b = cluster
    desktop = Desktop(a.base_url, a.data.agents[1])
    await desktop.start()
    try:
        await desktop.ok("agent.ready", {})
        a.pbx.agi_port = b.agi_port
        placed = asyncio.ensure_future(a.pbx.place_call("5550123", "100", 30, 0.3))
        await _until(lambda: bool(desktop.got("call.offered")), "the offer")
        offer = desktop.got("call.offered")[-1]
        call_id = offer["call"]["id"]
        assert offer["customer"] is None  # an unknown number
        customer = await a.runtime.db.customers.find_by_phone(a.data.known_numbers[2])
        assert customer is not None
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"{a.base_url}/api/auth/login",
                json={"username": a.data.agents[1], "password": DEMO_PASSWORD},
            ) as resp:
                token = (await resp.json())["token"]
            async with http.post(
                f"{a.base_url}/api/calls/{call_id}/customer",  # node A; the call is on node B
                json={"customer_id": customer.id},
                headers={"Authorization": f"Bearer {token}"},
            ) as resp:
                assert resp.status == 200, await resp.text()
                body = await resp.json()
            assert body["call"]["customer_id"] == customer.id
            assert body["customer"]["id"] == customer.id
            async with http.post(
                f"{a.base_url}/api/calls/{call_id}/customer",
                json={"customer_id": 999_999},
                headers={"Authorization": f"Bearer {token}"},
            ) as resp:
                assert resp.status == 400  # the remote node's error, with its field
                assert (await resp.json())["field"] == "customer_id"
        assert b.runtime.calls.active[call_id].customer == customer
        await desktop.ok("call.answer", {"call_id": call_id})
        await placed
        record = await _ended(a, call_id)
        assert record.customer_id == customer.id
    finally:
        await desktop.stop()
