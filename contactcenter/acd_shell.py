"""What every ACD of the server does with the outputs of a decision, whichever backend decided
(`AcdService`: the in-process core; `SharedAcdService`: the Redis shared queues; `ClusterAcd`:
a cluster node's view of the latter): timers become `loop.call_later` (their firing is the input
`TimerFired`), and commands and events go to the handler the app set for them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from acd import messages as m
from contactcenter.clock import Clock
from contactcenter.tasks import stop_tasks

logger = logging.getLogger(__name__)

OfferHandler = Callable[[m.OfferCall], Awaitable[None]]
WithdrawHandler = Callable[[m.WithdrawOffer], Awaitable[None]]
StateHandler = Callable[[m.AgentStateChanged], Awaitable[None]]
RonaHandler = Callable[[m.OfferTimedOut], Awaitable[None]]
OverflowHandler = Callable[[m.CallOverflowed], Awaitable[None]]
MovedHandler = Callable[[m.CallMoved], Awaitable[None]]


class AcdShell:
    """Output handlers, timers and their tasks. Subclasses implement `submit`."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.on_offer: OfferHandler | None = None
        self.on_offer_withdrawn: WithdrawHandler | None = None
        self.on_agent_state: StateHandler | None = None
        self.on_offer_timed_out: RonaHandler | None = None
        self.on_overflow: OverflowHandler | None = None
        self.on_call_moved: MovedHandler | None = None

    async def submit(self, message: m.Input) -> list[m.Output]:
        raise NotImplementedError

    async def _execute(self, outputs: list[m.Output]) -> None:
        """Carry out a decision's outputs, in order."""
        for out in outputs:
            if isinstance(out, m.ScheduleTimer):
                self._schedule(out.key, out.at)
            elif isinstance(out, m.CancelTimer):
                handle = self._timers.pop(out.key, None)
                if handle is not None:
                    handle.cancel()
            else:
                await self._notify(out)

    def _handler(self, out: object) -> Callable[[Any], Awaitable[None]] | None:
        if isinstance(out, m.OfferCall):
            return self.on_offer
        if isinstance(out, m.WithdrawOffer):
            return self.on_offer_withdrawn
        if isinstance(out, m.AgentStateChanged):
            return self.on_agent_state
        if isinstance(out, m.OfferTimedOut):
            return self.on_offer_timed_out
        if isinstance(out, m.CallOverflowed):
            return self.on_overflow
        if isinstance(out, m.CallMoved):
            return self.on_call_moved
        return None

    async def _notify(self, out: object) -> None:
        """One command or event to its handler; a failing handler is logged, never raised
        into the decision that produced it."""
        if isinstance(out, m.AgentSkillUnused):
            logger.warning(
                "agent %s logged in with skills no queue uses: %s",
                out.agent_id,
                ", ".join(sorted(out.skills)),
            )
            return
        handler = self._handler(out)
        if handler is None:
            return
        try:
            await handler(out)
        except Exception:
            logger.exception("ACD output handler failed on %r", out)

    def _schedule(self, key: str, at: float) -> None:
        old = self._timers.pop(key, None)
        if old is not None:
            old.cancel()
        delay = max(0.0, at - self._clock.now())
        self._timers[key] = asyncio.get_running_loop().call_later(delay, self._fire, key)

    def _fire(self, key: str) -> None:
        self._timers.pop(key, None)
        task = asyncio.get_running_loop().create_task(self._fire_async(key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _fire_async(self, key: str) -> None:
        try:
            await self.submit(m.TimerFired(key))
        except Exception:
            logger.exception("ACD timer %s failed", key)

    async def close(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for task in list(self._tasks):
            task.cancel()
        await stop_tasks(set(self._tasks))
