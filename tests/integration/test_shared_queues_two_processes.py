"""Two server nodes (two OS processes) route 10,000 calls to 200 agents through one Redis.

Each node enqueues its own 5,000 calls and asks for an agent for each; it "talks" each call it
was given for a few milliseconds, then finishes it with the agent ready again and asks for the
agent's next call, so agents move between the nodes all the time. Each node writes its own log
of what it did (every enqueue, assignment and finish, with the system-wide monotonic time
before the request and after the reply). The test then checks, from those logs only:

* every call was assigned exactly once (no call twice, none left out);
* no agent held two calls at once: for each agent, in the order of the assignment numbers, the
  request that finished call k was sent before the reply assigning call k+1 arrived (a reply
  that came back before the previous call's finish was even sent means two calls at once), and
  each assignment was finished exactly once;
* every agent met the call's skill minimums;
* both nodes made many assignments, and many agents got calls from both nodes.

A node is started as `python -m tests.integration.test_shared_queues_two_processes NODE ...`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from contactcenter.ids import AgentId, CallId, QueueId
from contactcenter.sharedqueue import AgentLogin, Assignment, QueueCall, RedisSharedQueues

CALLS = 10_000
AGENTS = 200
NODES = 2
QUEUES = [QueueId("q0"), QueueId("q1")]
SKILLS = ["en", "fr", "de", "es"]
SEED = 20261129
NODE_DEADLINE_S = 100.0
ROOT = Path(__file__).resolve().parents[2]


def agent_logins() -> list[AgentLogin]:
    rng = random.Random(SEED)
    logins = []
    for i in range(AGENTS):
        skills = {s: rng.randint(1, 10) for s in rng.sample(SKILLS, 2)}
        queues = {q: rng.randint(0, 1) for q in rng.sample(QUEUES, rng.randint(1, 2))}
        logins.append(AgentLogin(AgentId(f"agent{i:03d}"), skills, queues))
    return logins


def node_calls(node: int, count: int) -> list[QueueCall]:
    rng = random.Random(SEED + 1 + node)
    calls = []
    for i in range(count):
        skills = {rng.choice(SKILLS): rng.randint(1, 4)} if rng.random() < 0.5 else {}
        calls.append(
            QueueCall(
                CallId(f"n{node}-{i:05d}"),
                rng.choice(QUEUES),
                rng.randint(0, 3),
                time.time(),
                skills,
            )
        )
    return calls


# --- one node (runs in its own process) ------------------------------------------------------


async def run_node(node: int, redis_url: str, prefix: str, log_path: str, count: int) -> int:
    shared = RedisSharedQueues(redis_url, prefix=prefix)
    rng = random.Random(SEED + 100 + node)
    log: list[str] = []
    in_flight: set[asyncio.Task[None]] = set()
    deadline = time.monotonic() + NODE_DEADLINE_S

    def write(**record: Any) -> None:
        log.append(json.dumps(record) + "\n")

    def logged(assignment: Assignment | None, t0: float) -> None:
        if assignment is not None:
            write(
                ev="assign",
                call=assignment.call_id,
                agent=assignment.agent_id,
                seq=assignment.seq,
                t0=t0,
                t1=time.monotonic(),
                node=node,
            )
            task = asyncio.create_task(talk(assignment))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)

    async def talk(assignment: Assignment) -> None:
        while assignment is not None:
            await asyncio.sleep(rng.uniform(0.0, 0.004))
            t0 = time.monotonic()
            ended = await shared.finish(assignment.agent_id, time.time(), ready=True)
            write(ev="finish", agent=assignment.agent_id, call=ended, t0=t0, t1=time.monotonic())
            t0 = time.monotonic()
            got = await shared.assign_for_agent(assignment.agent_id, time.time())
            if got is None:
                return
            write(
                ev="assign",
                call=got.call_id,
                agent=got.agent_id,
                seq=got.seq,
                t0=t0,
                t1=time.monotonic(),
                node=node,
            )
            assignment = got

    try:
        for call in node_calls(node, count):
            call = QueueCall(call.call_id, call.queue_id, call.priority, time.time(), call.skills)
            await shared.enqueue(call)
            write(ev="enqueue", call=call.call_id, skills=dict(call.skills))
            t0 = time.monotonic()
            logged(await shared.assign_for_call(call.call_id, time.time()), t0)
            await asyncio.sleep(0)
        # Arrivals done: keep serving until no call waits anywhere and our calls are finished.
        while time.monotonic() < deadline:
            if not in_flight:
                waiting = sum([await shared.waiting_count(q) for q in QUEUES])
                if waiting == 0:
                    return 0
            await asyncio.sleep(0.01)
        write(ev="deadline")
        return 3
    finally:
        for task in in_flight:
            task.cancel()
        Path(log_path).write_text("".join(log), encoding="utf-8")  # noqa: ASYNC240 (at exit)
        await shared.close()


# --- the test ----------------------------------------------------------------------------------


@pytest.mark.redis
async def test_two_nodes_never_double_assign(
    redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    logins = agent_logins()
    for q in QUEUES:  # every call this test makes has agents who can take it
        for skill in SKILLS:
            assert any(q in a.queues and a.skills.get(skill, 0) >= 4 for a in logins), (q, skill)
    shared = RedisSharedQueues(redis_url, prefix=redis_prefix)
    try:
        for login in logins:
            await shared.login(login, time.time())
            await shared.ready(login.agent_id, time.time())
    finally:
        await shared.close()

    logs = [tmp_path / f"node{n}.jsonl" for n in range(NODES)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    started = time.monotonic()
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.integration.test_shared_queues_two_processes",
            str(n),
            redis_url,
            redis_prefix,
            str(logs[n]),
            str(CALLS // NODES),
            cwd=ROOT,
            env=env,
            stderr=asyncio.subprocess.PIPE,
        )
        for n in range(NODES)
    ]
    codes = []
    for proc in procs:
        try:
            _, err = await asyncio.wait_for(proc.communicate(), NODE_DEADLINE_S + 30)
        except TimeoutError:
            proc.kill()
            _, err = await proc.communicate()
        codes.append((proc.returncode, err.decode(errors="replace")[-2000:]))
    elapsed = time.monotonic() - started
    assert all(code == 0 for code, _ in codes), codes

    records = [json.loads(line) for path in logs for line in path.read_text().splitlines()]
    check_logs(records, {a.agent_id: dict(a.skills) for a in logins})
    print(f"two nodes routed {CALLS} calls in {elapsed:.1f} s")


def check_logs(records: list[dict[str, Any]], skills: dict[str, dict[str, int]]) -> None:
    enqueued = {r["call"]: r["skills"] for r in records if r["ev"] == "enqueue"}
    assigns = [r for r in records if r["ev"] == "assign"]
    finishes = [r for r in records if r["ev"] == "finish"]
    assert len(enqueued) == CALLS

    # every call assigned exactly once
    per_call = Counter(r["call"] for r in assigns)
    twice = [c for c, n in per_call.items() if n > 1]
    assert not twice, f"calls assigned more than once: {twice[:10]}"
    missing = set(enqueued) - set(per_call)
    assert not missing, f"{len(missing)} calls never assigned, e.g. {sorted(missing)[:10]}"
    assert set(per_call) == set(enqueued)
    assert len({r["seq"] for r in assigns}) == len(assigns), "assignment numbers repeat"

    # skills
    for r in assigns:
        have = skills[r["agent"]]
        for skill, level in enqueued[r["call"]].items():
            assert have.get(skill, 0) >= level, (r, have)

    # one call at a time per agent
    finish_of: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for f in finishes:
        finish_of[(f["agent"], f["call"])].append(f)
    by_agent: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in assigns:
        by_agent[r["agent"]].append(r)
    for agent, held in by_agent.items():
        held.sort(key=lambda r: r["seq"])
        for r in held:
            assert len(finish_of[(agent, r["call"])]) == 1, (
                agent,
                r,
                finish_of[(agent, r["call"])],
            )
        for before, after in itertools.pairwise(held):
            finish = finish_of[(agent, before["call"])][0]
            assert finish["t0"] < after["t1"], (
                f"{agent} got {after['call']} (reply at {after['t1']}) before {before['call']} "
                f"was finished (request at {finish['t0']}): two calls at once"
            )
    assert len(finishes) == len(assigns)

    # the two nodes really shared the work
    per_node = Counter(r["node"] for r in assigns)
    assert all(per_node[n] > CALLS // 10 for n in range(NODES)), per_node
    both = sum(1 for held in by_agent.values() if len({r["node"] for r in held}) == NODES)
    assert both > AGENTS // 2, f"only {both} agents got calls from both nodes"


if __name__ == "__main__":
    node_index, url, key_prefix, path, per_node = sys.argv[1:6]
    sys.exit(asyncio.run(run_node(int(node_index), url, key_prefix, path, int(per_node))))
