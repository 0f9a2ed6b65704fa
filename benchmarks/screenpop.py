"""Screen-pop benchmark: many agents' desktops on Socket.IO while the PBX simulator places calls.

One process runs the server and the PBX simulator (contactcenter.harness); a second process
runs the agents' Socket.IO clients (and one wallboard client), so the server's RSS is not the
clients'. Every known customer has 10 earlier calls, so each pop carries the full payload
(customer plus last 10 calls).

Figures:
- queued_to_pop_ms p50/p99/max: from "call queued with an agent free" (the call's `queued_at`,
  offered within 5 ms of it) to the agent's client holding `call.offered` with the full pop;
- full_pops: how many measured pops carried the customer and 10 earlier calls;
- wallboard_lag_ms p50/p99: for each queued call, from `queued_at` to the wallboard client
  receiving the first snapshot built at or after it;
- server_rss_mb: peak RSS of the server process (it also hosts the PBX simulator);
- target_met: queued_to_pop p99 <= 100 ms, wallboard lag p99 <= 1000 ms, RSS <= 600 MB.

    python -m benchmarks.screenpop [--agents 1000] [--rate 20] [--duration 120]

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing as mp
import random
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from contactcenter.auth import TokenSigner
from contactcenter.clock import SystemClock
from contactcenter.harness import running_system
from contactcenter.ids import AgentId, CallId, CustomerId, QueueId
from contactcenter.records import CallRecord, Direction, Outcome, Role
from contactcenter.settings import (
    AgiSettings,
    AuthSettings,
    HttpSettings,
    QueueSettings,
    Settings,
    WallboardSettings,
)
from contactcenter.simulator.traffic import TrafficGenerator

SECRET = "screenpop-benchmark"
HISTORY = 10
TARGET_POP_P99_MS = 100.0
TARGET_LAG_P99_MS = 1000.0
TARGET_RSS_MB = 600.0


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


# --- the clients' process ----------------------------------------------------------------------


async def _clients(
    base_url: str,
    tokens: list[str],
    wallboard_token: str,
    ready: Any,
    stop: Any,
    out: Any,
) -> None:
    import socketio

    pops: dict[str, tuple[float, bool, int]] = {}
    snapshots: list[tuple[float, float]] = []
    clients: list[socketio.AsyncClient] = []

    def desktop() -> socketio.AsyncClient:
        sio = socketio.AsyncClient(reconnection=False)

        async def on_state(state: dict[str, Any]) -> None:
            # Not Ready after login (or a missed offer): Ready again, once connected.
            if state.get("state") == "not_ready" and sio.namespaces.get("/agent"):
                await sio.emit("agent.ready", {}, namespace="/agent")

        async def on_offered(pop: dict[str, Any]) -> None:
            at = time.time()
            call_id = pop["call"]["id"]
            pops[call_id] = (at, pop.get("customer") is not None, len(pop.get("history") or []))
            await sio.emit("call.answer", {"call_id": call_id}, namespace="/agent")

        sio.on("agent.state", on_state, namespace="/agent")
        sio.on("call.offered", on_offered, namespace="/agent")
        return sio

    for i in range(0, len(tokens), 50):  # connect in batches
        batch = []
        for token in tokens[i : i + 50]:
            sio = desktop()
            clients.append(sio)
            batch.append(
                sio.connect(
                    base_url, namespaces=["/agent"], auth={"token": token}, transports=["websocket"]
                )
            )
        await asyncio.gather(*batch)
    for sio in clients:
        await sio.emit("agent.ready", {}, namespace="/agent")
    board = socketio.AsyncClient(reconnection=False)

    async def on_snapshot(snapshot: dict[str, Any]) -> None:
        snapshots.append((time.time(), float(snapshot["at"])))

    board.on("wallboard.snapshot", on_snapshot, namespace="/wallboard")
    await board.connect(
        base_url,
        namespaces=["/wallboard"],
        auth={"token": wallboard_token},
        transports=["websocket"],
    )
    await asyncio.sleep(2.0)  # every agent Ready
    ready.set()
    await asyncio.get_running_loop().run_in_executor(None, stop.wait)
    out.put({"pops": pops, "snapshots": snapshots})
    for sio in [*clients, board]:
        await sio.disconnect()


def _clients_main(*args: Any) -> None:
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_clients(*args))


# --- the server's process ---------------------------------------------------------------------


async def _seed_history(system: Any, numbers: list[str], now: float) -> None:
    """HISTORY answered calls a day apart for every known customer, in bulk."""
    db = system.runtime.db
    writes: list[CallRecord] = []
    for n, number in enumerate(numbers):
        customer = await db.customers.find_by_phone(number)
        assert customer is not None
        for k in range(HISTORY):
            at = now - (k + 1) * 86400 - n
            writes.append(
                CallRecord(
                    id=CallId(f"hist-{n}-{k}"),
                    direction=Direction.INBOUND,
                    arrived_at=at,
                    caller_number=number,
                    customer_id=CustomerId(customer.id),
                    queue_id=QueueId("support"),
                    agent_id=AgentId("agent1"),
                    answered_at=at + 10,
                    ended_at=at + 190,
                    talk_s=180.0,
                    outcome=Outcome.ANSWERED,
                    disposition="resolved",
                    note=f"earlier call {k}",
                )
            )
        if len(writes) >= 2000:
            await db.calls.write_batch(writes)
            writes = []
    if writes:
        await db.calls.write_batch(writes)


async def run(
    n_agents: int,
    rate: float,
    duration: float,
    customers: int,
    database_url: str | None,
    seed: int,
    talk: float = 20.0,
) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="cc-screenpop-"))
    settings = Settings(
        database_url=database_url or f"sqlite:///{tmp / 'bench.db'}",
        http=HttpSettings(port=0),
        agi=AgiSettings(port=0),
        auth=AuthSettings(secret=SECRET),
        log_level="WARNING",
        wallboard=WallboardSettings(),
        queues=(
            QueueSettings(id="support", skills=("support",), wrapup_s=1.0, offer_timeout_s=10.0),
        ),
    )
    clock = SystemClock()
    async with running_system(settings, n_agents=n_agents, n_customers=customers) as system:
        numbers = system.data.known_numbers
        await _seed_history(system, numbers, clock.now())
        signer = TokenSigner(SECRET, clock, settings.auth.token_ttl_s)
        tokens = [signer.issue(name, Role.AGENT) for name in system.data.agents]
        ctx = mp.get_context("spawn")
        ready, stop, out = ctx.Event(), ctx.Event(), ctx.Queue()
        child = ctx.Process(
            target=_clients_main,
            args=(
                system.base_url,
                tokens,
                signer.issue("supervisor", Role.SUPERVISOR),
                ready,
                stop,
                out,
            ),
            daemon=True,
        )
        child.start()
        loop = asyncio.get_running_loop()
        if not await loop.run_in_executor(None, ready.wait, 120 + n_agents * 0.1):
            raise RuntimeError("the agents' process did not connect in time")
        traffic = TrafficGenerator(
            system.pbx,
            rate_per_s=rate,
            patience_mean_s=60.0,
            talk_mean_s=talk,
            known_numbers=numbers,
            unknown_share=0.0,
            seed=seed,
        )
        started = clock.now()
        truth = await traffic.run(duration_s=duration)
        elapsed = clock.now() - started
        await system.runtime.writer.flush()
        stop.set()
        result = await loop.run_in_executor(None, out.get, True, 60)
        child.join(10)
        rows = await system.runtime.db.calls.between(started - 1, clock.now() + 1)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    pops: dict[str, list[Any]] = result["pops"]
    snapshot_times = sorted((at, recv) for recv, at in result["snapshots"])
    queued_to_pop: list[float] = []
    full = 0
    lags: list[float] = []
    for row in rows:
        if row.queued_at is None:
            continue
        got = pops.get(row.id)
        if (
            got is not None
            and row.offered_at is not None
            and row.offered_at - row.queued_at < 0.005
        ):
            received, has_customer, history = got
            queued_to_pop.append((received - row.queued_at) * 1000)
            full += int(has_customer and history == HISTORY)
        first = next((recv for at, recv in snapshot_times if at >= row.queued_at), None)
        if first is not None:
            lags.append((first - row.queued_at) * 1000)
    pop_p99, lag_p99 = _pct(queued_to_pop, 0.99), _pct(lags, 0.99)
    counts = truth.outcomes()
    return {
        "benchmark": "screenpop",
        "agents": n_agents,
        "rate_per_s": rate,
        "duration_s": duration,
        "talk_mean_s": talk,
        "elapsed_s": round(elapsed, 2),
        "calls": len(truth.calls),
        "answered": counts.get("answered", 0),
        "abandoned": counts.get("abandoned", 0),
        "failed": counts.get("failed", 0),
        "pops_received": len(pops),
        "pops_measured": len(queued_to_pop),
        "full_pops": full,
        "queued_to_pop_ms_p50": _pct(queued_to_pop, 0.50),
        "queued_to_pop_ms_p99": pop_p99,
        "queued_to_pop_ms_max": _pct(queued_to_pop, 1.0),
        "wallboard_snapshots": len(snapshot_times),
        "wallboard_lag_ms_p50": _pct(lags, 0.50),
        "wallboard_lag_ms_p99": lag_p99,
        "server_rss_mb": round(rss_mb, 1),
        "target_met": bool(
            pop_p99 is not None
            and pop_p99 <= TARGET_POP_P99_MS
            and lag_p99 is not None
            and lag_p99 <= TARGET_LAG_P99_MS
            and rss_mb <= TARGET_RSS_MB
            and full == len(queued_to_pop) > 0
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20.0, help="calls per second")
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of arrivals")
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--talk", type=float, default=20.0, help="mean talk time, seconds")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    random.seed(args.seed)
    result = asyncio.run(
        run(
            args.agents,
            args.rate,
            args.duration,
            args.customers,
            args.database_url,
            args.seed,
            args.talk,
        )
    )
    for key, value in result.items():
        print(f"{key}: {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
