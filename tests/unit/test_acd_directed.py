"""Directed calls (a transfer, a callback for one agent), a supervisor's MoveCall, and hold, as
an agent or a supervisor would see them. Virtual time, no loop."""

from __future__ import annotations

import pytest

from acd import messages as m
from acd.core import AcdCore
from acd.errors import CallNotWaiting, InvalidTransition, UnknownAgent, UnknownQueue
from acd.model import AgentState, QueueConfig
from acd.virtual import VirtualAcd
from contactcenter.ids import AgentId, CallId, QueueId

T0 = 1000.0
SALES, SUPPORT = QueueId("sales"), QueueId("support")
A1, A2, A3 = AgentId("a1"), AgentId("a2"), AgentId("a3")
C1, C2, C3 = CallId("c1"), CallId("c2"), CallId("c3")

QUEUES = {
    SALES: QueueConfig(SALES, "Sales", frozenset({"sales"}), wrapup_s=5, offer_timeout_s=10),
    SUPPORT: QueueConfig(SUPPORT, "Support", frozenset({"support"}), wrapup_s=0),
}


@pytest.fixture
def acd() -> VirtualAcd:
    return VirtualAcd(AcdCore(QUEUES), now=T0)


def login(acd: VirtualAcd, agent: AgentId, *skills: str, ready: bool = True) -> None:
    acd.submit(m.AgentLogin(agent, frozenset(skills)))
    if ready:
        acd.submit(m.AgentReady(agent))


def offers(out: list[m.Output]) -> list[tuple[CallId, AgentId]]:
    return [(o.call_id, o.agent_id) for o in out if isinstance(o, m.OfferCall)]


def answer_and_finish(acd: VirtualAcd, call: CallId, agent: AgentId) -> list[m.Output]:
    acd.submit(m.AcceptOffer(call, agent))
    return acd.submit(m.CallFinished(call, agent))


# --- directed calls ------------------------------------------------------------------------


def test_a_directed_call_rings_only_its_agent_even_when_another_idles_longer(
    acd: VirtualAcd,
) -> None:
    login(acd, A1, "sales")
    acd.advance(5)
    login(acd, A2, "sales")
    out = acd.submit(m.EnqueueCall(C1, SALES, target_agent=A2))
    assert offers(out) == [(C1, A2)]
    assert acd.core.agent_state(A1).state is AgentState.READY


def test_a_directed_call_waits_for_the_agents_wrapup_and_goes_before_older_calls(
    acd: VirtualAcd,
) -> None:
    login(acd, A1, "sales")
    acd.submit(m.EnqueueCall(C1, SALES))
    out = answer_and_finish(acd, C1, A1)
    assert acd.core.agent_state(A1).state is AgentState.WRAP_UP
    acd.submit(m.EnqueueCall(C2, SALES))  # an ordinary call, older
    acd.advance(1)
    out = acd.submit(m.EnqueueCall(C3, SALES, target_agent=A1))
    assert offers(out) == []  # A1 is in wrap-up: nobody rings
    out = acd.advance(5)  # wrap-up over
    assert offers(out) == [(C3, A1)]
    assert acd.core.waiting(SALES) == [C2, C3]
    assert acd.core.offer_of(C2) is None


def test_a_directed_call_ignores_the_agents_skills(acd: VirtualAcd) -> None:
    login(acd, A1, "support")
    out = acd.submit(m.EnqueueCall(C1, SALES, target_agent=A1))
    assert offers(out) == [(C1, A1)]
    # The sales queue's wrap-up (5 s; support has none), since it was a sales call.
    assert m.ScheduleTimer("wrapup:a1", T0 + 5) in answer_and_finish(acd, C1, A1)


def test_a_rona_on_a_directed_call_makes_it_ordinary_at_its_old_place(acd: VirtualAcd) -> None:
    login(acd, A1, "sales")
    acd.submit(m.EnqueueCall(C1, SALES, target_agent=A1))
    acd.advance(1)
    acd.submit(m.EnqueueCall(C2, SALES))  # waits: A1 rings with C1
    login(acd, A2, "sales", ready=False)
    acd.advance(9)  # RONA on C1
    assert acd.core.agent_state(A1).reason == "rona"
    out = acd.submit(m.AgentReady(A2))
    assert offers(out) == [(C1, A2)]  # C1 came first, and is now anybody's


def test_a_logout_releases_the_agents_directed_calls_to_the_queue(acd: VirtualAcd) -> None:
    login(acd, A1, "sales", ready=False)
    login(acd, A2, "sales", ready=False)
    acd.submit(m.EnqueueCall(C1, SALES, target_agent=A1))
    assert offers(acd.submit(m.AgentReady(A2))) == []  # not A2's
    assert offers(acd.submit(m.AgentLogout(A1))) == [(C1, A2)]


def test_a_logout_while_ringing_a_directed_call_makes_it_ordinary(acd: VirtualAcd) -> None:
    login(acd, A1, "sales")
    acd.submit(m.EnqueueCall(C1, SALES, target_agent=A1))
    login(acd, A2, "sales")
    out = acd.submit(m.AgentLogout(A1))
    assert m.WithdrawOffer(C1, A1, "agent_logout") in out
    assert offers(out) == [(C1, A2)]


def test_a_call_for_an_agent_not_logged_in_is_an_ordinary_call(acd: VirtualAcd) -> None:
    login(acd, A2, "sales")
    assert offers(acd.submit(m.EnqueueCall(C1, SALES, target_agent=A1))) == [(C1, A2)]
    login(acd, A1, "sales")
    acd.submit(m.AgentLogout(A1))
    assert offers(acd.submit(m.EnqueueCall(C2, SALES, target_agent=A1))) == []
    assert acd.core.waiting(SALES) == [C1, C2]


# --- MoveCall ------------------------------------------------------------------------------


def test_a_supervisor_moves_a_ringing_call_to_another_queue_keeping_its_place(
    acd: VirtualAcd,
) -> None:
    login(acd, A1, "sales")
    login(acd, A3, "support", ready=False)
    acd.submit(m.EnqueueCall(C2, SUPPORT))  # the newer support call
    acd.submit(m.EnqueueCall(C1, SALES, enqueued_at=T0 - 30))
    acd.advance(2)
    out = acd.submit(m.MoveCall(C1, to_queue=SUPPORT))
    assert out[0] == m.WithdrawOffer(C1, A1, "moved")
    assert m.CallMoved(C1, SALES, SUPPORT, None, T0 + 2) in out
    assert acd.core.agent_state(A1).state is AgentState.READY
    assert acd.core.waiting(SUPPORT) == [C1, C2]  # older enqueue time: first
    assert acd.core.waiting(SALES) == []
    assert offers(acd.submit(m.AgentReady(A3))) == [(C1, A3)]


def test_a_supervisor_moves_a_waiting_call_to_one_agent(acd: VirtualAcd) -> None:
    login(acd, A1, "sales", ready=False)
    login(acd, A2, "sales", ready=False)
    acd.submit(m.EnqueueCall(C1, SALES))
    out = acd.submit(m.MoveCall(C1, to_agent=A2))
    assert out == [m.CallMoved(C1, SALES, SALES, A2, T0)]
    assert offers(acd.submit(m.AgentReady(A1))) == []
    assert offers(acd.submit(m.AgentReady(A2))) == [(C1, A2)]


def test_a_move_to_nowhere_known_is_refused_and_changes_nothing(acd: VirtualAcd) -> None:
    login(acd, A1, "sales", ready=False)
    acd.submit(m.EnqueueCall(C1, SALES))
    with pytest.raises(UnknownQueue, match="nowhere"):
        acd.submit(m.MoveCall(C1, to_queue=QueueId("nowhere")))
    with pytest.raises(UnknownAgent, match="ghost"):
        acd.submit(m.MoveCall(C1, to_agent=AgentId("ghost")))
    acd.submit(m.AgentLogout(A1))
    with pytest.raises(InvalidTransition, match="logged out"):
        acd.submit(m.MoveCall(C1, to_agent=A1))
    with pytest.raises(CallNotWaiting, match="c9"):
        acd.submit(m.MoveCall(CallId("c9"), to_queue=SUPPORT))
    assert acd.core.waiting(SALES) == [C1]
    login(acd, A2, "sales")
    acd.submit(m.AcceptOffer(C1, A2))
    with pytest.raises(CallNotWaiting):  # with an agent now
        acd.submit(m.MoveCall(C1, to_queue=SUPPORT))


# --- hold ----------------------------------------------------------------------------------


def test_hold_and_resume_and_the_call_ends_from_hold(acd: VirtualAcd) -> None:
    login(acd, A1, "sales")
    acd.submit(m.EnqueueCall(C1, SALES))
    acd.submit(m.AcceptOffer(C1, A1))
    out = acd.submit(m.AgentHold(A1, C1, on_hold=True))
    assert out == [m.AgentStateChanged(A1, AgentState.ON_HOLD, None, C1, T0)]
    assert acd.submit(m.AgentHold(A1, C1, on_hold=True)) == []
    assert acd.submit(m.AgentReady(A1)) == []  # cannot step away from a held call
    with pytest.raises(InvalidTransition):
        acd.submit(m.AgentLogout(A1))
    out = acd.submit(m.AgentHold(A1, C1, on_hold=False))
    assert out == [m.AgentStateChanged(A1, AgentState.ON_CALL, None, C1, T0)]
    acd.submit(m.AgentHold(A1, C1, on_hold=True))
    out = acd.submit(m.CallFinished(C1, A1))
    assert m.AgentStateChanged(A1, AgentState.WRAP_UP, None, C1, T0) in out


def test_hold_of_a_call_the_agent_is_not_on_is_refused(acd: VirtualAcd) -> None:
    login(acd, A1, "sales")
    with pytest.raises(InvalidTransition, match="not on call c1"):
        acd.submit(m.AgentHold(A1, C1, on_hold=True))
    acd.submit(m.EnqueueCall(C1, SALES))
    with pytest.raises(InvalidTransition):  # ringing, not answered yet
        acd.submit(m.AgentHold(A1, C1, on_hold=True))
    acd.submit(m.AcceptOffer(C1, A1))
    with pytest.raises(InvalidTransition):
        acd.submit(m.AgentHold(A1, C2, on_hold=True))
    assert acd.core.agent_state(A1).state is AgentState.ON_CALL


def test_a_move_restarts_the_new_queues_timers_from_the_move() -> None:
    q1, q2 = QueueId("q1"), QueueId("q2")
    queues = {
        q1: QueueConfig(q1, "Q1", frozenset(), overflow_queue=q2, overflow_after_s=60),
        q2: QueueConfig(q2, "Q2", frozenset(), overflow_queue=q1, overflow_after_s=90),
    }
    acd = VirtualAcd(AcdCore(queues), now=T0)
    acd.submit(m.EnqueueCall(C1, q1))
    acd.advance(10)
    out = acd.submit(m.MoveCall(C1, to_queue=q2))
    assert m.CancelTimer("overflow:c1") in out
    assert acd.timers == {"overflow:c1": T0 + 10 + 90}
    out = acd.submit(m.MoveCall(C1))  # same queue, no agent: an ordinary call, timers kept
    assert out == [m.CallMoved(C1, q2, q2, None, T0 + 10)]
    assert acd.timers == {"overflow:c1": T0 + 100}
