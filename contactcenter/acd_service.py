"""The async shell around the pure ACD core: it feeds inputs in, turns timer requests into
`loop.call_later`, and hands the core's commands and events to the services that act on them."""

from __future__ import annotations

from typing import Protocol

from acd import messages as m
from acd.core import AcdCore
from acd.errors import AcdError
from acd.model import QueueStatus
from acd.state import AgentView
from contactcenter.acd_shell import (
    AcdShell,
    MovedHandler,
    OfferHandler,
    OverflowHandler,
    RonaHandler,
    StateHandler,
    WithdrawHandler,
)
from contactcenter.clock import Clock
from contactcenter.ids import AgentId, CallId, QueueId

__all__ = [
    "Acd",
    "AcdService",
    "MovedHandler",
    "OfferHandler",
    "OverflowHandler",
    "RonaHandler",
    "StateHandler",
    "WithdrawHandler",
]


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


class AcdService(AcdShell):
    """Serialises access to the core (it is synchronous, so each `submit` is atomic: the
    core decides before the first await) and executes its outputs in order."""

    def __init__(self, core: AcdCore, clock: Clock) -> None:
        super().__init__(clock)
        self.core = core

    async def submit(self, message: m.Input) -> list[m.Output]:
        """Feed one input to the core and carry out what it decides. Core errors propagate."""
        outputs: list[m.Output] = self.core.handle(message, self._clock.now())
        await self._execute(outputs)
        return outputs

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
