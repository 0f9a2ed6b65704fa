"""Per-queue strategies (who among the READY agents gets the call) and the RONA limit, as an
agent would notice them. Time is plain floats on a virtual clock (`VirtualAcd`)."""

from __future__ import annotations

import random
from collections import Counter

from acd import messages as m
from acd.core import AcdCore
from acd.model import AgentState, QueueConfig, Strategy
from acd.virtual import VirtualAcd
from contactcenter.ids import AgentId, CallId, QueueId

T0 = 5_000.0
Q = QueueId("q")
OTHER = QueueId("other")
A1, A2, A3 = AgentId("a1"), AgentId("a2"), AgentId("a3")
C1, C2, C3 = CallId("c1"), CallId("c2"), CallId("c3")


def make(strategy: Strategy, rng: random.Random | None = None, **kw: int) -> VirtualAcd:
    queue = QueueConfig(Q, "Q", frozenset({"s"}), wrapup_s=0, strategy=strategy, **kw)  # type: ignore[arg-type]
    return VirtualAcd(AcdCore({Q: queue}, rng=rng), now=T0)


def login(acd: VirtualAcd, *agents: AgentId, level: int = 5) -> None:
    for agent in agents:
        acd.submit(m.AgentLogin(agent, frozenset({"s"}), {"s": level}))


def ready(acd: VirtualAcd, *agents: AgentId) -> None:
    for agent in agents:
        acd.submit(m.AgentReady(agent))
        acd.advance(1)


def offers(outputs: list[m.Output]) -> list[AgentId]:
    return [o.agent_id for o in outputs if isinstance(o, m.OfferCall)]


def answer(acd: VirtualAcd, call: CallId) -> AgentId:
    """The call goes to whoever it rings, who talks for a minute and is ready again."""
    agent = acd.core.offer_of(call)
    assert agent is not None
    acd.submit(m.AcceptOffer(call, agent))
    acd.advance(60)
    acd.submit(m.CallFinished(call, agent))
    acd.advance(1)
    return agent


def serve(acd: VirtualAcd, call: CallId) -> AgentId:
    acd.submit(m.EnqueueCall(call, Q))
    return answer(acd, call)


# --- strategies ---------------------------------------------------------------------------


def test_least_calls_picks_the_agent_with_fewest_calls_over_a_longer_idle_one() -> None:
    acd = make("least_calls")
    login(acd, A1, A2)
    ready(acd, A1)
    assert serve(acd, CallId("x1")) == A1
    assert serve(acd, CallId("x2")) == A1  # alone: A1 has taken 2 calls
    ready(acd, A2)
    assert serve(acd, CallId("x3")) == A2
    # Now A1 (2 calls) has idled longest, but A2 (1 call) is picked until they are even.
    assert serve(acd, CallId("x4")) == A2


def test_least_calls_counts_from_the_login() -> None:
    acd = make("least_calls")
    login(acd, A1, A2)
    ready(acd, A1)
    serve(acd, CallId("x1"))
    acd.submit(m.AgentLogout(A1))
    login(acd, A1)
    ready(acd, A2, A1)  # A2 idles longer; both at zero calls since login
    assert serve(acd, CallId("x2")) == A2


def test_round_robin_goes_round_in_login_order_and_remembers_where_it_stopped() -> None:
    acd = make("round_robin")
    login(acd, A1, A2, A3)
    ready(acd, A3, A2, A1)  # idle order is the reverse of login order: it does not matter
    picked = [serve(acd, CallId(f"x{i}")) for i in range(5)]
    assert picked == [A1, A2, A3, A1, A2]


def test_round_robin_skips_an_agent_who_is_away_and_keeps_the_turn() -> None:
    acd = make("round_robin")
    login(acd, A1, A2, A3)
    ready(acd, A1, A2, A3)
    assert serve(acd, C1) == A1
    acd.submit(m.AgentNotReady(A2, "break"))
    assert serve(acd, C2) == A3
    ready(acd, A2)
    assert serve(acd, C3) == A1  # the pointer is past A3: a new round begins


def test_most_skilled_picks_the_highest_level() -> None:
    acd = make("most_skilled")
    acd.submit(m.AgentLogin(A1, frozenset({"s"}), {"s": 3}))
    acd.submit(m.AgentLogin(A2, frozenset({"s"}), {"s": 9}))
    ready(acd, A1, A2)
    assert serve(acd, C1) == A2
    assert serve(acd, C2) == A2


def test_weighted_random_is_reproducible_with_a_seed_and_follows_the_levels() -> None:
    def run(seed: int) -> list[AgentId]:
        acd = make("weighted_random", rng=random.Random(seed))
        acd.submit(m.AgentLogin(A1, frozenset({"s"}), {"s": 9}))
        acd.submit(m.AgentLogin(A2, frozenset({"s"}), {"s": 1}))
        ready(acd, A1, A2)
        return [serve(acd, CallId(f"x{i}")) for i in range(2000)]

    first = run(7)
    assert first == run(7)
    assert first != run(8)
    share = Counter(first)[A1] / len(first)
    assert 0.85 < share < 0.95  # weights 9 : 1


def test_ring_all_rings_everyone_and_the_first_answer_wins() -> None:
    acd = make("ring_all")
    login(acd, A1, A2, A3)
    ready(acd, A1, A2, A3)
    out = acd.submit(m.EnqueueCall(C1, Q))
    assert offers(out) == [A1, A2, A3]
    assert acd.core.offers_of(C1) == (A1, A2, A3)
    assert {acd.core.agent_state(a).state for a in (A1, A2, A3)} == {AgentState.RINGING}
    acd.advance(2)
    out = acd.submit(m.AcceptOffer(C1, A2))
    assert [o for o in out if isinstance(o, m.WithdrawOffer)] == [
        m.WithdrawOffer(C1, A1, "answered_elsewhere"),
        m.WithdrawOffer(C1, A3, "answered_elsewhere"),
    ]
    assert acd.core.agent_state(A2).state is AgentState.ON_CALL
    assert acd.core.ready_agents(Q) == [A1, A3]  # back in their old places
    assert set(acd.timers) == set()
    assert offers(acd.submit(m.EnqueueCall(C2, Q))) == [A1, A3]


def test_ring_all_when_nobody_answers_every_agent_is_rona_and_the_call_waits() -> None:
    acd = make("ring_all")
    login(acd, A1, A2)
    ready(acd, A1, A2)
    acd.submit(m.EnqueueCall(C1, Q))
    out = acd.advance(15)
    assert [o.agent_id for o in out if isinstance(o, m.OfferTimedOut)] == [A1, A2]
    assert acd.core.agent_state(A1).reason == "rona"
    assert acd.core.offers_of(C1) == ()
    assert acd.core.waiting(Q) == [C1]
    ready(acd, A2)
    assert acd.core.offers_of(C1) == (A2,)


def test_ring_all_caller_hang_up_and_one_logout() -> None:
    acd = make("ring_all")
    login(acd, A1, A2)
    ready(acd, A1, A2)
    acd.submit(m.EnqueueCall(C1, Q))
    acd.submit(m.AgentLogout(A1))
    assert acd.core.offers_of(C1) == (A2,)  # still ringing at A2
    out = acd.submit(m.RemoveCall(C1))
    assert m.WithdrawOffer(C1, A2, "caller_left") in out
    assert acd.core.agent_state(A2).state is AgentState.READY
    assert acd.timers == {}


# --- RONA limit ---------------------------------------------------------------------------


def rona(acd: VirtualAcd, agent: AgentId) -> m.AgentStateChanged:
    out = acd.advance(15)
    assert [o.agent_id for o in out if isinstance(o, m.OfferTimedOut)] == [agent]
    changes = [o for o in out if isinstance(o, m.AgentStateChanged) and o.agent_id == agent]
    return changes[-1]


def test_the_rona_limit_logs_the_agent_out() -> None:
    acd = make("longest_idle", max_consecutive_rona=2)
    login(acd, A1)
    ready(acd, A1)
    acd.submit(m.EnqueueCall(C1, Q))
    assert rona(acd, A1).state is AgentState.NOT_READY
    ready(acd, A1)
    change = rona(acd, A1)
    assert (change.state, change.reason) == (AgentState.LOGGED_OUT, "rona_limit")
    assert acd.core.agents_serving(Q) == frozenset()
    assert acd.core.waiting(Q) == [C1]


def test_an_answered_offer_resets_the_rona_count() -> None:
    acd = make("longest_idle", max_consecutive_rona=2)
    login(acd, A1)
    ready(acd, A1)
    acd.submit(m.EnqueueCall(C1, Q))
    rona(acd, A1)
    ready(acd, A1)
    answer(acd, C1)
    acd.submit(m.EnqueueCall(C2, Q))
    assert rona(acd, A1).state is AgentState.NOT_READY


def test_no_limit_by_default() -> None:
    acd = make("longest_idle")
    login(acd, A1)
    acd.submit(m.EnqueueCall(C1, Q))
    for _ in range(5):
        ready(acd, A1)
        assert rona(acd, A1).state is AgentState.NOT_READY
