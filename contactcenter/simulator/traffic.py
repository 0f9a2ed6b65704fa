"""Inbound traffic: Poisson arrivals of simulated callers with exponential patience and talk
times, a mix of known customers, unknown numbers and withheld caller IDs. Seeded, so a run is
repeatable (the arrival pattern and every caller's draw; not the server's answers)."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass

from contactcenter.simulator.pbx import SimulatedPbx
from contactcenter.simulator.truth import GroundTruth

__all__ = ["CallerDraw", "TrafficGenerator"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CallerDraw:
    """One simulated caller, as drawn before the call is placed."""

    gap_s: float
    caller_number: str | None
    patience_s: float
    talk_s: float


class TrafficGenerator:
    """Places calls on `pbx` at `rate_per_s` (mean) until `n_calls` or `duration_s`.

    `unknown_share` of the callers are not in `known_numbers`: most of them present a random
    number, `withheld_share` of them (default one in five) present none.
    """

    def __init__(
        self,
        pbx: SimulatedPbx,
        *,
        rate_per_s: float,
        patience_mean_s: float,
        talk_mean_s: float,
        known_numbers: Sequence[str],
        unknown_share: float,
        dnid: str = "100",
        seed: int,
        withheld_share: float = 0.2,
        digits: Sequence[str] | None = None,
    ) -> None:
        if rate_per_s <= 0:
            raise ValueError("rate_per_s must be positive")
        if not 0.0 <= unknown_share <= 1.0 or not 0.0 <= withheld_share <= 1.0:
            raise ValueError("shares are between 0 and 1")
        self._pbx = pbx
        self._rate = rate_per_s
        self._patience_mean = patience_mean_s
        self._talk_mean = talk_mean_s
        self._known = list(known_numbers)
        self._unknown_share = unknown_share if self._known else 1.0
        self._withheld_share = withheld_share
        self._dnid = dnid
        self._digits = list(digits) if digits is not None else None
        self._rng = random.Random(seed)
        self.placed = 0

    def _number(self) -> str | None:
        rng = self._rng
        if rng.random() >= self._unknown_share:
            return rng.choice(self._known)
        if rng.random() < self._withheld_share:
            return None
        return "555" + "".join(str(rng.randrange(10)) for _ in range(7))

    def draw(self) -> CallerDraw:
        """The next caller (advances the generator)."""
        rng = self._rng
        return CallerDraw(
            gap_s=rng.expovariate(self._rate),
            caller_number=self._number(),
            patience_s=rng.expovariate(1.0 / self._patience_mean)
            if self._patience_mean > 0
            else 0.0,
            talk_s=rng.expovariate(1.0 / self._talk_mean) if self._talk_mean > 0 else 0.0,
        )

    async def run(self, n_calls: int | None = None, duration_s: float | None = None) -> GroundTruth:
        """Place calls until `n_calls` have arrived or `duration_s` of arrivals have passed (at
        least one limit is required), then wait for every call to end."""
        if n_calls is None and duration_s is None:
            raise ValueError("give n_calls or duration_s")
        truth = GroundTruth()
        tasks: list[asyncio.Task[None]] = []
        elapsed = 0.0
        try:
            while n_calls is None or len(tasks) < n_calls:
                caller = self.draw()
                if duration_s is not None and elapsed + caller.gap_s > duration_s:
                    break
                await asyncio.sleep(caller.gap_s)
                elapsed += caller.gap_s
                tasks.append(asyncio.ensure_future(self._one(caller, truth)))
                self.placed += 1
            if tasks:
                await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
        truth.calls.sort(key=lambda c: c.seq)
        return truth

    async def _one(self, caller: CallerDraw, truth: GroundTruth) -> None:
        result = await self._pbx.place_call(
            caller.caller_number,
            self._dnid,
            caller.patience_s,
            caller.talk_s,
            list(self._digits) if self._digits is not None else None,
        )
        truth.add(result)
