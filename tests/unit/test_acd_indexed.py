"""A routing decision looks at the heads of a few indexes, never at every agent or call: the
number of agent and call entries the core inspects in one decision does not grow with the
site. The core is instrumented by counting its own liveness checks (the only way it reads an
index entry)."""

from __future__ import annotations

import random

from acd import messages as m
from acd.core import AcdCore
from acd.model import QueueConfig, WidenStep
from acd.state import AgentEntry, CallEntry
from contactcenter.ids import AgentId, CallId, QueueId

BIG, SMALL = QueueId("big"), QueueId("small")


class CountingCore(AcdCore):
    looked_at = 0

    def _agent_entry_live(self, entry: AgentEntry) -> bool:
        self.looked_at += 1
        return super()._agent_entry_live(entry)

    def _call_entry_live(self, entry: CallEntry) -> bool:
        self.looked_at += 1
        return super()._call_entry_live(entry)


def site(agents: int, calls: int) -> tuple[CountingCore, float]:
    queues = {
        BIG: QueueConfig(
            BIG,
            "Big",
            frozenset({"b"}),
            wrapup_s=0,
            skill_levels={"b": 8},
            widen=(WidenStep(30, 3), WidenStep(60, 10)),
            strategy="least_calls",
        ),
        SMALL: QueueConfig(SMALL, "Small", frozenset({"s"}), wrapup_s=0),
    }
    core = CountingCore(queues)
    rnd = random.Random(7)
    now = 1000.0
    for i in range(agents):  # READY agents of the big queue, at assorted levels
        agent = AgentId(f"a{i}")
        core.handle(m.AgentLogin(agent, frozenset({"b"}), {"b": rnd.randint(5, 10)}), now)
        core.handle(m.AgentReady(agent), now)
        now += 0.01
    core.handle(m.AgentLogin(AgentId("s0"), frozenset({"s"})), now)
    for i in range(calls):  # calls of the small queue, waiting: its agent is Not Ready
        core.handle(m.EnqueueCall(CallId(f"c{i}"), SMALL, priority=i % 3), now)
    return core, now


def decision_cost(agents: int, calls: int) -> tuple[int, int]:
    core, now = site(agents, calls)
    core.looked_at = 0
    out = core.handle(m.EnqueueCall(CallId("big-call"), BIG, priority=1), now)  # agent picked
    assert [o.call_id for o in out if isinstance(o, m.OfferCall)] == [CallId("big-call")]
    enqueue = core.looked_at
    core.looked_at = 0
    out = core.handle(m.AgentReady(AgentId("s0")), now)  # a call picked
    assert [o.call_id for o in out if isinstance(o, m.OfferCall)] == [CallId("c2")]
    return enqueue, core.looked_at


def test_decisions_inspect_the_same_few_entries_at_any_size() -> None:
    small_site = decision_cost(agents=20, calls=10)
    large_site = decision_cost(agents=2000, calls=1000)
    assert large_site == small_site
    assert max(large_site) <= 12
