"""S1 (docs METRICS.md): one skill, FCFS, N = 50 at rho = 0.90, AHT 180 s, through the real
ACD core on virtual time. The Erlang figure must lie inside the simulation's 95% confidence
interval (independent replications, warm-up discarded). Seeded: the run is reproducible.

A 95% interval misses the true value 1 time in 20 for an arbitrary seed; the seed is fixed,
and an offline study of 40 runs per scenario put the replication means within one standard
error of Erlang C and Erlang A for every figure.
"""

from __future__ import annotations

import pytest

from acd.simulation import Estimate, Estimates, replicate, single_skill
from reports.erlang import erlang_a, erlang_c_figures

N, RHO, AHT, T = 50, 0.90, 180.0, 20.0
LAM = RHO * N / AHT  # 0.25 calls/s
REPLICATIONS = 12
WARMUP_S, HORIZON_S = 3600.0, 20 * 3600.0


def _row(name: str, sim: Estimate, theory: float, scale: float = 1.0) -> str:
    lo, hi = sim.low * scale, sim.high * scale
    mark = "ok" if sim.covers(theory) else "MISS"
    return (
        f"  {name:<10} sim {sim.mean * scale:8.4f}  95% CI [{lo:8.4f}, {hi:8.4f}]"
        f"  Erlang {theory * scale:8.4f}  {mark}"
    )


@pytest.fixture(scope="module")
def erlang_c_run() -> Estimates:
    scenario = single_skill(N, LAM, AHT, None, warmup_s=WARMUP_S, horizon_s=HORIZON_S)
    return replicate(scenario, REPLICATIONS, seed="s1-c")


@pytest.fixture(scope="module")
def erlang_a_run() -> Estimates:
    scenario = single_skill(N, LAM, AHT, 60.0, warmup_s=WARMUP_S, horizon_s=HORIZON_S)
    return replicate(scenario, REPLICATIONS, seed="s1-a")


def test_s1_matches_erlang_c(erlang_c_run: Estimates) -> None:
    c = erlang_c_figures(N, LAM, AHT, T)
    sim = erlang_c_run
    print(
        f"\nS1 Erlang C: N={N}, rho={RHO}, {REPLICATIONS} x {HORIZON_S / 3600:.0f} h, "
        f"{sim.offered} calls"
    )
    print(_row("P(wait)", sim.p_wait, c.p_wait))
    print(_row("SL20", sim.service_level, c.service_level))
    print(_row("ASA s", sim.asa, c.asa))
    assert sim.p_abandon.mean == 0.0
    assert sim.p_wait.covers(c.p_wait)
    assert sim.service_level.covers(c.service_level)
    assert sim.asa.covers(c.asa)
    # and the intervals are narrow enough to mean something
    assert sim.p_wait.half_width < 0.05
    assert sim.service_level.half_width < 0.05
    assert sim.asa.half_width < 4.0


def test_s1_with_patience_matches_erlang_a(erlang_a_run: Estimates) -> None:
    a = erlang_a(N, LAM, AHT, 60.0, T)
    sim = erlang_a_run
    print(
        f"\nS1 Erlang A: N={N}, rho={RHO}, patience Exp(60 s), "
        f"{REPLICATIONS} x {HORIZON_S / 3600:.0f} h, {sim.offered} calls"
    )
    print(_row("P(wait)", sim.p_wait, a.p_wait))
    print(_row("SL20", sim.service_level, a.service_level))
    print(_row("ASA s", sim.asa, a.asa))
    print(_row("P(ab)", sim.p_abandon, a.p_abandon))
    assert sim.p_abandon.covers(a.p_abandon)
    assert sim.p_wait.covers(a.p_wait)
    assert sim.service_level.covers(a.service_level)
    assert sim.asa.covers(a.asa)
    assert sim.p_abandon.half_width < 0.005
