"""One LiveState contract suite, run on memory and on a real Redis (the `live_state` fixture)."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from contactcenter.ids import AgentId, CallId, QueueId
from contactcenter.livestate import (
    LiveStateUnavailable,
    MemoryLiveState,
    RedisLiveState,
    open_live_state,
)
from contactcenter.ports import AgentSnapshot, LiveState, QueueCounters, WaitingCall

T0 = 1_800_000_000.0
SALES, SUPPORT = QueueId("sales"), QueueId("support")
ALICE, BOB = AgentId("alice"), AgentId("bob")
REDIS = "redis://127.0.0.1:6379/15"  # never connected to here


def _waiting(call: str, queued_at: float, queue: QueueId = SALES, **kw: object) -> WaitingCall:
    return WaitingCall(CallId(call), queue, queued_at, **kw)  # type: ignore[arg-type]


# --- agents -----------------------------------------------------------------------------------


async def test_agents_put_list_and_remove(live_state: LiveState) -> None:
    assert await live_state.agents() == []
    bob = AgentSnapshot(BOB, "Bob", "ready", T0, queues=(SALES, SUPPORT))
    alice = AgentSnapshot(ALICE, "Alice", "talking", T0 + 1.5, call_id=CallId("c1"))
    await live_state.put_agent(bob)
    await live_state.put_agent(alice)
    assert await live_state.agents() == [alice, bob]

    on_break = AgentSnapshot(ALICE, "Alice", "not_ready", T0 + 9.25, reason="break")
    await live_state.put_agent(on_break)  # replaces, and forgets the old call_id
    assert await live_state.agents() == [on_break, bob]

    await live_state.remove_agent(ALICE)
    await live_state.remove_agent(AgentId("nobody"))
    assert await live_state.agents() == [bob]


# --- waiting calls ----------------------------------------------------------------------------


async def test_waiting_calls_come_oldest_first_per_queue(live_state: LiveState) -> None:
    late = _waiting("c3", T0 + 30, caller_number="+15550100003")
    early = _waiting("c1", T0 + 10, priority=5, customer_name="Ada")
    middle = _waiting("c2", T0 + 20)
    other = _waiting("c9", T0, queue=SUPPORT)
    for call in (late, early, other, middle):
        await live_state.put_waiting(call)
    assert await live_state.waiting(SALES) == [early, middle, late]
    assert await live_state.waiting(SUPPORT) == [other]
    assert await live_state.waiting(QueueId("empty")) == []


async def test_putting_a_waiting_call_again_updates_it(live_state: LiveState) -> None:
    await live_state.put_waiting(_waiting("c1", T0 + 10))
    await live_state.put_waiting(_waiting("c2", T0 + 20))
    requeued = _waiting("c1", T0 + 30, priority=9)
    await live_state.put_waiting(requeued)
    assert [c.call_id for c in await live_state.waiting(SALES)] == ["c2", "c1"]
    assert (await live_state.waiting(SALES))[1] == requeued


async def test_remove_waiting_says_whether_the_call_was_there(live_state: LiveState) -> None:
    await live_state.put_waiting(_waiting("c1", T0))
    await live_state.put_waiting(_waiting("c2", T0 + 1))
    assert await live_state.remove_waiting(SALES, CallId("c1")) is True
    assert await live_state.remove_waiting(SALES, CallId("c1")) is False
    assert await live_state.remove_waiting(SUPPORT, CallId("c2")) is False
    assert [c.call_id for c in await live_state.waiting(SALES)] == ["c2"]


# --- counters ---------------------------------------------------------------------------------


async def test_counters_are_per_queue_and_per_day(live_state: LiveState) -> None:
    day, next_day = "2027-01-15", "2027-01-16"
    assert await live_state.counters(SALES, day) == QueueCounters()
    assert await live_state.incr(SALES, day, "offered") == 1
    assert await live_state.incr(SALES, day, "offered") == 2
    assert await live_state.incr(SALES, day, "answered", by=3) == 3
    assert await live_state.incr(SALES, day, "rona") == 1
    await live_state.incr(SALES, next_day, "offered")
    await live_state.incr(SUPPORT, day, "abandoned")

    assert await live_state.counters(SALES, day) == QueueCounters(
        offered=2, answered=3, extra={"rona": 1}
    )
    assert await live_state.counters(SALES, next_day) == QueueCounters(offered=1)
    assert await live_state.counters(SUPPORT, day) == QueueCounters(abandoned=1)


# --- claims -----------------------------------------------------------------------------------


async def test_exactly_one_of_50_concurrent_claims_wins(live_state: LiveState) -> None:
    calls = [CallId(f"call-{i}") for i in range(50)]
    results = await asyncio.gather(*(live_state.claim_agent(ALICE, c) for c in calls))
    assert sum(results) == 1
    winner = calls[results.index(True)]
    assert await live_state.claim_agent(ALICE, winner) is True  # a retry by the winner
    assert await live_state.claim_agent(ALICE, CallId("late")) is False
    assert await live_state.claim_agent(BOB, CallId("late")) is True  # other agents are free


async def test_only_the_claiming_call_releases_the_agent(live_state: LiveState) -> None:
    assert await live_state.claim_agent(ALICE, CallId("c1"))
    await live_state.release_agent(ALICE, CallId("c2"))  # not its claim: no effect
    assert await live_state.claim_agent(ALICE, CallId("c2")) is False
    await live_state.release_agent(ALICE, CallId("c1"))
    assert await live_state.claim_agent(ALICE, CallId("c2")) is True
    await live_state.release_agent(BOB, CallId("c2"))  # never claimed: no error


# --- Redis only: several server processes -----------------------------------------------------


@pytest.mark.redis
async def test_two_redis_clients_never_give_one_agent_two_calls(
    redis_url: str, redis_prefix: str
) -> None:
    node_a = RedisLiveState(redis_url, prefix=redis_prefix)
    node_b = RedisLiveState(redis_url, prefix=redis_prefix)
    try:
        for round_ in range(10):
            agent = AgentId(f"agent-{round_}")
            claims = [
                node.claim_agent(agent, CallId(f"{name}-{i}"))
                for i in range(25)
                for name, node in (("a", node_a), ("b", node_b))
            ]
            assert sum(await asyncio.gather(*claims)) == 1
        # what one node writes, the other sees
        await node_a.put_waiting(_waiting("c1", T0))
        assert await node_b.remove_waiting(SALES, CallId("c1")) is True
        assert await node_a.waiting(SALES) == []
    finally:
        await node_a.close()
        await node_b.close()


@pytest.mark.redis
async def test_redis_counters_expire_after_three_days(redis_url: str, redis_prefix: str) -> None:
    state = RedisLiveState(redis_url, prefix=redis_prefix)
    client = aioredis.Redis.from_url(redis_url)
    try:
        await state.incr(SALES, "2027-01-15", "offered")
        ttl = await client.ttl(f"{redis_prefix}queue:sales:counters:2027-01-15")
        assert 3 * 86400 - 60 < ttl <= 3 * 86400
    finally:
        await client.aclose()
        await state.close()


async def test_an_unreachable_redis_is_a_live_state_error() -> None:
    state = RedisLiveState("redis://127.0.0.1:1/0")  # nothing listens on port 1
    try:
        with pytest.raises(LiveStateUnavailable):
            await state.agents()
    finally:
        await state.close()


async def test_open_live_state_picks_the_backend() -> None:
    for url, kind in ((None, MemoryLiveState), ("", MemoryLiveState), (REDIS, RedisLiveState)):
        state = open_live_state(url)
        try:
            assert isinstance(state, kind)
        finally:
            await state.close()
