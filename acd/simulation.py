"""Discrete-event simulation of callers and agents around the REAL ACD core, on virtual time.

The core (`AcdCore`, driven through `VirtualAcd`) does all the routing: the simulation only
plays the world around it. Callers arrive in Poisson streams, one per queue; each brings an
Exp(aht) service time and, when patience is modelled, an Exp(patience) deadline after which
it hangs up (`RemoveCall`) if still queued. Agents accept every offer at once (`AcceptOffer`
at the offer's time) and, with the queues' wrap-up set to 0, are Ready again as soon as their
call ends (`CallFinished`). FCFS and longest-idle are the core's own policies.

Everything is pure and seeded: each queue's callers come from their own `random.Random`
(inter-arrival, service and patience drawn in that order per call), so two scenarios that
differ only in their agents see exactly the same callers (common random numbers).

Measurement: the calls that arrive in [warmup, warmup + horizon) are counted, each until it
is answered or abandons; calls arriving later are not generated (with FCFS routing a later
caller never changes an earlier one's wait). Replications are independent runs (separate
seeds, each with its own warm-up); a figure's 95% confidence interval is the replications'
mean +- t(0.975, R-1) s / sqrt(R).
"""

from __future__ import annotations

import heapq
import math
import random
import statistics
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from acd import messages as m
from acd.core import AcdCore
from acd.model import QueueConfig
from acd.virtual import VirtualAcd
from contactcenter.ids import AgentId, CallId, QueueId


@dataclass(frozen=True, slots=True)
class QueueSpec:
    id: str
    rate: float  # arrivals per second
    skills: frozenset[str]


@dataclass(frozen=True, slots=True)
class Scenario:
    queues: tuple[QueueSpec, ...]
    agents: tuple[frozenset[str], ...]  # one skill set per agent
    aht_s: float
    patience_s: float | None = None  # mean of Exp patience; None: nobody abandons
    warmup_s: float = 3600.0
    horizon_s: float = 8 * 3600.0
    threshold_s: float = 20.0


@dataclass(slots=True)
class CallRecord:
    call_id: CallId
    queue_id: QueueId
    queued_at: float
    service_s: float
    patience_s: float
    answered_at: float | None = None
    abandoned_at: float | None = None
    agent_id: AgentId | None = None

    @property
    def wait_s(self) -> float | None:
        end = self.answered_at if self.answered_at is not None else self.abandoned_at
        return None if end is None else end - self.queued_at


@dataclass(frozen=True, slots=True)
class Figures:
    """Queue figures over a set of calls, as defined in docs/metrics.md (no short abandons)."""

    offered: int
    answered: int
    abandoned: int
    p_wait: float  # calls not answered on arrival / offered
    service_level: float  # answered with wait <= T / offered
    asa: float  # mean wait of answered calls
    p_abandon: float  # abandoned / offered


def figures(calls: Iterable[CallRecord], threshold_s: float) -> Figures:
    offered = answered = abandoned = waited = within = 0
    wait_sum = 0.0
    for c in calls:
        offered += 1
        if c.answered_at is not None:
            answered += 1
            w = c.answered_at - c.queued_at
            wait_sum += w
            within += w <= threshold_s
            waited += w > 0.0
        elif c.abandoned_at is not None:
            abandoned += 1
            waited += 1
        else:
            raise ValueError(f"call {c.call_id} is unresolved")
    if offered == 0:
        raise ValueError("no calls")
    return Figures(
        offered=offered,
        answered=answered,
        abandoned=abandoned,
        p_wait=waited / offered,
        service_level=within / offered,
        asa=wait_sum / answered if answered else 0.0,
        p_abandon=abandoned / offered,
    )


@dataclass(slots=True)
class RunResult:
    calls: list[CallRecord]  # the counted calls, in arrival order
    threshold_s: float

    def figures(self, queue_id: str | None = None) -> Figures:
        calls = (
            self.calls if queue_id is None else [c for c in self.calls if c.queue_id == queue_id]
        )
        return figures(calls, self.threshold_s)


_ARRIVAL, _FINISH, _ABANDON = 0, 1, 2


@dataclass(slots=True)
class _Sim:
    scenario: Scenario
    seed: str
    acd: VirtualAcd = field(init=False)
    events: list[tuple[float, int, int, int]] = field(default_factory=list)
    calls: list[CallRecord] = field(default_factory=list)  # every call, by arrival
    waiting: dict[CallId, int] = field(default_factory=dict)  # call -> index in `calls`
    counted: list[CallRecord] = field(default_factory=list)
    unresolved: int = 0
    seq: int = 0
    rngs: list[random.Random] = field(default_factory=list)

    def __post_init__(self) -> None:
        s = self.scenario
        configs = {
            QueueId(q.id): QueueConfig(QueueId(q.id), q.id, q.skills, wrapup_s=0.0)
            for q in s.queues
        }
        self.acd = VirtualAcd(AcdCore(configs))
        self.rngs = [random.Random(f"{self.seed}/queue/{q.id}") for q in s.queues]

    def push(self, at: float, kind: int, ref: int) -> None:
        self.seq += 1
        heapq.heappush(self.events, (at, self.seq, kind, ref))

    def run(self) -> RunResult:
        s = self.scenario
        end = s.warmup_s + s.horizon_s
        for i, skills in enumerate(s.agents):
            agent = AgentId(f"a{i}")
            self.apply(self.acd.submit(m.AgentLogin(agent, skills)))
            self.apply(self.acd.submit(m.AgentReady(agent)))
        for qi, q in enumerate(s.queues):
            self.push(self.rngs[qi].expovariate(q.rate), _ARRIVAL, qi)
        calls = self.calls
        while self.events:
            at, _, kind, ref = heapq.heappop(self.events)
            if at >= end and self.unresolved == 0:
                break
            self.apply(self.acd.advance_to(at))
            if kind == _ARRIVAL:
                if at >= end:
                    continue  # no new callers after the horizon; the counted ones finish
                self.arrive(ref, at)
            elif kind == _FINISH:
                rec = calls[ref]
                self.apply(self.acd.submit(m.CallFinished(rec.call_id, _agent(rec))))
            else:
                rec = calls[ref]
                if rec.answered_at is None:
                    rec.abandoned_at = at
                    del self.waiting[rec.call_id]
                    self.resolve(rec)
                    self.apply(self.acd.submit(m.RemoveCall(rec.call_id)))
        return RunResult(self.counted, s.threshold_s)

    def arrive(self, qi: int, at: float) -> None:
        s = self.scenario
        q = s.queues[qi]
        rng = self.rngs[qi]
        self.push(at + rng.expovariate(q.rate), _ARRIVAL, qi)
        service = rng.expovariate(1.0 / s.aht_s)
        patience = math.inf if s.patience_s is None else rng.expovariate(1.0 / s.patience_s)
        n = len(self.calls)
        rec = CallRecord(CallId(f"c{n}"), QueueId(q.id), at, service, patience)
        self.calls.append(rec)
        self.waiting[rec.call_id] = n
        if at >= s.warmup_s:
            self.counted.append(rec)
            self.unresolved += 1
        if patience != math.inf:
            self.push(at + patience, _ABANDON, n)
        self.apply(self.acd.submit(m.EnqueueCall(rec.call_id, rec.queue_id)))

    def resolve(self, rec: CallRecord) -> None:
        if rec.queued_at >= self.scenario.warmup_s:
            self.unresolved -= 1

    def apply(self, outputs: list[m.Output]) -> None:
        pending = deque(outputs)
        while pending:
            out = pending.popleft()
            if isinstance(out, m.OfferCall):
                n = self.waiting.pop(out.call_id)
                rec = self.calls[n]
                now = self.acd.now
                rec.answered_at, rec.agent_id = now, out.agent_id
                self.resolve(rec)
                pending.extend(self.acd.submit(m.AcceptOffer(out.call_id, out.agent_id)))
                self.push(now + rec.service_s, _FINISH, n)
            elif isinstance(out, m.OfferTimedOut | m.WithdrawOffer):
                # Offers are accepted at once, so none can time out or be withdrawn.
                raise AssertionError(f"unexpected output from the core: {out}")


def _agent(rec: CallRecord) -> AgentId:
    assert rec.agent_id is not None
    return rec.agent_id


def simulate(scenario: Scenario, seed: str | int) -> RunResult:
    """One run of the scenario."""
    return _Sim(scenario, str(seed)).run()


# --- replications and confidence intervals -----------------------------------------------

# t(0.975, df) for df = 1..30; beyond that a Cornish-Fisher expansion around z = 1.959964.
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def t975(df: int) -> float:
    """Student's t 0.975 quantile (two-sided 95%)."""
    if df < 1:
        raise ValueError("df >= 1")
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959964
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


@dataclass(frozen=True, slots=True)
class Estimate:
    mean: float
    half_width: float  # of the 95% confidence interval
    values: tuple[float, ...]  # one per replication

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    def covers(self, value: float) -> bool:
        return self.low <= value <= self.high

    def __str__(self) -> str:
        return f"{self.mean:.4f} +- {self.half_width:.4f}"


def estimate(values: Sequence[float]) -> Estimate:
    if len(values) < 2:
        raise ValueError("need at least two replications for a confidence interval")
    mean = statistics.fmean(values)
    half = t975(len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    return Estimate(mean, half, tuple(values))


@dataclass(frozen=True, slots=True)
class Estimates:
    p_wait: Estimate
    service_level: Estimate
    asa: Estimate
    p_abandon: Estimate
    offered: int  # counted calls over all replications


def replicate(
    scenario: Scenario,
    replications: int,
    seed: str | int = 0,
    queue_id: str | None = None,
) -> Estimates:
    """Independent replications; figures over all queues, or over `queue_id` only."""
    runs = [simulate(scenario, f"{seed}/rep{r}") for r in range(replications)]
    return estimates([run.figures(queue_id) for run in runs])


def estimates(per_run: Sequence[Figures]) -> Estimates:
    return Estimates(
        p_wait=estimate([f.p_wait for f in per_run]),
        service_level=estimate([f.service_level for f in per_run]),
        asa=estimate([f.asa for f in per_run]),
        p_abandon=estimate([f.p_abandon for f in per_run]),
        offered=sum(f.offered for f in per_run),
    )


def single_skill(
    agents: int,
    rate: float,
    aht_s: float,
    patience_s: float | None = None,
    *,
    warmup_s: float = 3600.0,
    horizon_s: float = 8 * 3600.0,
) -> Scenario:
    """S1: one queue, `agents` agents with its one skill."""
    q = QueueSpec("q", rate, frozenset({"s"}))
    return Scenario((q,), (frozenset({"s"}),) * agents, aht_s, patience_s, warmup_s, horizon_s)
