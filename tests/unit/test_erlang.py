"""Erlang B / C / A against docs/metrics.md's reference values and against each other."""

from __future__ import annotations

import math

import pytest

from reports.erlang import (
    agents_for_service_level,
    erlang_a,
    erlang_b,
    erlang_c,
    erlang_c_asa,
    erlang_c_figures,
    erlang_c_service_level,
)

AHT = 180.0


def test_erlang_b_small_cases() -> None:
    assert erlang_b(0, 3.0) == 1.0
    assert erlang_b(1, 1.0) == pytest.approx(0.5)
    # B(2, 1) = (1/2) / (1 + 1 + 1/2)
    assert erlang_b(2, 1.0) == pytest.approx(0.2)
    assert erlang_b(10, 5.0) == pytest.approx(0.018384, abs=1e-6)


@pytest.mark.parametrize(
    ("n", "p_wait", "sl20", "asa"),
    [(50, 0.364, 0.791, 13.1), (100, 0.217, 0.929, 3.9)],
)
def test_erlang_c_reference_values(n: int, p_wait: float, sl20: float, asa: float) -> None:
    lam = 0.90 * n / AHT
    c = erlang_c_figures(n, lam, AHT, 20.0)
    assert round(c.p_wait, 3) == p_wait
    assert round(c.service_level, 3) == sl20
    assert round(c.asa, 1) == asa
    assert c.occupancy == pytest.approx(0.90)


def test_erlang_c_formula_pieces_agree() -> None:
    a = 45.0
    c = erlang_c(50, a)
    assert erlang_c_service_level(50, a, AHT, 0.0) == pytest.approx(1.0 - c)
    assert erlang_c_asa(50, a, AHT) == pytest.approx(c * AHT / 5.0)
    # M/M/1: P(wait) = rho
    assert erlang_c(1, 0.7) == pytest.approx(0.7)


def test_erlang_c_refuses_an_unstable_load() -> None:
    with pytest.raises(ValueError, match="unstable"):
        erlang_c(10, 10.0)


@pytest.mark.parametrize("n", [10, 50, 100])
def test_erlang_a_without_abandonment_is_erlang_c(n: int) -> None:
    lam = 0.9 * n / AHT
    a = erlang_a(n, lam, AHT, math.inf, 20.0)
    c = erlang_c_figures(n, lam, AHT, 20.0)
    assert a.p_abandon == 0.0
    assert a.p_wait == pytest.approx(c.p_wait, rel=1e-9)
    assert a.service_level == pytest.approx(c.service_level, rel=1e-9)
    assert a.asa == pytest.approx(c.asa, rel=1e-9)
    assert a.occupancy == pytest.approx(0.9, rel=1e-9)


def test_erlang_a_tends_to_erlang_c_as_patience_grows() -> None:
    lam = 0.25
    c = erlang_c_figures(50, lam, AHT)
    a = erlang_a(50, lam, AHT, 1e9)
    assert a.service_level == pytest.approx(c.service_level, abs=1e-5)
    assert a.asa == pytest.approx(c.asa, rel=1e-4)


def test_erlang_a_s3_pooled_reference() -> None:
    """METRICS.md S3: 100 agents, 0.5 calls/s, AHT 180 s, patience Exp(120 s): SL20 .980,
    P(ab) 1.01%."""
    a = erlang_a(100, 0.5, AHT, 120.0, 20.0)
    assert round(a.service_level, 3) == 0.980
    assert round(100 * a.p_abandon, 2) == 1.01


@pytest.mark.parametrize(("n", "sl", "p_ab"), [(33, 0.878, 0.0397), (34, 0.908, 0.0303)])
def test_erlang_a_s3_dedicated_pools(n: int, sl: float, p_ab: float) -> None:
    """METRICS.md S3: a dedicated pool of 33 or 34 agents for 1/6 call/s: .88-.91 and 3-4%."""
    a = erlang_a(n, 0.5 / 3, AHT, 120.0, 20.0)
    assert a.service_level == pytest.approx(sl, abs=5e-4)
    assert a.p_abandon == pytest.approx(p_ab, abs=5e-5)
    assert 0.87 < a.service_level < 0.91
    assert 0.03 <= a.p_abandon <= 0.04


@pytest.mark.parametrize(
    ("n", "lam", "patience"),
    [(1, 0.01, 60.0), (10, 0.06, 30.0), (50, 0.25, 60.0), (20, 0.2, 100.0)],
)
def test_erlang_a_flow_balance(n: int, lam: float, patience: float) -> None:
    """Everyone offered is answered or abandons: the answered fraction from the tagged-caller
    Laplace transforms and P(ab) = theta E[Q] / lam must add up to 1; the busy agents must
    equal lam x P(answered) x AHT (Little); and SL grows to the answered fraction."""
    a = erlang_a(n, lam, AHT, patience, 20.0)
    p_answered = a.service_level / a.sl_of_answered
    assert p_answered + a.p_abandon == pytest.approx(1.0, abs=1e-12)
    assert a.occupancy * n == pytest.approx(lam * p_answered * AHT, rel=1e-9)
    far = erlang_a(n, lam, AHT, patience, 3000.0)
    assert far.service_level == pytest.approx(p_answered, abs=1e-9)
    assert a.service_level < far.service_level
    # mean wait of all callers (Little) = answered callers' share + abandoned callers' share
    assert a.mean_wait >= p_answered * a.asa


def test_erlang_a_service_level_against_a_direct_integration() -> None:
    """SL(T) by uniformization against the same tagged-caller chain integrated forward by
    RK4 with a small step: an independent numerical method."""
    n, lam, aht, patience, t = 5, 0.04, 100.0, 50.0, 20.0
    a = erlang_a(n, lam, aht, patience, t)
    mu, theta = 1.0 / aht, 1.0 / patience
    # stationary distribution by the same recursion, long enough to be exact
    w = [1.0]
    for i in range(1, 60):
        w.append(w[-1] * lam / (min(i, n) * mu + max(i - n, 0) * theta))
    total = sum(w)
    pi = [x / total for x in w]
    queue = pi[n:]
    k_max = len(queue)

    def deriv(state: list[float]) -> list[float]:
        mass, _ = state[:-1], state[-1]
        d = [0.0] * (k_max + 1)
        for j, p in enumerate(mass):
            out_rate = n * mu + j * theta
            d[j] -= (out_rate + theta) * p
            if j == 0:
                d[-1] += out_rate * p
            else:
                d[j - 1] += out_rate * p
        return d

    state = [*queue, 0.0]
    h = 0.01
    for _ in range(round(t / h)):
        k1 = deriv(state)
        k2 = deriv([s + h / 2 * k for s, k in zip(state, k1, strict=True)])
        k3 = deriv([s + h / 2 * k for s, k in zip(state, k2, strict=True)])
        k4 = deriv([s + h * k for s, k in zip(state, k3, strict=True)])
        state = [
            s + h / 6 * (p + 2 * q + 2 * r + u)
            for s, p, q, r, u in zip(state, k1, k2, k3, k4, strict=True)
        ]
    expected = (1.0 - sum(queue)) + state[-1]
    assert a.service_level == pytest.approx(expected, abs=1e-9)


def test_agents_for_service_level() -> None:
    # 0.25 calls/s x 180 s = 45 Erlangs; N=50 gives .791, so 80/20 needs more than 50.
    n = agents_for_service_level(0.25, AHT, 20.0, 0.80)
    assert erlang_c_service_level(n, 45.0, AHT, 20.0) >= 0.80
    assert erlang_c_service_level(n - 1, 45.0, AHT, 20.0) < 0.80
    assert n == 51
    assert agents_for_service_level(0.5, AHT, 20.0, 0.929) == 101  # .9286 at 100
    with pytest.raises(ValueError):
        agents_for_service_level(0.5, AHT, 20.0, 1.0)
