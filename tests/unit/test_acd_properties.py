"""Random sequences of agent requests, callers and timers against the ACD core.

A model is built only from what the core emits (offers, withdrawals, state changes) and from
which requests it accepted. After every step: no agent holds two calls, no call is offered to
two agents, every live call is waiting, offered or accepted exactly once, the core's queries
agree with its own outputs, refused requests change nothing, and no READY agent idles while a
call they serve waits un-offered. Directed calls (to one agent), supervisor moves and hold are
in the mix: a directed call rings only its agent, and waits only while that agent is not READY.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import hypothesis.strategies as st
import pytest
from hypothesis import settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from acd import messages as m
from acd.core import AcdCore
from acd.errors import (
    AcdError,
    CallNotWaiting,
    InvalidTransition,
    OfferNotFound,
    UnknownAgent,
)
from acd.index import LazyHeap
from acd.model import AgentState, QueueConfig
from acd.virtual import VirtualAcd
from contactcenter.ids import AgentId, CallId, QueueId

SKILLS = ("x", "y")
QUEUES = {
    QueueId("any"): QueueConfig(QueueId("any"), "any", frozenset(), 5, 15),
    QueueId("x"): QueueConfig(QueueId("x"), "x", frozenset({"x"}), 0, 10),
    QueueId("xy"): QueueConfig(QueueId("xy"), "xy", frozenset({"x", "y"}), 20, 15),
}
AGENTS = [AgentId(f"a{i}") for i in range(4)]
CALLS = [CallId(f"c{i}") for i in range(6)]

agents = st.sampled_from(AGENTS)
calls = st.sampled_from(CALLS)
queues = st.sampled_from(sorted(QUEUES))
skill_sets = st.frozensets(st.sampled_from(SKILLS))


@dataclass
class Model:
    """What the outputs said, step by step."""

    state: dict[AgentId, AgentState] = field(default_factory=dict)
    holds: dict[AgentId, CallId] = field(default_factory=dict)  # ringing or on call
    offers: dict[CallId, AgentId] = field(default_factory=dict)
    accepted: dict[CallId, AgentId] = field(default_factory=dict)
    queued: dict[CallId, QueueId] = field(default_factory=dict)  # waiting, offered or not
    skills: dict[AgentId, frozenset[str]] = field(default_factory=dict)
    targets: dict[CallId, AgentId] = field(default_factory=dict)  # directed waiting calls

    def logged_in(self, agent: AgentId | None) -> bool:
        return agent is not None and self.state.get(agent, AgentState.LOGGED_OUT) is not (
            AgentState.LOGGED_OUT
        )


class AcdMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.acd = VirtualAcd(AcdCore(QUEUES), now=1000.0)
        self.model = Model()

    # --- driving ----------------------------------------------------------------------------

    def submit(self, msg: m.Input) -> None:
        self.apply(self.acd.submit(msg))

    def refused(self, msg: m.Input, error: type[AcdError]) -> None:
        before = self.snapshot()
        timers = dict(self.acd.timers)
        try:
            self.acd.submit(msg)
        except error:
            pass
        else:
            raise AssertionError(f"{msg} should have raised {error.__name__}")
        assert self.snapshot() == before
        assert self.acd.timers == timers

    def apply(self, outputs: list[m.Output]) -> None:
        md = self.model
        for out in outputs:
            if isinstance(out, m.OfferCall):
                assert out.call_id not in md.offers, "a call offered to two agents"
                assert out.call_id in md.queued and out.call_id not in md.accepted
                assert md.state.get(out.agent_id) is AgentState.READY, "offer to a busy agent"
                target = md.targets.get(out.call_id)
                assert target in (None, out.agent_id), "a directed call rang another agent"
                if target is None:
                    assert QUEUES[out.queue_id].skills <= md.skills[out.agent_id]
                assert md.queued[out.call_id] == out.queue_id
                md.offers[out.call_id] = out.agent_id
            elif isinstance(out, m.WithdrawOffer):
                assert md.offers.pop(out.call_id) == out.agent_id
            elif isinstance(out, m.OfferTimedOut):
                if md.targets.get(out.call_id) == out.agent_id:
                    del md.targets[out.call_id]  # a RONA makes a directed call ordinary
            elif isinstance(out, m.CallMoved):
                md.queued[out.call_id] = out.to_queue
                md.targets.pop(out.call_id, None)
                if out.to_agent is not None:
                    md.targets[out.call_id] = out.to_agent
            elif isinstance(out, m.AgentStateChanged):
                md.state[out.agent_id] = out.state
                if out.state is AgentState.LOGGED_OUT:
                    for call in [c for c, a in md.targets.items() if a == out.agent_id]:
                        del md.targets[call]
                if out.state in (AgentState.RINGING, AgentState.ON_CALL, AgentState.ON_HOLD):
                    assert out.call_id is not None
                    held = md.holds.get(out.agent_id)
                    assert held in (None, out.call_id), "an agent holding two calls"
                    md.holds[out.agent_id] = out.call_id
                else:
                    md.holds.pop(out.agent_id, None)

    def snapshot(self) -> object:
        core = self.acd.core
        views = {a: core.agent_state(a) for a in self.model.state}
        return views, {q: core.waiting(q) for q in QUEUES}

    # --- agents -------------------------------------------------------------------------

    @initialize(skills=st.lists(skill_sets, min_size=len(AGENTS), max_size=len(AGENTS)))
    def a_team_logs_in(self, skills: list[frozenset[str]]) -> None:
        for agent, agent_skills in zip(AGENTS, skills, strict=True):
            self.login(agent, agent_skills)
            self.ready_or_not(agent, None)

    @rule(agent=agents, skills=skill_sets)
    def login(self, agent: AgentId, skills: frozenset[str]) -> None:
        self.model.skills[agent] = skills  # a second login may change the skills
        self.submit(m.AgentLogin(agent, skills))

    @rule(agent=agents)
    def logout(self, agent: AgentId) -> None:
        if self.model.state.get(agent) in (AgentState.ON_CALL, AgentState.ON_HOLD):
            self.refused(m.AgentLogout(agent), InvalidTransition)
        else:
            self.submit(m.AgentLogout(agent))

    @rule(agent=agents)
    def ready(self, agent: AgentId) -> None:
        self.ready_or_not(agent, None)

    @rule(agent=agents, reason=st.sampled_from(["break", "lunch", None]))
    def ready_or_not(self, agent: AgentId, reason: str | None) -> None:
        msg: m.Input = m.AgentReady(agent) if reason is None else m.AgentNotReady(agent, reason)
        state = self.model.state.get(agent)
        if state is None:
            self.refused(msg, UnknownAgent)
        elif state is AgentState.LOGGED_OUT:
            self.refused(msg, InvalidTransition)
        else:
            self.submit(msg)

    # --- calls --------------------------------------------------------------------------

    @rule(call=calls, queue=queues, priority=st.integers(0, 2))
    def enqueue(self, call: CallId, queue: QueueId, priority: int) -> None:
        msg = m.EnqueueCall(call, queue, priority)
        if call in self.model.queued or call in self.model.accepted:
            self.refused(msg, InvalidTransition)
        else:
            self.model.queued[call] = queue
            self.submit(msg)

    @rule(call=calls, queue=queues, priority=st.integers(0, 2), agent=agents)
    def enqueue_for(self, call: CallId, queue: QueueId, priority: int, agent: AgentId) -> None:
        """A transfer or callback for one agent."""
        msg = m.EnqueueCall(call, queue, priority, target_agent=agent)
        if call in self.model.queued or call in self.model.accepted:
            self.refused(msg, InvalidTransition)
            return
        self.model.queued[call] = queue
        if self.model.logged_in(agent):
            self.model.targets[call] = agent
        self.submit(msg)

    @rule(call=calls, queue=st.one_of(st.none(), queues), agent=st.one_of(st.none(), agents))
    def supervisor_moves(self, call: CallId, queue: QueueId | None, agent: AgentId | None) -> None:
        msg = m.MoveCall(call, queue, agent)
        if call not in self.model.queued:
            self.refused(msg, CallNotWaiting)
        elif agent is not None and agent not in self.model.state:
            self.refused(msg, UnknownAgent)
        elif agent is not None and not self.model.logged_in(agent):
            self.refused(msg, InvalidTransition)
        else:
            self.submit(msg)
            assert self.model.queued[call] == (queue or self.model.queued[call])
            assert self.model.targets.get(call) == agent

    @rule(agent=agents, on_hold=st.booleans())
    def hold(self, agent: AgentId, on_hold: bool) -> None:
        call = self.model.holds.get(agent)
        state = self.model.state.get(agent)
        if state not in (AgentState.ON_CALL, AgentState.ON_HOLD) or call is None:
            error = UnknownAgent if state is None else InvalidTransition
            self.refused(m.AgentHold(agent, call or CALLS[0], on_hold), error)
            return
        self.submit(m.AgentHold(agent, call, on_hold))
        assert self.model.state[agent] is (AgentState.ON_HOLD if on_hold else AgentState.ON_CALL)

    @rule(call=calls)
    def caller_hangs_up(self, call: CallId) -> None:
        self.model.queued.pop(call, None)
        self.model.targets.pop(call, None)
        self.submit(m.RemoveCall(call))
        assert call not in self.model.offers

    @rule(call=calls, agent=agents)
    def accept(self, call: CallId, agent: AgentId) -> None:
        if self.model.offers.get(call) != agent:
            self.refused(m.AcceptOffer(call, agent), OfferNotFound)
            return
        self.submit(m.AcceptOffer(call, agent))
        del self.model.offers[call], self.model.queued[call]
        self.model.targets.pop(call, None)
        self.model.accepted[call] = agent
        assert self.model.state[agent] is AgentState.ON_CALL

    @precondition(lambda self: bool(self.model.offers))
    @rule(data=st.data())
    def agent_answers(self, data: st.DataObject) -> None:
        call = data.draw(st.sampled_from(sorted(self.model.offers)))
        self.accept(call, self.model.offers[call])

    @precondition(lambda self: bool(self.model.accepted))
    @rule(data=st.data())
    def call_ends(self, data: st.DataObject) -> None:
        call = data.draw(st.sampled_from(sorted(self.model.accepted)))
        self.call_finished(call, self.model.accepted[call])

    @rule(call=calls, agent=agents)
    def call_finished(self, call: CallId, agent: AgentId) -> None:
        self.submit(m.CallFinished(call, agent))
        if self.model.accepted.get(call) == agent:
            del self.model.accepted[call]
            assert self.model.state[agent] in (
                AgentState.WRAP_UP,
                AgentState.READY,
                AgentState.RINGING,  # no wrap-up, and the next call came at once
            )
        assert self.model.accepted.get(call) == self.acd.core.agent_of(call)

    # --- time ---------------------------------------------------------------------------

    @rule(seconds=st.sampled_from([0.5, 3.0, 9.0, 15.0, 40.0]))
    def time_passes(self, seconds: float) -> None:
        self.apply(self.acd.advance(seconds))

    @rule(key=st.sampled_from([*[f"wrapup:{a}" for a in AGENTS], "offer:c0:a0", "junk"]))
    def stray_timer(self, key: str) -> None:
        """A timer delivered although it was cancelled (or never set): the shell's race."""
        if key not in self.acd.timers:
            assert self.acd.core.handle(m.TimerFired(key), self.acd.now) == []

    # --- what must always hold ------------------------------------------------------------

    @invariant()
    def every_call_is_in_exactly_one_place(self) -> None:
        core, md = self.acd.core, self.model
        for call in CALLS:
            places = sum(call in core.waiting(q) for q in QUEUES)
            places += core.agent_of(call) is not None
            expected = call in md.queued or call in md.accepted
            assert places == (1 if expected else 0), call
            assert core.queue_of(call) == md.queued.get(call)
            assert core.offer_of(call) == md.offers.get(call)
            assert core.agent_of(call) == md.accepted.get(call)
            assert core.target_of(call) == md.targets.get(call)

    @invariant()
    def agents_agree_with_their_state_changes(self) -> None:
        core, md = self.acd.core, self.model
        holders = [a for a in md.holds]
        assert len(set(md.holds.values())) == len(holders), "one call held by two agents"
        for call, agent in md.offers.items():
            assert md.state[agent] is AgentState.RINGING and md.holds[agent] == call
        for call, agent in md.accepted.items():
            assert md.state[agent] in (AgentState.ON_CALL, AgentState.ON_HOLD)
            assert md.holds[agent] == call
        for agent, state in md.state.items():
            view = core.agent_state(agent)
            assert view.state is state
            if state is AgentState.RINGING:
                assert md.offers[md.holds[agent]] == agent
                assert f"offer:{view.call_id}:{agent}" in self.acd.timers
            elif state in (AgentState.ON_CALL, AgentState.ON_HOLD):
                assert md.accepted[md.holds[agent]] == agent
            if state is AgentState.WRAP_UP:
                assert f"wrapup:{agent}" in self.acd.timers

    @invariant()
    def no_ready_agent_idles_while_a_call_they_serve_waits(self) -> None:
        core, md = self.acd.core, self.model
        for q in QUEUES:
            unoffered = [c for c in core.waiting(q) if core.offer_of(c) is None]
            if [c for c in unoffered if c not in md.targets]:
                assert core.ready_agents(q) == [], (q, unoffered)
            for call in unoffered:
                if call in md.targets:
                    assert md.state[md.targets[call]] is not AgentState.READY, call

    @invariant()
    def timers_are_only_for_live_offers_and_wrap_ups(self) -> None:
        md = self.model
        for key in self.acd.timers:
            kind, _, rest = key.partition(":")
            if kind == "wrapup":
                assert md.state[AgentId(rest)] is AgentState.WRAP_UP
            else:
                call, _, agent = rest.partition(":")
                assert md.offers.get(CallId(call)) == agent


TestAcdStateMachine = AcdMachine.TestCase
TestAcdStateMachine.settings = settings(max_examples=300, stateful_step_count=60, deadline=None)


@pytest.mark.parametrize("seed", range(8))
def test_long_random_runs_keep_the_invariants(seed: int) -> None:
    """Deeper than hypothesis's short runs: thousands of weighted steps per seed."""
    rnd = random.Random(seed)
    sm = AcdMachine()
    sm.a_team_logs_in([frozenset(rnd.sample(SKILLS, rnd.randint(0, 2))) for _ in AGENTS])

    def some_skills() -> frozenset[str]:
        return frozenset(rnd.sample(SKILLS, rnd.randint(0, 2)))

    def pick_offer() -> None:
        if sm.model.offers:
            call = rnd.choice(sorted(sm.model.offers))
            sm.accept(call, sm.model.offers[call])

    def pick_accepted() -> None:
        if sm.model.accepted:
            call = rnd.choice(sorted(sm.model.accepted))
            sm.call_finished(call, sm.model.accepted[call])

    steps: list[tuple[int, Callable[[], None]]] = [
        (1, lambda: sm.login(rnd.choice(AGENTS), some_skills())),
        (1, lambda: sm.logout(rnd.choice(AGENTS))),
        (6, lambda: sm.ready(rnd.choice(AGENTS))),
        (2, lambda: sm.ready_or_not(rnd.choice(AGENTS), rnd.choice(["break", "lunch"]))),
        (5, lambda: sm.enqueue(rnd.choice(CALLS), rnd.choice(sorted(QUEUES)), rnd.randint(0, 2))),
        (2, lambda: sm.caller_hangs_up(rnd.choice(CALLS))),
        (
            2,
            lambda: sm.enqueue_for(
                rnd.choice(CALLS), rnd.choice(sorted(QUEUES)), rnd.randint(0, 2), rnd.choice(AGENTS)
            ),
        ),
        (
            1,
            lambda: sm.supervisor_moves(
                rnd.choice(CALLS),
                rnd.choice([None, *sorted(QUEUES)]),
                rnd.choice([None, *AGENTS]),
            ),
        ),
        (2, lambda: sm.hold(rnd.choice(AGENTS), rnd.random() < 0.6)),
        (1, lambda: sm.accept(rnd.choice(CALLS), rnd.choice(AGENTS))),
        (5, pick_offer),
        (4, pick_accepted),
        (4, lambda: sm.time_passes(rnd.choice([0.5, 3.0, 9.0, 15.0, 40.0]))),
        (1, lambda: sm.stray_timer(rnd.choice([f"wrapup:{a}" for a in AGENTS]))),
    ]
    weights = [w for w, _ in steps]
    for _ in range(3000):
        rnd.choices(steps, weights)[0][1]()
        sm.every_call_is_in_exactly_one_place()
        sm.agents_agree_with_their_state_changes()
        sm.no_ready_agent_idles_while_a_call_they_serve_waits()
        sm.timers_are_only_for_live_offers_and_wrap_ups()


# --- the lazy heap on its own ------------------------------------------------------------


def test_lazy_heap_memory_stays_bounded_by_the_live_entries() -> None:
    live: set[int] = set()
    heap: LazyHeap[tuple[int]] = LazyHeap(lambda e: e[0] in live)
    for i in range(10_000):  # an agent going ready and not ready, never picked
        live.discard(i - 1)
        live.add(i)
        heap.push((i,))
    assert len(heap) < 200
    assert heap.peek() == (9_999,)
    assert heap.pop() == (9_999,)
    assert heap.pop() is None
