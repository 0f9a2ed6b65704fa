"""Which agents a queue uses: per-queue penalties (app_queue's), borrowing agents from a queue
whose service level is met, "least calls today" by the site's day, and logins with skills no
queue uses. Virtual time, no loop."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from acd import messages as m
from acd.core import AcdCore
from acd.errors import InvalidPenalty, UnknownQueue
from acd.model import QueueConfig
from acd.virtual import VirtualAcd
from contactcenter.ids import AgentId, CallId, QueueId

T0 = 1_800_000_000.0
SALES, SUPPORT = QueueId("sales"), QueueId("support")
A1, A2, A3 = AgentId("a1"), AgentId("a2"), AgentId("a3")


def cid(i: int | str) -> CallId:
    return CallId(f"c{i}")


def offered(out: list[m.Output]) -> list[tuple[CallId, AgentId]]:
    return [(o.call_id, o.agent_id) for o in out if isinstance(o, m.OfferCall)]


def make(*queues: QueueConfig, site_tz: ZoneInfo | None = None, now: float = T0) -> VirtualAcd:
    return VirtualAcd(AcdCore({q.id: q for q in queues}, site_tz=site_tz), now=now)


def ready(acd: VirtualAcd, agent: AgentId, *skills: str, **penalties: int) -> None:
    pen = {QueueId(q): p for q, p in penalties.items()}
    acd.submit(m.AgentLogin(agent, frozenset(skills), penalties=pen))
    acd.submit(m.AgentReady(agent))


# --- penalties -----------------------------------------------------------------------------


def test_the_lower_penalty_agent_gets_the_call_even_when_the_other_idles_longer() -> None:
    acd = make(QueueConfig(SALES, "Sales", frozenset({"s"}), wrapup_s=0))
    ready(acd, A1, "s", sales=2)  # idle longest, but penalty 2
    acd.advance(10)
    ready(acd, A2, "s", sales=1)
    acd.advance(10)
    ready(acd, A3, "s")  # penalty 0, idle shortest
    assert acd.core.ready_agents(SALES) == [A3, A2, A1]
    assert offered(acd.submit(m.EnqueueCall(cid(1), SALES))) == [(cid(1), A3)]
    assert offered(acd.submit(m.EnqueueCall(cid(2), SALES))) == [(cid(2), A2)]
    assert offered(acd.submit(m.EnqueueCall(cid(3), SALES))) == [(cid(3), A1)]


def test_penalties_are_per_queue() -> None:
    acd = make(
        QueueConfig(SALES, "Sales", frozenset({"s"}), wrapup_s=0),
        QueueConfig(SUPPORT, "Support", frozenset({"s"}), wrapup_s=0),
    )
    ready(acd, A1, "s", sales=5)
    acd.advance(1)
    ready(acd, A2, "s", support=5)
    assert acd.core.ready_agents(SALES) == [A2, A1]
    assert acd.core.ready_agents(SUPPORT) == [A1, A2]


def test_bad_penalties_are_refused() -> None:
    acd = make(QueueConfig(SALES, "Sales", frozenset({"s"})))
    with pytest.raises(UnknownQueue, match="nope"):
        acd.submit(m.AgentLogin(A1, frozenset({"s"}), penalties={QueueId("nope"): 1}))
    with pytest.raises(InvalidPenalty, match="-1"):
        acd.submit(m.AgentLogin(A1, frozenset({"s"}), penalties={SALES: -1}))


# --- borrowing -----------------------------------------------------------------------------


def lending_pair(sl_target: float = 0.8) -> VirtualAcd:
    """Support (skill t) may borrow sales agents (skill s) while sales meets its SL."""
    return make(
        QueueConfig(
            SALES, "Sales", frozenset({"s"}), wrapup_s=0, sl_threshold_s=20, sl_target=sl_target
        ),
        QueueConfig(SUPPORT, "Support", frozenset({"t"}), wrapup_s=0, borrow_from=(SALES,)),
    )


def serve_sales(acd: VirtualAcd, call: CallId, waited: float) -> None:
    """A sales call waits `waited` s and is answered by A1, who is Ready again after."""
    acd.submit(m.AgentNotReady(A1, "x"))
    acd.submit(m.EnqueueCall(call, SALES))
    acd.advance(waited)
    acd.submit(m.AgentReady(A1))
    acd.submit(m.AcceptOffer(call, A1))
    acd.submit(m.CallFinished(call, A1))


def test_a_queue_borrows_while_the_lender_meets_its_service_level() -> None:
    acd = lending_pair()
    ready(acd, A1, "s")
    serve_sales(acd, cid("s1"), waited=5)  # SL 100%
    assert acd.core.service_level(SALES, acd.now) == 1.0
    out = acd.submit(m.EnqueueCall(cid(1), SUPPORT))
    assert offered(out) == [(cid(1), A1)]


def test_a_queue_may_not_borrow_while_the_lender_misses_its_service_level() -> None:
    acd = lending_pair()
    ready(acd, A1, "s")
    serve_sales(acd, cid("s1"), waited=5)
    serve_sales(acd, cid("s2"), waited=30)  # SL 50% < 80%
    assert acd.core.service_level(SALES, acd.now) == 0.5
    assert offered(acd.submit(m.EnqueueCall(cid(1), SUPPORT))) == []
    # The support call waits; a support agent takes it, sales' agent stays with sales.
    assert offered(acd.submit(m.EnqueueCall(cid(2), SALES))) == [(cid(2), A1)]
    ready(acd, A2, "t")
    assert acd.core.offer_of(cid(1)) == A2


def test_own_agents_first_and_lending_resumes_when_the_lender_recovers() -> None:
    acd = lending_pair(sl_target=0.6)
    ready(acd, A1, "s")
    serve_sales(acd, cid("s1"), waited=30)  # SL 0%
    acd.submit(m.EnqueueCall(cid(1), SUPPORT))
    assert acd.core.offer_of(cid(1)) is None
    serve_sales(acd, cid("s2"), waited=1)  # 50%: still below 60%
    assert acd.core.offer_of(cid(1)) is None
    serve_sales(acd, cid("s3"), waited=1)  # 67%: lending allowed, A1 is Ready again
    assert acd.core.offer_of(cid(1)) == A1
    acd.submit(m.AcceptOffer(cid(1), A1))
    acd.submit(m.CallFinished(cid(1), A1))
    ready(acd, A2, "t")
    acd.submit(m.AgentReady(A1))
    assert offered(acd.submit(m.EnqueueCall(cid(2), SUPPORT))) == [(cid(2), A2)]  # own first


def test_short_abandons_do_not_count_and_the_window_forgets() -> None:
    acd = lending_pair()
    acd.submit(m.EnqueueCall(cid(1), SALES))
    acd.advance(3)
    acd.submit(m.RemoveCall(cid(1)))  # short abandon
    assert acd.core.service_level(SALES, acd.now) is None
    acd.submit(m.EnqueueCall(cid(2), SALES))
    acd.advance(10)
    acd.submit(m.RemoveCall(cid(2)))  # an abandon within the threshold still misses
    assert acd.core.service_level(SALES, acd.now) == 0.0
    assert acd.core.service_level(SALES, acd.now + 1800) is None


def test_borrowing_from_an_unknown_queue_is_refused() -> None:
    with pytest.raises(UnknownQueue, match="ghost"):
        make(QueueConfig(SALES, "Sales", frozenset(), borrow_from=(QueueId("ghost"),)))


# --- least calls today ---------------------------------------------------------------------


def test_least_calls_counts_restart_at_the_sites_midnight() -> None:
    tz = ZoneInfo("America/New_York")
    evening = datetime(2026, 11, 30, 23, 0, tzinfo=tz).timestamp()
    acd = make(
        QueueConfig(SALES, "Sales", frozenset({"s"}), wrapup_s=0, strategy="least_calls"),
        site_tz=tz,
        now=evening,
    )
    ready(acd, A1, "s")
    ready(acd, A2, "s")
    for i in range(2):  # A1 takes two calls, A2 none
        acd.submit(m.AgentNotReady(A2, "x"))
        acd.submit(m.EnqueueCall(cid(i), SALES))
        acd.submit(m.AcceptOffer(cid(i), A1))
        acd.submit(m.CallFinished(cid(i), A1))
        acd.advance(60)
    acd.submit(m.AgentReady(A2))
    acd.advance(10)
    acd.submit(m.AgentNotReady(A1, "x"))
    acd.submit(m.AgentReady(A1))  # A1 idles shorter than A2
    assert acd.core.ready_agents(SALES) == [A2, A1]  # fewer calls first
    acd.submit(m.AgentNotReady(A2, "x"))
    acd.submit(m.AgentReady(A2))  # now A2 idles shortest, still fewer calls
    assert acd.core.ready_agents(SALES) == [A2, A1]
    acd.advance_to(datetime(2026, 12, 1, 0, 0, 1, tzinfo=tz).timestamp())  # midnight in NY
    acd.submit(m.EnqueueCall(cid(9), SALES))
    # Counts are 0 for both: the longest idle (A1) goes first.
    assert acd.core.offer_of(cid(9)) == A1


# --- skills no queue uses ------------------------------------------------------------------


def test_a_login_with_a_skill_no_queue_uses_is_accepted_and_reported() -> None:
    acd = make(QueueConfig(SALES, "Sales", frozenset({"s"}), wrapup_s=0))
    out = acd.submit(m.AgentLogin(A1, frozenset({"s", "klingon", "latin"})))
    assert m.AgentSkillUnused(A1, frozenset({"klingon", "latin"})) in out
    acd.submit(m.AgentReady(A1))
    assert offered(acd.submit(m.EnqueueCall(cid(1), SALES))) == [(cid(1), A1)]
    out = acd.submit(m.AgentLogin(A2, frozenset({"s"})))
    assert not any(isinstance(o, m.AgentSkillUnused) for o in out)


def test_ring_all_rings_only_the_lowest_penalty_among_the_ready() -> None:
    acd = make(QueueConfig(SALES, "Sales", frozenset({"s"}), wrapup_s=0, strategy="ring_all"))
    ready(acd, A1, "s", sales=1)
    ready(acd, A2, "s", sales=3)
    ready(acd, A3, "s", sales=1)
    out = acd.submit(m.EnqueueCall(cid(1), SALES))
    assert sorted(offered(out)) == [(cid(1), A1), (cid(1), A3)]
    assert acd.core.ready_agents(SALES) == [A2]
    acd.submit(m.AcceptOffer(cid(1), A3))  # A1 is Ready again, in its place
    assert offered(acd.submit(m.EnqueueCall(cid(2), SALES))) == [(cid(2), A1)]
    assert offered(acd.submit(m.EnqueueCall(cid(3), SALES))) == [(cid(3), A2)]
