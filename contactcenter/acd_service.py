"""The async shell around the pure ACD core: it feeds inputs in, turns timer requests into
`loop.call_later`, and hands the core's commands and events to the services that act on them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from acd import messages as m
from acd.core import AcdCore
from acd.errors import AcdError
from acd.model import QueueStatus
from acd.state import AgentView
from contactcenter.clock import Clock
from contactcenter.ids import AgentId, CallId, QueueId
from contactcenter.tasks import stop_tasks

logger = logging.getLogger(__name__)


OfferHandler = Callable[[m.OfferCall], Awaitable[None]]
WithdrawHandler = Callable[[m.WithdrawOffer], Awaitable[None]]
StateHandler = Callable[[m.AgentStateChanged], Awaitable[None]]
RonaHandler = Callable[[m.OfferTimedOut], Awaitable[None]]
OverflowHandler = Callable[[m.CallOverflowed], Awaitable[None]]
MovedHandler = Callable[[m.CallMoved], Awaitable[None]]


class Acd(Protocol):
    """What the server needs of its ACD, whichever backend routes: `AcdService` (the
    in-process core, the embedded default) or `SharedAcdService` (queues shared by several
    server nodes in Redis, contactcenter/sharedqueue/). Every decision is made by `submit`;
    the handlers receive the outputs; the queries are async because the shared backend asks
    the store."""

    on_offer: OfferHandler | None
    on_offer_withdrawn: WithdrawHandler | None
    on_agent_state: StateHandler | None
    on_offer_timed_out: RonaHandler | None
    on_overflow: OverflowHandler | None
    on_call_moved: MovedHandler | None

    async def submit(self, message: m.Input) -> list[m.Output]:
        """Carry out one input; errors of the ACD (acd/errors.py) propagate, nothing changed."""
        ...

    async def agent_view(self, agent_id: AgentId) -> AgentView:
        """The agent's state; raises acd.errors.UnknownAgent when not logged in."""
        ...

    async def position(self, call_id: CallId) -> int | None:
        """1-based place of a waiting call in its queue's routing order (None: not waiting)."""
        ...

    async def estimated_wait_s(self, call_id: CallId) -> float | None:
        """Remaining wait of a waiting call, from its queue's recent service rate (None when
        the ACD has too little to go on, or the call is not waiting)."""
        ...

    async def queue_status(self, queue_id: QueueId) -> QueueStatus:
        """Whether the queue takes calls now (business hours, holidays, agents logged in) and
        the configured action when it does not. Raises acd.errors.UnknownQueue."""
        ...

    async def close(self) -> None: ...


class AcdService:
    """Serialises access to the core (it is synchronous, so each `submit` is atomic) and
    executes its outputs in order."""

    def __init__(self, core: AcdCore, clock: Clock) -> None:
        self.core = core
        self._clock = clock
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self.on_offer: OfferHandler | None = None
        self.on_offer_withdrawn: WithdrawHandler | None = None
        self.on_agent_state: StateHandler | None = None
        self.on_offer_timed_out: RonaHandler | None = None
        self.on_overflow: OverflowHandler | None = None
        self.on_call_moved: MovedHandler | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, message: m.Input) -> list[m.Output]:
        """Feed one input to the core and carry out what it decides. Core errors propagate."""
        return await self.decide(message)

    def decide(self, message: m.Input) -> Coroutine[Any, Any, list[m.Output]]:
        """Run the core NOW, synchronously (its errors raise here, before any await), and
        return the execution of its decisions, which the caller must await. Lets a caller
        change its own state in the same step as the core's decision."""
        outputs: list[m.Output] = self.core.handle(message, self._clock.now())
        return self._carry_out(outputs)

    async def agent_view(self, agent_id: AgentId) -> AgentView:
        return self.core.agent_state(agent_id)

    async def position(self, call_id: CallId) -> int | None:
        return self.core.position(call_id)

    async def estimated_wait_s(self, call_id: CallId) -> float | None:
        try:
            value = self.core.estimated_wait_s(call_id, self._clock.now())
        except AcdError:
            return None
        return None if value is None else float(value)

    async def queue_status(self, queue_id: QueueId) -> QueueStatus:
        return self.core.queue_status(queue_id, self._clock.now())

    async def _carry_out(self, outputs: list[m.Output]) -> list[m.Output]:
        await self._execute(outputs)
        return outputs

    async def _execute(self, outputs: list[m.Output]) -> None:
        for out in outputs:
            if isinstance(out, m.ScheduleTimer):
                self._schedule(out.key, out.at)
            elif isinstance(out, m.CancelTimer):
                handle = self._timers.pop(out.key, None)
                if handle is not None:
                    handle.cancel()
            else:
                await self._notify(out)

    async def _notify(self, out: m.Output) -> None:
        try:
            if isinstance(out, m.OfferCall):
                if self.on_offer is not None:
                    await self.on_offer(out)
            elif isinstance(out, m.WithdrawOffer):
                if self.on_offer_withdrawn is not None:
                    await self.on_offer_withdrawn(out)
            elif isinstance(out, m.AgentStateChanged):
                if self.on_agent_state is not None:
                    await self.on_agent_state(out)
            elif isinstance(out, m.OfferTimedOut):
                if self.on_offer_timed_out is not None:
                    await self.on_offer_timed_out(out)
            elif isinstance(out, m.CallOverflowed):
                if self.on_overflow is not None:
                    await self.on_overflow(out)
            elif isinstance(out, m.CallMoved):
                if self.on_call_moved is not None:
                    await self.on_call_moved(out)
            elif isinstance(out, m.AgentSkillUnused):
                logger.warning(
                    "agent %s logged in with skills no queue uses: %s",
                    out.agent_id,
                    ", ".join(sorted(out.skills)),
                )
        except Exception:
            logger.exception("ACD output handler failed on %r", out)

    def _schedule(self, key: str, at: float) -> None:
        old = self._timers.pop(key, None)
        if old is not None:
            old.cancel()
        delay = max(0.0, at - self._clock.now())
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(delay, self._fire, key)

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
