"""Queue position, estimated wait, queue status (hours, holidays, no agent) and overflow on
the estimated wait, as the IVR and the shell ask them. Virtual time, no loop."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from acd import messages as m
from acd.core import AcdCore
from acd.errors import UnknownQueue
from acd.model import BusinessHours, QueueAction, QueueConfig, QueueStatus
from acd.queries import EWT_MIN_ANSWERS, EWT_WINDOW_S
from acd.virtual import VirtualAcd
from contactcenter.ids import AgentId, CallId, QueueId

# Monday 2026-11-30 10:00 in Paris (UTC+1).
MONDAY_10H_PARIS = datetime(2026, 11, 30, 9, 0, tzinfo=UTC).timestamp()
T0 = MONDAY_10H_PARIS
Q, OTHER = QueueId("q"), QueueId("other")
A1, A2 = AgentId("a1"), AgentId("a2")


def calls(n: int) -> list[CallId]:
    return [CallId(f"c{i}") for i in range(n)]


def core(**kwargs: object) -> VirtualAcd:
    queues = {
        Q: QueueConfig(Q, "Q", frozenset({"q"}), wrapup_s=0, **kwargs),  # type: ignore[arg-type]
        OTHER: QueueConfig(OTHER, "Other", frozenset({"o"}), wrapup_s=0),
    }
    return VirtualAcd(AcdCore(queues), now=T0)


# --- position ------------------------------------------------------------------------------


def test_position_counts_the_calls_served_before_it() -> None:
    acd = core()
    c = calls(4)
    acd.submit(m.EnqueueCall(c[0], Q))
    acd.submit(m.EnqueueCall(c[1], Q))
    acd.submit(m.EnqueueCall(c[2], Q, priority=5))  # jumps ahead
    assert [acd.core.position(x) for x in c[:3]] == [2, 3, 1]
    acd.submit(m.RemoveCall(c[2]))
    assert [acd.core.position(x) for x in c[:2]] == [1, 2]
    assert acd.core.position(c[2]) is None and acd.core.position(c[3]) is None


def test_a_directed_call_counts_only_its_agents_directed_calls() -> None:
    acd = core()
    acd.submit(m.AgentLogin(A1, frozenset({"q"})))
    c = calls(3)
    acd.submit(m.EnqueueCall(c[0], Q))
    acd.submit(m.EnqueueCall(c[1], Q, target_agent=A1))
    acd.submit(m.EnqueueCall(c[2], Q, target_agent=A1))
    assert [acd.core.position(x) for x in c] == [1, 1, 2]


# --- estimated wait ------------------------------------------------------------------------


def test_before_enough_answers_the_wait_is_the_default_handle_time_over_the_agents() -> None:
    acd = core(ewt_default_handle_s=120)
    c = calls(3)
    for x in c:
        acd.submit(m.EnqueueCall(x, Q))
    assert acd.core.estimated_wait_s(c[2], T0) == 3 * 120  # nobody logged in: as if one agent
    for agent in (A1, A2):
        acd.submit(m.AgentLogin(agent, frozenset({"q"})))
    assert acd.core.estimated_wait_s(c[2], T0) == 3 * 60
    assert acd.core.estimated_wait_s(CallId("gone"), T0) is None


def test_the_wait_follows_the_measured_answer_rate_over_the_window() -> None:
    acd = core(ewt_default_handle_s=999)
    acd.submit(m.AgentLogin(A1, frozenset({"q"})))
    served = calls(EWT_MIN_ANSWERS)
    for x in served:  # one answer every 30 s
        acd.advance(30)
        acd.submit(m.EnqueueCall(x, Q))
        acd.submit(m.AgentReady(A1))
        acd.submit(m.AcceptOffer(x, A1))
        acd.submit(m.CallFinished(x, A1))
    first_answer = T0 + 30
    acd.submit(m.AgentNotReady(A1, "break"))
    w1, w2 = CallId("w1"), CallId("w2")
    acd.submit(m.EnqueueCall(w1, Q))
    acd.submit(m.EnqueueCall(w2, Q))
    now = acd.now
    last_answer = now
    assert acd.core.estimated_wait_s(w2, now) == pytest.approx(2 * 30)
    assert acd.core.estimated_wait_s(w1, now + 29) == pytest.approx(30)
    # No answer for longer than the usual gap: the interval grows with the silence.
    assert acd.core.estimated_wait_s(w1, now + 50) == pytest.approx(50)
    assert acd.core.estimated_wait_s(w2, now + 50) == pytest.approx(100)
    # Past the window the old answers are forgotten: back to the default (999 s / 1 agent).
    later = first_answer + EWT_WINDOW_S + 1
    assert later < last_answer + EWT_WINDOW_S  # two answers left: not enough
    assert acd.core.estimated_wait_s(w1, later) == pytest.approx(999.0)


def test_a_ringing_call_waits_no_more() -> None:
    acd = core()
    acd.submit(m.AgentLogin(A1, frozenset({"q"})))
    acd.submit(m.AgentReady(A1))
    c = calls(1)[0]
    acd.submit(m.EnqueueCall(c, Q))
    assert acd.core.estimated_wait_s(c, T0) == 0.0


# --- overflow on the estimated wait --------------------------------------------------------


def test_a_call_facing_a_long_estimated_wait_overflows_at_once() -> None:
    acd = core(ewt_default_handle_s=100, overflow_queue=OTHER, overflow_when_ewt_exceeds_s=250)
    c = calls(3)
    assert not any(isinstance(o, m.CallOverflowed) for o in acd.submit(m.EnqueueCall(c[0], Q)))
    acd.submit(m.EnqueueCall(c[1], Q))  # EWT 200: stays
    out = acd.submit(m.EnqueueCall(c[2], Q))  # EWT 300: goes
    assert m.CallOverflowed(c[2], Q, OTHER, T0) in out
    assert acd.core.waiting(Q) == c[:2] and acd.core.waiting(OTHER) == [c[2]]


def test_a_call_an_agent_takes_at_once_never_overflows_on_the_estimate() -> None:
    acd = core(ewt_default_handle_s=1000, overflow_queue=OTHER, overflow_when_ewt_exceeds_s=1)
    acd.submit(m.AgentLogin(A1, frozenset({"q"})))
    acd.submit(m.AgentReady(A1))
    c = calls(2)
    out = acd.submit(m.EnqueueCall(c[0], Q))
    assert [type(o) for o in out if isinstance(o, m.OfferCall | m.CallOverflowed)] == [m.OfferCall]
    out = acd.submit(m.EnqueueCall(c[1], Q))  # A1 is ringing: the estimate is 1000 s
    assert m.CallOverflowed(c[1], Q, OTHER, T0) in out


# --- queue status --------------------------------------------------------------------------


PARIS = ZoneInfo("Europe/Paris")
HOURS = BusinessHours(
    tz=PARIS,
    weekly={0: ((9 * 60, 12 * 60), (13 * 60, 18 * 60)), 5: ((10 * 60, 12 * 60),)},
    holidays=frozenset({date(2026, 12, 25)}),
)


def paris(y: int, mo: int, d: int, h: int, mi: int = 0) -> float:
    return datetime(y, mo, d, h, mi, tzinfo=PARIS).timestamp()


def test_queue_status_follows_hours_holidays_and_logged_in_agents() -> None:
    after = QueueAction.parse("voicemail")
    closed = QueueAction.parse("overflow:other")
    acd = core(hours=HOURS, after_hours_action=after, closed_action=closed)
    status = acd.core.queue_status
    assert status(Q, T0) == QueueStatus(False, "closed", closed)  # open hours, nobody in
    acd.submit(m.AgentLogin(A1, frozenset({"q"})))  # logged in, not ready: counts
    assert status(Q, T0) == QueueStatus(True, "open", None)
    assert status(Q, paris(2026, 11, 30, 12, 30)) == QueueStatus(False, "after_hours", after)
    assert status(Q, paris(2026, 11, 30, 13, 0)).open
    assert status(Q, paris(2026, 11, 30, 17, 59)).open
    assert status(Q, paris(2026, 11, 30, 18, 0)).reason == "after_hours"
    assert status(Q, paris(2026, 12, 1, 10)).reason == "after_hours"  # Tuesday: no hours
    assert status(Q, paris(2026, 12, 5, 11)).open  # Saturday morning
    assert status(Q, paris(2026, 12, 25, 10)) == QueueStatus(False, "holiday", after)
    # The holiday is a Paris date: 23:30 UTC on the 24th is already the 25th there.
    eve = datetime(2026, 12, 24, 23, 30, tzinfo=UTC).timestamp()
    assert status(Q, eve).reason == "holiday"
    acd.submit(m.AgentLogout(A1))
    assert status(Q, T0).reason == "closed"
    with pytest.raises(UnknownQueue):
        status(QueueId("nope"), T0)


def test_a_queue_without_hours_or_actions_is_open_and_says_closed_without_action() -> None:
    acd = core()
    assert acd.core.queue_status(Q, T0) == QueueStatus(False, "closed", None)
    acd.submit(m.AgentLogin(A1, frozenset({"q"})))
    assert acd.core.queue_status(Q, T0 + 86400 * 3.5) == QueueStatus(True, "open", None)


def test_actions_and_hours_refuse_nonsense() -> None:
    assert str(QueueAction.parse("overflow:x")) == "overflow:x"
    assert QueueAction.parse("callback") == QueueAction("callback")
    for bad in ("overflow", "overflow:", "hangup:x", "dance"):
        with pytest.raises(ValueError):
            QueueAction.parse(bad)
    with pytest.raises(ValueError, match="bad time range"):
        BusinessHours(weekly={0: ((600, 540),)})
    with pytest.raises(ValueError, match="overlap"):
        BusinessHours(weekly={0: ((540, 720), (700, 800))})
    with pytest.raises(ValueError, match="weekday 7"):
        BusinessHours(weekly={7: ((540, 720),)})


def test_estimate_overflows_stop_when_they_come_round_to_a_queue_already_left() -> None:
    # Settings refuse overflow cycles; the core still never loops on one built by hand.
    a, b = QueueId("a"), QueueId("b")
    queues = {
        a: QueueConfig(a, "A", frozenset(), overflow_queue=b, overflow_when_ewt_exceeds_s=0),
        b: QueueConfig(b, "B", frozenset(), overflow_queue=a, overflow_when_ewt_exceeds_s=0),
    }
    acd = VirtualAcd(AcdCore(queues), now=T0)
    out = acd.submit(m.EnqueueCall(CallId("x"), a))
    assert [o for o in out if isinstance(o, m.CallOverflowed)] == [
        m.CallOverflowed(CallId("x"), a, b, T0)
    ]
    assert acd.core.queue_of(CallId("x")) == b
