"""Run the ACD core on virtual time: the timer half of the shell, without a loop.

`VirtualAcd` keeps the timers the core asks for (`ScheduleTimer` / `CancelTimer`) and, when
virtual time moves on, delivers each due `TimerFired` at its deadline, in deadline order, as the
async shell's `loop.call_later` would. Tests, the simulator and the benchmarks drive the real
core with it, faster than real time.
"""

from __future__ import annotations

import heapq

from acd import messages as m
from acd.core import AcdCore


class VirtualAcd:
    def __init__(self, core: AcdCore, now: float = 0.0) -> None:
        self.core = core
        self.now = now
        self.timers: dict[str, float] = {}  # pending timers: key -> deadline
        self._heap: list[tuple[float, str]] = []  # (deadline, key); stale when not in timers

    def submit(self, msg: m.Input) -> list[m.Output]:
        """Feed one input at the current virtual time. Core errors propagate."""
        return self._track(self.core.handle(msg, self.now))

    def next_timer_at(self) -> float | None:
        heap = self._heap
        while heap and self.timers.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def advance_to(self, at: float) -> list[m.Output]:
        """Move time to `at`, firing every timer due by then at its own deadline."""
        if at < self.now:
            raise ValueError("virtual time does not go backwards")
        out: list[m.Output] = []
        while (due := self.next_timer_at()) is not None and due <= at:
            key = heapq.heappop(self._heap)[1]
            del self.timers[key]
            self.now = max(self.now, due)
            out += self._track(self.core.handle(m.TimerFired(key), self.now))
        self.now = at
        return out

    def advance(self, seconds: float) -> list[m.Output]:
        return self.advance_to(self.now + seconds)

    def track(self, outputs: list[m.Output]) -> list[m.Output]:
        """Keep the timers of outputs the caller got from `core.handle(msg, self.now)` itself
        (the routing benchmark times the core's handle alone)."""
        return self._track(outputs)

    def _track(self, outputs: list[m.Output]) -> list[m.Output]:
        for out in outputs:
            if isinstance(out, m.ScheduleTimer):
                self.timers[out.key] = out.at
                heapq.heappush(self._heap, (out.at, out.key))
            elif isinstance(out, m.CancelTimer):
                self.timers.pop(out.key, None)
        return outputs
