"""One contract suite for the shared-queues port, run on memory and on a real Redis; then a
differential test that drives both with the same random operations and compares every answer."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator, Mapping

import pytest

from acd import messages as m
from acd.core import AcdCore
from acd.errors import AcdError, InvalidTransition, OfferNotFound, UnknownQueue
from acd.model import AgentState, QueueConfig
from contactcenter.acd_service import AcdService
from contactcenter.clock import FakeClock
from contactcenter.ids import AgentId, CallId, QueueId
from contactcenter.sharedqueue import (
    AgentLogin,
    AgentStateConflict,
    MemorySharedQueues,
    QueueCall,
    QueueNotEmpty,
    RedisSharedQueues,
    SharedQueues,
    SharedQueueUnavailable,
    UnknownAgent,
    open_shared_queues,
)
from contactcenter.sharedqueue.acd_adapter import SharedAcdService
from tests.conftest import REDIS_URL, redis_keyspace

T0 = 1_800_000_000.0
SALES, SUPPORT = QueueId("sales"), QueueId("support")
ALICE, BOB, CAROL = AgentId("alice"), AgentId("bob"), AgentId("carol")


@pytest.fixture(params=[pytest.param("memory"), pytest.param("redis", marks=pytest.mark.redis)])
async def queues(request: pytest.FixtureRequest) -> AsyncIterator[SharedQueues]:
    if request.param == "memory":
        yield MemorySharedQueues()
        return
    async with redis_keyspace() as prefix:
        shared = RedisSharedQueues(REDIS_URL, prefix=prefix)
        try:
            yield shared
        finally:
            await shared.close()


def call(
    call_id: str,
    at: float,
    priority: int = 0,
    queue: QueueId = SALES,
    skills: Mapping[str, int] | None = None,
    target: AgentId | None = None,
) -> QueueCall:
    return QueueCall(CallId(call_id), queue, priority, T0 + at, dict(skills or {}), target)


def agent(agent_id: AgentId, skills: Mapping[str, int] | None = None, **queues: int) -> AgentLogin:
    return AgentLogin(agent_id, dict(skills or {}), {QueueId(q): p for q, p in queues.items()})


async def ready_agent(
    q: SharedQueues,
    agent_id: AgentId,
    at: float,
    skills: Mapping[str, int] | None = None,
    **qs: int,
) -> None:
    await q.login(agent(agent_id, skills, **(qs or {"sales": 0})), T0)
    await q.ready(agent_id, T0 + at)


# --- assignment ---------------------------------------------------------------------------------


async def test_a_call_goes_to_the_ready_agent_once(queues: SharedQueues) -> None:
    await ready_agent(queues, ALICE, 1)
    assert await queues.enqueue(call("c1", 2))
    got = await queues.assign_for_call(CallId("c1"), T0 + 3)
    assert got is not None
    assert (got.call_id, got.agent_id, got.queue_id, got.assigned_at) == (
        "c1",
        ALICE,
        SALES,
        T0 + 3,
    )
    assert await queues.assign_for_call(CallId("c1"), T0 + 4) is None
    assert await queues.assign_for_agent(ALICE, T0 + 4) is None
    status = await queues.agent(ALICE)
    assert status is not None
    assert (status.state, status.call_id, status.since) == ("assigned", "c1", T0 + 3)
    assert await queues.assignment(CallId("c1")) == got
    assert await queues.waiting_count(SALES) == 0


async def test_no_ready_agent_leaves_the_call_waiting(queues: SharedQueues) -> None:
    await queues.login(agent(ALICE, sales=0), T0)  # not ready
    await queues.enqueue(call("c1", 1))
    assert await queues.assign_for_call(CallId("c1"), T0 + 2) is None
    assert await queues.waiting(SALES, T0 + 2) == ["c1"]
    await queues.ready(ALICE, T0 + 3)
    got = await queues.assign_for_agent(ALICE, T0 + 3)
    assert got is not None and got.call_id == "c1"


async def test_assignment_numbers_increase(queues: SharedQueues) -> None:
    for i, name in enumerate((ALICE, BOB, CAROL)):
        await ready_agent(queues, name, i)
    seqs = []
    for i in range(3):
        await queues.enqueue(call(f"c{i}", 10 + i))
        got = await queues.assign_for_call(CallId(f"c{i}"), T0 + 20)
        assert got is not None
        seqs.append(got.seq)
    assert seqs == sorted(seqs) and len(set(seqs)) == 3


# --- call order -------------------------------------------------------------------------------


async def test_higher_priority_first_then_first_come(queues: SharedQueues) -> None:
    await queues.enqueue(call("low", 1, priority=0))
    await queues.enqueue(call("high-late", 3, priority=5))
    await queues.enqueue(call("high-early", 2, priority=5))
    await queues.enqueue(call("high-same-time", 2, priority=5))
    order = ["high-early", "high-same-time", "high-late", "low"]
    assert await queues.waiting(SALES, T0 + 100) == order
    await queues.login(agent(ALICE, sales=0), T0)
    for expected in order:
        await queues.ready(ALICE, T0 + 10)
        got = await queues.assign_for_agent(ALICE, T0 + 10)
        assert got is not None and got.call_id == expected
        assert await queues.finish(ALICE, T0 + 11) == expected


async def test_priority_ages_with_waiting_time(queues: SharedQueues) -> None:
    await queues.configure_queue(SALES, 0.1)
    await queues.enqueue(call("old-low", 0, priority=0))  # 0 + 0.1 x 100 = 10 at T0+100
    await queues.enqueue(call("new-high", 90, priority=5))  # 5 + 0.1 x 10 = 6
    await queues.enqueue(call("newer-top", 99, priority=20))  # 20.1
    assert await queues.waiting(SALES, T0 + 100) == ["newer-top", "old-low", "new-high"]
    await queues.login(agent(ALICE, sales=0), T0)
    await queues.ready(ALICE, T0 + 100)
    got = await queues.assign_for_agent(ALICE, T0 + 100)
    assert got is not None and got.call_id == "newer-top"


async def test_aging_compares_queues_at_the_decision_time(queues: SharedQueues) -> None:
    await queues.configure_queue(SALES, 1.0)
    await queues.configure_queue(SUPPORT, 0.0)
    await queues.enqueue(call("sales-call", 0, priority=0))  # 1.0 x wait
    await queues.enqueue(call("support-call", 0, priority=30, queue=SUPPORT))  # 30 forever
    await queues.login(agent(ALICE, sales=0, support=0), T0)
    await queues.ready(ALICE, T0 + 10)
    got = await queues.assign_for_agent(ALICE, T0 + 10)  # 10 < 30
    assert got is not None and got.call_id == "support-call"
    await queues.finish(ALICE, T0 + 11)
    await queues.enqueue(call("support-2", 50, priority=30, queue=SUPPORT))
    await queues.ready(ALICE, T0 + 60)
    got = await queues.assign_for_agent(ALICE, T0 + 60)  # 60 > 30
    assert got is not None and got.call_id == "sales-call"


async def test_aging_cannot_change_while_calls_wait(queues: SharedQueues) -> None:
    await queues.enqueue(call("c1", 0))
    with pytest.raises(QueueNotEmpty, match="sales"):
        await queues.configure_queue(SALES, 0.5)
    await queues.configure_queue(SALES, 0.0)  # the same weight: fine
    assert await queues.remove_call(CallId("c1"))
    await queues.configure_queue(SALES, 0.5)
    with pytest.raises(ValueError, match="aging_per_s"):
        await queues.configure_queue(SALES, -1.0)


# --- agent order -------------------------------------------------------------------------------


async def test_longest_idle_agent_first(queues: SharedQueues) -> None:
    await ready_agent(queues, BOB, 5)
    await ready_agent(queues, ALICE, 7)
    await ready_agent(queues, CAROL, 2)
    picked = []
    for i in range(3):
        await queues.enqueue(call(f"c{i}", 10))
        got = await queues.assign_for_call(CallId(f"c{i}"), T0 + 10)
        assert got is not None
        picked.append(got.agent_id)
    assert picked == [CAROL, BOB, ALICE]


async def test_an_agent_ready_again_goes_to_the_back(queues: SharedQueues) -> None:
    await ready_agent(queues, ALICE, 1)
    await ready_agent(queues, BOB, 2)
    await queues.enqueue(call("c1", 3))
    first = await queues.assign_for_call(CallId("c1"), T0 + 3)
    assert first is not None and first.agent_id == ALICE
    await queues.finish(ALICE, T0 + 4, ready=True)
    await queues.enqueue(call("c2", 5))
    second = await queues.assign_for_call(CallId("c2"), T0 + 5)
    assert second is not None and second.agent_id == BOB


async def test_lower_penalty_first(queues: SharedQueues) -> None:
    await ready_agent(queues, ALICE, 1, sales=2)
    await ready_agent(queues, BOB, 5, sales=0)
    await ready_agent(queues, CAROL, 3, sales=1)
    picked = []
    for i in range(3):
        await queues.enqueue(call(f"c{i}", 10))
        got = await queues.assign_for_call(CallId(f"c{i}"), T0 + 10)
        assert got is not None
        picked.append(got.agent_id)
    assert picked == [BOB, CAROL, ALICE]


async def test_skill_minimum_levels(queues: SharedQueues) -> None:
    await ready_agent(queues, ALICE, 1, {"french": 3, "billing": 9})
    await ready_agent(queues, BOB, 2, {"french": 7})
    await ready_agent(queues, CAROL, 3, {"french": 8, "billing": 5})
    await queues.enqueue(call("both", 5, skills={"french": 5, "billing": 5}))
    got = await queues.assign_for_call(CallId("both"), T0 + 5)
    assert got is not None and got.agent_id == CAROL
    await queues.enqueue(call("french", 6, skills={"french": 5}))
    got = await queues.assign_for_call(CallId("french"), T0 + 6)
    assert got is not None and got.agent_id == BOB
    await queues.enqueue(call("expert", 7, skills={"french": 9}))
    assert await queues.assign_for_call(CallId("expert"), T0 + 7) is None
    assert await queues.assign_for_agent(ALICE, T0 + 8) is None  # french 3 < 9
    await queues.enqueue(call("any", 8))
    got = await queues.assign_for_agent(ALICE, T0 + 8)
    assert got is not None and got.call_id == "any"


async def test_agent_takes_only_calls_of_their_queues_and_skills(queues: SharedQueues) -> None:
    await queues.enqueue(call("support", 0, priority=9, queue=SUPPORT))
    await queues.enqueue(call("german", 1, priority=5, skills={"german": 1}))
    await queues.enqueue(call("plain", 2))
    await ready_agent(queues, ALICE, 3, {"french": 10})
    got = await queues.assign_for_agent(ALICE, T0 + 3)
    assert got is not None and got.call_id == "plain"
    assert await queues.waiting_count(SUPPORT) == 1


async def test_a_new_profile_finds_agents_already_ready(queues: SharedQueues) -> None:
    await ready_agent(queues, ALICE, 1, {"german": 4})
    await ready_agent(queues, BOB, 2, {"german": 6}, sales=0, support=0)
    await queues.enqueue(call("g5", 3, skills={"german": 5}))  # first call with this profile
    got = await queues.assign_for_call(CallId("g5"), T0 + 3)
    assert got is not None and got.agent_id == BOB


# --- targeted calls ------------------------------------------------------------------------------


async def test_a_targeted_call_waits_for_its_agent(queues: SharedQueues) -> None:
    await ready_agent(queues, ALICE, 1)
    await queues.login(agent(BOB, sales=0), T0)
    await queues.enqueue(call("for-bob", 2, target=BOB))
    assert await queues.assign_for_call(CallId("for-bob"), T0 + 2) is None
    assert await queues.assign_for_agent(ALICE, T0 + 2) is None
    assert await queues.waiting_count(SALES) == 1
    await queues.enqueue(call("plain", 3, priority=1))
    await queues.ready(BOB, T0 + 4)
    got = await queues.assign_for_agent(BOB, T0 + 4)  # directed calls come first (the core)
    assert got is not None and got.call_id == "for-bob"
    await queues.finish(BOB, T0 + 5, ready=True)
    got = await queues.assign_for_agent(BOB, T0 + 5)
    assert got is not None and got.call_id == "plain"


async def test_a_call_for_an_agent_not_logged_in_is_an_ordinary_call(
    queues: SharedQueues,
) -> None:
    await ready_agent(queues, ALICE, 1)
    await queues.enqueue(call("for-bob", 2, target=BOB))
    got = await queues.assign_for_call(CallId("for-bob"), T0 + 2)
    assert got is not None and got.agent_id == ALICE


async def test_rona_and_logout_make_directed_calls_ordinary(queues: SharedQueues) -> None:
    await ready_agent(queues, BOB, 1)
    await queues.enqueue(call("d1", 2, target=BOB))
    await queues.enqueue(call("d2", 3, target=BOB))
    got = await queues.assign_for_agent(BOB, T0 + 3)
    assert got is not None and got.call_id == "d1"
    back = await queues.requeue(CallId("d1"), T0 + 18, rona_limit=0)
    assert back is not None and (back.agent_id, back.logged_out) == (BOB, False)
    assert await queues.waiting(SALES, T0 + 18) == ["d1"]  # ordinary now; d2 still Bob's
    assert await queues.logout(BOB) == ["d2"]
    assert await queues.waiting(SALES, T0 + 19) == ["d1", "d2"]


async def test_a_targeted_call_goes_at_once_to_its_ready_agent(queues: SharedQueues) -> None:
    await ready_agent(queues, BOB, 1, {}, support=0)  # skills and queues are not checked
    await queues.enqueue(call("for-bob", 2, target=BOB, skills={"german": 9}))
    got = await queues.assign_for_call(CallId("for-bob"), T0 + 2)
    assert got is not None and (got.agent_id, got.queue_id) == (BOB, SALES)


# --- call and agent life cycle ------------------------------------------------------------------


async def test_remove_a_waiting_call(queues: SharedQueues) -> None:
    await queues.enqueue(call("c1", 1))
    await queues.enqueue(call("c2", 2))
    assert await queues.remove_call(CallId("c1"))
    assert not await queues.remove_call(CallId("c1"))
    assert not await queues.remove_call(CallId("nope"))
    assert await queues.waiting(SALES, T0 + 3) == ["c2"]
    await ready_agent(queues, ALICE, 3)
    got = await queues.assign_for_agent(ALICE, T0 + 3)
    assert got is not None and got.call_id == "c2"
    assert not await queues.remove_call(CallId("c2"))  # assigned, not waiting


async def test_enqueue_twice_is_refused_without_change(queues: SharedQueues) -> None:
    assert await queues.enqueue(call("c1", 1, priority=1))
    assert not await queues.enqueue(call("c1", 5, priority=9))
    assert await queues.waiting_count(SALES) == 1
    await ready_agent(queues, ALICE, 2)
    await queues.assign_for_agent(ALICE, T0 + 2)
    assert not await queues.enqueue(call("c1", 5))  # assigned: still refused
    await queues.finish(ALICE, T0 + 3)
    assert await queues.enqueue(call("c1", 5))  # a new call may reuse a finished call's id


async def test_finish_goes_to_wrap_up_or_ready(queues: SharedQueues) -> None:
    await ready_agent(queues, ALICE, 1)
    await queues.enqueue(call("c1", 2))
    await queues.enqueue(call("c2", 3))
    await queues.assign_for_agent(ALICE, T0 + 3)
    assert await queues.finish(ALICE, T0 + 4) == "c1"
    status = await queues.agent(ALICE)
    assert status is not None and (status.state, status.since, status.call_id) == (
        "wrap_up",
        T0 + 4,
        "c1",  # the call just finished, as the core shows it
    )
    assert await queues.assignment(CallId("c1")) is None
    assert await queues.assign_for_agent(ALICE, T0 + 5) is None  # wrap-up takes no call
    await queues.ready(ALICE, T0 + 6)
    got = await queues.assign_for_agent(ALICE, T0 + 6)
    assert got is not None and got.call_id == "c2"
    assert await queues.finish(ALICE, T0 + 7, ready=True) == "c2"
    status = await queues.agent(ALICE)
    assert status is not None and status.state == "ready"


async def test_requeue_puts_the_call_back_at_its_place(queues: SharedQueues) -> None:
    await ready_agent(queues, ALICE, 1)
    await queues.enqueue(call("first", 2))
    await queues.assign_for_agent(ALICE, T0 + 2)
    await queues.enqueue(call("second", 3))
    assert await queues.requeue(CallId("first"), T0 + 17, agent_id=BOB) is None  # Alice's
    back = await queues.requeue(CallId("first"), T0 + 17)
    assert back is not None and back.agent_id == ALICE
    assert await queues.requeue(CallId("first"), T0 + 17) is None
    status = await queues.agent(ALICE)
    assert status is not None and (status.state, status.reason) == ("not_ready", "rona")
    assert await queues.waiting(SALES, T0 + 18) == ["first", "second"]
    await ready_agent(queues, BOB, 18)
    got = await queues.assign_for_agent(BOB, T0 + 18)
    assert got is not None and got.call_id == "first"


async def test_answer_then_no_requeue_and_finish(queues: SharedQueues) -> None:
    await ready_agent(queues, ALICE, 1)
    await queues.enqueue(call("c1", 2))
    await queues.assign_for_call(CallId("c1"), T0 + 2)
    assert not await queues.answer(CallId("c1"), BOB, T0 + 3)  # not Bob's
    assert not await queues.answer(CallId("nope"), ALICE, T0 + 3)
    assert await queues.answer(CallId("c1"), ALICE, T0 + 3)
    assert not await queues.answer(CallId("c1"), ALICE, T0 + 4)  # already answered
    status = await queues.agent(ALICE)
    assert status is not None and (status.state, status.since, status.call_id) == (
        "on_call",
        T0 + 3,
        "c1",
    )
    assert await queues.requeue(CallId("c1"), T0 + 5) is None
    assert await queues.withdraw(CallId("c1"), T0 + 5) is None
    got = await queues.assignment(CallId("c1"))
    assert got is not None and got.agent_id == ALICE  # still Alice's
    with pytest.raises(AgentStateConflict, match="alice") as err:
        await queues.ready(ALICE, T0 + 5)
    assert err.value.state == "on_call"
    assert await queues.finish(ALICE, T0 + 6) == "c1"


async def test_withdraw_frees_the_agent_of_a_caller_who_left(queues: SharedQueues) -> None:
    await ready_agent(queues, ALICE, 1)
    await ready_agent(queues, BOB, 2)
    await queues.enqueue(call("c1", 3))
    await queues.assign_for_call(CallId("c1"), T0 + 3)  # Alice
    assert await queues.withdraw(CallId("c1"), T0 + 4) == ALICE
    assert await queues.withdraw(CallId("c1"), T0 + 4) is None
    assert await queues.assignment(CallId("c1")) is None
    assert await queues.waiting_count(SALES) == 0
    status = await queues.agent(ALICE)
    assert status is not None and (status.state, status.since, status.idle) == (
        "ready",
        T0 + 4,
        T0 + 1,
    )
    await queues.enqueue(call("c2", 5))
    got = await queues.assign_for_call(CallId("c2"), T0 + 5)
    assert got is not None and got.agent_id == ALICE  # back at her old place (the core's)
    assert await queues.withdraw(CallId("nope"), T0 + 6) is None


async def test_not_ready_and_busy_take_the_agent_out(queues: SharedQueues) -> None:
    await ready_agent(queues, ALICE, 1)
    await queues.not_ready(ALICE, T0 + 2, "lunch")
    status = await queues.agent(ALICE)
    assert status is not None and (status.state, status.reason) == ("not_ready", "lunch")
    await queues.enqueue(call("c1", 3))
    assert await queues.assign_for_call(CallId("c1"), T0 + 3) is None
    await queues.ready(ALICE, T0 + 4)
    await queues.busy(ALICE, T0 + 5)
    assert await queues.assign_for_agent(ALICE, T0 + 5) is None
    with pytest.raises(AgentStateConflict, match="alice"):
        await queues.ready(ALICE, T0 + 6)
    assert await queues.finish(ALICE, T0 + 7, ready=True) is None
    got = await queues.assign_for_agent(ALICE, T0 + 7)
    assert got is not None and got.call_id == "c1"


async def test_ready_twice_keeps_the_idle_time(queues: SharedQueues) -> None:
    await ready_agent(queues, ALICE, 1)
    await ready_agent(queues, BOB, 2)
    await queues.ready(ALICE, T0 + 5)
    await queues.enqueue(call("c1", 6))
    got = await queues.assign_for_call(CallId("c1"), T0 + 6)
    assert got is not None and got.agent_id == ALICE


async def test_state_errors_name_the_agent(queues: SharedQueues) -> None:
    with pytest.raises(UnknownAgent, match="nobody"):
        await queues.ready(AgentId("nobody"), T0)
    with pytest.raises(UnknownAgent, match="nobody"):
        await queues.finish(AgentId("nobody"), T0)
    assert await queues.logout(AgentId("nobody")) is None
    await ready_agent(queues, ALICE, 1)
    with pytest.raises(AgentStateConflict, match="alice") as err:
        await queues.finish(ALICE, T0 + 2)
    assert err.value.state == "ready"
    await queues.enqueue(call("c1", 2))
    await queues.assign_for_call(CallId("c1"), T0 + 2)
    for attempt in (
        queues.logout(ALICE),
        queues.not_ready(ALICE, T0 + 3),
        queues.busy(ALICE, T0 + 3),
    ):
        with pytest.raises(AgentStateConflict, match="alice") as err:
            await attempt
        assert err.value.state == "assigned"
    status = await queues.agent(ALICE)  # nothing changed
    assert status is not None and (status.state, status.call_id) == ("assigned", "c1")
    assert not await queues.login(agent(ALICE, {"german": 3}, sales=1), T0 + 3)  # re-login
    status = await queues.agent(ALICE)  # keeps the call, with the new skills and penalty
    assert status is not None and (status.state, status.call_id) == ("assigned", "c1")
    assert (status.skills, status.queues) == ({"german": 3}, {SALES: 1})


async def test_logout_and_login_again_with_other_skills(queues: SharedQueues) -> None:
    await ready_agent(queues, ALICE, 1, {"german": 2})
    assert await queues.logout(ALICE) == []
    assert await queues.agent(ALICE) is None
    await queues.enqueue(call("plain", 2))
    assert await queues.assign_for_call(CallId("plain"), T0 + 2) is None  # logged out
    await queues.login(agent(ALICE, {"german": 8}, support=0), T0 + 3)
    await queues.ready(ALICE, T0 + 3)
    assert await queues.assign_for_agent(ALICE, T0 + 3) is None  # no longer in sales
    await queues.enqueue(call("g8", 4, queue=SUPPORT, skills={"german": 8}))
    got = await queues.assign_for_call(CallId("g8"), T0 + 4)
    assert got is not None and got.agent_id == ALICE


def test_bad_input_is_refused_with_what_and_where() -> None:
    with pytest.raises(ValueError, match=r"call c1: skill 'french'.*1-10"):
        call("c1", 0, skills={"french": 11})
    with pytest.raises(ValueError, match="queue_id 'a:b'"):
        QueueCall(CallId("c1"), QueueId("a:b"), 0, T0)
    with pytest.raises(ValueError, match="call c1: priority"):
        QueueCall(CallId("c1"), SALES, 1.5, T0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="call c1: enqueued_at"):
        QueueCall(CallId("c1"), SALES, 0, float("nan"))
    with pytest.raises(ValueError, match="agent alice: queue 'sales': penalty"):
        agent(ALICE, sales=-1)
    with pytest.raises(ValueError, match="agent_id"):
        AgentLogin(AgentId(""), {}, {})


# --- Redis-specific ------------------------------------------------------------------------------


async def test_redis_down_gives_a_clear_error() -> None:
    shared = open_shared_queues("redis://127.0.0.1:1/0", prefix="x:")  # nothing listens there
    assert isinstance(shared, RedisSharedQueues)
    try:
        with pytest.raises(SharedQueueUnavailable, match=r"enqueue failed .*redis"):
            await shared.enqueue(call("c1", 0))
        with pytest.raises(SharedQueueUnavailable, match="assign_for_agent failed"):
            await shared.assign_for_agent(ALICE, T0)
    finally:
        await shared.close()
    assert isinstance(open_shared_queues(None), MemorySharedQueues)


async def test_a_redis_that_never_answers_gives_a_clear_error_in_time() -> None:
    """A server that accepts connections and then says nothing (a hung Redis)."""
    held: list[asyncio.StreamWriter] = []

    async def silent(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    shared = RedisSharedQueues(f"redis://127.0.0.1:{port}/0", prefix="x:", timeout_s=0.5)
    started = time.monotonic()
    try:
        with pytest.raises(SharedQueueUnavailable, match="assign_for_call failed"):
            await shared.assign_for_call(CallId("c1"), T0)
    finally:
        await shared.close()
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
    assert time.monotonic() - started < 5.0


@pytest.mark.redis
async def test_keys_stay_under_the_prefix(redis_url: str, redis_prefix: str) -> None:
    import redis.asyncio as aioredis

    shared = RedisSharedQueues(redis_url, prefix=redis_prefix)
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    # Names no other test (or other prefix on this Redis) can hold.
    marker = uuid.uuid4().hex
    agent, call_id = AgentId(f"agent-{marker}"), f"call-{marker}"
    try:
        await ready_agent(shared, agent, 1, {"german": 3})
        await shared.enqueue(call(call_id, 2, skills={"german": 2}))
        assert await shared.assign_for_call(CallId(call_id), T0 + 2) is not None
        mine = [k async for k in client.scan_iter(match=f"{redis_prefix}*")]
        assert mine
        named = [k async for k in client.scan_iter(match=f"*{marker}*")]
        assert named and all(k.startswith(redis_prefix) for k in named)
    finally:
        await client.aclose()
        await shared.close()


# --- both implementations agree -------------------------------------------------------------------


@pytest.mark.redis
async def test_memory_and_redis_give_the_same_answers(redis_url: str, redis_prefix: str) -> None:
    """Random operations (with a fixed seed) on both; every result and error must match."""
    memory = MemorySharedQueues()
    shared = RedisSharedQueues(redis_url, prefix=redis_prefix)
    rng = random.Random(4)
    qids = [QueueId(f"q{i}") for i in range(3)]
    skills = ["en", "fr", "de"]
    agents = [AgentId(f"a{i}") for i in range(8)]
    await memory.configure_queue(qids[1], 0.05)
    await shared.configure_queue(qids[1], 0.05)
    now = T0
    calls = 0
    log: list[object] = []

    async def both(op: str, *args: object, **kwargs: object) -> object:
        results = []
        for impl in (memory, shared):
            try:
                results.append(("ok", await getattr(impl, op)(*args, **kwargs)))
            except (AgentStateConflict, UnknownAgent) as exc:
                results.append((type(exc).__name__, str(exc)))
        assert results[0] == results[1], (op, args, results)
        log.append(results[0])
        return results[0]

    try:
        for step in range(1200):
            now += rng.choice((0.0, 0.5, 3.0))
            kind = rng.random()
            who = rng.choice(agents)
            if kind < 0.3:
                calls += 1
                need = {s: rng.randint(1, 6) for s in rng.sample(skills, rng.randint(0, 2))}
                target = rng.choice(agents) if rng.random() < 0.05 else None
                c = QueueCall(
                    CallId(f"c{calls}"),
                    rng.choice(qids),
                    rng.randint(0, 3),
                    now - rng.choice((0.0, 1.0, 30.0)),
                    need,
                    target,
                )
                await both("enqueue", c)
                if rng.random() < 0.8:
                    await both("assign_for_call", c.call_id, now)
            elif kind < 0.4:
                login = AgentLogin(
                    who,
                    {s: rng.randint(1, 10) for s in rng.sample(skills, rng.randint(0, 3))},
                    {q: rng.randint(0, 2) for q in rng.sample(qids, rng.randint(1, 3))},
                )
                await both("login", login, now)
            elif kind < 0.6:
                await both("ready", who, now)
                await both("assign_for_agent", who, now)
            elif kind < 0.75:
                await both("finish", who, now, ready=rng.random() < 0.5)
            elif kind < 0.8:
                await both("not_ready", who, now, rng.choice((None, "break")))
            elif kind < 0.83:
                await both("busy", who, now)
            elif kind < 0.86:
                await both("logout", who)
            elif kind < 0.88:
                await both("requeue", CallId(f"c{rng.randint(1, max(1, calls))}"), now)
            elif kind < 0.9:
                pick = CallId(f"c{rng.randint(1, max(1, calls))}")
                if rng.random() < 0.5:
                    await both("withdraw", pick, now)
                else:
                    held = await memory.assignment(pick)
                    await both("answer", pick, who if held is None else held.agent_id, now)
            elif kind < 0.95:
                await both("remove_call", CallId(f"c{rng.randint(1, max(1, calls))}"))
            else:
                await both("assign_for_agent", who, now)
            if step % 20 == 0:
                for q in qids:
                    await both("waiting", q, now)
                    await both("waiting_count", q)
        for a in agents:
            await both("agent", a)
        for i in range(1, calls + 1):
            await both("assignment", CallId(f"c{i}"))
    finally:
        await shared.close()
    assignments = [r for r in log if r[0] == "ok" and hasattr(r[1], "seq")]  # type: ignore[index]
    assert len(assignments) > 100  # the run exercised routing, not only refusals


# --- SharedAcdService: the ACD shell's interface on shared queues -------------------------------


def _queue_configs(**overrides: object) -> dict[QueueId, QueueConfig]:
    sales = QueueConfig(
        SALES,
        "Sales",
        frozenset({"sales"}),
        wrapup_s=10.0,
        offer_timeout_s=15.0,
        skill_levels={"sales": 3},
        **overrides,  # type: ignore[arg-type]
    )
    return {SALES: sales}


async def _acd(queues: SharedQueues, clock: FakeClock) -> SharedAcdService:
    return SharedAcdService(queues, _queue_configs(), clock)


def _states(outputs: list[m.Output]) -> list[tuple[str, AgentState, str | None]]:
    return [(o.agent_id, o.state, o.reason) for o in outputs if isinstance(o, m.AgentStateChanged)]


async def test_acd_offer_accept_finish_wrap_up(queues: SharedQueues) -> None:
    clock = FakeClock(T0)
    acd = await _acd(queues, clock)
    try:
        out = await acd.submit(m.AgentLogin(ALICE, frozenset({"sales"}), {"sales": 4}))
        assert _states(out) == [(ALICE, AgentState.NOT_READY, "login")]
        assert await acd.submit(m.AgentReady(ALICE)) == [
            m.AgentStateChanged(ALICE, AgentState.READY, None, None, T0)
        ]
        clock.advance(1)
        out = await acd.submit(m.EnqueueCall(CallId("c1"), SALES, 2))
        assert out == [
            m.OfferCall(CallId("c1"), ALICE, SALES),
            m.AgentStateChanged(ALICE, AgentState.RINGING, None, CallId("c1"), T0 + 1),
            m.ScheduleTimer("offer:c1:alice", T0 + 16),
        ]
        with pytest.raises(OfferNotFound):
            await acd.submit(m.AcceptOffer(CallId("c1"), BOB))
        clock.advance(2)
        out = await acd.submit(m.AcceptOffer(CallId("c1"), ALICE))
        assert out == [
            m.CancelTimer("offer:c1:alice"),
            m.AgentStateChanged(ALICE, AgentState.ON_CALL, None, CallId("c1"), T0 + 3),
        ]
        assert await acd.submit(m.TimerFired("offer:c1:alice")) == []  # answered: no RONA
        await acd.submit(m.EnqueueCall(CallId("c2"), SALES))  # waits: Alice is busy
        clock.advance(60)
        out = await acd.submit(m.CallFinished(CallId("c1"), ALICE))
        assert out == [
            m.AgentStateChanged(ALICE, AgentState.WRAP_UP, None, CallId("c1"), T0 + 63),
            m.ScheduleTimer("wrapup:alice", T0 + 73),
        ]
        clock.advance(10)
        out = await acd.submit(m.TimerFired("wrapup:alice"))
        assert _states(out) == [
            (ALICE, AgentState.READY, None),
            (ALICE, AgentState.RINGING, None),
        ]
        assert m.OfferCall(CallId("c2"), ALICE, SALES) in out
    finally:
        await acd.close()


async def test_acd_rona_moves_the_call_on(queues: SharedQueues) -> None:
    clock = FakeClock(T0)
    acd = await _acd(queues, clock)
    try:
        for name in (ALICE, BOB):
            await acd.submit(m.AgentLogin(name, frozenset({"sales"})))
            await acd.submit(m.AgentReady(name))
            clock.advance(1)
        await acd.submit(m.AgentLogin(CAROL, frozenset({"sales"}), {"sales": 2}))  # below 3
        await acd.submit(m.AgentReady(CAROL))
        out = await acd.submit(m.EnqueueCall(CallId("c1"), SALES))
        assert m.OfferCall(CallId("c1"), ALICE, SALES) in out
        clock.advance(15)
        out = await acd.submit(m.TimerFired("offer:c1:alice"))
        assert out[:2] == [
            m.WithdrawOffer(CallId("c1"), ALICE, "rona"),
            m.OfferTimedOut(CallId("c1"), ALICE, T0 + 17),
        ]
        assert _states(out) == [
            (ALICE, AgentState.NOT_READY, "rona"),
            (BOB, AgentState.RINGING, None),
        ]
        assert await acd.submit(m.TimerFired("offer:c1:alice")) == []  # stale
    finally:
        await acd.close()


async def test_acd_caller_leaves_while_ringing(queues: SharedQueues) -> None:
    clock = FakeClock(T0)
    acd = await _acd(queues, clock)
    try:
        await acd.submit(m.AgentLogin(ALICE, frozenset({"sales"})))
        await acd.submit(m.AgentReady(ALICE))
        await acd.submit(m.EnqueueCall(CallId("c1"), SALES))
        out = await acd.submit(m.RemoveCall(CallId("c1")))
        assert out == [  # in the core's order
            m.WithdrawOffer(CallId("c1"), ALICE, "caller_left"),
            m.CancelTimer("offer:c1:alice"),
            m.AgentStateChanged(ALICE, AgentState.READY, None, None, T0),
        ]
        assert await acd.submit(m.RemoveCall(CallId("c1"))) == []
    finally:
        await acd.close()


async def test_acd_logout_while_ringing_gives_the_call_to_another(queues: SharedQueues) -> None:
    clock = FakeClock(T0)
    acd = await _acd(queues, clock)
    try:
        for name in (ALICE, BOB):
            await acd.submit(m.AgentLogin(name, frozenset({"sales"})))
            await acd.submit(m.AgentReady(name))
            clock.advance(1)
        await acd.submit(m.EnqueueCall(CallId("c1"), SALES))
        out = await acd.submit(m.AgentLogout(ALICE))
        assert out[:2] == [  # in the core's order
            m.WithdrawOffer(CallId("c1"), ALICE, "agent_logout"),
            m.CancelTimer("offer:c1:alice"),
        ]
        assert _states(out) == [
            (ALICE, AgentState.LOGGED_OUT, None),
            (BOB, AgentState.RINGING, None),
        ]
        await acd.submit(m.AcceptOffer(CallId("c1"), BOB))
        with pytest.raises(InvalidTransition, match="bob"):
            await acd.submit(m.AgentLogout(BOB))
        with pytest.raises(InvalidTransition, match="alice"):
            await acd.submit(m.AgentReady(ALICE))
    finally:
        await acd.close()


def test_acd_refuses_unknown_overflow_and_lending_queues() -> None:
    with pytest.raises(UnknownQueue, match="sales borrows from unknown queue sales"):
        SharedAcdService(
            MemorySharedQueues(),
            _queue_configs(borrow_from=(SALES,)),
            FakeClock(T0),
        )
    with pytest.raises(UnknownQueue, match="overflows to unknown queue nowhere"):
        SharedAcdService(
            MemorySharedQueues(),
            _queue_configs(overflow_queue=QueueId("nowhere"), overflow_after_s=5.0),
            FakeClock(T0),
        )


@pytest.mark.redis
async def test_two_acd_nodes_share_one_redis(redis_url: str, redis_prefix: str) -> None:
    """An offer made on node A, answered on node B: A's RONA timer then does nothing."""
    clock = FakeClock(T0)
    store_a = RedisSharedQueues(redis_url, prefix=redis_prefix)
    store_b = RedisSharedQueues(redis_url, prefix=redis_prefix)
    node_a = SharedAcdService(store_a, _queue_configs(), clock)
    node_b = SharedAcdService(store_b, _queue_configs(), clock)
    try:
        await node_b.submit(m.AgentLogin(ALICE, frozenset({"sales"})))
        await node_b.submit(m.AgentReady(ALICE))
        out = await node_a.submit(m.EnqueueCall(CallId("c1"), SALES))
        assert m.OfferCall(CallId("c1"), ALICE, SALES) in out
        await node_a.submit(m.EnqueueCall(CallId("c2"), SALES))
        await node_b.submit(m.AcceptOffer(CallId("c1"), ALICE))
        clock.advance(15)
        assert await node_a.submit(m.TimerFired("offer:c1:alice")) == []
        status = await node_a.agent_status(ALICE)
        assert status is not None and (status.state, status.call_id) == ("on_call", "c1")
        out = await node_b.submit(m.CallFinished(CallId("c1"), ALICE))
        assert _states(out) == [(ALICE, AgentState.WRAP_UP, None)]
        out = await node_b.submit(m.AgentReady(ALICE))  # "ready now" ends the wrap-up
        assert out[0] == m.CancelTimer("wrapup:alice")
        assert m.OfferCall(CallId("c2"), ALICE, SALES) in out
    finally:
        for closable in (node_a, node_b, store_a, store_b):
            await closable.close()


async def test_acd_adapter_decides_as_the_core(queues: SharedQueues) -> None:
    """The same random inputs through the in-process core (AcdService) and the adapter: the
    same outputs, for the settings both support (one queue, levels, priorities, RONA, wrap-up).
    Times never tie (the clock moves at every step), since ties break differently."""
    clock = FakeClock(T0)
    configs = _queue_configs()
    core = AcdService(AcdCore(configs), clock)
    shared = SharedAcdService(queues, configs, clock)
    rng = random.Random(7)
    names = [AgentId(f"a{i}") for i in range(6)]
    timers: dict[str, float] = {}
    ringing: set[CallId] = set()
    calls = compared = 0
    seen: set[AgentId] = set()

    async def both(msg: m.Input) -> None:
        nonlocal compared
        results = []
        for acd in (core, shared):
            try:
                results.append(await acd.submit(msg))
            except AcdError as exc:
                results.append([type(exc).__name__])  # type: ignore[list-item]
        assert results[0] == results[1], (msg, results)
        compared += len(results[0])
        for out in results[0]:
            if isinstance(out, m.ScheduleTimer):
                timers[out.key] = out.at
            elif isinstance(out, m.CancelTimer):
                timers.pop(out.key, None)
            elif isinstance(out, m.OfferCall):
                ringing.add(out.call_id)
            elif isinstance(out, m.WithdrawOffer | m.OfferTimedOut):
                ringing.discard(out.call_id)
            elif isinstance(out, m.AgentStateChanged) and out.state is AgentState.ON_CALL:
                ringing.discard(some_call(out.call_id))

    def some_call(call_id: CallId | None) -> CallId:
        assert call_id is not None
        return call_id

    try:
        for _ in range(400):
            clock.advance(rng.choice((0.7, 1.3, 4.1)))
            for key, at in sorted(timers.items(), key=lambda kv: kv[1]):
                if at <= clock.now():
                    del timers[key]
                    await both(m.TimerFired(key))
            who = rng.choice(names)
            kind = rng.random()
            if who not in seen:  # the core's UnknownAgent is the adapter's InvalidTransition
                kind = 0.0
                seen.add(who)
            if kind < 0.1:
                # fixed levels: a re-login changes the core's levels, not the adapter's
                level = 1 + names.index(who)
                await both(m.AgentLogin(who, frozenset({"sales"}), {"sales": level}))
            elif kind < 0.3:
                await both(m.AgentReady(who))
            elif kind < 0.38:
                await both(m.AgentNotReady(who, rng.choice(("break", "lunch"))))
            elif kind < 0.43:
                await both(m.AgentLogout(who))
            elif kind < 0.65:
                calls += 1
                await both(m.EnqueueCall(CallId(f"c{calls}"), SALES, rng.randint(0, 3)))
            elif kind < 0.85 and ringing:
                call_id = rng.choice(sorted(ringing))
                status = await shared.agent_status(who)
                if status is not None and status.call_id == call_id and rng.random() < 0.9:
                    await both(m.AcceptOffer(call_id, who))
            elif kind < 0.95:
                status = await shared.agent_status(who)
                if status is not None and status.call_id is not None:
                    await both(m.CallFinished(status.call_id, who))
            else:
                call_id = CallId(f"c{rng.randint(1, max(1, calls))}")
                if call_id not in ringing:  # ringing: the core gives back the old idle place
                    await both(m.RemoveCall(call_id))
    finally:
        await core.close()
        await shared.close()
    assert compared > 300
