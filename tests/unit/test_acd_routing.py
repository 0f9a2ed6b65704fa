"""The ACD core's routing, as an agent or a caller would notice it.

The core runs on virtual time (`VirtualAcd` plays the shell's timers): `advance(s)` delivers
every timer that falls due, at its deadline.
"""

from __future__ import annotations

import pytest

from acd import messages as m
from acd.core import AcdCore
from acd.errors import InvalidTransition, OfferNotFound, UnknownAgent, UnknownQueue
from acd.model import AgentState, QueueConfig
from acd.virtual import VirtualAcd
from contactcenter.ids import AgentId, CallId, QueueId

T0 = 1_800_000_000.0
GENERAL = QueueId("general")
SPANISH = QueueId("spanish")
QUICK = QueueId("quick")  # no wrap-up

A1, A2, A3 = AgentId("a1"), AgentId("a2"), AgentId("a3")
C1, C2, C3, C4 = CallId("c1"), CallId("c2"), CallId("c3"), CallId("c4")

QUEUES = {
    GENERAL: QueueConfig(GENERAL, "General", frozenset(), wrapup_s=10, offer_timeout_s=15),
    SPANISH: QueueConfig(SPANISH, "Spanish", frozenset({"es"}), wrapup_s=10, offer_timeout_s=15),
    QUICK: QueueConfig(QUICK, "Quick", frozenset({"quick"}), wrapup_s=0, offer_timeout_s=15),
}


@pytest.fixture
def acd() -> VirtualAcd:
    return VirtualAcd(AcdCore(QUEUES), now=T0)


def ready(acd: VirtualAcd, agent: AgentId, *skills: str) -> list[m.Output]:
    acd.submit(m.AgentLogin(agent, frozenset(skills)))
    return acd.submit(m.AgentReady(agent))


def offers(outputs: list[m.Output]) -> list[tuple[CallId, AgentId]]:
    return [(o.call_id, o.agent_id) for o in outputs if isinstance(o, m.OfferCall)]


def state(acd: VirtualAcd, agent: AgentId) -> tuple[AgentState, str | None, CallId | None]:
    view = acd.core.agent_state(agent)
    return view.state, view.reason, view.call_id


def talk(acd: VirtualAcd, call: CallId, agent: AgentId, seconds: float = 60) -> list[m.Output]:
    """The agent answers the ringing call, talks, and hangs up."""
    acd.submit(m.AcceptOffer(call, agent))
    acd.advance(seconds)
    return acd.submit(m.CallFinished(call, agent))


# --- who gets the call ------------------------------------------------------------------


def test_login_is_not_ready_and_ready_is_routable(acd: VirtualAcd) -> None:
    out = acd.submit(m.AgentLogin(A1, frozenset()))
    assert out == [m.AgentStateChanged(A1, AgentState.NOT_READY, "login", None, T0)]
    acd.submit(m.EnqueueCall(C1, GENERAL))
    assert acd.core.waiting(GENERAL) == [C1]  # nobody ready: the call waits
    acd.advance(3)
    out = acd.submit(m.AgentReady(A1))
    assert out == [
        m.AgentStateChanged(A1, AgentState.READY, None, None, T0 + 3),
        m.OfferCall(C1, A1, GENERAL),
        m.AgentStateChanged(A1, AgentState.RINGING, None, C1, T0 + 3),
        m.ScheduleTimer(f"offer:{C1}:{A1}", T0 + 3 + 15),
    ]
    assert acd.core.offer_of(C1) == A1
    assert acd.core.waiting(GENERAL) == [C1]  # the caller still waits while the agent rings


def test_longest_idle_ready_agent_gets_the_call(acd: VirtualAcd) -> None:
    ready(acd, A2)
    acd.advance(5)
    ready(acd, A1)
    acd.advance(5)
    ready(acd, A3)
    assert offers(acd.submit(m.EnqueueCall(C1, GENERAL))) == [(C1, A2)]
    assert offers(acd.submit(m.EnqueueCall(C2, GENERAL))) == [(C2, A1)]
    assert offers(acd.submit(m.EnqueueCall(C3, GENERAL))) == [(C3, A3)]


def test_an_agent_back_from_wrap_up_goes_behind_agents_idle_longer(acd: VirtualAcd) -> None:
    ready(acd, A1)
    acd.submit(m.EnqueueCall(C1, GENERAL))
    acd.advance(1)
    ready(acd, A2)  # ready after A1, but A1 is now busy
    talk(acd, C1, A1, seconds=30)
    acd.advance(10)  # A1's wrap-up ends: ready again, later than A2
    assert state(acd, A1) == (AgentState.READY, None, None)
    assert offers(acd.submit(m.EnqueueCall(C2, GENERAL))) == [(C2, A2)]


def test_skills_are_respected(acd: VirtualAcd) -> None:
    ready(acd, A1)  # no Spanish, idle the longest
    acd.advance(1)
    ready(acd, A2, "es", "fr")
    assert acd.core.agents_serving(SPANISH) == {A2}
    assert acd.core.agents_serving(GENERAL) == {A1, A2}
    assert offers(acd.submit(m.EnqueueCall(C1, SPANISH))) == [(C1, A2)]
    # A second Spanish call waits although A1 is ready: A1 does not speak Spanish.
    assert offers(acd.submit(m.EnqueueCall(C2, SPANISH))) == []
    assert acd.core.waiting(SPANISH) == [C1, C2]
    assert state(acd, A1)[0] is AgentState.READY
    out = ready(acd, A3, "es")
    assert offers(out) == [(C2, A3)]


def test_priority_before_first_come_first_served(acd: VirtualAcd) -> None:
    acd.submit(m.AgentLogin(A1, frozenset()))
    acd.submit(m.EnqueueCall(C1, GENERAL, priority=0))
    acd.advance(1)
    acd.submit(m.EnqueueCall(C2, GENERAL, priority=0))
    acd.advance(1)
    acd.submit(m.EnqueueCall(C3, GENERAL, priority=5))
    assert acd.core.waiting(GENERAL) == [C3, C1, C2]
    assert offers(acd.submit(m.AgentReady(A1))) == [(C3, A1)]
    talk(acd, C3, A1)
    acd.submit(m.AgentReady(A1))
    assert acd.core.offer_of(C1) == A1  # then the oldest of equal priority


def test_an_agent_in_two_queues_takes_the_best_call_across_them(acd: VirtualAcd) -> None:
    acd.submit(m.AgentLogin(A1, frozenset({"es"})))
    acd.submit(m.EnqueueCall(C1, SPANISH))
    acd.advance(1)
    acd.submit(m.EnqueueCall(C2, GENERAL))  # younger
    acd.submit(m.EnqueueCall(C3, GENERAL, priority=1))  # youngest but urgent
    assert offers(acd.submit(m.AgentReady(A1))) == [(C3, A1)]
    talk(acd, C3, A1)
    assert offers(acd.submit(m.AgentReady(A1))) == [(C1, A1)]  # longest waiting of priority 0


def test_several_ready_agents_and_calls_are_matched_in_one_step(acd: VirtualAcd) -> None:
    acd.submit(m.AgentLogin(A1, frozenset()))
    acd.submit(m.EnqueueCall(C1, GENERAL))
    acd.submit(m.EnqueueCall(C2, SPANISH))
    ready(acd, A2, "es")  # takes the older call C1 (it serves both queues)
    assert acd.core.offer_of(C1) == A2
    assert offers(acd.submit(m.AgentReady(A1))) == []  # A1 cannot take the Spanish call
    assert acd.core.waiting(SPANISH) == [C2]


# --- RONA -------------------------------------------------------------------------------


def test_rona_moves_the_call_to_the_next_agent_and_sets_the_first_not_ready(
    acd: VirtualAcd,
) -> None:
    ready(acd, A1)
    acd.advance(1)
    ready(acd, A2)
    acd.submit(m.EnqueueCall(C1, GENERAL))
    assert acd.core.offer_of(C1) == A1
    assert acd.advance(14.9) == []  # still ringing
    out = acd.advance(0.1)
    assert out[:3] == [
        m.WithdrawOffer(C1, A1, "rona"),
        m.OfferTimedOut(C1, A1, T0 + 16),
        m.AgentStateChanged(A1, AgentState.NOT_READY, "rona", None, T0 + 16),
    ]
    assert offers(out) == [(C1, A2)]
    assert state(acd, A1) == (AgentState.NOT_READY, "rona", None)
    assert state(acd, A2) == (AgentState.RINGING, None, C1)


def test_after_rona_the_call_keeps_its_place_ahead_of_later_calls(acd: VirtualAcd) -> None:
    ready(acd, A1)
    acd.submit(m.EnqueueCall(C1, GENERAL))
    acd.advance(5)
    acd.submit(m.EnqueueCall(C2, GENERAL))
    acd.advance(10)  # RONA on A1; nobody else is ready
    assert acd.core.offer_of(C1) is None
    assert acd.core.waiting(GENERAL) == [C1, C2]
    assert offers(ready(acd, A2)) == [(C1, A2)]


def test_an_agent_back_from_rona_can_be_offered_the_call_again(acd: VirtualAcd) -> None:
    ready(acd, A1)
    acd.submit(m.EnqueueCall(C1, GENERAL))
    acd.advance(15)
    assert offers(acd.submit(m.AgentReady(A1))) == [(C1, A1)]
    acd.submit(m.AcceptOffer(C1, A1))
    assert state(acd, A1) == (AgentState.ON_CALL, None, C1)


# --- callers who hang up ----------------------------------------------------------------


def test_caller_hang_up_while_ringing_frees_the_agent_in_their_old_place(
    acd: VirtualAcd,
) -> None:
    ready(acd, A1)
    acd.advance(1)
    ready(acd, A2)
    acd.submit(m.EnqueueCall(C1, GENERAL))
    acd.advance(3)
    out = acd.submit(m.RemoveCall(C1))
    assert out == [
        m.WithdrawOffer(C1, A1, "caller_left"),
        m.CancelTimer(f"offer:{C1}:{A1}"),
        m.AgentStateChanged(A1, AgentState.READY, None, None, T0 + 4),
    ]
    assert acd.core.waiting(GENERAL) == []
    assert acd.core.queue_of(C1) is None
    # A1 keeps their place: still idle longer than A2, so the next call is theirs.
    assert acd.core.ready_agents(GENERAL) == [A1, A2]
    assert offers(acd.submit(m.EnqueueCall(C2, GENERAL))) == [(C2, A1)]
    assert acd.advance(30) != []  # RONA of C2 only; the cancelled C1 offer never fires
    assert state(acd, A1) == (AgentState.NOT_READY, "rona", None)


def test_caller_hang_up_while_waiting_and_a_second_remove_are_harmless(
    acd: VirtualAcd,
) -> None:
    acd.submit(m.EnqueueCall(C1, GENERAL))
    acd.submit(m.EnqueueCall(C2, GENERAL))
    assert acd.submit(m.RemoveCall(C1)) == []
    assert acd.submit(m.RemoveCall(C1)) == []
    assert acd.submit(m.RemoveCall(CallId("never-seen"))) == []
    assert acd.core.waiting(GENERAL) == [C2]
    assert offers(ready(acd, A1)) == [(C2, A1)]


def test_remove_of_an_accepted_call_leaves_the_agent_on_call(acd: VirtualAcd) -> None:
    ready(acd, A1)
    acd.submit(m.EnqueueCall(C1, GENERAL))
    acd.submit(m.AcceptOffer(C1, A1))
    assert acd.submit(m.RemoveCall(C1)) == []
    assert state(acd, A1) == (AgentState.ON_CALL, None, C1)
    assert acd.core.agent_of(C1) == A1


# --- wrap-up ----------------------------------------------------------------------------


def test_wrap_up_then_ready_and_the_next_call_is_offered(acd: VirtualAcd) -> None:
    ready(acd, A1)
    acd.submit(m.EnqueueCall(C1, GENERAL))
    acd.submit(m.EnqueueCall(C2, GENERAL))
    out = acd.submit(m.AcceptOffer(C1, A1))
    assert out == [
        m.CancelTimer(f"offer:{C1}:{A1}"),
        m.AgentStateChanged(A1, AgentState.ON_CALL, None, C1, T0),
    ]
    assert acd.core.waiting(GENERAL) == [C2]
    acd.advance(60)
    out = acd.submit(m.CallFinished(C1, A1))
    assert out == [
        m.AgentStateChanged(A1, AgentState.WRAP_UP, None, C1, T0 + 60),
        m.ScheduleTimer(f"wrapup:{A1}", T0 + 70),
    ]
    assert acd.advance(9.9) == []
    out = acd.advance(0.1)
    assert out[0] == m.AgentStateChanged(A1, AgentState.READY, None, None, T0 + 70)
    assert offers(out) == [(C2, A1)]


def test_no_wrap_up_time_means_straight_to_ready(acd: VirtualAcd) -> None:
    ready(acd, A1, "quick")
    acd.submit(m.EnqueueCall(C1, QUICK))
    acd.submit(m.EnqueueCall(C2, QUICK))
    out = talk(acd, C1, A1)
    assert out[0] == m.AgentStateChanged(A1, AgentState.READY, None, None, T0 + 60)
    assert offers(out) == [(C2, A1)]
    assert not any(isinstance(o, m.ScheduleTimer) and "wrapup" in o.key for o in out)


def test_ready_now_ends_wrap_up_early(acd: VirtualAcd) -> None:
    ready(acd, A1)
    acd.submit(m.EnqueueCall(C1, GENERAL))
    talk(acd, C1, A1)
    acd.submit(m.EnqueueCall(C2, GENERAL))
    assert acd.core.offer_of(C2) is None  # A1 is wrapping up
    acd.advance(2)
    out = acd.submit(m.AgentReady(A1))
    assert out[:2] == [
        m.CancelTimer(f"wrapup:{A1}"),
        m.AgentStateChanged(A1, AgentState.READY, None, None, T0 + 62),
    ]
    assert offers(out) == [(C2, A1)]


def test_not_ready_from_wrap_up_cancels_the_wrap_up(acd: VirtualAcd) -> None:
    ready(acd, A1)
    acd.submit(m.EnqueueCall(C1, GENERAL))
    talk(acd, C1, A1)
    out = acd.submit(m.AgentNotReady(A1, "lunch"))
    assert out == [
        m.CancelTimer(f"wrapup:{A1}"),
        m.AgentStateChanged(A1, AgentState.NOT_READY, "lunch", None, T0 + 60),
    ]
    assert acd.advance(30) == []
    assert state(acd, A1) == (AgentState.NOT_READY, "lunch", None)


# --- stale timers -----------------------------------------------------------------------


def test_stale_timers_are_ignored(acd: VirtualAcd) -> None:
    ready(acd, A1)
    acd.submit(m.EnqueueCall(C1, GENERAL))
    acd.submit(m.AcceptOffer(C1, A1))
    # The shell may deliver a timer it could not cancel in time: nothing happens.
    assert acd.core.handle(m.TimerFired(f"offer:{C1}:{A1}"), T0 + 15) == []
    assert state(acd, A1) == (AgentState.ON_CALL, None, C1)
    acd.submit(m.CallFinished(C1, A1))
    acd.submit(m.AgentReady(A1))  # ready now
    assert acd.core.handle(m.TimerFired(f"wrapup:{A1}"), T0 + 10) == []
    assert acd.core.handle(m.TimerFired("no-such-timer"), T0 + 10) == []
    assert state(acd, A1) == (AgentState.READY, None, None)


def test_a_late_timer_of_an_earlier_offer_does_not_cut_a_new_one_short(acd: VirtualAcd) -> None:
    ready(acd, A1)
    acd.submit(m.EnqueueCall(C1, GENERAL))
    acd.advance(5)
    acd.submit(m.AgentLogout(A1))  # the offer is withdrawn...
    ready(acd, A1)  # ...and made again, with the same timer key, due at T0 + 20
    assert acd.core.offer_of(C1) == A1
    # The first offer's timer (due T0 + 15), delivered late, is not this offer's timer.
    assert acd.core.handle(m.TimerFired(f"offer:{C1}:{A1}"), T0 + 15) == []
    assert acd.core.offer_of(C1) == A1


# --- logout -----------------------------------------------------------------------------


def test_logout_while_ringing_puts_the_call_back_in_its_place(acd: VirtualAcd) -> None:
    ready(acd, A1)
    acd.submit(m.EnqueueCall(C1, GENERAL))
    acd.advance(1)
    acd.submit(m.EnqueueCall(C2, GENERAL))
    out = acd.submit(m.AgentLogout(A1))
    assert out == [
        m.WithdrawOffer(C1, A1, "agent_logout"),
        m.CancelTimer(f"offer:{C1}:{A1}"),
        m.AgentStateChanged(A1, AgentState.LOGGED_OUT, None, None, T0 + 1),
    ]
    assert acd.core.waiting(GENERAL) == [C1, C2]
    assert acd.core.agents_serving(GENERAL) == set()
    assert offers(ready(acd, A2)) == [(C1, A2)]


def test_logout_while_ringing_offers_the_call_to_another_ready_agent_at_once(
    acd: VirtualAcd,
) -> None:
    ready(acd, A1)
    ready(acd, A2)
    acd.submit(m.EnqueueCall(C1, GENERAL))
    assert offers(acd.submit(m.AgentLogout(A1))) == [(C1, A2)]


def test_logout_rules(acd: VirtualAcd) -> None:
    assert acd.submit(m.AgentLogout(A1)) == []  # never logged in: nothing to do
    ready(acd, A1)
    acd.submit(m.EnqueueCall(C1, GENERAL))
    acd.submit(m.AcceptOffer(C1, A1))
    with pytest.raises(InvalidTransition):
        acd.submit(m.AgentLogout(A1))  # on a call
    acd.submit(m.CallFinished(C1, A1))
    out = acd.submit(m.AgentLogout(A1))  # from wrap-up
    assert out == [
        m.CancelTimer(f"wrapup:{A1}"),
        m.AgentStateChanged(A1, AgentState.LOGGED_OUT, None, None, T0),
    ]
    assert acd.submit(m.AgentLogout(A1)) == []
    with pytest.raises(InvalidTransition):
        acd.submit(m.AgentReady(A1))


# --- requests that are refused ----------------------------------------------------------


def test_accept_of_a_stale_offer_raises_offer_not_found(acd: VirtualAcd) -> None:
    ready(acd, A1)
    acd.advance(1)
    ready(acd, A2)
    acd.submit(m.EnqueueCall(C1, GENERAL))
    with pytest.raises(OfferNotFound):
        acd.submit(m.AcceptOffer(C1, A2))  # offered to A1, not to A2
    acd.advance(15)  # RONA: now it rings at A2
    with pytest.raises(OfferNotFound):
        acd.submit(m.AcceptOffer(C1, A1))  # too late
    with pytest.raises(OfferNotFound):
        acd.submit(m.AcceptOffer(CallId("unknown"), A1))
    assert acd.core.offer_of(C1) == A2  # the refusals changed nothing
    acd.submit(m.AcceptOffer(C1, A2))
    with pytest.raises(OfferNotFound):
        acd.submit(m.AcceptOffer(C1, A2))  # twice


def test_not_ready_and_ready_are_ignored_while_ringing_or_on_call(acd: VirtualAcd) -> None:
    ready(acd, A1)
    acd.submit(m.EnqueueCall(C1, GENERAL))
    assert acd.submit(m.AgentNotReady(A1, "break")) == []
    assert acd.submit(m.AgentReady(A1)) == []
    assert state(acd, A1) == (AgentState.RINGING, None, C1)
    acd.submit(m.AcceptOffer(C1, A1))
    assert acd.submit(m.AgentNotReady(A1, "break")) == []
    assert state(acd, A1) == (AgentState.ON_CALL, None, C1)


def test_repeated_requests_are_no_ops_but_a_new_reason_is_a_change(acd: VirtualAcd) -> None:
    ready(acd, A1)
    assert acd.submit(m.AgentReady(A1)) == []
    acd.submit(m.AgentNotReady(A1, "break"))
    assert acd.submit(m.AgentNotReady(A1, "break")) == []
    out = acd.submit(m.AgentNotReady(A1, "training"))
    assert out == [m.AgentStateChanged(A1, AgentState.NOT_READY, "training", None, T0)]


def test_unknown_agents_queues_and_double_enqueues_are_refused(acd: VirtualAcd) -> None:
    with pytest.raises(UnknownAgent):
        acd.submit(m.AgentReady(A1))
    with pytest.raises(UnknownAgent):
        acd.core.agent_state(A1)
    with pytest.raises(UnknownQueue):
        acd.submit(m.EnqueueCall(C1, QueueId("nope")))
    with pytest.raises(UnknownQueue):
        acd.core.waiting(QueueId("nope"))
    acd.submit(m.EnqueueCall(C1, GENERAL))
    with pytest.raises(InvalidTransition):
        acd.submit(m.EnqueueCall(C1, SPANISH))
    assert acd.core.queue_of(C1) == GENERAL


def test_a_call_queued_again_with_its_enqueue_time_keeps_its_place(acd: VirtualAcd) -> None:
    ready(acd, A1)
    acd.submit(m.EnqueueCall(C1, GENERAL))
    acd.submit(m.AcceptOffer(C1, A1))  # the connect then fails:
    acd.advance(5)
    acd.submit(m.EnqueueCall(C2, GENERAL))
    acd.submit(m.CallFinished(C1, A1))
    acd.submit(m.EnqueueCall(C1, GENERAL, enqueued_at=T0))
    assert acd.core.waiting(GENERAL) == [C1, C2]


def test_call_finished_that_does_not_match_is_ignored(acd: VirtualAcd) -> None:
    ready(acd, A1)
    acd.submit(m.EnqueueCall(C1, GENERAL))
    assert acd.submit(m.CallFinished(C1, A1)) == []  # only ringing, not accepted
    assert acd.submit(m.CallFinished(C1, A2)) == []  # unknown agent
    acd.submit(m.AcceptOffer(C1, A1))
    assert acd.submit(m.CallFinished(C2, A1)) == []  # another call
    assert state(acd, A1) == (AgentState.ON_CALL, None, C1)


def test_a_second_login_updates_skills_without_a_state_change(acd: VirtualAcd) -> None:
    ready(acd, A1)
    acd.submit(m.EnqueueCall(C1, SPANISH))
    out = acd.submit(m.AgentLogin(A1, frozenset({"es"})))
    assert out == [m.OfferCall(C1, A1, SPANISH), *out[1:]]
    assert acd.core.agents_serving(SPANISH) == {A1}


def test_a_call_id_queued_again_elsewhere_is_not_offered_from_its_old_queue(
    acd: VirtualAcd,
) -> None:
    acd.submit(m.AgentLogin(A1, frozenset()))
    acd.submit(m.EnqueueCall(C1, GENERAL))
    acd.submit(m.RemoveCall(C1))
    acd.submit(m.EnqueueCall(C1, SPANISH))
    assert offers(acd.submit(m.AgentReady(A1))) == []  # A1 does not speak Spanish
    assert acd.core.waiting(SPANISH) == [C1]
