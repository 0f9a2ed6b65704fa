"""Skill levels, widening over the wait, and priorities that age, as a caller or agent would
notice them. Time is plain floats on a virtual clock (`VirtualAcd`)."""

from __future__ import annotations

import pytest

from acd import messages as m
from acd.core import AcdCore
from acd.errors import InvalidSkills
from acd.model import AgentState, QueueConfig, WidenStep
from acd.virtual import VirtualAcd
from contactcenter.ids import AgentId, CallId, QueueId

T0 = 1_000.0
SALES = QueueId("sales")
AGED = QueueId("aged")
PLAIN = QueueId("plain")
A1, A2, A3, A4 = AgentId("a1"), AgentId("a2"), AgentId("a3"), AgentId("a4")
C1, C2, C3 = CallId("c1"), CallId("c2"), CallId("c3")

WIDEN = (WidenStep(30, 2), WidenStep(60, 4))


def sales(strategy: str = "most_skilled") -> QueueConfig:
    return QueueConfig(
        SALES,
        "Sales",
        frozenset({"sales"}),
        wrapup_s=0,
        skill_levels={"sales": 7},
        widen=WIDEN,
        strategy=strategy,  # type: ignore[arg-type]
    )


def make(*queues: QueueConfig) -> VirtualAcd:
    return VirtualAcd(AcdCore({q.id: q for q in queues}), now=T0)


def ready(acd: VirtualAcd, agent: AgentId, level: int | None, skill: str = "sales") -> None:
    levels = {} if level is None else {skill: level}
    acd.submit(m.AgentLogin(agent, frozenset({skill}), levels))
    acd.submit(m.AgentReady(agent))


def offers(outputs: list[m.Output]) -> list[tuple[CallId, AgentId]]:
    return [(o.call_id, o.agent_id) for o in outputs if isinstance(o, m.OfferCall)]


# --- skill levels ---------------------------------------------------------------------


def test_the_best_match_wins_over_a_longer_idle_agent() -> None:
    acd = make(sales())
    ready(acd, A3, 7)
    acd.advance(5)
    ready(acd, A1, 9)
    ready(acd, A2, 8)
    assert offers(acd.submit(m.EnqueueCall(C1, SALES))) == [(C1, A1)]
    assert offers(acd.submit(m.EnqueueCall(C2, SALES))) == [(C2, A2)]
    assert offers(acd.submit(m.EnqueueCall(C3, SALES))) == [(C3, A3)]


def test_equal_levels_go_to_the_longest_idle() -> None:
    acd = make(sales())
    ready(acd, A1, 8)
    acd.advance(5)
    ready(acd, A2, 8)
    assert offers(acd.submit(m.EnqueueCall(C1, SALES))) == [(C1, A1)]


def test_longest_idle_among_acceptable_agents_only() -> None:
    acd = make(sales("longest_idle"))
    ready(acd, A2, 5)  # idle longest, but below the required 7
    acd.advance(5)
    ready(acd, A3, 7)
    acd.advance(5)
    ready(acd, A1, 10)
    assert offers(acd.submit(m.EnqueueCall(C1, SALES))) == [(C1, A3)]


def test_an_agent_below_the_level_gets_the_call_only_once_the_wait_widens_the_match() -> None:
    acd = make(sales())
    ready(acd, A2, 5)  # 2 below: acceptable after 30 s
    out = acd.submit(m.EnqueueCall(C1, SALES))
    assert offers(out) == []
    assert m.ScheduleTimer("widen:c1:1", T0 + 30) in out
    assert offers(acd.advance(29.5)) == []
    out = acd.advance(0.5)
    assert offers(out) == [(C1, A2)]
    assert m.ScheduleTimer("widen:c1:2", T0 + 60) in out  # the next step is still planned


def test_the_second_widening_step_reaches_further() -> None:
    acd = make(sales())
    ready(acd, A4, 3)  # 4 below: acceptable after 60 s
    acd.submit(m.EnqueueCall(C1, SALES))
    assert offers(acd.advance(30)) == []
    assert offers(acd.advance(30)) == [(C1, A4)]
    assert "widen:c1:3" not in acd.timers  # no step beyond the last


def test_an_agent_too_far_below_never_serves_the_queue() -> None:
    acd = make(sales())
    ready(acd, A1, 2)  # 5 below, widening stops at 4
    acd.submit(m.EnqueueCall(C1, SALES))
    assert offers(acd.advance(600)) == []
    assert acd.core.agents_serving(SALES) == frozenset()


def test_a_skill_without_a_level_counts_as_level_5() -> None:
    acd = make(sales())
    ready(acd, A1, None)
    acd.submit(m.EnqueueCall(C1, SALES))
    assert acd.core.offer_of(C1) is None
    acd.advance(30)  # 7 - 2 = 5 now accepted
    assert acd.core.offer_of(C1) == A1


def test_a_widened_call_takes_an_agent_below_level_as_soon_as_one_is_ready() -> None:
    acd = make(sales())
    acd.submit(m.EnqueueCall(C1, SALES))
    acd.advance(31)
    ready(acd, A2, 5)
    acd.advance(1)
    ready(acd, A3, 7)
    assert acd.core.offer_of(C1) == A2  # A2 came first: widened, the call took them
    acd.submit(m.EnqueueCall(C2, SALES))
    assert acd.core.offer_of(C2) == A3


def test_an_older_widened_call_is_not_blocked_by_a_fresh_one() -> None:
    acd = make(sales())
    acd.submit(m.EnqueueCall(C1, SALES, priority=0))
    acd.advance(30)
    acd.submit(m.EnqueueCall(C2, SALES, priority=5))  # first in order, but not yet widened
    ready(acd, A2, 5)
    assert acd.core.offer_of(C1) == A2
    assert acd.core.offer_of(C2) is None


def test_widening_timers_stop_when_the_call_is_answered_or_leaves() -> None:
    acd = make(sales())
    ready(acd, A1, 9)
    acd.submit(m.EnqueueCall(C1, SALES))
    out = acd.submit(m.AcceptOffer(C1, A1))
    assert m.CancelTimer("widen:c1:1") in out
    acd.submit(m.EnqueueCall(C2, SALES))
    acd.advance(40)
    assert acd.submit(m.RemoveCall(C2)) == [m.CancelTimer("widen:c2:2")]
    assert acd.timers == {}


def test_a_call_queued_again_with_its_old_enqueue_time_is_already_widened() -> None:
    acd = make(sales())
    ready(acd, A2, 5)
    acd.advance(45)
    out = acd.submit(m.EnqueueCall(C1, SALES, enqueued_at=T0))
    assert offers(out) == [(C1, A2)]
    assert m.ScheduleTimer("widen:c1:2", T0 + 60) in out


def test_a_relogin_with_new_levels_moves_the_agent_between_bands() -> None:
    acd = make(sales())
    ready(acd, A1, 5)
    acd.submit(m.EnqueueCall(C1, SALES))
    assert acd.core.offer_of(C1) is None
    acd.submit(m.AgentLogin(A1, frozenset({"sales"}), {"sales": 8}))
    assert acd.core.offer_of(C1) == A1


@pytest.mark.parametrize(
    "login",
    [
        m.AgentLogin(A1, frozenset({"sales"}), {"sales": 11}),
        m.AgentLogin(A1, frozenset({"sales"}), {"sales": 0}),
        m.AgentLogin(A1, frozenset({"sales"}), {"support": 5}),
    ],
)
def test_levels_out_of_range_or_for_missing_skills_are_refused(login: m.AgentLogin) -> None:
    acd = make(sales())
    with pytest.raises(InvalidSkills):
        acd.submit(login)
    acd.submit(m.AgentLogin(A2, frozenset({"sales"})))
    with pytest.raises(InvalidSkills):
        acd.submit(m.AgentLogin(A2, frozenset({"sales"}), {"sales": 42}))
    assert acd.core.agent_state(A2).state is AgentState.NOT_READY


# --- priorities that age --------------------------------------------------------------


def aged(w: float = 0.1) -> QueueConfig:
    return QueueConfig(AGED, "Aged", frozenset(), wrapup_s=0, priority_aging_per_s=w)


def test_a_long_wait_overtakes_a_higher_priority_that_came_much_later() -> None:
    acd = make(aged())
    acd.submit(m.EnqueueCall(C1, AGED, priority=0))
    acd.advance(30)
    acd.submit(m.EnqueueCall(C2, AGED, priority=2))  # 0 + 3.0 beats 2 + 0
    acd.advance(1)
    assert acd.core.waiting(AGED) == [C1, C2]
    ready(acd, A1, None, skill="any")
    assert acd.core.offer_of(C1) == A1


def test_a_higher_priority_that_came_soon_after_still_goes_first() -> None:
    acd = make(aged())
    acd.submit(m.EnqueueCall(C1, AGED, priority=0))
    acd.advance(10)
    acd.submit(m.EnqueueCall(C2, AGED, priority=2))  # 2 > 0 + 1.0, and forever so
    acd.advance(500)
    ready(acd, A1, None, skill="any")
    assert acd.core.offer_of(C2) == A1


def test_without_aging_priority_always_wins() -> None:
    acd = make(aged(0.0))
    acd.submit(m.EnqueueCall(C1, AGED, priority=0))
    acd.advance(3600)
    acd.submit(m.EnqueueCall(C2, AGED, priority=1))
    ready(acd, A1, None, skill="any")
    assert acd.core.offer_of(C2) == A1


@pytest.mark.parametrize(("waited", "winner"), [(5.0, C2), (20.0, C1)])
def test_across_queues_the_effective_priority_at_decision_time_decides(
    waited: float, winner: CallId
) -> None:
    plain = QueueConfig(PLAIN, "Plain", frozenset(), wrapup_s=0)
    acd = make(aged(), plain)
    acd.submit(m.EnqueueCall(C1, AGED, priority=0))  # 0.1 per second of wait
    acd.submit(m.EnqueueCall(C2, PLAIN, priority=1))  # a flat 1
    acd.advance(waited)
    ready(acd, A1, None, skill="any")
    assert acd.core.offer_of(winner) == A1
