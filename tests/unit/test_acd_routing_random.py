"""Long random runs over queues that use every strategy, skill levels, widening, priority aging,
RONA limits and overflow. A model built only from the core's outputs is checked after every
step against rules written here from scratch (not with the core's own helpers): offers go only
to READY agents whose skills and levels are acceptable for the call's wait, no READY agent idles
while a call they are acceptable for waits un-offered, ring_all offers end together, overflow
happens on time to the configured queue, timers match the state, and the RONA limit logs out
exactly on the limit."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from acd import messages as m
from acd.core import AcdCore
from acd.errors import InvalidTransition, OfferNotFound
from acd.model import AgentState, QueueConfig, WidenStep
from acd.virtual import VirtualAcd
from contactcenter.ids import AgentId, CallId, QueueId


def _q(name: str, skills: str, **kw: object) -> QueueConfig:
    return QueueConfig(QueueId(name), name, frozenset(skills), **kw)  # type: ignore[arg-type]


QUEUES = {
    q.id: q
    for q in (
        _q(
            "li",
            "x",
            wrapup_s=5,
            skill_levels={"x": 6},
            widen=(WidenStep(10, 2), WidenStep(30, 5)),
            max_consecutive_rona=2,
        ),
        _q(
            "lc",
            "",
            wrapup_s=0,
            strategy="least_calls",
            priority_aging_per_s=0.1,
            overflow_queue=QueueId("ra"),
            overflow_after_s=25,
        ),
        _q("rr", "y", wrapup_s=3, strategy="round_robin"),
        _q(
            "ms",
            "xy",
            wrapup_s=0,
            strategy="most_skilled",
            skill_levels={"x": 4, "y": 7},
            widen=(WidenStep(20, 3),),
        ),
        _q(
            "wr",
            "x",
            wrapup_s=2,
            strategy="weighted_random",
            priority_aging_per_s=0.5,
            overflow_queue=QueueId("li"),
            overflow_after_s=40,
        ),
        _q(
            "ra",
            "y",
            wrapup_s=0,
            strategy="ring_all",
            skill_levels={"y": 5},
            widen=(WidenStep(15, 10),),
            max_consecutive_rona=3,
        ),
    )
}
AGENTS = [AgentId(f"a{i}") for i in range(5)]
CALLS = [CallId(f"c{i}") for i in range(8)]


def acceptable(
    q: QueueConfig, skills: frozenset[str], levels: dict[str, int], waited: float
) -> bool:
    if not q.skills <= skills:
        return False
    drop = max((w.level_drop for w in q.widen if w.after_s <= waited), default=0)
    return all(levels.get(s, 5) >= need - drop for s, need in q.skill_levels.items())


@dataclass
class Run:
    acd: VirtualAcd = field(default_factory=lambda: VirtualAcd(AcdCore(QUEUES, random.Random(1))))
    state: dict[AgentId, AgentState] = field(default_factory=dict)
    holds: dict[AgentId, CallId] = field(default_factory=dict)
    skills: dict[AgentId, frozenset[str]] = field(default_factory=dict)
    levels: dict[AgentId, dict[str, int]] = field(default_factory=dict)
    ronas: dict[AgentId, int] = field(default_factory=dict)
    offers: dict[CallId, list[AgentId]] = field(default_factory=dict)
    queued: dict[CallId, tuple[QueueId, float]] = field(default_factory=dict)
    accepted: dict[CallId, AgentId] = field(default_factory=dict)
    last_rona_queue: dict[AgentId, QueueId] = field(default_factory=dict)
    seen: Counter[str] = field(default_factory=Counter)  # what the run exercised

    def submit(self, msg: m.Input) -> None:
        self.apply(self.acd.submit(msg))

    def apply(self, outputs: list[m.Output]) -> None:
        now = self.acd.now
        for out in outputs:
            if isinstance(out, m.OfferCall):
                queue_id, enq = self.queued[out.call_id]
                assert out.queue_id == queue_id and out.call_id not in self.accepted
                assert self.state[out.agent_id] is AgentState.READY
                skills, levels = self.skills[out.agent_id], self.levels[out.agent_id]
                assert acceptable(QUEUES[queue_id], skills, levels, now - enq)
                if not acceptable(QUEUES[queue_id], skills, levels, 0.0):
                    self.seen["offer after widening"] += 1
                if out.call_id in self.offers:
                    self.seen["ring_all second offer"] += 1
                self.seen["offer"] += 1
                offered = self.offers.setdefault(out.call_id, [])
                assert out.agent_id not in offered
                offered.append(out.agent_id)
            elif isinstance(out, m.WithdrawOffer):
                self.offers[out.call_id].remove(out.agent_id)
                if not self.offers[out.call_id]:
                    del self.offers[out.call_id]
            elif isinstance(out, m.CallOverflowed):
                assert out.call_id not in self.offers
                source = QUEUES[out.from_queue]
                assert source.overflow_queue == out.to_queue
                assert source.overflow_after_s is not None
                entered = self.queued[out.call_id]
                assert entered == (out.from_queue, out.at - source.overflow_after_s)
                self.queued[out.call_id] = (out.to_queue, out.at)
                self.seen["overflow"] += 1
            elif isinstance(out, m.OfferTimedOut):
                self.ronas[out.agent_id] = self.ronas.get(out.agent_id, 0) + 1
                self.last_rona_queue[out.agent_id] = self.queued[out.call_id][0]
            elif isinstance(out, m.AgentStateChanged):
                a = out.agent_id
                self.state[a] = out.state
                if out.reason in ("rona", "rona_limit"):
                    self.seen[out.reason] += 1
                    limit = QUEUES[self.last_rona_queue[a]].max_consecutive_rona
                    reached = limit > 0 and self.ronas[a] >= limit
                    assert (out.reason == "rona_limit") == reached
                    assert out.state is (AgentState.LOGGED_OUT if reached else AgentState.NOT_READY)
                if out.state in (AgentState.RINGING, AgentState.ON_CALL):
                    assert self.holds.get(a) in (None, out.call_id)
                    self.holds[a] = out.call_id  # type: ignore[assignment]
                else:
                    self.holds.pop(a, None)

    # --- the actions ------------------------------------------------------------------------

    def login(self, rnd: random.Random) -> None:
        agent = rnd.choice(AGENTS)
        skills = frozenset(rnd.sample("xy", rnd.randint(0, 2)) + rnd.sample("y", rnd.randint(0, 1)))
        levels = {s: rnd.randint(1, 10) for s in skills if rnd.random() < 0.8}
        if self.state.get(agent) in (None, AgentState.LOGGED_OUT):
            self.ronas[agent] = 0
        self.skills[agent] = skills
        self.levels[agent] = {s: levels.get(s, 5) for s in skills}
        self.submit(m.AgentLogin(agent, skills, levels))

    def logout(self, rnd: random.Random) -> None:
        agent = rnd.choice(AGENTS)
        if self.state.get(agent) is AgentState.ON_CALL:
            with pytest.raises(InvalidTransition):
                self.acd.submit(m.AgentLogout(agent))
        else:
            self.submit(m.AgentLogout(agent))

    def ready_or_not(self, rnd: random.Random, reason: str | None) -> None:
        agent = rnd.choice(AGENTS)
        if self.state.get(agent) in (None, AgentState.LOGGED_OUT):
            return
        self.submit(m.AgentReady(agent) if reason is None else m.AgentNotReady(agent, reason))

    def enqueue(self, rnd: random.Random) -> None:
        call = rnd.choice(CALLS)
        if call in self.queued or call in self.accepted:
            return
        queue = rnd.choice([*sorted(QUEUES), QueueId("ra"), QueueId("ra")])
        self.queued[call] = (queue, self.acd.now)
        self.submit(m.EnqueueCall(call, queue, rnd.randint(0, 2)))

    def hang_up(self, rnd: random.Random) -> None:
        call = rnd.choice(CALLS)
        self.submit(m.RemoveCall(call))
        if call in self.queued:
            del self.queued[call]
            assert call not in self.offers

    def answer(self, rnd: random.Random) -> None:
        if not self.offers:
            return
        call = rnd.choice(sorted(self.offers))
        agent = rnd.choice(self.offers[call])
        self.submit(m.AcceptOffer(call, agent))
        assert self.offers.pop(call) == [agent], "the other ringing agents were not released"
        del self.queued[call]
        self.accepted[call] = agent
        self.ronas[agent] = 0

    def stale_accept(self, rnd: random.Random) -> None:
        call, agent = rnd.choice(CALLS), rnd.choice(AGENTS)
        if agent not in self.offers.get(call, []):
            with pytest.raises(OfferNotFound):
                self.acd.submit(m.AcceptOffer(call, agent))

    def finish(self, rnd: random.Random) -> None:
        if self.accepted:
            call = rnd.choice(sorted(self.accepted))
            self.submit(m.CallFinished(call, self.accepted.pop(call)))

    # --- what must always hold ----------------------------------------------------------------

    def check(self) -> None:
        core, now = self.acd.core, self.acd.now
        for call, agents in self.offers.items():
            assert core.offers_of(call) == tuple(agents)
            for agent in agents:
                assert self.state[agent] is AgentState.RINGING and self.holds[agent] == call
        for call, agent in self.accepted.items():
            assert core.agent_of(call) == agent and self.holds[agent] == call
        for call, (queue, _) in self.queued.items():
            assert core.queue_of(call) == queue
        ready = [a for a, s in self.state.items() if s is AgentState.READY]
        for call, (queue, enq) in self.queued.items():
            if call in self.offers:
                continue
            q = QUEUES[queue]
            idle = [a for a in ready if acceptable(q, self.skills[a], self.levels[a], now - enq)]
            assert idle == [], f"{idle} idle while {call} waits in {queue}"
        for key in self.acd.timers:
            kind, _, rest = key.partition(":")
            if kind == "wrapup":
                assert self.state[AgentId(rest)] is AgentState.WRAP_UP
            elif kind == "offer":
                offered, _, ringing = rest.partition(":")
                assert AgentId(ringing) in self.offers[CallId(offered)]
            elif kind == "overflow":
                in_queue, _ = self.queued[CallId(rest)]
                assert QUEUES[in_queue].overflow_queue is not None
            else:
                waiting, _, step = rest.partition(":")
                in_queue, _ = self.queued[CallId(waiting)]
                assert 1 <= int(step) <= len(QUEUES[in_queue].widen)
        for agent, state in self.state.items():
            assert core.agent_state(agent).state is state
            if state is AgentState.WRAP_UP:
                assert f"wrapup:{agent}" in self.acd.timers


@pytest.mark.parametrize("seed", range(6))
def test_random_runs_over_every_strategy_keep_the_rules(seed: int) -> None:
    rnd = random.Random(seed)
    run = Run()
    steps: list[tuple[int, Callable[[], None]]] = [
        (2, lambda: run.login(rnd)),
        (1, lambda: run.logout(rnd)),
        (7, lambda: run.ready_or_not(rnd, None)),
        (2, lambda: run.ready_or_not(rnd, "break")),
        (6, lambda: run.enqueue(rnd)),
        (2, lambda: run.hang_up(rnd)),
        (5, lambda: run.answer(rnd)),
        (1, lambda: run.stale_accept(rnd)),
        (4, lambda: run.finish(rnd)),
        (5, lambda: run.apply(run.acd.advance(rnd.choice([0.5, 3.0, 9.0, 15.0, 40.0])))),
    ]
    weights = [w for w, _ in steps]
    for _ in range(3000):
        rnd.choices(steps, weights)[0][1]()
        run.check()
    for what in ("overflow", "offer after widening", "ring_all second offer", "rona", "rona_limit"):
        assert run.seen[what] > 0, (what, run.seen)  # the run exercised it
