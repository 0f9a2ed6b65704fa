"""The whole server over real sockets: the PBX simulator places 200 inbound calls over FastAGI
and AMI, simulated agents take them over Socket.IO, and the call history must agree with the
simulator's ground truth, call by call."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio

from contactcenter.harness import running_system
from contactcenter.records import Outcome
from contactcenter.settings import AgiSettings, HttpSettings, QueueSettings, Settings
from contactcenter.simulator.traffic import TrafficGenerator
from tests.conftest import REDIS_URL, redis_keyspace, throwaway_postgres

N_CALLS = 200
WAIT_TOLERANCE_S = 0.25


@pytest.fixture(params=["sqlite+memory", "postgresql+redis"])
async def backends(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    """The embedded defaults, and production's PostgreSQL and Redis."""
    if request.param == "sqlite+memory":
        yield {"database_url": f"sqlite:///{tmp_path / 'cc.db'}"}
        return
    async with throwaway_postgres() as database_url, redis_keyspace() as prefix:
        yield {"database_url": database_url, "redis_url": REDIS_URL, "redis_prefix": prefix}


def fast_settings(backends: dict[str, str]) -> Settings:
    """Seconds instead of minutes, so 200 calls fit in a few seconds of real time."""
    return Settings(
        **backends,
        http=HttpSettings(port=0),
        agi=AgiSettings(port=0),
        queues=(
            QueueSettings(
                id="support",
                name="Support",
                skills=("support",),
                wrapup_s=0.2,
                offer_timeout_s=2.0,
                ring_timeout_s=5.0,
                short_abandon_s=0.3,
            ),
        ),
    )


class _Board:
    def __init__(self) -> None:
        self.client = socketio.AsyncClient()
        self.last: dict[str, Any] = {}
        self.pushes = 0

    def on_snapshot(self, data: dict[str, Any]) -> None:
        self.last = data
        self.pushes += 1

    async def disconnect(self) -> None:
        await self.client.disconnect()


async def _wallboard(base_url: str) -> _Board:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{base_url}/api/auth/login", json={"username": "supervisor", "password": "demo"}
        ) as resp,
    ):
        token = (await resp.json())["token"]
    board = _Board()
    board.client.on("wallboard.snapshot", board.on_snapshot, namespace="/wallboard")
    await board.client.connect(
        base_url, namespaces=["/wallboard"], auth={"token": token}, transports=["websocket"]
    )
    return board


COUNTS = ("offered", "answered", "abandoned", "short_abandoned", "waiting", "service_level")


def _same_counts(pushed: dict[str, Any], server: dict[str, Any]) -> bool:
    """The call figures agree (agents' states may still be moving between the two views)."""
    if not pushed:
        return False
    mine, theirs = pushed["queues"][0], server["queues"][0]
    return all(mine[key] == theirs[key] for key in COUNTS)


async def _settle(condition: Callable[[], bool], timeout_s: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition() and loop.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)


async def test_200_calls_match_the_ground_truth(backends: dict[str, str]) -> None:
    rng = random.Random(3)
    async with running_system(fast_settings(backends), n_agents=10) as system:
        await system.add_agents(
            system.data.agents, answer_delay=lambda: rng.uniform(0.05, 0.4), seed=3
        )
        traffic = TrafficGenerator(
            system.pbx,
            rate_per_s=10.0,
            patience_mean_s=1.2,
            talk_mean_s=0.5,
            known_numbers=system.data.known_numbers,
            unknown_share=0.3,
            seed=11,
        )
        board = await _wallboard(system.base_url)
        truth = await traffic.run(n_calls=N_CALLS)
        calls = system.runtime.calls
        await _settle(lambda: not calls.active, timeout_s=15.0)
        assert not calls.active, f"calls still active: {list(calls.active)[:5]}"
        # The last push reaches the supervisor (pushes are at most every 0.25 s, and go
        # through Redis pub/sub in the multi-process setup).
        server_view = await system.runtime.wallboard.snapshot()
        await _settle(lambda: _same_counts(board.last, server_view), timeout_s=10.0)
        await board.disconnect()
        await system.runtime.writer.flush()
        repo = system.runtime.db.calls
        rows = await repo.between(0, system.runtime.clock.now() + 1)

        by_ref = {}
        for row in rows:
            arrived = [e for e in await repo.events(row.id) if e.kind == "arrived"]
            assert len(arrived) == 1, f"call {row.id} has {len(arrived)} arrived events"
            by_ref[arrived[0].data["pbx_ref"]] = row

    # The supervisors' wallboard, pushed live, agrees with the history.
    assert _same_counts(board.last, server_view), "the last push has the server's final counts"
    figures = board.last["queues"][0]
    queued = [r for r in rows if r.queued_at is not None]
    assert figures["offered"] == len(queued)
    assert figures["answered"] == sum(r.outcome is Outcome.ANSWERED for r in rows)
    assert figures["abandoned"] == sum(r.outcome is Outcome.ABANDONED for r in rows)
    assert figures["short_abandoned"] == sum(r.outcome is Outcome.SHORT_ABANDONED for r in rows)
    assert figures["waiting"] == 0
    assert board.pushes > 10, "figures are pushed as they change"

    assert len(truth.calls) == N_CALLS
    assert len(rows) == N_CALLS, "every call is one history row, and no call is recorded twice"
    counts = truth.outcomes()
    assert counts["answered"] > 50 and counts["abandoned"] > 10, counts  # a meaningful mix
    assert counts["failed"] == 0, counts
    for t in truth.calls:
        row = by_ref.get(t.uniqueid)
        assert row is not None, f"simulated call {t.seq} ({t.uniqueid}) is not in the history"
        if t.outcome == "answered":
            assert row.outcome is Outcome.ANSWERED, (t, row)
            assert row.agent_id is not None and row.answered_at is not None
            assert row.talk_s is not None and row.talk_s > 0
        elif row.outcome is Outcome.IVR_ABANDONED:
            # Hung up before the call reached the queue: no wait is counted.
            assert t.outcome == "abandoned" and row.queued_at is None, (t, row)
            assert row.wait_s is None and row.agent_id is None, (t, row)
            continue
        else:
            assert row.outcome in (Outcome.ABANDONED, Outcome.SHORT_ABANDONED), (t, row)
        assert row.wait_s is not None and t.wait_s is not None
        assert abs(row.wait_s - t.wait_s) <= WAIT_TOLERANCE_S, (
            f"call {t.seq}: history wait {row.wait_s:.3f} s, truth {t.wait_s:.3f} s; the server "
            f"queued it {(row.queued_at or 0) - row.arrived_at:.3f} s after its session began"
        )
        if t.caller_number in system.data.known_numbers:
            assert row.customer_id is not None, "a known number is linked to its customer"
        else:
            assert row.customer_id is None, "an unknown number goes ahead as an unknown customer"
