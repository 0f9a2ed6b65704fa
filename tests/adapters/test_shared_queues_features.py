"""The shared-queues port's operations for the core's features (strategies, hold, move,
widening, the RONA limit, positions and answers), on memory and on a real Redis (the contract
suite's fixture); then both driven with the same random operations, every answer compared."""

from __future__ import annotations

import random

import pytest

from contactcenter.ids import AgentId, CallId, QueueId
from contactcenter.sharedqueue import (
    AgentLogin,
    AgentStateConflict,
    MemorySharedQueues,
    QueueCall,
    RedisSharedQueues,
    SharedQueues,
    UnknownAgent,
)
from contactcenter.sharedqueue.ports import MoveTargetLoggedOut, RouteContext, ServiceLevel
from tests.adapters.test_shared_queues_contract import (
    ALICE,
    BOB,
    CAROL,
    SALES,
    SUPPORT,
    T0,
    agent,
    call,
    queues,
    ready_agent,
)

__all__ = ["queues"]  # the fixture, on both implementations

DAY = T0 - 3600.0


async def picks(q: SharedQueues, n: int, at: float, queue: QueueId = SALES) -> list[AgentId]:
    """Enqueue n calls one by one and return the agents they went to."""
    got = []
    for i in range(n):
        c = call(f"p{at}-{i}", at, queue=queue)
        await q.enqueue(c)
        a = await q.assign_for_call(c.call_id, T0 + at, RouteContext(DAY))
        assert a is not None
        got.append(a.agent_id)
    return got


async def test_most_skilled_orders_by_total_level(queues: SharedQueues) -> None:
    await queues.configure_queue(SALES, 0.0, "most_skilled", ["fr", "en"])
    await ready_agent(queues, ALICE, 1, {"fr": 3, "en": 3})
    await ready_agent(queues, BOB, 2, {"fr": 9, "en": 2})
    await ready_agent(queues, CAROL, 3, {"fr": 5})  # en unknown: counts 5
    assert await picks(queues, 3, 10) == [BOB, CAROL, ALICE]


async def test_least_calls_counts_answers_of_the_day(queues: SharedQueues) -> None:
    await queues.configure_queue(SALES, 0.0, "least_calls")
    ctx = RouteContext(DAY)
    for name in (ALICE, BOB):
        await queues.login(agent(name, sales=0), T0)
    await queues.ready(ALICE, T0 + 1, ctx)
    for i in range(2):
        await queues.enqueue(call(f"a{i}", 2 + i))
        got = await queues.assign_for_call(CallId(f"a{i}"), T0 + 2 + i, ctx)
        assert got is not None and got.agent_id == ALICE
        assert await queues.answer(got.call_id, ALICE, T0 + 2 + i, ctx)
        await queues.finish(ALICE, T0 + 2 + i, ready=True, ctx=ctx)
    await queues.ready(BOB, T0 + 10, ctx)  # idle for less time, but no call today
    assert await picks(queues, 1, 11) == [BOB]
    # the next day every count is 0: Alice, idle longest, first
    await queues.finish(BOB, T0 + 12, ready=True, ctx=ctx)
    await queues.enqueue(call("next-day", 20))
    got = await queues.assign_for_call(CallId("next-day"), T0 + 20, RouteContext(DAY + 86400))
    assert got is not None and got.agent_id == ALICE


async def test_round_robin_goes_round_in_login_order(queues: SharedQueues) -> None:
    await queues.configure_queue(SALES, 0.0, "round_robin")
    for name in (CAROL, ALICE, BOB):  # login order: Carol, Alice, Bob
        await queues.login(agent(name, sales=0), T0)
    for name in (BOB, ALICE, CAROL):
        await queues.ready(name, T0 + 1)
    first = await picks(queues, 2, 2)
    assert first == [CAROL, ALICE]
    await queues.finish(CAROL, T0 + 3, ready=True)
    await queues.finish(ALICE, T0 + 3, ready=True)
    assert await picks(queues, 3, 4) == [BOB, CAROL, ALICE]  # after Alice comes Bob


async def test_weighted_random_uses_the_draws_passed(queues: SharedQueues) -> None:
    await queues.configure_queue(SALES, 0.0, "weighted_random", ["sales"])
    for name, level, draw in ((ALICE, 5, 5.0), (BOB, 10, 1.0)):
        await queues.login(agent(name, {"sales": level}, sales=0), T0)
        await queues.ready(name, T0 + 1, RouteContext(DAY, {SALES: draw}))
    assert await picks(queues, 2, 2) == [BOB, ALICE]  # 1/10 before 5/5


async def test_penalty_comes_before_the_strategy(queues: SharedQueues) -> None:
    await queues.configure_queue(SALES, 0.0, "most_skilled", ["sales"])
    await ready_agent(queues, ALICE, 1, {"sales": 10}, sales=1)
    await ready_agent(queues, BOB, 2, {"sales": 2}, sales=0)
    assert await picks(queues, 2, 3) == [BOB, ALICE]


async def test_hold_and_resume(queues: SharedQueues) -> None:
    await ready_agent(queues, ALICE, 1)
    await queues.enqueue(call("c1", 2))
    await queues.assign_for_call(CallId("c1"), T0 + 2)
    with pytest.raises(AgentStateConflict, match="alice"):
        await queues.hold(ALICE, CallId("c1"), True, T0 + 3)  # still ringing
    assert await queues.answer(CallId("c1"), ALICE, T0 + 3)
    assert await queues.hold(ALICE, CallId("c1"), True, T0 + 4)
    assert not await queues.hold(ALICE, CallId("c1"), True, T0 + 5)  # already
    status = await queues.agent(ALICE)
    assert status is not None and (status.state, status.since) == ("on_hold", T0 + 4)
    with pytest.raises(AgentStateConflict):
        await queues.hold(ALICE, CallId("other"), False, T0 + 5)
    with pytest.raises(AgentStateConflict):
        await queues.logout(ALICE)
    assert await queues.finish(ALICE, T0 + 6) == "c1"  # from hold


async def test_move_keeps_the_place_and_gives_back_the_agent(queues: SharedQueues) -> None:
    await ready_agent(queues, ALICE, 1, sales=0, support=0)
    await queues.enqueue(call("early", 2, priority=1))
    await queues.assign_for_call(CallId("early"), T0 + 2)  # rings at Alice
    await queues.enqueue(call("s1", 3, queue=SUPPORT))
    moved = await queues.move(CallId("early"), SUPPORT, {}, None, T0 + 5)
    assert moved is not None and (moved.from_queue, moved.withdrawn) == (SALES, ALICE)
    status = await queues.agent(ALICE)
    assert status is not None and (status.state, status.idle) == ("ready", T0 + 1)
    assert await queues.waiting(SUPPORT, T0 + 5) == ["early", "s1"]  # priority 1 first
    moved_call = await queues.call(CallId("early"))
    assert moved_call is not None and (moved_call.entered_at, moved_call.enqueued_at) == (
        T0 + 5,
        T0 + 2,
    )
    with pytest.raises(MoveTargetLoggedOut, match="bob"):
        await queues.move(CallId("early"), SUPPORT, {}, BOB, T0 + 6)
    assert await queues.move(CallId("early"), SALES, {}, None, T0 + 6, if_queue=SALES) is None
    await queues.login(agent(BOB, sales=0), T0 + 6)
    moved = await queues.move(CallId("early"), SUPPORT, {}, BOB, T0 + 7)  # directed to Bob
    assert moved is not None and moved.withdrawn is None
    got = await queues.assign_for_agent(ALICE, T0 + 8)
    assert got is not None and got.call_id == "s1"  # "early" waits for Bob only
    await queues.ready(BOB, T0 + 9)
    got = await queues.assign_for_agent(BOB, T0 + 9)
    assert got is not None and got.call_id == "early"
    await queues.answer(CallId("early"), BOB, T0 + 10)
    assert await queues.move(CallId("early"), SALES, {}, None, T0 + 11) is None  # answered


async def test_reprofile_widens_a_waiting_call(queues: SharedQueues) -> None:
    await ready_agent(queues, ALICE, 1, {"fr": 4})
    await queues.enqueue(call("c1", 2, skills={"fr": 7}))
    assert await queues.assign_for_call(CallId("c1"), T0 + 2) is None
    assert not await queues.reprofile(CallId("c1"), SALES, T0 + 99, {"fr": 4}, 1)  # stale
    assert await queues.reprofile(CallId("c1"), SALES, T0 + 2, {"fr": 4}, 1)
    info = await queues.call(CallId("c1"))
    assert info is not None and (info.skills, info.step) == ({"fr": 4}, 1)
    got = await queues.assign_for_call(CallId("c1"), T0 + 3)
    assert got is not None and got.agent_id == ALICE


async def test_rona_limit_logs_out_and_an_answer_resets_the_count(queues: SharedQueues) -> None:
    await ready_agent(queues, ALICE, 1)
    for i, (answer, logged_out) in enumerate(((False, False), (True, False), (False, False))):
        await queues.enqueue(call(f"c{i}", 2 + i))
        await queues.ready(ALICE, T0 + 2 + i)
        await queues.assign_for_call(CallId(f"c{i}"), T0 + 2 + i)
        if answer:
            await queues.answer(CallId(f"c{i}"), ALICE, T0 + 2 + i)
            await queues.finish(ALICE, T0 + 2 + i)
            continue
        back = await queues.requeue(CallId(f"c{i}"), T0 + 3 + i, rona_limit=2)
        assert back is not None and back.logged_out is logged_out
        await queues.remove_call(CallId(f"c{i}"))
    await queues.enqueue(call("c9", 9))
    await queues.ready(ALICE, T0 + 9)
    await queues.assign_for_call(CallId("c9"), T0 + 9)
    back = await queues.requeue(CallId("c9"), T0 + 10, rona_limit=2)  # the 2nd in a row
    assert back is not None and back.logged_out and await queues.agent(ALICE) is None
    with pytest.raises(UnknownAgent):
        await queues.ready(ALICE, T0 + 11)


async def test_wait_info_counts_ringing_calls_and_answers(queues: SharedQueues) -> None:
    await ready_agent(queues, ALICE, 1)
    await queues.login(agent(BOB, sales=0), T0)
    for i in range(3):
        await queues.enqueue(call(f"c{i}", 2 + i))
    await queues.assign_for_call(CallId("c0"), T0 + 5)
    info = await queues.wait_info(CallId("c2"), T0 + 6, 900.0)
    assert info is not None and (info.position, info.ringing, info.serving) == (3, False, 2)
    ringing = await queues.wait_info(CallId("c0"), T0 + 6, 900.0)
    assert ringing is not None and (ringing.position, ringing.ringing) == (1, True)
    await queues.answer(CallId("c0"), ALICE, T0 + 7)
    assert await queues.wait_info(CallId("c0"), T0 + 7, 900.0) is None
    info = await queues.wait_info(CallId("c2"), T0 + 8, 900.0)
    assert info is not None and (info.position, info.answers, info.last_answer) == (2, 1, T0 + 7)
    assert await queues.serving(SALES) == 2 and await queues.serving(SUPPORT) == 0


async def test_after_a_move_the_better_ranked_goes_first(queues: SharedQueues) -> None:
    await ready_agent(queues, ALICE, 1)
    await queues.enqueue(call("moved", 2))
    await queues.assign_for_call(CallId("moved"), T0 + 2)  # rings at Alice
    await queues.enqueue(call("urgent", 3, priority=5))  # waits: nobody else
    await queues.move(CallId("moved"), SALES, {}, None, T0 + 4)
    got = await queues.assign_after_move(CallId("moved"), ALICE, T0 + 4)
    assert [(g.call_id, g.agent_id) for g in got] == [("urgent", ALICE)]
    assert await queues.waiting(SALES, T0 + 4) == ["moved"]


@pytest.mark.redis
async def test_memory_and_redis_agree_on_the_feature_operations(
    redis_url: str, redis_prefix: str
) -> None:
    memory = MemorySharedQueues()
    shared = RedisSharedQueues(redis_url, prefix=redis_prefix)
    rng = random.Random(11)
    qids = [QueueId(f"q{i}") for i in range(5)]
    strategies = ["least_calls", "most_skilled", "round_robin", "weighted_random", "ring_all"]
    agents = [AgentId(f"a{i}") for i in range(8)]
    skills = ["en", "fr"]
    compared = 0

    async def both(op: str, *args: object, **kwargs: object) -> object:
        nonlocal compared
        results = []
        for impl in (memory, shared):
            try:
                results.append(("ok", await getattr(impl, op)(*args, **kwargs)))
            except (AgentStateConflict, UnknownAgent, MoveTargetLoggedOut) as exc:
                results.append((type(exc).__name__, str(exc)))
        assert results[0] == results[1], (op, args, results)
        compared += 1
        return results[0][1] if results[0][0] == "ok" else None

    try:
        for i, q in enumerate(qids):
            await both("configure_queue", q, 0.05 * i, strategies[i], skills)
        for who in agents:
            await both(
                "login", AgentLogin(who, {"en": 3 + agents.index(who)}, {q: 0 for q in qids}), T0
            )
        now, calls = T0, 0
        for _ in range(3000):
            now += rng.choice((0.0, 0.5, 3.0))
            ctx = RouteContext(
                DAY + 86400 * (now > T0 + 1500), {q: rng.expovariate(1.0) for q in qids}
            )
            who = rng.choice(agents)
            pick = CallId(f"c{rng.randint(1, max(1, calls))}")
            kind = rng.random()
            if kind < 0.08:
                calls += 1
                need = {"en": rng.randint(1, 4)} if rng.random() < 0.5 else {}
                target = rng.choice(agents) if rng.random() < 0.1 else None
                c = QueueCall(
                    CallId(f"c{calls}"), rng.choice(qids), rng.randint(0, 3), now, need, target
                )
                await both("enqueue", c)
                await both("offers_for_call", c.call_id, now, ctx)
            elif kind < 0.11:
                login = AgentLogin(
                    who,
                    {s: rng.randint(1, 10) for s in rng.sample(skills, rng.randint(1, 2))},
                    {q: rng.randint(0, 2) for q in rng.sample(qids, rng.randint(1, 4))},
                )
                await both("login", login, now, ctx)
            elif kind < 0.41:
                await both("ready", who, now, ctx)
                await both("offers_for_agent", who, now, ctx)
            elif kind < 0.53:
                await both("answer", pick, who, now, ctx)
                held = await memory.assignment(pick)
                if held is not None:
                    await both("answer", pick, held.agent_id, now, ctx)
            elif kind < 0.68:
                await both("finish", who, now, ready=rng.random() < 0.5, ctx=ctx)
            elif kind < 0.71:
                await both("hold", who, pick, rng.random() < 0.5, now)
            elif kind < 0.75:
                await both("requeue", pick, now, rona_limit=rng.choice((None, 0, 2)))
            elif kind < 0.8:
                target = rng.choice(agents) if rng.random() < 0.3 else None
                moved = await both("move", pick, rng.choice(qids), {"en": 2}, target, now)
                if moved is not None and moved.withdrawn is not None:  # type: ignore[attr-defined]
                    await both("assign_after_move", pick, moved.withdrawn, now, ctx)  # type: ignore[attr-defined]
            elif kind < 0.83:
                info = await memory.call(pick)
                if info is not None and info.entered_at is not None:
                    await both("reprofile", pick, info.queue_id, info.entered_at, {}, 1)
            elif kind < 0.86:
                await both("withdraw_all", pick, now)
            elif kind < 0.88:
                await both("logout", who)
            elif kind < 0.94:
                await both("remove_call", pick)
            else:
                await both("wait_info", pick, now, 900.0)
                await both("agent", who)
                await both("call", pick)
            if _ % 50 == 0:
                for q in qids:
                    await both("waiting", q, now)
                    await both("serving", q)
    finally:
        await shared.close()
    assert compared > 4000


async def test_ring_all_offers_to_every_ready_agent_of_the_lowest_penalty(
    queues: SharedQueues,
) -> None:
    await queues.configure_queue(SALES, 0.0, "ring_all")
    await ready_agent(queues, BOB, 2, sales=0)
    await ready_agent(queues, ALICE, 1, sales=0)
    await ready_agent(queues, CAROL, 3, sales=1)  # a higher penalty: not rung
    await queues.enqueue(call("c1", 4))
    got = await queues.offers_for_call(CallId("c1"), T0 + 4)
    assert [g.agent_id for g in got] == [ALICE, BOB]  # longest idle first
    assert len({g.seq for g in got}) == 1
    back = await queues.requeue(CallId("c1"), T0 + 19, agent_id=ALICE)  # Alice's RONA
    assert back is not None and back.agent_id == ALICE
    assert await queues.waiting_count(SALES) == 0  # still ringing at Bob
    answered = await queues.answer(CallId("c1"), BOB, T0 + 20)
    assert answered is not None and answered.others == ()
    await queues.ready(ALICE, T0 + 21)
    await queues.enqueue(call("c2", 22))
    got = await queues.offers_for_call(CallId("c2"), T0 + 22)
    assert [g.agent_id for g in got] == [ALICE]  # Carol has a higher penalty


async def test_ring_all_first_answer_wins_and_a_caller_who_leaves_frees_all(
    queues: SharedQueues,
) -> None:
    await queues.configure_queue(SALES, 0.0, "ring_all")
    for i, name in enumerate((ALICE, BOB, CAROL)):
        await ready_agent(queues, name, 1 + i)
    await queues.enqueue(call("c1", 5))
    await queues.offers_for_call(CallId("c1"), T0 + 5)
    answered = await queues.answer(CallId("c1"), BOB, T0 + 6)
    assert answered is not None and answered.others == (ALICE, CAROL)
    for name, idle in ((ALICE, T0 + 1), (CAROL, T0 + 3)):
        status = await queues.agent(name)
        assert status is not None and (status.state, status.idle) == ("ready", idle)
    await queues.enqueue(call("c2", 7))
    got = await queues.offers_for_call(CallId("c2"), T0 + 7)
    assert [g.agent_id for g in got] == [ALICE, CAROL]
    assert await queues.withdraw_all(CallId("c2"), T0 + 8) == [ALICE, CAROL]
    assert await queues.waiting_count(SALES) == 0
    await queues.enqueue(call("c3", 9))
    moved = await queues.move(CallId("c3"), SUPPORT, {}, None, T0 + 9)
    assert moved is not None and moved.all_withdrawn == ()


async def test_borrowing_while_the_lenders_service_level_is_met(queues: SharedQueues) -> None:
    sl = ServiceLevel(threshold_s=10.0, target=0.5, window_s=600.0, short_abandon_s=5.0)
    await queues.configure_queue(SALES, 0.0, borrow_from=[SUPPORT])
    await queues.configure_queue(SUPPORT, 0.0, lends_to=[SALES], service_level=sl)
    await ready_agent(queues, BOB, 1, support=0)  # serves support only
    await queues.enqueue(call("s1", 2))
    got = await queues.offers_for_call(CallId("s1"), T0 + 2)  # no outcome yet: lends
    assert [(g.call_id, g.agent_id, g.queue_id) for g in got] == [("s1", BOB, SALES)]
    await queues.answer(CallId("s1"), BOB, T0 + 3)  # a sales answer: support's SL unchanged
    await queues.finish(BOB, T0 + 4, ready=True)
    for i, wait in enumerate((30.0, 40.0)):  # two support calls answered late: SL 0 < 0.5
        c = call(f"late{i}", 10 + i, queue=SUPPORT)
        await queues.enqueue(c)
        await queues.assign_for_call(c.call_id, T0 + 10 + i + wait)
        await queues.answer(c.call_id, BOB, T0 + 10 + i + wait)
        await queues.finish(BOB, T0 + 10 + i + wait, ready=True)
    await queues.enqueue(call("s2", 60))
    assert await queues.offers_for_call(CallId("s2"), T0 + 60) == []  # SL missed: no lending
    assert await queues.offers_for_agent(BOB, T0 + 61) == []
    c = call("fast", 62, queue=SUPPORT)  # answered at once: 1 of 3 met, still below
    await queues.enqueue(c)
    await queues.assign_for_call(c.call_id, T0 + 62)
    await queues.answer(c.call_id, BOB, T0 + 62)
    c = call("fast2", 63, queue=SUPPORT)  # 2 of 4 met: 0.5, the target: lends again
    await queues.enqueue(c)
    await queues.finish(BOB, T0 + 63, ready=True)
    await queues.assign_for_call(c.call_id, T0 + 63)
    await queues.answer(c.call_id, BOB, T0 + 63)
    await queues.finish(BOB, T0 + 64, ready=True)
    got = await queues.serve_borrowers(SUPPORT, T0 + 64)
    assert [(g.call_id, g.agent_id) for g in got] == [("s2", BOB)]
