"""Erlang staffing formulas (docs/metrics.md, "Staffing (Erlang)"). Pure: no I/O, no clock.

Notation: `lam` arrivals per second, `aht` mean handling time in seconds (mu = 1/aht),
a = lam * aht the offered load in Erlangs, `n` agents, `t` the service-level threshold in
seconds, `patience` the callers' mean patience in seconds (theta = 1/patience).

* Erlang B by the recursion B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1)).
* Erlang C (M/M/N, nobody abandons): C = N B / (N - a (1 - B)); SL(T) = 1 - C e^{-(N-a)T/AHT};
  ASA = C AHT / (N - a).
* Erlang A (M/M/N+M, patience Exp(theta)): the birth-death chain of the number of callers in
  the system, birth rate lam, death rate min(n, N) mu + max(n - N, 0) theta, solved exactly up
  to a truncation point beyond which the stationary mass is below 1e-18 of the peak. By PASTA
  an arrival sees the stationary distribution, so P(wait) = P(n >= N) and
  P(ab) = theta E[Q] / lam.

  A caller who finds k others queued ahead waits for k + 1 "moves": with j ahead the next move
  comes at rate r_j = N mu + j theta (a service completion or an abandon ahead), the last
  (j = 0) at rate N mu; the caller's own patience runs out at rate theta meanwhile. So the time
  to reach an agent is V_k = sum_{j<=k} Exp(r_j) and the caller is answered iff V_k < patience:
    P(answered | k) = L_k(theta) = prod_j r_j / (r_j + theta)        (Laplace transform of V_k)
    E[wait; answered | k] = E[V_k e^{-theta V_k}] = L_k(theta) sum_j 1 / (r_j + theta)
  which give the answered fraction and the ASA exactly. SL(T) = P(answered with wait <= T)
  needs the distribution of V_k killed at rate theta: it is computed by uniformization of that
  small absorbing chain (stages k, k-1, ..., 0, then "answered"; killing = "abandoned"), with
  the Poisson series summed until its tail is below 1e-13. That is exact up to that tolerance.

Service level follows docs/metrics.md: answered within T / offered (short abandons are not
modelled here, so nothing is taken off the denominator). `ErlangA.sl_of_answered` is the
"answered within T / answered" variant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

_TAIL_LOG = math.log(1e-18)  # stationary mass dropped beyond the truncation point, vs the peak
_MAX_STATES = 2_000_000
_POISSON_TAIL = 1e-13


def erlang_b(n: int, a: float) -> float:
    """Blocking probability of M/M/n/n with offered load a (Erlangs)."""
    if n < 0 or a < 0:
        raise ValueError("n and a must be non-negative")
    b = 1.0
    for k in range(1, n + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(n: int, a: float) -> float:
    """Probability that a caller waits in M/M/n (needs a < n)."""
    _check_stable(n, a)
    b = erlang_b(n, a)
    return n * b / (n - a * (1.0 - b))


def erlang_c_service_level(n: int, a: float, aht: float, t: float) -> float:
    """P(wait <= t) in M/M/n: 1 - C exp(-(n - a) t / aht)."""
    return 1.0 - erlang_c(n, a) * math.exp(-(n - a) * t / aht)


def erlang_c_asa(n: int, a: float, aht: float) -> float:
    """Mean wait of all callers in M/M/n (everybody is answered): C aht / (n - a)."""
    return erlang_c(n, a) * aht / (n - a)


@dataclass(frozen=True, slots=True)
class ErlangC:
    n: int
    load: float  # a, Erlangs
    p_wait: float
    service_level: float
    asa: float
    occupancy: float


def erlang_c_figures(n: int, lam: float, aht: float, t: float = 20.0) -> ErlangC:
    a = lam * aht
    return ErlangC(
        n=n,
        load=a,
        p_wait=erlang_c(n, a),
        service_level=erlang_c_service_level(n, a, aht, t),
        asa=erlang_c_asa(n, a, aht),
        occupancy=a / n,
    )


def agents_for_service_level(lam: float, aht: float, t: float, target: float) -> int:
    """The fewest agents whose Erlang C service level SL(t) reaches `target` (0 < target < 1)."""
    if not 0.0 < target < 1.0:
        raise ValueError("target must lie strictly between 0 and 1")
    if lam <= 0 or aht <= 0:
        raise ValueError("lam and aht must be positive")
    a = lam * aht
    n = math.floor(a) + 1
    while erlang_c_service_level(n, a, aht, t) < target:
        n += 1
    return n


@dataclass(frozen=True, slots=True)
class ErlangA:
    n: int
    load: float  # a, Erlangs
    p_wait: float  # P(an arrival finds all agents busy)
    p_abandon: float  # theta E[Q] / lam
    service_level: float  # P(answered with wait <= t), i.e. answered within t / offered
    sl_of_answered: float  # answered within t / answered
    asa: float  # mean wait of answered callers
    mean_wait: float  # mean wait of all callers (answered or not): E[Q] / lam (Little)
    mean_queue: float  # E[Q]
    occupancy: float  # E[busy agents] / n


def erlang_a(n: int, lam: float, aht: float, patience: float, t: float = 20.0) -> ErlangA:
    """M/M/n+M with mean patience `patience` seconds (math.inf: nobody abandons; then a < n)."""
    if n < 1 or lam <= 0 or aht <= 0 or patience <= 0 or t < 0:
        raise ValueError("need n >= 1 and positive lam, aht, patience; t >= 0")
    mu = 1.0 / aht
    theta = 0.0 if math.isinf(patience) else 1.0 / patience
    a = lam * aht
    if theta == 0.0:
        _check_stable(n, a)
    pi = _stationary(n, lam, mu, theta)
    queue = pi[n:]  # queue[k]: an arrival finds n + k in the system, k queued ahead
    p_wait = math.fsum(queue)
    mean_queue = math.fsum(k * p for k, p in enumerate(queue))
    busy = math.fsum(min(i, n) * p for i, p in enumerate(pi))

    # Answered fraction and E[wait; answered] from the Laplace transform of V_k at theta.
    answered_waiting = 0.0
    wait_answered = 0.0
    lk = 1.0
    inv_sum = 0.0
    for k, p in enumerate(queue):
        r = n * mu + k * theta
        lk *= r / (r + theta)
        inv_sum += 1.0 / (r + theta)
        answered_waiting += p * lk
        wait_answered += p * lk * inv_sum
    p_answered = (1.0 - p_wait) + answered_waiting
    p_abandon = theta * mean_queue / lam
    answered_within = (1.0 - p_wait) + _answered_within(queue, n * mu, theta, t)
    return ErlangA(
        n=n,
        load=a,
        p_wait=p_wait,
        p_abandon=p_abandon,
        service_level=answered_within,
        sl_of_answered=answered_within / p_answered,
        asa=wait_answered / p_answered,
        mean_wait=mean_queue / lam,
        mean_queue=mean_queue,
        occupancy=busy / n,
    )


def _check_stable(n: int, a: float) -> None:
    if n < 1 or a <= 0:
        raise ValueError("need n >= 1 and a > 0")
    if a >= n:
        raise ValueError(f"unstable without abandonment: load {a:.3f} >= {n} agents")


def _stationary(n: int, lam: float, mu: float, theta: float) -> list[float]:
    """Stationary distribution of the M/M/n+M chain, truncated where the mass is negligible."""
    logs = [0.0]
    top = 0.0
    for i in range(1, _MAX_STATES):
        death = min(i, n) * mu + max(i - n, 0) * theta
        logs.append(logs[-1] + math.log(lam / death))
        top = max(top, logs[-1])
        # Past n the ratio lam/death falls monotonically; stop once it is < 1 and the mass
        # has fallen far below the peak.
        if i >= n and lam < death and logs[-1] < top + _TAIL_LOG:
            break
    else:
        raise ValueError("the chain needs too many states; check the parameters")
    weights = [math.exp(x - top) for x in logs]
    total = math.fsum(weights)
    return [w / total for w in weights]


def _answered_within(queue: list[float], n_mu: float, theta: float, t: float) -> float:
    """sum_k queue[k] P(V_k <= t and V_k < patience), by uniformization.

    The tagged caller's stage is the number queued ahead; from stage j it moves to j - 1 at
    rate n_mu + j theta (stage 0 moves to "answered" at n_mu) and is killed at rate theta.
    """
    if t == 0.0 or not queue:
        return 0.0
    top = len(queue) - 1
    rate = n_mu + top * theta + theta  # uniformization rate >= every stage's total out-rate
    stay = [1.0 - (n_mu + j * theta + theta) / rate for j in range(top + 1)]
    move = [(n_mu + j * theta) / rate for j in range(top + 1)]
    mass = list(queue)
    answered = 0.0
    lt = rate * t
    result = 0.0
    covered = 0.0
    step = 0
    while True:
        weight = math.exp(-lt + step * math.log(lt) - math.lgamma(step + 1))
        result += weight * answered
        covered += weight
        if step > lt and 1.0 - covered < _POISSON_TAIL:
            break
        # one uniformized step
        answered += mass[0] * move[0]
        new = [mass[j] * stay[j] for j in range(top + 1)]
        for j in range(1, top + 1):
            new[j - 1] += mass[j] * move[j]
        mass = new
        step += 1
        if step > lt + 50.0 * math.sqrt(lt) + 100:
            break  # covered is within rounding of 1; the tail is below any tolerance
    return result
