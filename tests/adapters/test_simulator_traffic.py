"""Traffic: seeded Poisson arrivals against a FastAGI server that holds every caller on music."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
from collections.abc import AsyncIterator

import pytest

from contactcenter.clock import SystemClock
from contactcenter.simulator import AgiTiming, SimulatedPbx
from contactcenter.simulator.__main__ import parse_args
from contactcenter.simulator.traffic import TrafficGenerator

KNOWN = ["5550101", "5550102", "5550103"]


async def _hold_forever(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A FastAGI script that answers, plays music, and closes once the call is lost."""
    with contextlib.suppress(ConnectionError):
        while await reader.readline() not in (b"\n", b""):
            pass
        for cmd in (b"ANSWER\n", b"EXEC MusicOnHold default\n"):
            writer.write(cmd)
            await reader.readline()
    writer.close()


@pytest.fixture
async def pbx() -> AsyncIterator[SimulatedPbx]:
    server = await asyncio.start_server(_hold_forever, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    sim = SimulatedPbx(SystemClock(), agi_host="127.0.0.1", agi_port=port, timing=AgiTiming())
    await sim.start()
    yield sim
    await sim.close()
    server.close()
    await server.wait_closed()


def _generator(
    pbx: SimulatedPbx, seed: int, rate_per_s: float = 200.0, patience_mean_s: float = 0.05
) -> TrafficGenerator:
    return TrafficGenerator(
        pbx,
        rate_per_s=rate_per_s,
        patience_mean_s=patience_mean_s,
        talk_mean_s=1.0,
        known_numbers=KNOWN,
        unknown_share=0.5,
        seed=seed,
    )


async def test_unanswered_callers_abandon_after_their_patience(pbx: SimulatedPbx) -> None:
    truth = await _generator(pbx, seed=7).run(n_calls=30)
    assert len(truth.calls) == 30
    assert truth.outcomes() == {"abandoned": 30}
    assert all(c.hung_up_by == "caller" and c.arrived_at is not None for c in truth.calls)
    assert [c.seq for c in truth.calls] == sorted(c.seq for c in truth.calls)
    waits = [c.wait_s for c in truth.calls if c.wait_s is not None]
    assert len(waits) == 30 and statistics.mean(waits) < 1.0
    numbers = [c.caller_number for c in truth.calls]
    assert any(n in KNOWN for n in numbers) and any(n not in KNOWN for n in numbers)
    assert len({c.uniqueid for c in truth.calls}) == 30


def test_draws_are_seeded_and_exponential() -> None:
    pbx = SimulatedPbx(SystemClock(), agi_host="127.0.0.1", agi_port=1)
    gen1 = _generator(pbx, seed=3, rate_per_s=2.0, patience_mean_s=30.0)
    gen2 = _generator(pbx, seed=3, rate_per_s=2.0, patience_mean_s=30.0)
    draws = [gen1.draw() for _ in range(4000)]
    assert draws == [gen2.draw() for _ in range(4000)]
    assert statistics.mean(d.gap_s for d in draws) == pytest.approx(0.5, rel=0.1)
    assert statistics.mean(d.patience_s for d in draws) == pytest.approx(30.0, rel=0.1)
    numbers = [d.caller_number for d in draws]
    known = sum(n in KNOWN for n in numbers) / len(numbers)
    withheld = sum(n is None for n in numbers) / len(numbers)
    assert known == pytest.approx(0.5, abs=0.05)
    assert withheld == pytest.approx(0.1, abs=0.03)  # a fifth of the unknown half


async def test_duration_limits_arrivals(pbx: SimulatedPbx) -> None:
    truth = await _generator(pbx, seed=1, rate_per_s=100.0).run(duration_s=0.2)
    assert 5 <= len(truth.calls) <= 50


def test_cli_arguments() -> None:
    args = parse_args(["--agi", "10.0.0.5:4600", "--ami-port", "5039", "--rate", "2", "--calls",
                       "7"])  # fmt: skip
    assert (args.agi, args.ami_port, args.rate, args.calls) == (("10.0.0.5", 4600), 5039, 2.0, 7)
    with pytest.raises(SystemExit):
        parse_args(["--agi", "nope"])
