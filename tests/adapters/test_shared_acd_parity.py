"""SharedAcdService (on memory and on a real Redis) against the in-process core (AcdService):
the same random inputs, compared output for output, one scenario per feature (strategies,
penalties and levels, widening, overflow by time and by estimated wait, the RONA limit,
MoveCall, AgentHold, re-login), and the queries compared after the inputs.

Where the semantics differ (acd_adapter.py's docstring) the inputs avoid the difference:
every agent logs in first (the core's UnknownAgent for an agent it never saw is the adapter's
InvalidTransition), and the clock moves before every input (equal idle times tie-break
differently); each timer fires at its own time."""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from acd import messages as m
from acd.core import AcdCore
from acd.errors import AcdError, UnknownAgent
from acd.model import AgentState, QueueConfig, WidenStep
from contactcenter.acd_service import AcdService
from contactcenter.clock import FakeClock
from contactcenter.ids import AgentId, CallId, QueueId
from contactcenter.sharedqueue import MemorySharedQueues, RedisSharedQueues, SharedQueues
from contactcenter.sharedqueue.acd_adapter import SharedAcdService
from tests.conftest import REDIS_URL, redis_keyspace

T0 = 1_800_000_000.0
SALES, SUPPORT = QueueId("sales"), QueueId("support")
ALICE, BOB, CAROL = AgentId("alice"), AgentId("bob"), AgentId("carol")
# A little before a UTC midnight, so that "least_calls" sees a new day during the run.
NEAR_MIDNIGHT = datetime(2027, 3, 1, 23, 55, tzinfo=UTC).timestamp()


@pytest.fixture(params=[pytest.param("memory"), pytest.param("redis", marks=pytest.mark.redis)])
async def queues(request: pytest.FixtureRequest) -> AsyncIterator[SharedQueues]:
    if request.param == "memory":
        yield MemorySharedQueues()
        return
    async with redis_keyspace() as prefix:
        shared = RedisSharedQueues(REDIS_URL, prefix=prefix)
        try:
            yield shared
        finally:
            await shared.close()


def queue(qid: QueueId, skills: tuple[str, ...] = ("sales",), **kw: Any) -> QueueConfig:
    kw = {"wrapup_s": 10.0, "offer_timeout_s": 15.0, **kw}
    return QueueConfig(qid, str(qid), frozenset(skills), **kw)


def one(**kw: Any) -> dict[QueueId, QueueConfig]:
    return {SALES: queue(SALES, skill_levels={"sales": 3}, **kw)}


def two(sales: dict[str, Any], support: dict[str, Any]) -> dict[QueueId, QueueConfig]:
    return {
        SALES: queue(SALES, ("sales",), **sales),
        SUPPORT: queue(SUPPORT, ("support",), **support),
    }


SCENARIOS: dict[str, Callable[[], dict[QueueId, QueueConfig]]] = {
    "longest_idle": lambda: one(),
    "least_calls": lambda: one(strategy="least_calls"),
    "most_skilled": lambda: one(strategy="most_skilled"),
    "round_robin": lambda: one(strategy="round_robin"),
    "weighted_random": lambda: one(strategy="weighted_random"),
    "widen": lambda: {
        SALES: queue(
            SALES,
            skill_levels={"sales": 9},
            widen=(WidenStep(6.0, 3), WidenStep(14.0, 6)),
            priority_aging_per_s=0.05,
        )
    },
    "overflow": lambda: two(
        {"overflow_queue": SUPPORT, "overflow_after_s": 12.0, "overflow_when_ewt_exceeds_s": 40.0},
        {"strategy": "least_calls", "ewt_default_handle_s": 30.0},
    ),
    "rona_limit": lambda: one(max_consecutive_rona=2),
    "borrow": lambda: two(
        {"borrow_from": (SUPPORT,), "skill_levels": {"sales": 6}},
        {"sl_threshold_s": 8.0, "sl_target": 0.6, "sl_window_s": 300.0, "strategy": "least_calls"},
    ),
    "ring_all": lambda: two({"strategy": "ring_all"}, {"strategy": "ring_all", "wrapup_s": 0.0}),
    "two_queues": lambda: two({"strategy": "round_robin"}, {"skill_levels": {"support": 4}}),
}


class Run:
    """Both services, fed the same inputs; every output list and error must match."""

    def __init__(self, store: SharedQueues, configs: dict[QueueId, QueueConfig], seed: int):
        start = NEAR_MIDNIGHT if any(q.strategy == "least_calls" for q in configs.values()) else T0
        self.clock = FakeClock(start)
        self.core = AcdService(AcdCore(configs, rng=random.Random(seed)), self.clock)
        self.shared = SharedAcdService(store, configs, self.clock, rng=random.Random(seed))
        self.timers: dict[str, float] = {}
        self.ringing: dict[CallId, AgentId] = {}
        self.on_call: dict[AgentId, CallId] = {}
        self.calls: list[CallId] = []
        self.compared = 0
        self.choices = 0  # calls that arrived with several READY agents to choose from
        self.kinds: set[str] = set()
        self.reasons: set[str] = set()  # of state changes and withdrawals

    async def both(self, msg: m.Input) -> list[m.Output]:
        results: list[Any] = []
        for acd in (self.core, self.shared):
            try:
                results.append(await acd.submit(msg))
            except AcdError as exc:
                results.append([type(exc).__name__])
        assert results[0] == results[1], (msg, results)
        outs: list[m.Output] = results[0]
        self.compared += len(outs)
        for out in outs:
            self.kinds.add(type(out).__name__)
            if isinstance(out, m.AgentStateChanged | m.WithdrawOffer) and out.reason:
                self.reasons.add(out.reason)
            if isinstance(out, m.AgentStateChanged):
                self.reasons.add(out.state)
            match out:
                case m.ScheduleTimer():
                    self.timers[out.key] = out.at
                case m.CancelTimer():
                    self.timers.pop(out.key, None)
                case m.OfferCall():
                    self.ringing[out.call_id] = out.agent_id
                    core = self.core.core
                    if core.target_of(out.call_id) is None and out.agent_id not in (
                        core.agents_serving(out.queue_id)
                    ):
                        self.reasons.add("borrowed")
                case m.WithdrawOffer() | m.OfferTimedOut():
                    self.ringing.pop(out.call_id, None)
                case m.AgentStateChanged(state=AgentState.ON_CALL, call_id=call_id) if call_id:
                    self.ringing.pop(call_id, None)
                    self.on_call[out.agent_id] = call_id
                case m.AgentStateChanged(state=AgentState.WRAP_UP | AgentState.LOGGED_OUT):
                    self.on_call.pop(out.agent_id, None)
        return outs

    async def fire_due(self, until: float) -> None:
        while True:
            due = sorted((at, key) for key, at in self.timers.items() if at <= until)
            if not due:
                break
            at, key = due[0]
            del self.timers[key]
            self.reasons.add(key.split(":", 1)[0])
            self.clock.set(max(at, self.clock.now()))
            await self.both(m.TimerFired(key))
        self.clock.set(until)

    async def compare_queries(self, agents: list[AgentId], configs: dict[QueueId, Any]) -> None:
        core = self.core.core
        now = self.clock.now()
        for call_id in self.calls[-12:]:
            assert core.position(call_id) == await self.shared.position(call_id), call_id
            want = core.estimated_wait_s(call_id, now)
            got = await self.shared.estimated_wait_s(call_id)
            assert (want is None) == (got is None), call_id
            if want is not None and got is not None:
                assert math.isclose(want, got, rel_tol=1e-9, abs_tol=1e-9), (call_id, want, got)
        for agent_id in agents:
            view = core.agent_state(agent_id)
            if view.state is AgentState.LOGGED_OUT:
                with pytest.raises(UnknownAgent):
                    await self.shared.agent_view(agent_id)
            else:
                assert view == await self.shared.agent_view(agent_id)
        for qid in configs:
            assert core.queue_status(qid, now) == await self.shared.queue_status(qid)

    async def close(self) -> None:
        await self.core.close()
        await self.shared.close()


async def drive(store: SharedQueues, name: str, seed: int, steps: int = 600) -> Run:
    configs = SCENARIOS[name]()
    run = Run(store, configs, seed)
    rng = random.Random(seed)
    qids = list(configs)
    skills = sorted(frozenset().union(*(q.skills for q in configs.values())))
    agents = [AgentId(f"a{i}") for i in range(8)]
    answer_rate = 0.1 if name == "rona_limit" else 0.2

    def login(agent_id: AgentId) -> m.AgentLogin:
        have = frozenset(s for s in skills if rng.random() < 0.8) or frozenset(skills[:1])
        levels = {s: rng.randint(1, 10) for s in have if rng.random() < 0.8}
        penalties = {q: rng.randint(0, 2) for q in qids if rng.random() < 0.5}
        return m.AgentLogin(agent_id, have, levels, penalties)

    try:
        for agent_id in agents:
            await run.both(login(agent_id))
        for _ in range(steps):
            await run.fire_due(run.clock.now() + rng.choice((0.7, 1.3, 2.9, 4.1)))
            who = rng.choice(agents)
            if run.ringing and rng.random() < answer_rate:  # most offers are answered
                call_id = rng.choice(sorted(run.ringing))
                await run.both(m.AcceptOffer(call_id, run.ringing[call_id]))
            if run.on_call and rng.random() < 0.3:
                agent_id = rng.choice(sorted(run.on_call))
                await run.both(m.CallFinished(run.on_call[agent_id], agent_id))
            kind = rng.random()
            if kind < 0.03:
                await run.both(login(who))
            elif kind < 0.33:
                await run.both(m.AgentReady(who))
            elif kind < 0.37:
                await run.both(m.AgentNotReady(who, rng.choice(("break", "lunch"))))
            elif kind < 0.39:
                await run.both(m.AgentLogout(who))
            elif kind < 0.49:
                call_id = CallId(f"c{len(run.calls) + 1}")
                run.calls.append(call_id)
                past = rng.choice((0.0, 0.0, 3.0, 8.0))
                target = rng.choice(agents) if rng.random() < 0.08 else None
                qid = rng.choice(qids)
                run.choices += len(run.core.core.ready_agents(qid)) >= 2
                await run.both(
                    m.EnqueueCall(call_id, qid, rng.randint(0, 3), run.clock.now() - past, target)
                )
            elif kind < 0.72 and run.ringing:
                call_id = rng.choice(sorted(run.ringing))
                if rng.random() < 0.5:
                    await run.both(m.AcceptOffer(call_id, run.ringing[call_id]))
            elif kind < 0.88 and run.on_call:
                agent_id = rng.choice(sorted(run.on_call))
                call_id = run.on_call[agent_id]
                if rng.random() < 0.3:
                    await run.both(m.AgentHold(agent_id, call_id, rng.random() < 0.6))
                else:
                    await run.both(m.CallFinished(call_id, agent_id))
            elif kind < 0.94 and run.calls:
                call_id = rng.choice(run.calls[-8:])
                to_queue = rng.choice([None, *qids])
                to_agent = rng.choice(agents) if rng.random() < 0.3 else None
                await run.both(m.MoveCall(call_id, to_queue, to_agent))
            elif run.ringing and rng.random() < 0.5:  # the caller leaves while it rings
                await run.both(m.RemoveCall(rng.choice(sorted(run.ringing))))
            elif run.calls:
                await run.both(m.RemoveCall(rng.choice(run.calls[-8:])))
            if _ % 8 == 0:
                await run.compare_queries(agents, configs)
    finally:
        await run.close()
    return run


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
async def test_shared_acd_decides_as_the_core(queues: SharedQueues, scenario: str) -> None:
    run = await drive(queues, scenario, seed=sum(map(ord, scenario)))
    assert run.compared > 300 and run.choices > 10, (run.compared, run.choices)
    # the run reached what the scenario is about
    assert {"OfferCall", "OfferTimedOut", "CallMoved"} <= run.kinds, run.kinds
    assert {"rona", "moved", "caller_left", AgentState.ON_HOLD} <= run.reasons, run.reasons
    expected = {
        "overflow": {"overflow"},  # the reason of an offer withdrawn by an overflow
        "rona_limit": {"rona_limit"},
        "widen": {"widen"},  # a widening timer fired
        "least_calls": {"wrapup"},
        "ring_all": {"answered_elsewhere"},
        "borrow": {"borrowed"},
    }.get(scenario, set())
    assert expected <= run.reasons, run.reasons
    if scenario == "overflow":
        assert "CallOverflowed" in run.kinds


# --- scripted scenarios: the feature is certainly reached ---------------------------------------


async def scripted(
    store: SharedQueues, configs: dict[QueueId, QueueConfig], start: float = T0
) -> Run:
    run = Run(store, configs, seed=1)
    run.clock.set(start)
    return run


async def test_least_calls_counts_today_and_restarts_at_midnight(queues: SharedQueues) -> None:
    run = await scripted(queues, one(strategy="least_calls", wrapup_s=0.0), NEAR_MIDNIGHT)
    try:
        for name in (ALICE, BOB, CAROL):
            await run.both(m.AgentLogin(name, frozenset({"sales"})))
        for name, calls in ((ALICE, 2), (BOB, 1)):
            await run.both(m.AgentReady(name))
            for i in range(calls):
                run.clock.advance(1)
                call_id = CallId(f"{name}-{i}")
                await run.both(m.EnqueueCall(call_id, SALES))
                await run.both(m.AcceptOffer(call_id, name))
                await run.both(m.CallFinished(call_id, name))  # no wrap-up: READY again
        run.clock.advance(1)
        await run.both(m.AgentReady(CAROL))  # the latest ready, but no call yet today
        offers = []
        for i in range(3):
            run.clock.advance(1)
            out = await run.both(m.EnqueueCall(CallId(f"x{i}"), SALES))
            offers += [o.agent_id for o in out if isinstance(o, m.OfferCall)]
        assert offers == [CAROL, BOB, ALICE]  # fewest calls first
        for i, name in enumerate(offers):
            await run.both(m.AcceptOffer(CallId(f"x{i}"), name))
        for i, name in enumerate((ALICE, BOB, CAROL)):  # Alice longest idle from here on
            run.clock.advance(1)
            await run.both(m.CallFinished(CallId(f"x{2 - i}"), name))
        run.clock.set(NEAR_MIDNIGHT + 400)  # a new day: every count is 0 again
        out = await run.both(m.EnqueueCall(CallId("y"), SALES))
        assert [o.agent_id for o in out if isinstance(o, m.OfferCall)] == [ALICE]
    finally:
        await run.close()


async def test_queries_answer_as_the_core(queues: SharedQueues) -> None:
    configs = one(ewt_default_handle_s=60.0)
    run = await scripted(queues, configs)
    core = run.core.core
    try:
        assert await run.shared.queue_status(SALES) == core.queue_status(SALES, run.clock.now())
        assert not (await run.shared.queue_status(SALES)).open  # nobody serves it: closed
        for name in (ALICE, BOB):
            await run.both(m.AgentLogin(name, frozenset({"sales"})))
        await run.both(m.AgentReady(ALICE))
        for i in range(6):
            run.clock.advance(7)
            await run.both(m.EnqueueCall(CallId(f"c{i}"), SALES))
            if i < 4:
                await run.both(m.AcceptOffer(CallId(f"c{i}"), ALICE))
                await run.both(m.CallFinished(CallId(f"c{i}"), ALICE))
                await run.both(m.AgentReady(ALICE))
        run.clock.advance(5)
        for call_id in map(CallId, ("c4", "c5", "nope")):
            assert await run.shared.position(call_id) == core.position(call_id)
            want = core.estimated_wait_s(call_id, run.clock.now())
            assert await run.shared.estimated_wait_s(call_id) == want
        assert await run.shared.position(CallId("c5")) == 2  # behind c4, which rings
        for name in (ALICE, BOB):
            assert await run.shared.agent_view(name) == core.agent_state(name)
        with pytest.raises(UnknownAgent):
            await run.shared.agent_view(CAROL)
        status = await run.shared.queue_status(SALES)
        assert status == core.queue_status(SALES, run.clock.now()) and status.open
    finally:
        await run.close()
