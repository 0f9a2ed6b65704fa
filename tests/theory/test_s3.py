"""S3 (docs METRICS.md): 100 agents, 3 skills, 0.5 calls/s split evenly over three queues (one
skill each), Exp(180 s) service, patience Exp(120 s), through the real ACD core on virtual
time. Skills routing (every agent has 2 of the 3 skills, 33/33/34 per pair) comes close to
one pooled group (Erlang A: SL20 .980, P(ab) 1.01%); three dedicated pools of 33/33/34 agents
are clearly worse (Erlang A per pool: .878/.878/.908 and 3.97/3.97/3.03%). Both scenarios see
the same callers (common random numbers). Seeded: the run is reproducible.
"""

from __future__ import annotations

import pytest

from acd.simulation import Estimates, QueueSpec, Scenario, replicate
from reports.erlang import erlang_a

AHT, PATIENCE, T = 180.0, 120.0, 20.0
TOTAL_RATE = 0.5
SKILLS = ("a", "b", "c")
QUEUES = tuple(QueueSpec(f"q{s}", TOTAL_RATE / 3, frozenset({s})) for s in SKILLS)
REPLICATIONS = 10
WARMUP_S, HORIZON_S = 3600.0, 10 * 3600.0

# Skills routing: 33 agents with {a, b}, 33 with {b, c}, 34 with {a, c}.
SKILLED = (
    (frozenset({"a", "b"}),) * 33 + (frozenset({"b", "c"}),) * 33 + (frozenset({"a", "c"}),) * 34
)
# Dedicated pools: 33 for a, 33 for b, 34 for c.
DEDICATED = (frozenset({"a"}),) * 33 + (frozenset({"b"}),) * 33 + (frozenset({"c"}),) * 34


def _scenario(agents: tuple[frozenset[str], ...]) -> Scenario:
    return Scenario(QUEUES, agents, AHT, PATIENCE, WARMUP_S, HORIZON_S, T)


@pytest.fixture(scope="module")
def runs() -> dict[str, Estimates]:
    assert len(SKILLED) == len(DEDICATED) == 100
    return {
        "skills": replicate(_scenario(SKILLED), REPLICATIONS, seed="s3"),
        "dedicated": replicate(_scenario(DEDICATED), REPLICATIONS, seed="s3"),
    }


def test_s3_skills_routing_against_pooled_and_dedicated(runs: dict[str, Estimates]) -> None:
    pooled = erlang_a(100, TOTAL_RATE, AHT, PATIENCE, T)
    pools = [erlang_a(n, TOTAL_RATE / 3, AHT, PATIENCE, T) for n in (33, 33, 34)]
    # equal arrival rates: the three pools together are the plain average
    ded_sl = sum(p.service_level for p in pools) / 3
    ded_ab = sum(p.p_abandon for p in pools) / 3
    skills, dedicated = runs["skills"], runs["dedicated"]

    print(f"\nS3: {REPLICATIONS} replications x {HORIZON_S / 3600:.0f} h per scenario, 95% CIs")
    print(f"  {'routing':<22} {'SL20':>20} {'P(ab) %':>20} {'ASA s':>18}")
    for name, est in (("skills (2 of 3)", skills), ("dedicated 33/33/34", dedicated)):
        sl = est.service_level
        print(
            f"  {name + ' sim':<22} {sl.mean:8.4f} +- {sl.half_width:.4f}"
            f"  {100 * est.p_abandon.mean:8.3f} +- {100 * est.p_abandon.half_width:.3f}"
            f"  {est.asa.mean:7.2f} +- {est.asa.half_width:.2f}"
        )
    print(
        f"  {'pooled Erlang A':<22} {pooled.service_level:8.4f}{'':10}"
        f"  {100 * pooled.p_abandon:8.3f}{'':9}  {pooled.asa:7.2f}"
    )
    print(f"  {'dedicated Erlang A':<22} {ded_sl:8.4f}{'':10}  {100 * ded_ab:8.3f}{'':9}")

    # Skills routing: nearly the pooled figures.
    assert skills.service_level.mean >= 0.97
    assert skills.p_abandon.mean <= 0.012
    # Dedicated pools: clearly worse (the intervals do not overlap) ...
    assert dedicated.service_level.high < skills.service_level.low
    assert dedicated.p_abandon.low > skills.p_abandon.high
    # ... in METRICS.md's ranges (.88-.91 and 3-4%, with a tolerance) ...
    assert 0.87 <= dedicated.service_level.mean <= 0.92
    assert 0.028 <= dedicated.p_abandon.mean <= 0.042
    # ... and, being three independent M/M/n+M queues, on Erlang A within the CI.
    assert dedicated.service_level.covers(ded_sl)
    assert dedicated.p_abandon.covers(ded_ab)
