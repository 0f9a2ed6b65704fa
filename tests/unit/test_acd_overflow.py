"""Overflow: a call that waits too long in one queue moves to another, as a caller or agent
would notice it. Time is plain floats on a virtual clock (`VirtualAcd`)."""

from __future__ import annotations

import pytest

from acd import messages as m
from acd.core import AcdCore
from acd.errors import UnknownQueue
from acd.model import AgentState, QueueConfig, WidenStep
from acd.virtual import VirtualAcd
from contactcenter.ids import AgentId, CallId, QueueId

T0 = 100.0
FIRST, SECOND, THIRD = QueueId("first"), QueueId("second"), QueueId("third")
A1, A2 = AgentId("a1"), AgentId("a2")
C1, C2 = CallId("c1"), CallId("c2")

QUEUES = {
    FIRST: QueueConfig(
        FIRST, "First", frozenset({"f"}), wrapup_s=0, overflow_queue=SECOND, overflow_after_s=30
    ),
    SECOND: QueueConfig(
        SECOND,
        "Second",
        frozenset({"s"}),
        wrapup_s=0,
        skill_levels={"s": 8},
        widen=(WidenStep(20, 5),),
        overflow_queue=THIRD,
        overflow_after_s=60,
    ),
    THIRD: QueueConfig(THIRD, "Third", frozenset(), wrapup_s=0),
}


@pytest.fixture
def acd() -> VirtualAcd:
    return VirtualAcd(AcdCore(QUEUES), now=T0)


def ready(acd: VirtualAcd, agent: AgentId, skill: str, level: int = 5) -> None:
    acd.submit(m.AgentLogin(agent, frozenset({skill}), {skill: level}))
    acd.submit(m.AgentReady(agent))


def test_a_call_nobody_takes_moves_to_the_overflow_queue(acd: VirtualAcd) -> None:
    out = acd.submit(m.EnqueueCall(C1, FIRST))
    assert m.ScheduleTimer("overflow:c1", T0 + 30) in out
    assert acd.advance(29.5) == []
    out = acd.advance(0.5)
    assert m.CallOverflowed(C1, FIRST, SECOND, T0 + 30) in out
    assert acd.core.queue_of(C1) == SECOND
    assert acd.core.waiting(FIRST) == [] and acd.core.waiting(SECOND) == [C1]
    # Widening and the next overflow count from the entry into the second queue.
    assert acd.timers == {"widen:c1:1": T0 + 50, "overflow:c1": T0 + 90}


def test_an_agent_of_the_overflow_queue_gets_it(acd: VirtualAcd) -> None:
    ready(acd, A2, "s", level=9)
    acd.submit(m.EnqueueCall(C1, FIRST))
    out = acd.advance(30)
    assert [(o.call_id, o.agent_id, o.queue_id) for o in out if isinstance(o, m.OfferCall)] == [
        (C1, A2, SECOND)
    ]


def test_overflows_chain_and_widening_applies_in_the_new_queue(acd: VirtualAcd) -> None:
    ready(acd, A2, "s", level=2)  # below 8 - 5: never acceptable in the second queue
    acd.submit(m.EnqueueCall(C1, FIRST))
    acd.advance(30 + 60)
    assert acd.core.queue_of(C1) == THIRD
    assert acd.core.offer_of(C1) == A2  # the third queue takes anyone
    assert acd.timers == {"offer:c1:a2": T0 + 90 + 15}


def test_a_ringing_call_is_withdrawn_and_the_agent_keeps_their_place(acd: VirtualAcd) -> None:
    acd.submit(m.EnqueueCall(C1, FIRST))
    acd.advance(25)
    ready(acd, A1, "f")
    assert acd.core.offer_of(C1) == A1
    out = acd.advance(5)
    assert m.WithdrawOffer(C1, A1, "overflow") in out
    assert m.CancelTimer("offer:c1:a1") in out
    assert acd.core.agent_state(A1).state is AgentState.READY
    assert acd.core.queue_of(C1) == SECOND and acd.core.offer_of(C1) is None
    acd.submit(m.EnqueueCall(C2, FIRST))
    assert acd.core.offer_of(C2) == A1


def test_the_original_enqueue_time_keeps_the_callers_place(acd: VirtualAcd) -> None:
    acd.submit(m.EnqueueCall(C1, FIRST))
    acd.advance(20)
    acd.submit(m.EnqueueCall(C2, SECOND))
    acd.advance(10)  # c1 overflows into the second queue, behind nobody: it came first
    assert acd.core.waiting(SECOND) == [C1, C2]


def test_answer_or_hang_up_cancels_the_overflow(acd: VirtualAcd) -> None:
    ready(acd, A1, "f")
    acd.submit(m.EnqueueCall(C1, FIRST))
    assert m.CancelTimer("overflow:c1") in acd.submit(m.AcceptOffer(C1, A1))
    acd.submit(m.EnqueueCall(C2, FIRST))
    assert acd.submit(m.RemoveCall(C2)) == [m.CancelTimer("overflow:c2")]
    assert acd.advance(100) == []


def test_an_overflow_to_an_unknown_queue_is_refused_at_construction() -> None:
    bad = QueueConfig(FIRST, "First", frozenset(), overflow_queue=QueueId("x"), overflow_after_s=5)
    with pytest.raises(UnknownQueue):
        AcdCore({FIRST: bad})
    with pytest.raises(ValueError, match="overflow_queue goes with"):
        QueueConfig(FIRST, "First", frozenset(), overflow_queue=SECOND)
